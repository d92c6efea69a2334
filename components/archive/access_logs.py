"""The archive's access trail: S3 server access logs into a separate, locked-down bucket.

Every read and write of the archive (who, what key, when, from where) lands in this bucket.
It is separate so that the trail of the archive does not live in the archive, and it uses
SSE-S3: the encryption S3 log delivery supports without extra key-policy grants. S3 also
refuses to deliver logs into a bucket with an Object Lock default retention, so this bucket
has none; its lifecycle keeps the logs as long as the archive keeps its objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.archive.policies import LOG_PREFIX, access_log_bucket_policy_document
from components.archive.settings import access_log_bucket_name


@dataclass(frozen=True)
class AccessLogs:
    bucket: aws.s3.Bucket
    logging: aws.s3.BucketLogging


def create_access_logs(
    name: str,
    archive: aws.s3.Bucket,
    archive_name: str | None,
    retention_days: int,
    force_destroy: bool,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource | None = None,
) -> AccessLogs:
    """The log bucket with every safeguard the policy pack asks of a bucket, and the link."""
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    bucket = aws.s3.Bucket(
        f"{name}-access-logs",
        bucket=access_log_bucket_name(archive_name),
        force_destroy=force_destroy,
        tags={**tags, "purpose": "container-audit-log-access-logs"},
        opts=child,
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-access-logs-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-access-logs-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-access-logs-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-access-logs-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                ),
            )
        ],
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-access-logs-lifecycle",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=retention_days
                ),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=1
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=1
                ),
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[versioning]),
    )
    policy = aws.s3.BucketPolicy(
        f"{name}-access-logs-policy",
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, archive.arn).apply(
            lambda arns: json.dumps(
                access_log_bucket_policy_document(arns[0], arns[1]), sort_keys=True
            )
        ),
        opts=pulumi.ResourceOptions(
            parent=parent, provider=provider, depends_on=[public_access_block]
        ),
    )
    logging = aws.s3.BucketLogging(
        f"{name}-access-logging",
        bucket=archive.id,
        target_bucket=bucket.id,
        target_prefix=LOG_PREFIX,
        # Delivery starts only once S3 log delivery may write (the policy is in place).
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[policy]),
    )
    return AccessLogs(bucket=bucket, logging=logging)
