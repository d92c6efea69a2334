"""Typed settings of the archive: the bucket, registered clusters and optional replication.

Pure (no Pulumi imports). A stack is one of three kinds (`stackKind`):
- `combined`: one stack holds the archive and the cluster (dev, local; simple, short-lived);
- `archive`: the long-lived, protected archive that many cluster stacks write to;
- `cluster`: a cluster, its agent and writer role, referencing an archive stack.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.common.model import CamelModel
from components.common.names import check_bucket_name

StackKind = Literal["combined", "archive", "cluster"]

_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/([\w+=,.@/-]{1,512})$")
_ACCOUNT = re.compile(r"^\d{12}$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")
# A stack reference names `<org>/<project>/<stack>`, `<project>/<stack>` or `<stack>`.
_STACK_REFERENCE = re.compile(r"^([\w.-]+/){0,2}[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

ARCHIVE_ROOT_PREFIX = "audit/"
_ACCESS_LOG_SUFFIX = "-access-logs"
_MAX_BUCKET_NAME = 63


def access_log_bucket_name(archive_name: str | None) -> str | None:
    """`<archive>-access-logs` where that is a valid length; None: a generated name."""
    if archive_name is None or len(archive_name) + len(_ACCESS_LOG_SUFFIX) > _MAX_BUCKET_NAME:
        return None
    return archive_name + _ACCESS_LOG_SUFFIX


def default_cluster_prefix(cluster_stack: str) -> str:
    """The prefix an archive assigns a cluster stack unless its registration names one."""
    return f"{ARCHIVE_ROOT_PREFIX}{cluster_stack}/"


def default_writer_role_name(cluster_stack: str) -> str:
    """The writer role's name: fixed, so the archive can grant it before it exists."""
    return f"container-audit-log-writer-{cluster_stack}"[:64]


def referenced_stack(reference: str) -> str:
    """The stack part of a stack reference name (`org/project/stack` -> `stack`)."""
    return reference.rsplit("/", 1)[-1]


class RegisteredCluster(CamelModel):
    """One cluster stack allowed to write to the archive, under its own prefix only."""

    stack: str = Field(description="The cluster stack's name (e.g. prod, prod-eu2).")
    prefix: str | None = Field(
        default=None, description="Its key prefix; unset: audit/<stack>/. One per cluster."
    )
    role_arn: str | None = Field(
        default=None,
        description="Its writer role, in any account; unset: account + roleName.",
    )
    account: str | None = Field(
        default=None,
        description="The cluster's AWS account (cross-account); unset: the archive's own.",
    )
    role_name: str | None = Field(
        default=None, description="Writer role name; unset: container-audit-log-writer-<stack>."
    )

    @field_validator("stack")
    @classmethod
    def _valid_stack(cls, value: str) -> str:
        if not _STACK.match(value):
            raise ValueError(
                f"stack {value!r} must be a Pulumi stack name: letters, digits, '-', '_', '.'"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _valid_prefix(cls, value: str | None) -> str | None:
        if value is not None and not _PREFIX.match(value):
            raise ValueError(
                f"prefix {value!r} must be S3-safe path segments ending in '/' with no "
                "leading '/', such as 'audit/prod-eu2/'"
            )
        return value

    @field_validator("role_arn")
    @classmethod
    def _valid_role_arn(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(
                f"roleArn {value!r} is not an IAM role ARN "
                "(arn:aws:iam::<12-digit account>:role/<name>)"
            )
        return value

    @field_validator("account")
    @classmethod
    def _valid_account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError(f"account {value!r} must be a 12-digit AWS account id")
        return value

    @field_validator("role_name")
    @classmethod
    def _valid_role_name(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_NAME.match(value):
            raise ValueError(f"roleName {value!r} must be 1-64 characters of [A-Za-z0-9+=,.@_-]")
        return value

    @model_validator(mode="after")
    def _one_way_to_name_the_role(self) -> RegisteredCluster:
        if self.role_arn is not None and (self.account is not None or self.role_name is not None):
            raise ValueError(f"clusters {self.stack!r}: roleArn, or account and roleName, not both")
        return self

    @property
    def key_prefix(self) -> str:
        return self.prefix or default_cluster_prefix(self.stack)

    @property
    def writer_role_name(self) -> str:
        if self.role_arn is not None:
            return _ROLE_ARN.match(self.role_arn)[2].rsplit("/", 1)[-1]  # type: ignore[index]
        return self.role_name or default_writer_role_name(self.stack)

    def writer_role_arn(self, archive_account: str, partition: str) -> str:
        """The writer role's ARN; the archive's own account unless another is named."""
        if self.role_arn is not None:
            return self.role_arn
        account = self.account or archive_account
        return f"arn:{partition}:iam::{account}:role/{self.writer_role_name}"


class ReplicationSettings(CamelModel):
    """A second copy of the archive in another region (or account), with its own key."""

    enabled: bool = Field(default=False, description="Replicate every new audit object.")
    region: str | None = Field(default=None, description="The replica's region (required).")
    account: str | None = Field(
        default=None,
        description="The replica's account; unset: the archive's. Another needs providerRoleArn.",
    )
    provider_role_arn: str | None = Field(
        default=None,
        description="Role the deploy assumes to create the replica in that account.",
    )

    @field_validator("account")
    @classmethod
    def _valid_account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError(f"replication.account {value!r} must be a 12-digit AWS account id")
        return value

    @field_validator("provider_role_arn")
    @classmethod
    def _valid_provider_role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(
                f"replication.providerRoleArn {value!r} is not an IAM role ARN "
                "(arn:aws:iam::<12-digit account>:role/<name>)"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> ReplicationSettings:
        if self.enabled and self.region is None:
            raise ValueError("replication.region is required when replication is enabled")
        if self.account is not None and self.provider_role_arn is None:
            raise ValueError(
                "replication.account names another account: set replication.providerRoleArn, "
                "the role the deploy assumes there to create the replica"
            )
        return self


class ArchiveSettings(CamelModel):
    """An archive stack: who may write to it, and whether it is replicated."""

    clusters: list[RegisteredCluster] = Field(
        default_factory=list,
        description="The cluster stacks that write here: one line each (`- stack: prod`).",
    )
    replication: ReplicationSettings = ReplicationSettings()
    protect: bool = Field(
        default=True,
        description="protect + retainOnDelete on the archive's resources; false: dev only.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> ArchiveSettings:
        seen_stacks: set[str] = set()
        prefixes: list[tuple[str, str]] = []
        for cluster in self.clusters:
            if cluster.stack in seen_stacks:
                raise ValueError(f"clusters lists stack {cluster.stack!r} twice")
            seen_stacks.add(cluster.stack)
            for other, prefix in prefixes:
                mine = cluster.key_prefix
                if mine.startswith(prefix) or prefix.startswith(mine):
                    raise ValueError(
                        f"clusters {cluster.stack!r} prefix {mine!r} overlaps {other!r} "
                        f"prefix {prefix!r}: each cluster needs a prefix of its own"
                    )
            prefixes.append((cluster.stack, cluster.key_prefix))
        return self


def valid_stack_reference(value: str) -> str:
    if not _STACK_REFERENCE.match(value):
        raise ValueError(
            f"archiveStack {value!r} must name a stack: <stack>, <project>/<stack> or "
            "<org>/<project>/<stack>"
        )
    return value


StorageClass = Literal[
    "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"
]
# S3 refuses lifecycle transitions to the infrequent-access classes before 30 days.
_MIN_DAYS_BEFORE_IA = 30


class ObjectLockSettings(CamelModel):
    """S3 Object Lock: WORM retention of every audit object."""

    enabled: bool = Field(default=False, description="Set at bucket creation; cannot be undone.")
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        default="GOVERNANCE",
        description="COMPLIANCE: nobody, root included, can delete before retention ends.",
    )
    retention_days: int = Field(default=365, ge=1, le=36500, description="Default lock per object.")


class BucketSettings(CamelModel):
    """The audit archive bucket. Defaults are the secure ones."""

    name: str | None = Field(default=None, description="Unset: a generated unique name.")
    encryption: Literal["kms", "sse-s3"] = Field(
        default="kms", description="kms: a dedicated key with rotation; sse-s3: AES256."
    )
    retention_days: int = Field(
        default=400, ge=1, le=36500, description="Objects under logPrefix expire after this."
    )
    transition_days: int | None = Field(
        default=90, ge=0, description="Move to transitionStorageClass; null: never."
    )
    transition_storage_class: StorageClass = "GLACIER_IR"
    object_lock: ObjectLockSettings = ObjectLockSettings()
    admin_role_arn: str | None = Field(
        default=None,
        description="Without object lock: the one role allowed to delete audit objects.",
    )
    force_destroy: bool = Field(
        default=False, description="Let `pulumi destroy` empty the bucket (dev only)."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return None if value is None else check_bucket_name(value)

    @field_validator("admin_role_arn")
    @classmethod
    def _valid_admin_role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError(
                f"adminRoleArn {value!r} is not an IAM role ARN "
                "(arn:aws:iam::<12-digit account>:role/<name>)"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BucketSettings:
        days = self.transition_days
        if days is not None and days >= self.retention_days:
            raise ValueError(
                f"transitionDays ({days}) must be smaller than retentionDays "
                f"({self.retention_days}): objects would expire before they move"
            )
        if (
            days is not None
            and self.transition_storage_class in ("STANDARD_IA", "INTELLIGENT_TIERING")
            and days < _MIN_DAYS_BEFORE_IA
        ):
            raise ValueError(
                f"transitionDays ({days}) must be at least {_MIN_DAYS_BEFORE_IA} for "
                f"{self.transition_storage_class}: S3 rejects earlier transitions"
            )
        lock = self.object_lock
        if lock.enabled and lock.retention_days > self.retention_days:
            raise ValueError(
                f"objectLock.retentionDays ({lock.retention_days}) must not exceed "
                f"retentionDays ({self.retention_days}): expiration could never delete "
                "the locked objects"
            )
        if lock.enabled and self.force_destroy:
            raise ValueError("forceDestroy must be false when objectLock is enabled")
        return self
