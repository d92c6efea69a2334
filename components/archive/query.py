"""ArchiveQuery: a Glue table over the archive, an Athena workgroup, named queries, an auditor.

AWS stacks only. The table's location and partition projection come from the audit S3
route's key format (components.archive.table); the queries are the portable SQL of
components.archive.queries, stored as Athena named queries with `?` parameters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.agent.settings import AgentSettings
from components.archive.queries import QUERIES
from components.archive.query_settings import QuerySettings
from components.archive.table import archive_tags, audit_route_layout, projection, table_args
from components.identity.auditor_iam import (
    AuditorScope,
    auditor_policy,
    auditor_trust_policy,
)


@dataclass(frozen=True)
class ArchiveQueryArgs:
    settings: QuerySettings
    environment: str
    region: str
    agent: AgentSettings
    log_prefix: str
    retention_days: int
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str] | None
    tags: Mapping[str, str] = field(default_factory=dict)


class ArchiveQuery(pulumi.ComponentResource):
    database: aws.glue.CatalogDatabase
    table: aws.glue.CatalogTable
    workgroup: aws.athena.Workgroup
    named_queries: list[aws.athena.NamedQuery]
    auditor_role: aws.iam.Role | None

    database_name: str
    table_name: str
    workgroup_name: str
    auditor_role_arn: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ArchiveQueryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:query:ArchiveQuery", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        tags = {**args.tags, "purpose": "container-audit-log"}
        self.database_name = settings.database_name(args.environment)
        self.table_name = settings.table
        self.workgroup_name = settings.workgroup_name(args.environment)
        layout = audit_route_layout(args.agent, args.log_prefix)

        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=self.database_name,
            description=f"Container audit log archive ({args.environment})",
            opts=child,
        )
        description = "Audit records the agent writes: one JSON object per line, gzip"
        table = pulumi.Output.from_input(args.bucket_name).apply(
            lambda bucket: table_args(
                self.table_name,
                description,
                projection(layout, bucket, archive_tags(args.agent.tag), args.retention_days),
            )
        )
        self.table = aws.glue.CatalogTable(
            f"{name}-table",
            database_name=self.database.name,
            name=self.table_name,
            description=description,
            table_type=table.apply(lambda t: t["table_type"]),
            parameters=table.apply(lambda t: t["parameters"]),
            partition_keys=table.apply(lambda t: t["partition_keys"]),
            storage_descriptor=table.apply(lambda t: t["storage_descriptor"]),
            opts=child,
        )

        # Results live in Athena's managed storage (24 hours), encrypted with the archive's
        # key where there is one: no results bucket to secure, lock or expire.
        encryption = {"kms_key": args.kms_key_arn} if args.kms_key_arn is not None else None
        self.workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=self.workgroup_name,
            description="Queries over the container audit archive",
            state="ENABLED",
            force_destroy=True,
            configuration={
                # Clients cannot override the result location, encryption or cost guard.
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": settings.bytes_scanned_cutoff_per_query,
                "managed_query_results_configuration": {
                    "enabled": True,
                    "encryption_configuration": encryption,
                },
            },
            tags=tags,
            opts=child,
        )
        self.named_queries = [
            aws.athena.NamedQuery(
                f"{name}-{query.name}",
                name=query.name,
                description=query.description(),
                database=self.database.name,
                workgroup=self.workgroup.name,
                query=query.sql(self.table_name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.table]),
            )
            for query in QUERIES
        ]

        self.auditor_role = None
        self.auditor_role_arn = None
        if settings.auditor_principals:
            self.auditor_role = self._auditor(name, args, tags)
            self.auditor_role_arn = self.auditor_role.arn
        self.register_outputs(
            {
                "database": self.database_name,
                "table": self.table_name,
                "workgroup": self.workgroup_name,
                "auditorRoleArn": self.auditor_role_arn,
            }
        )

    def _auditor(self, name: str, args: ArchiveQueryArgs, tags: Mapping[str, str]) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-auditor",
            description="Reads the audit archive through its Athena workgroup; writes nothing",
            assume_role_policy=json.dumps(
                auditor_trust_policy(args.settings.auditor_principals), sort_keys=True
            ),
            max_session_duration=3600,
            tags={**tags, "access": "audit-reader"},
            opts=pulumi.ResourceOptions(parent=self),
        )

        def document(values: list[Any]) -> str:
            workgroup_arn, bucket_arn, kms_key_arn = values
            _, partition, _, region, account_id, _ = str(workgroup_arn).split(":", 5)
            scope = AuditorScope(
                partition=partition,
                region=region,
                account_id=account_id,
                workgroup=self.workgroup_name,
                database=self.database_name,
                table=self.table_name,
                bucket_arn=bucket_arn,
                log_prefix=args.log_prefix,
                kms_key_arn=kms_key_arn,
            )
            return json.dumps(auditor_policy(scope), sort_keys=True)

        aws.iam.RolePolicy(
            f"{name}-auditor-policy",
            name="archive-auditor",
            role=role.id,
            policy=pulumi.Output.all(self.workgroup.arn, args.bucket_arn, args.kms_key_arn).apply(
                document
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role
