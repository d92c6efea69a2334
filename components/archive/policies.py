"""The archive's policy documents, as data: its bucket policy, who may write to a shared
archive (bucket and key policy statements), replication, and the access-log bucket's policy.

Each registered cluster's writer role may put objects under its own prefix and have S3 use
the archive's key for them, from any account; nobody else may put objects at all. Roles are
granted through their account's principal plus `aws:PrincipalArn`, not as the Principal
itself: S3 and KMS refuse a policy naming a role that does not exist yet, and the archive
is deployed before the cluster stacks that create the roles.

Pure: no Pulumi imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.archive.settings import BucketSettings, RegisteredCluster
from components.common.partition import Partition

PolicyDocument = dict[str, Any]
_SSE_HEADER = "s3:x-amz-server-side-encryption"
_KMS_KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
# Server access logs land under this prefix of the access-log bucket.
LOG_PREFIX = "s3-access/"
WRITE_ACTION = "s3:PutObject"  # also authorizes the multipart upload calls
DATA_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
# S3 calls that replication needs on the source and performs on the replica.
REPLICATION_SOURCE_BUCKET_ACTIONS = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
REPLICATION_SOURCE_OBJECT_ACTIONS = [
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionTagging",
]
REPLICATION_REPLICA_ACTIONS = [
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:ReplicateObject",
    "s3:ReplicateTags",
]


@dataclass(frozen=True)
class Writer:
    """A registered cluster, resolved: its stack, its prefix and its writer role's ARN."""

    stack: str
    prefix: str
    role_arn: str

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    def account_principal(self, partition: str) -> str:
        return f"arn:{partition}:iam::{self.account}:root"


def resolve_writers(
    clusters: Sequence[RegisteredCluster], archive_account: str, partition: str
) -> list[Writer]:
    return [
        Writer(c.stack, c.key_prefix, c.writer_role_arn(archive_account, partition))
        for c in clusters
    ]


def writer_bucket_statements(
    bucket_arn: str, writers: Sequence[Writer], partition: str
) -> list[PolicyDocument]:
    """Allow each writer its prefix; deny every other writer, and each writer elsewhere."""
    if not writers:
        return []
    statements: list[PolicyDocument] = [
        {
            "Sid": "DenyUnregisteredWriters",
            "Effect": "Deny",
            "Principal": "*",
            "Action": WRITE_ACTION,
            "Resource": f"{bucket_arn}/*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [w.role_arn for w in writers]}},
        }
    ]
    for index, writer in enumerate(writers):
        own = f"{bucket_arn}/{writer.prefix}*"
        statements += [
            {
                "Sid": f"AllowWriter{index}",
                "Effect": "Allow",
                "Principal": {"AWS": writer.account_principal(partition)},
                "Action": WRITE_ACTION,
                "Resource": own,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": writer.role_arn}},
            },
            {
                "Sid": f"DenyWriter{index}OutsideItsPrefix",
                "Effect": "Deny",
                "Principal": "*",
                "Action": WRITE_ACTION,
                "NotResource": own,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": writer.role_arn}},
            },
        ]
    return statements


def archive_key_policy(
    partition: Partition,
    account: str,
    region: str,
    bucket_arn: str,
    writers: Sequence[Writer],
) -> PolicyDocument:
    """The archive key: the account administers it; writers only get data keys via S3."""
    statements: list[PolicyDocument] = [_account_administers(partition.name, account)]
    via_s3 = partition.service_endpoint("s3", region)
    for index, writer in enumerate(writers):
        contexts = [bucket_arn, f"{bucket_arn}/{writer.prefix}*"]
        is_writer = {"ArnEquals": {"aws:PrincipalArn": writer.role_arn}}
        # The denies hold even where the writer's own account would allow more (a writer in
        # the archive's account gets the key through IAM too, by the first statement).
        statements += [
            {
                "Sid": f"DenyWriter{index}KeysOutsideS3",
                "Effect": "Deny",
                "Principal": "*",
                "Action": DATA_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {**is_writer, "StringNotEquals": {"kms:ViaService": via_s3}},
            },
            {
                "Sid": f"DenyWriter{index}KeysForOtherBuckets",
                "Effect": "Deny",
                "Principal": "*",
                "Action": DATA_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    **is_writer,
                    "StringNotLike": {"kms:EncryptionContext:aws:s3:arn": contexts},
                },
            },
        ]
        statements.append(
            {
                "Sid": f"AllowWriter{index}DataKeysThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": writer.account_principal(partition.name)},
                "Action": DATA_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": via_s3},
                    **is_writer,
                    # With bucket keys the context is the bucket's ARN, without them the
                    # object's: either way, this archive only.
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": contexts},
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def replica_key_policy(
    partition: Partition, account: str, region: str, replication_role_arn: str
) -> PolicyDocument:
    """The replica's own key: its account administers it; replication encrypts via S3."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _account_administers(partition.name, account),
            {
                "Sid": "AllowReplicationToEncrypt",
                "Effect": "Allow",
                "Principal": {"AWS": replication_role_arn},
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": partition.service_endpoint("s3", region)}
                },
            },
        ],
    }


def replica_bucket_statements(replica_arn: str, replication_role_arn: str) -> list[PolicyDocument]:
    """Only replication writes the replica: nobody may put objects, the role may replicate."""
    return [
        {
            "Sid": "DenyDirectWrites",
            "Effect": "Deny",
            "Principal": "*",
            "Action": WRITE_ACTION,
            "Resource": f"{replica_arn}/*",
        },
        {
            "Sid": "AllowReplication",
            "Effect": "Allow",
            "Principal": {"AWS": replication_role_arn},
            "Action": REPLICATION_REPLICA_ACTIONS,
            "Resource": f"{replica_arn}/*",
        },
    ]


def replication_role_trust() -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3Replicates",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


@dataclass(frozen=True)
class ReplicationEnds:
    """The two buckets and keys replication connects."""

    source_bucket_arn: str
    source_key_arn: str | None
    source_region: str
    replica_bucket_arn: str
    replica_key_arn: str
    replica_region: str


def replication_role_policy(partition: Partition, ends: ReplicationEnds) -> PolicyDocument:
    """Read versions from the source, replicate them to the replica, re-encrypted there."""
    statements: list[PolicyDocument] = [
        {
            "Sid": "ReadSourceConfiguration",
            "Effect": "Allow",
            "Action": REPLICATION_SOURCE_BUCKET_ACTIONS,
            "Resource": ends.source_bucket_arn,
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": REPLICATION_SOURCE_OBJECT_ACTIONS,
            "Resource": f"{ends.source_bucket_arn}/*",
        },
        {
            "Sid": "WriteReplica",
            "Effect": "Allow",
            "Action": REPLICATION_REPLICA_ACTIONS,
            "Resource": f"{ends.replica_bucket_arn}/*",
        },
        {
            "Sid": "EncryptWithReplicaKey",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": ends.replica_key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": partition.service_endpoint("s3", ends.replica_region)
                }
            },
        },
    ]
    if ends.source_key_arn is not None:
        statements.append(
            {
                "Sid": "DecryptWithSourceKey",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": ends.source_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": partition.service_endpoint("s3", ends.source_region)
                    }
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _account_administers(partition: str, account: str) -> PolicyDocument:
    # The default key policy: IAM policies of the key's account decide who administers it.
    return {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def bucket_policy_document(
    bucket_arn: str,
    kms_key_arn: str | None,
    settings: BucketSettings,
    extra_statements: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Deny plain HTTP, foreign KMS keys and (without object lock) deletion of audit objects."""
    objects = f"{bucket_arn}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if kms_key_arn is not None:
        # The agent sends no encryption headers: the bucket's default encryption (our key)
        # applies. So deny only requests that NAME another encryption or another key: `Null`
        # false requires the header to be present. A negated operator alone (or ...IfExists)
        # is true when the key is absent, and would deny every upload the agent makes.
        statements += [
            {
                "Sid": "DenyForeignKmsKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "Null": {_KMS_KEY_HEADER: "false"},
                    "StringNotEquals": {_KMS_KEY_HEADER: kms_key_arn},
                },
            },
            {
                "Sid": "DenyOtherEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "Null": {_SSE_HEADER: "false"},
                    "StringNotEquals": {_SSE_HEADER: "aws:kms"},
                },
            },
        ]
    if not settings.object_lock.enabled:
        # Without Object Lock this statement is what keeps the archive append-only.
        deny_delete: dict[str, Any] = {
            "Sid": "DenyAuditObjectDeletion",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": objects,
        }
        if settings.admin_role_arn is not None:
            deny_delete["Condition"] = {
                "ArnNotEquals": {"aws:PrincipalArn": settings.admin_role_arn}
            }
        statements.append(deny_delete)
    statements += extra_statements
    return {"Version": "2012-10-17", "Statement": statements}


def access_log_bucket_policy_document(log_bucket_arn: str, archive_arn: str) -> dict[str, Any]:
    """TLS only; S3 log delivery may write under LOG_PREFIX, for the archive's logs only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [log_bucket_arn, f"{log_bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "AllowServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/{LOG_PREFIX}*",
                "Condition": {"ArnEquals": {"aws:SourceArn": archive_arn}},
            },
        ],
    }
