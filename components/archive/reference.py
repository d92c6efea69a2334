"""ArchiveReference: a cluster stack's view of the archive stack it writes to.

Reads the archive stack's outputs through a StackReference: the bucket, its key, its
region, and this cluster's registration (the prefix it may write and its writer role's
name). A cluster the archive does not list fails here, with the line to add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.archive.settings import referenced_stack


class ArchiveReferenceError(pulumi.RunError):
    """The archive stack does not register this cluster, or disagrees with its config."""


@dataclass(frozen=True)
class ArchiveReferenceArgs:
    archive_stack: str  # `<org>/<project>/<stack>` (or shorter) of the archive stack
    cluster_stack: str  # this stack's name: its key in the archive's `clusters` output
    log_prefix: str  # the prefix this stack's config expects; must be the archive's
    # The archive's region this stack's agent is configured for (archiveRegion, else its own).
    archive_region: str | None = None


@dataclass(frozen=True)
class Registration:
    prefix: str
    writer_role_name: str
    writer_role_arn: str


def registration_of(
    clusters: Any,
    args: ArchiveReferenceArgs,
    account: str | None = None,
    archive_region: Any = None,
) -> Registration:
    """This cluster's entry in the archive's `clusters` output, checked against its config;
    given `account` (where this stack deploys) against the writer role's account, and given
    the archive's `region` output against the region the agent is configured for."""
    entry = clusters.get(args.cluster_stack) if isinstance(clusters, dict) else None
    archive = referenced_stack(args.archive_stack)
    if not isinstance(entry, dict):
        raise ArchiveReferenceError(
            f"archive stack {args.archive_stack!r} does not register cluster "
            f"{args.cluster_stack!r}: add `- stack: {args.cluster_stack}` to "
            f"container-audit-log:archive.clusters in Pulumi.{archive}.yaml and update it first"
        )
    if entry.get("prefix") != args.log_prefix:
        raise ArchiveReferenceError(
            f"archive stack {args.archive_stack!r} assigns cluster {args.cluster_stack!r} the "
            f"prefix {entry.get('prefix')!r}, but its logPrefix is {args.log_prefix!r}; "
            "make them the same"
        )
    if archive_region is not None and args.archive_region not in (None, archive_region):
        raise ArchiveReferenceError(
            f"archive stack {args.archive_stack!r} is in region {archive_region}, but this "
            f"stack's agent would write to {args.archive_region} (archiveRegion, unset: the "
            f"stack's region): set container-audit-log:archiveRegion: {archive_region}"
        )
    role_account = str(entry.get("writerRoleArn", "")).split(":")[4:5]
    if account is not None and role_account != [account]:
        raise ArchiveReferenceError(
            f"archive stack {args.archive_stack!r} expects cluster {args.cluster_stack!r}'s "
            f"writer role in account {''.join(role_account) or '?'}, but this stack deploys to "
            f'account {account}: set `account: "{account}"` on its line in '
            f"Pulumi.{archive}.yaml"
        )
    return Registration(
        prefix=str(entry["prefix"]),
        writer_role_name=str(entry["writerRoleName"]),
        writer_role_arn=str(entry["writerRoleArn"]),
    )


class ArchiveReference(pulumi.ComponentResource):
    stack_reference: pulumi.StackReference
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str | None]
    region: pulumi.Output[str]
    writer_role_name: pulumi.Output[str]
    writer_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ArchiveReferenceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:storage:ArchiveReference", name, None, opts)
        self.stack_reference = pulumi.StackReference(
            args.archive_stack, opts=pulumi.ResourceOptions(parent=self)
        )
        ref = self.stack_reference
        # Known at preview: a writer role registered for another account fails before any
        # resource is created, not after.
        own = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        registration = pulumi.Output.all(
            ref.get_output("clusters"), own.account_id, ref.get_output("region")
        ).apply(lambda v: registration_of(v[0], args, v[1], v[2]))
        self.bucket_name = ref.get_output("bucketName")
        self.bucket_arn = ref.get_output("bucketArn")
        self.kms_key_arn = ref.get_output("kmsKeyArn")
        self.region = ref.get_output("region")
        self.writer_role_name = registration.apply(lambda r: r.writer_role_name)
        self.writer_role_arn = registration.apply(lambda r: r.writer_role_arn)
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "logPrefix": registration.apply(lambda r: r.prefix),
                "writerRoleName": self.writer_role_name,
            }
        )
