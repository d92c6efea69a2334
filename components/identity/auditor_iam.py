"""The auditor role's documents: who may assume it, and the read-only access it grants.

Pure: no Pulumi imports. Readers are separate from writers: the agent's role may only write
the archive, the auditor may only read it, through the query layer:

- Athena: run, watch, read and stop queries, and read the named queries, of ONE workgroup
  (whose configuration is enforced: its result location, encryption and cost guard).
- Glue: read the one database and table (and their partitions) the queries use.
- S3: GetObject under the archive's prefix, ListBucket of that prefix only.
- KMS: decrypt the archive key through S3; with KMS, encrypt and read query results
  through Athena (its managed result storage uses the same key).

Nothing else: no write, delete or tag anywhere, no other workgroup, table or prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.common.partition import partition_named

PolicyDocument = dict[str, Any]

ATHENA_ACTIONS = (
    "athena:BatchGetNamedQuery",
    "athena:BatchGetQueryExecution",
    "athena:GetNamedQuery",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryResultsStream",
    "athena:GetWorkGroup",
    "athena:ListNamedQueries",
    "athena:ListQueryExecutions",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
)
GLUE_ACTIONS = (
    "glue:BatchGetPartition",
    "glue:GetDatabase",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
)


@dataclass(frozen=True)
class AuditorScope:
    """What the auditor may read: ARNs and names, all resolved."""

    partition: str
    region: str
    account_id: str
    workgroup: str
    database: str
    table: str
    bucket_arn: str
    log_prefix: str
    kms_key_arn: str | None

    def via_service(self, service: str) -> str:
        """`kms:ViaService` of a service in the scope's region (.com.cn in China)."""
        return partition_named(self.partition).service_endpoint(service, self.region)

    @property
    def workgroup_arn(self) -> str:
        base = f"arn:{self.partition}:athena:{self.region}:{self.account_id}"
        return f"{base}:workgroup/{self.workgroup}"

    def glue_arns(self) -> list[str]:
        base = f"arn:{self.partition}:glue:{self.region}:{self.account_id}"
        return [
            f"{base}:catalog",
            f"{base}:database/{self.database}",
            f"{base}:table/{self.database}/{self.table}",
        ]


def auditor_trust_policy(principals: list[str]) -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditorsFromConfig",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(principals)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def auditor_policy(scope: AuditorScope) -> PolicyDocument:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "QueryInOneWorkgroup",
            "Effect": "Allow",
            "Action": list(ATHENA_ACTIONS),
            "Resource": [scope.workgroup_arn],
        },
        {
            "Sid": "ReadTheAuditTable",
            "Effect": "Allow",
            "Action": list(GLUE_ACTIONS),
            "Resource": scope.glue_arns(),
        },
        {
            "Sid": "ReadAuditObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{scope.bucket_arn}/{scope.log_prefix}*"],
        },
        {
            "Sid": "ListAuditPrefix",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [scope.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{scope.log_prefix}*"]}},
        },
        {
            # Athena looks the bucket's region up before it reads.
            "Sid": "LocateAuditBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation"],
            "Resource": [scope.bucket_arn],
        },
    ]
    if scope.kms_key_arn is not None:
        statements += [
            {
                "Sid": "DecryptAuditObjects",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [scope.kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": scope.via_service("s3")}},
            },
            {
                "Sid": "EncryptQueryResults",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [scope.kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": scope.via_service("athena")}},
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}
