"""ArchiveReplica: a second copy of the archive in another region or account.

The replica is a bucket like the archive (versioning, Object Lock, public access blocked,
owner-enforced, the same deny rules) with a key of its own, written only by S3 replication
through a role that may read the archive's versions and replicate them, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.archive.access_logs import create_access_logs
from components.archive.bucket import lifecycle_rules
from components.archive.policies import (
    ReplicationEnds,
    bucket_policy_document,
    replica_bucket_statements,
    replica_key_policy,
    replication_role_policy,
    replication_role_trust,
)
from components.archive.settings import BucketSettings, ReplicationSettings
from components.common.kms import rotating_key
from components.common.partition import partition_of


@dataclass(frozen=True)
class ArchiveReplicaArgs:
    settings: ReplicationSettings
    # The archive's bucket settings: the replica keeps the same lock, retention and denies.
    bucket: BucketSettings
    source_bucket_id: pulumi.Input[str]
    source_bucket_arn: pulumi.Input[str]
    source_key_arn: pulumi.Input[str] | None
    source_region: str
    environment: str
    # The archive's versioning: replication can only be configured once it is on.
    source_versioning: pulumi.Resource
    log_prefix: str = "audit/"
    protect: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class ArchiveReplica(pulumi.ComponentResource):
    provider: aws.Provider
    kms_key: aws.kms.Key
    bucket: aws.s3.Bucket
    role: aws.iam.Role
    replication: aws.s3.BucketReplicationConfig
    bucket_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ArchiveReplicaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=args.protect))
        super().__init__("container-audit-log:storage:ArchiveReplica", name, None, opts)
        region = args.settings.region
        if region is None:  # the settings refuse this; a guard for direct callers
            raise ValueError("ArchiveReplica needs replication.region")
        partition = partition_of(region)
        tags = {**args.tags, "purpose": "container-audit-log-replica", "data": "audit-archive"}
        assume = (
            aws.ProviderAssumeRoleArgs(role_arn=args.settings.provider_role_arn)
            if args.settings.provider_role_arn
            else None
        )
        self.provider = aws.Provider(
            f"{name}-provider",
            region=region,
            assume_roles=[assume] if assume else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        there = pulumi.ResourceOptions(parent=self, provider=self.provider)
        keeps_data = pulumi.ResourceOptions(
            parent=self, provider=self.provider, retain_on_delete=args.protect
        )
        identity = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.provider)
        )

        self.role = aws.iam.Role(
            f"{name}-role",
            description="S3 replication of the audit archive to its replica, nothing else",
            assume_role_policy=json.dumps(replication_role_trust(), sort_keys=True),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.kms_key = rotating_key(
            f"{name}-key",
            f"Encrypts the replica of the container audit log archive ({args.environment})",
            tags,
            keeps_data,
        )
        aws.kms.KeyPolicy(
            f"{name}-key-policy",
            key_id=self.kms_key.key_id,
            policy=pulumi.Output.all(identity.account_id, self.role.arn).apply(
                lambda v: json.dumps(
                    replica_key_policy(partition, v[0], region, v[1]), sort_keys=True
                )
            ),
            opts=there,
        )
        lock = args.bucket.object_lock
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            object_lock_enabled=lock.enabled,
            force_destroy=args.bucket.force_destroy,
            tags=tags,
            opts=keeps_data,
        )
        bucket_id = self.bucket.id
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=there,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=there,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=there,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=self.kms_key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=there,
        )
        # The same expiry as the archive: the replica keeps no record longer than it may.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=lifecycle_rules(args.bucket, args.log_prefix),
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[versioning]
            ),
        )
        if lock.enabled:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket_id,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=lock.mode, days=lock.retention_days
                    )
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=self.provider, depends_on=[versioning]
                ),
            )
        # Its own access trail, in its own region (S3 logs only to a bucket beside the source).
        create_access_logs(
            name,
            archive=self.bucket,
            archive_name=None,
            retention_days=args.bucket.retention_days,
            force_destroy=args.bucket.force_destroy,
            tags=args.tags,
            parent=self,
            provider=self.provider,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=pulumi.Output.all(self.bucket.arn, self.kms_key.arn, self.role.arn).apply(
                lambda v: json.dumps(
                    bucket_policy_document(
                        v[0], v[1], args.bucket, replica_bucket_statements(v[0], v[2])
                    ),
                    sort_keys=True,
                )
            ),
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.provider, depends_on=[public_access_block]
            ),
        )

        ends = pulumi.Output.all(
            args.source_bucket_arn, args.source_key_arn, self.bucket.arn, self.kms_key.arn
        ).apply(lambda v: ReplicationEnds(v[0], v[1], args.source_region, v[2], v[3], region))
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=ends.apply(
                lambda e: json.dumps(replication_role_policy(partition, e), sort_keys=True)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        other_account = args.settings.account
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=args.source_bucket_id,
            role=self.role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="audit-archive-replica",
                    status="Enabled",
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    # Deletes stay where they happen: the replica keeps what the archive lost.
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Disabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=self.bucket.arn,
                        account=other_account,
                        access_control_translation=aws.s3.BucketReplicationConfigRuleDestinationAccessControlTranslationArgs(
                            owner="Destination"
                        )
                        if other_account
                        else None,
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=self.kms_key.arn
                        ),
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.source_versioning, versioning, role_policy]
            ),
        )
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucketArn": self.bucket_arn, "region": region})
