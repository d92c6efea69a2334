"""AuditLogBucket: the S3 archive every audit record ends in, and the key that encrypts it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.archive.access_logs import AccessLogs, create_access_logs
from components.archive.policies import (
    archive_key_policy,
    bucket_policy_document,
    resolve_writers,
    writer_bucket_statements,
)
from components.archive.settings import BucketSettings, RegisteredCluster
from components.common.kms import rotating_key
from components.common.partition import partition_of

# S3 condition keys of the encryption request headers (S3 User Guide, "Condition keys").


@dataclass(frozen=True)
class AuditLogBucketArgs:
    settings: BucketSettings
    log_prefix: str
    environment: str
    tags: Mapping[str, str] = field(default_factory=dict)
    # A shared archive (stack kind `archive`): the clusters that may write, each to its prefix.
    # None: a combined stack, whose one agent role is granted by its own identity policy.
    shared_with: Sequence[RegisteredCluster] | None = None
    region: str = "us-east-1"
    # protect + retain_on_delete: a mistaken destroy must neither fail half way nor delete data.
    protect: bool = False


class AuditLogBucket(pulumi.ComponentResource):
    """S3 bucket + optional KMS key, locked down: the audit archive."""

    kms_key: aws.kms.Key | None
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership_controls: aws.s3.BucketOwnershipControls
    lifecycle: aws.s3.BucketLifecycleConfiguration
    object_lock: aws.s3.BucketObjectLockConfiguration | None
    policy: aws.s3.BucketPolicy
    access_logs: AccessLogs

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str] | None
    log_prefix: str
    # The archive's account ("" for a combined stack, which grants no other writer).
    account_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: AuditLogBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=args.protect))
        super().__init__("container-audit-log:storage:AuditLogBucket", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        # What holds the data: kept in AWS even if the stack forgets it (retain_on_delete).
        keeps_data = pulumi.ResourceOptions(parent=self, retain_on_delete=args.protect)
        tags = {**args.tags, "purpose": "container-audit-log"}
        # Marks what holds audit records (the policy pack's archive-protected looks for it).
        data_tags = {**tags, "data": "audit-archive"}
        partition = partition_of(args.region)
        account: pulumi.Output[str] | None = None
        if args.shared_with is not None:
            identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            account = identity.account_id
        writers = pulumi.Output.from_input(account).apply(
            lambda acct: resolve_writers(args.shared_with or (), acct or "", partition.name)
        )

        self.kms_key = None
        if settings.encryption == "kms":
            self.kms_key = rotating_key(
                f"{name}-key",
                f"Encrypts the container audit log archive ({args.environment})",
                data_tags,
                keeps_data,
            )
            aws.kms.Alias(
                f"{name}-key-alias",
                name=f"alias/container-audit-log-{args.environment}",
                target_key_id=self.kms_key.key_id,
                opts=child,
            )

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=settings.name,
            # Object Lock can only be switched on when the bucket is created.
            object_lock_enabled=settings.object_lock.enabled,
            force_destroy=settings.force_destroy,
            tags=data_tags,
            opts=keeps_data,
        )
        bucket_id = self.bucket.id
        if self.kms_key is not None and account is not None:
            # The key's policy is set after the bucket exists: it names the bucket's ARN.
            key_policy = pulumi.Output.all(account, self.bucket.arn, writers).apply(
                lambda v: json.dumps(
                    archive_key_policy(partition, v[0], args.region, v[1], v[2]), sort_keys=True
                )
            )
            aws.kms.KeyPolicy(
                f"{name}-key-policy", key_id=self.kms_key.key_id, policy=key_policy, opts=child
            )

        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.ownership_controls = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms" if self.kms_key else "AES256",
                        kms_master_key_id=self.kms_key.arn if self.kms_key else None,
                    ),
                    # Bucket keys cut KMS requests (and cost) by orders of magnitude.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=lifecycle_rules(settings, args.log_prefix),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        self.object_lock = None
        if settings.object_lock.enabled:
            lock = settings.object_lock
            self.object_lock = aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket_id,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=lock.mode, days=lock.retention_days
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
            )

        key_arn: pulumi.Input[str | None] = self.kms_key.arn if self.kms_key else None
        policy_json = pulumi.Output.all(self.bucket.arn, key_arn, writers).apply(
            lambda values: json.dumps(
                bucket_policy_document(
                    values[0],
                    values[1],
                    settings,
                    writer_bucket_statements(values[0], values[2], partition.name),
                ),
                sort_keys=True,
            )
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=policy_json,
            # The public access block must exist first, or S3 may judge the policy alone.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )

        self.access_logs = create_access_logs(
            name,
            archive=self.bucket,
            archive_name=settings.name,
            retention_days=settings.retention_days,
            force_destroy=settings.force_destroy,
            tags=tags,
            parent=self,
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.kms_key_arn = self.kms_key.arn if self.kms_key else None
        self.log_prefix = args.log_prefix
        self.account_id = account if account is not None else pulumi.Output.from_input("")
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
                "logPrefix": self.log_prefix,
                "accessLogBucketName": self.access_logs.bucket.bucket,
            }
        )


def lifecycle_rules(
    settings: BucketSettings, log_prefix: str
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    transitions = (
        [
            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                days=settings.transition_days, storage_class=settings.transition_storage_class
            )
        ]
        if settings.transition_days is not None
        else None
    )
    return [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="audit-retention",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=log_prefix),
            transitions=transitions,
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                days=settings.retention_days
            ),
            # Expiration only hides objects behind a delete marker in a versioned bucket;
            # this removes them for real one day later.
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=1
            ),
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart-uploads",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=1
            ),
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="remove-expired-delete-markers",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                expired_object_delete_marker=True
            ),
        ),
    ]
