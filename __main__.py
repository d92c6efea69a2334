"""Container Audit Log: composition only. Config in, components composed, outputs out."""

import pulumi

from components.bucket import AuditLogBucket, AuditLogBucketArgs
from components.cluster import ClusterAccess, ClusterAccessArgs
from components.config import from_pulumi
from components.irsa import ServiceAccountRole, ServiceAccountRoleArgs
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
            namespace=cfg.agent_namespace,
            service_account=cfg.agent_service_account,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_provider_url=cluster.oidc_provider_url,
            policy=pulumi.Output.all(archive.bucket_arn, archive.kms_key_arn).apply(
                lambda arns: audit_writer_policy(arns[0], cfg.log_prefix, arns[1], cfg.region)
            ),
            tags=tags,
        ),
    )

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("bucketName", archive.bucket_name)
pulumi.export("bucketArn", archive.bucket_arn)
pulumi.export("kmsKeyArn", archive.kms_key_arn)
pulumi.export("logPrefix", archive.log_prefix)
pulumi.export("region", cfg.region)
pulumi.export("agentRoleArn", agent_role.role_arn if agent_role else None)
