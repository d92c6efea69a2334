"""Container Audit Log: composition only. Config in, components composed, outputs out."""

import pulumi

from components.bucket import AuditLogBucket, AuditLogBucketArgs
from components.cluster import ClusterAccess, ClusterAccessArgs
from components.config import from_pulumi
from components.fluent_bit import FluentBitDaemonSet, FluentBitDaemonSetArgs
from components.irsa import ServiceAccountRole, ServiceAccountRoleArgs
from components.render.fluent_bit import PipelineContext
from components.render.iam import audit_writer_policy

cfg = from_pulumi()
tags = {**cfg.tags, "environment": cfg.environment, "managed-by": "pulumi"}

cluster = ClusterAccess(
    "cluster",
    ClusterAccessArgs(
        settings=cfg.cluster, partition=cfg.partition, kubeconfig=cfg.kubeconfig, tags=tags
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

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("bucketName", archive.bucket_name)
pulumi.export("bucketArn", archive.bucket_arn)
pulumi.export("kmsKeyArn", archive.kms_key_arn)
pulumi.export("logPrefix", archive.log_prefix)
pulumi.export("region", cfg.region)
pulumi.export("agentRoleArn", agent_role.role_arn if agent_role else None)
pulumi.export("agentNamespace", agent.namespace)
pulumi.export("agentConfigChecksum", agent.config_checksum)
