"""Container Audit Log: composition only. Config in, components composed, outputs out.

Three kinds of stack (`stackKind`): an *archive* stack (the protected bucket, its key, the
registered clusters' access, replication, the query layer), a *cluster* stack (cluster,
node syslog, agent and its writer role, demo) that references its archive stack, and a
*combined* stack holding both (dev, local).
"""

import pulumi

from components.agent.component import FluentBitDaemonSet, FluentBitDaemonSetArgs
from components.agent.daemonset import NAME as FLUENT_BIT
from components.agent.routes import parse_duration
from components.agent.settings import METRICS_PATH, AgentSettings, PipelineContext
from components.archive.bucket import AuditLogBucket, AuditLogBucketArgs
from components.archive.query import ArchiveQuery, ArchiveQueryArgs
from components.archive.query_settings import QuerySettings
from components.archive.reference import ArchiveReference, ArchiveReferenceArgs
from components.archive.replica import ArchiveReplica, ArchiveReplicaArgs
from components.cluster.component import ClusterAccess, ClusterAccessArgs
from components.common.workload import selector_labels
from components.config import ArchiveStackConfig, StackConfig, from_pulumi
from components.demo.component import DemoWorkloads, DemoWorkloadsArgs
from components.identity.component import ServiceAccountRole, ServiceAccountRoleArgs
from components.identity.iam import AuditArchive, agent_policy_for_stack
from components.monitoring.alerts import S3RouteTiming
from components.monitoring.component import PipelineMonitoring, PipelineMonitoringArgs
from components.node_syslog.component import NodeSyslog, NodeSyslogArgs
from components.node_syslog.files import node_user_data
from components.node_syslog.gate_component import SyslogGate, SyslogGateArgs


def query_layer(
    name: str,
    settings: QuerySettings,
    agent: AgentSettings,
    log_prefix: str,
    cfg: StackConfig | ArchiveStackConfig,
    archive: AuditLogBucket,
    tags: dict[str, str],
) -> ArchiveQuery:
    """The table, workgroup and named queries over one prefix of an archive."""
    return ArchiveQuery(
        name,
        ArchiveQueryArgs(
            settings=settings,
            environment=cfg.environment,
            region=cfg.region,
            agent=agent,
            log_prefix=log_prefix,
            retention_days=cfg.bucket.retention_days,
            bucket_name=archive.bucket_name,
            bucket_arn=archive.bucket_arn,
            kms_key_arn=archive.kms_key_arn,
            tags=tags,
        ),
    )


def archive_stack(cfg: ArchiveStackConfig) -> None:
    """The long-lived archive: kept (protected) when anything else is replaced."""
    tags = {**cfg.tags, "environment": cfg.environment, "managed-by": "pulumi"}
    settings = cfg.archive
    archive = AuditLogBucket(
        "audit-log",
        AuditLogBucketArgs(
            settings=cfg.bucket,
            log_prefix=cfg.log_prefix,
            environment=cfg.environment,
            tags=tags,
            shared_with=settings.clusters,
            region=cfg.region,
            protect=settings.protect,
        ),
    )
    if settings.replication.enabled:
        ArchiveReplica(
            "audit-log-replica",
            ArchiveReplicaArgs(
                settings=settings.replication,
                bucket=cfg.bucket,
                source_bucket_id=archive.bucket.id,
                source_bucket_arn=archive.bucket_arn,
                source_key_arn=archive.kms_key_arn,
                source_region=cfg.region,
                environment=cfg.environment,
                source_versioning=archive.versioning,
                log_prefix=cfg.log_prefix,
                protect=settings.protect,
                tags=tags,
            ),
        )
    # One table and workgroup per registered cluster: each reads its own prefix.
    if cfg.query.enabled:
        for registered in settings.clusters:
            query_layer(
                f"archive-query-{registered.stack}",
                cfg.query.for_cluster(registered.stack, cfg.environment),
                AgentSettings(),
                registered.key_prefix,
                cfg,
                archive,
                tags,
            )
    pulumi.export("bucketName", archive.bucket_name)
    pulumi.export("bucketArn", archive.bucket_arn)
    pulumi.export("kmsKeyArn", archive.kms_key_arn)
    pulumi.export("region", cfg.region)
    pulumi.export("logPrefix", cfg.log_prefix)
    # What each cluster stack reads through its StackReference: its prefix and writer role.
    pulumi.export(
        "clusters",
        archive.account_id.apply(
            lambda account: {
                c.stack: {
                    "prefix": c.key_prefix,
                    "writerRoleName": c.writer_role_name,
                    "writerRoleArn": c.writer_role_arn(account, cfg.aws_partition.name),
                }
                for c in settings.clusters
            }
        ),
    )


def cluster_stack(cfg: StackConfig) -> None:
    """A cluster and its pipeline; with stackKind combined, its own archive too."""
    tags = {**cfg.tags, "environment": cfg.environment, "managed-by": "pulumi"}

    cluster = ClusterAccess(
        "cluster",
        ClusterAccessArgs(
            settings=cfg.cluster,
            partition=cfg.partition,
            kubeconfig=cfg.kubeconfig,
            node_user_data=node_user_data(cfg.node_syslog, cfg.monitoring.rsyslog()),
            tags=tags,
        ),
    )

    # Where the agent writes: the archive stack's bucket (read through a StackReference),
    # this stack's own (combined), or none of AWS's (an S3-compatible endpoint, local).
    archive: AuditLogBucket | ArchiveReference | None = None
    writer_role_name: pulumi.Output[str] | None = None
    if cfg.stack_kind == "cluster" and cfg.archive_stack is not None:
        reference = ArchiveReference(
            "archive",
            ArchiveReferenceArgs(
                archive_stack=cfg.archive_stack,
                cluster_stack=pulumi.get_stack(),
                log_prefix=cfg.log_prefix,
                archive_region=cfg.archive_aws_region,
            ),
        )
        archive, writer_role_name = reference, reference.writer_role_name
    elif cfg.archive_on_aws:
        archive = AuditLogBucket(
            "audit-log",
            AuditLogBucketArgs(
                settings=cfg.bucket,
                log_prefix=cfg.log_prefix,
                environment=cfg.environment,
                tags=tags,
                region=cfg.region,
            ),
        )

    agent_role = None
    if (
        archive is not None
        and cfg.agent_calls_aws
        and cluster.oidc_provider_arn is not None
        and cluster.oidc_provider_url is not None
    ):
        audit_archive = pulumi.Output.all(
            archive.bucket_name, archive.bucket_arn, archive.kms_key_arn
        ).apply(lambda v: AuditArchive(v[0], v[1], cfg.log_prefix, v[2]))
        agent_role = ServiceAccountRole(
            "fluent-bit",
            ServiceAccountRoleArgs(
                namespace=cfg.agent.namespace,
                service_account=cfg.agent.service_account,
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_provider_url=cluster.oidc_provider_url,
                policy=pulumi.Output.all(audit_archive, cluster.oidc_provider_arn).apply(
                    lambda v: agent_policy_for_stack(
                        cfg.agent, v[0], cfg.aws_partition, cfg.archive_aws_region, v[1]
                    )
                ),
                # The name the archive stack granted; a combined stack's role is auto-named.
                role_name=writer_role_name,
                tags=tags,
            ),
        )

    agent = FluentBitDaemonSet(
        "fluent-bit",
        FluentBitDaemonSetArgs(
            settings=cfg.agent,
            context=PipelineContext(
                cluster_name=cfg.cluster.name,
                environment=cfg.environment,
                monitoring=cfg.monitoring.agent(),
                handoff_directory=cfg.node_syslog.handoff_directory,
            ),
            region=cfg.region,
            archive_region=cfg.archive_aws_region,
            audit_bucket=archive.bucket_name if archive else cfg.external_bucket_name,
            log_prefix=cfg.log_prefix,
            provider=cluster.provider,
            role_arn=agent_role.role_arn if agent_role else None,
            pod_annotations=cfg.monitoring.scrape_annotations(cfg.agent.http_port, METRICS_PATH),
        ),
    )

    # What lives in the agent's namespace waits for it, when this stack creates it.
    after_namespace = (agent.namespace_resource,) if agent.namespace_resource else ()

    node_syslog = NodeSyslog(
        "node-syslog",
        NodeSyslogArgs(
            settings=cfg.node_syslog,
            namespace=cfg.agent.namespace,
            provider=cluster.provider,
            depends_on=after_namespace,
            monitoring=cfg.monitoring.rsyslog(),
        ),
    )

    PipelineMonitoring(
        "monitoring",
        PipelineMonitoringArgs(
            settings=cfg.monitoring,
            namespace=cfg.agent.namespace,
            agent_selector=selector_labels(FLUENT_BIT),
            agent_port_name="http",
            agent_metrics_path=METRICS_PATH,
            s3_routes=[
                S3RouteTiming(route.name, parse_duration(route.upload_timeout))
                for route in cfg.agent.s3_routes
            ],
            provider=cluster.provider,
            depends_on=after_namespace,
        ),
    )

    if cfg.node_syslog.mode == "userdata":
        # Nodes register tainted until their rsyslog answers; this lifts the taint per node.
        SyslogGate(
            "syslog-gate",
            SyslogGateArgs(
                namespace=cfg.agent.namespace,
                listen_port=cfg.node_syslog.listen_port,
                provider=cluster.provider,
                depends_on=after_namespace,
            ),
        )

    demo = None
    if cfg.demo.enabled:
        demo = DemoWorkloads(
            "demo",
            DemoWorkloadsArgs(
                settings=cfg.demo,
                run_id=cfg.demo.effective_run_id(cfg.environment),
                provider=cluster.provider,
                syslog_port=cfg.node_syslog.listen_port,
                syslog_transport="tcp" if cfg.node_syslog.tcp else "udp",
            ),
        )

    # The table, workgroup and named queries that answer "who ran what" from the archive
    # (a cluster stack's are in its archive stack; the config refuses them on an external one).
    query = None
    if cfg.query.enabled and isinstance(archive, AuditLogBucket):
        query = query_layer(
            "archive-query", cfg.query, cfg.agent, cfg.log_prefix, cfg, archive, tags
        )

    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("bucketName", archive.bucket_name if archive else cfg.external_bucket_name)
    pulumi.export("bucketArn", archive.bucket_arn if archive else None)
    pulumi.export("kmsKeyArn", archive.kms_key_arn if archive else None)
    pulumi.export("logPrefix", cfg.log_prefix)
    pulumi.export("region", cfg.archive_aws_region)
    pulumi.export("agentRoleArn", agent_role.role_arn if agent_role else None)
    pulumi.export("agentNamespace", agent.namespace)
    pulumi.export("agentConfigChecksum", agent.config_checksum)
    pulumi.export("nodeSyslogMode", node_syslog.mode)
    pulumi.export("demoNamespace", demo.namespace if demo else None)
    pulumi.export("demoRunId", demo.run_id if demo else None)
    pulumi.export("demoServices", demo.service_names if demo else [])
    pulumi.export("queryWorkgroup", query.workgroup_name if query else None)
    pulumi.export("queryDatabase", query.database_name if query else None)
    pulumi.export("auditorRoleArn", query.auditor_role_arn if query else None)


config = from_pulumi()
if isinstance(config, ArchiveStackConfig):
    archive_stack(config)
else:
    cluster_stack(config)
