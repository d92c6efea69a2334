"""Container Audit Log: composition only. Config in, components composed, outputs out."""

import pulumi

from components.bucket import AuditLogBucket, AuditLogBucketArgs
from components.cluster import ClusterAccess, ClusterAccessArgs
from components.config import from_pulumi
from components.demo import DemoWorkloads, DemoWorkloadsArgs
from components.fluent_bit import FluentBitDaemonSet, FluentBitDaemonSetArgs
from components.irsa import ServiceAccountRole, ServiceAccountRoleArgs
from components.node_syslog import NodeSyslog, NodeSyslogArgs, node_user_data
from components.render.fluent_bit import PipelineContext
from components.render.iam import audit_writer_policy
from components.syslog_gate import SyslogGate, SyslogGateArgs

cfg = from_pulumi()
tags = {**cfg.tags, "environment": cfg.environment, "managed-by": "pulumi"}

cluster = ClusterAccess(
    "cluster",
    ClusterAccessArgs(
        settings=cfg.cluster,
        partition=cfg.partition,
        kubeconfig=cfg.kubeconfig,
        node_user_data=node_user_data(cfg.node_syslog, cfg.agent.listen_port),
        tags=tags,
    ),
)

archive = AuditLogBucket(
    "audit-log",
    AuditLogBucketArgs(
        settings=cfg.bucket, log_prefix=cfg.log_prefix, environment=cfg.environment, tags=tags
    ),
)

agent_role = None
if cluster.oidc_provider_arn is not None and cluster.oidc_provider_url is not None:
    agent_role = ServiceAccountRole(
        "fluent-bit",
        ServiceAccountRoleArgs(
            namespace=cfg.agent.namespace,
            service_account=cfg.agent.service_account,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            policy=pulumi.Output.all(archive.bucket_arn, archive.kms_key_arn).apply(
                lambda arns: audit_writer_policy(arns[0], cfg.log_prefix, arns[1], cfg.region)
            ),
            tags=tags,
        ),
    )

agent = FluentBitDaemonSet(
    "fluent-bit",
    FluentBitDaemonSetArgs(
        settings=cfg.agent,
        context=PipelineContext(cluster_name=cfg.cluster.name, environment=cfg.environment),
        region=cfg.region,
        audit_bucket=archive.bucket_name,
        log_prefix=cfg.log_prefix,
        provider=cluster.provider,
        role_arn=agent_role.role_arn if agent_role else None,
    ),
)

node_syslog = NodeSyslog(
    "node-syslog",
    NodeSyslogArgs(
        settings=cfg.node_syslog,
        agent_port=cfg.agent.listen_port,
        namespace=cfg.agent.namespace,
        provider=cluster.provider,
        depends_on=(agent.namespace_resource,) if agent.namespace_resource else (),
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
            depends_on=(agent.namespace_resource,) if agent.namespace_resource else (),
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

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("bucketName", archive.bucket_name)
pulumi.export("bucketArn", archive.bucket_arn)
pulumi.export("kmsKeyArn", archive.kms_key_arn)
pulumi.export("logPrefix", archive.log_prefix)
pulumi.export("region", cfg.region)
pulumi.export("agentRoleArn", agent_role.role_arn if agent_role else None)
pulumi.export("agentNamespace", agent.namespace)
pulumi.export("agentConfigChecksum", agent.config_checksum)
pulumi.export("nodeSyslogMode", node_syslog.mode)
pulumi.export("demoNamespace", demo.namespace if demo else None)
pulumi.export("demoRunId", demo.run_id if demo else None)
pulumi.export("demoServices", demo.service_names if demo else [])
