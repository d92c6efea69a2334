"""The archive's bucket policy, judged by what it decides: other keys and deletion denied.

Requests by a role of the archive's own account are evaluated against the bucket policy:
an upload naming another KMS key must be denied, the agent's own uploads (no encryption
header, or naming the archive key) must not be, and without Object Lock every deletion of
an audit object must be denied (an admin role may be excepted, a probe role is not).

A shared archive (an archive stack) lets only its registered writers upload, each under its
own prefix: its "own uploads" are those of each writer there. A replica is written by S3
replication only: no upload of its own must pass, so only the foreign-key check applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import UNKNOWN, StackReport, StackResource, dicts, get, stack_policy
from .iam_eval import Request
from .probes import (
    FOREIGN_KEY_ID,
    arn_part,
    caller,
    document,
    in_account_role,
    resource_decision,
)
from .s3 import BUCKET_POLICY_TYPES, BUCKET_TYPES, SSE_TYPES, linked_buckets
from .s3_logging import log_destinations

SSE_HEADER = "s3:x-amz-server-side-encryption"
KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
_TLS: Mapping[str, Any] = {"aws:SecureTransport": True}
_DEFAULT_ACCOUNT = "123456789012"
REPLICATION_TYPE = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


def bucket_arn(bucket: StackResource) -> str | None:
    arn, name = bucket.props.get("arn"), bucket.props.get("bucket")
    if isinstance(arn, str) and arn:
        return arn
    return f"arn:aws:s3:::{name}" if isinstance(name, str) and name else None


def archive_key(bucket: StackResource, resources: list[StackResource]) -> Any:
    """The KMS key the bucket encrypts with by default (UNKNOWN if not knowable now)."""
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    for sse in (r for r in resources if r.type in SSE_TYPES):
        if bucket not in linked_buckets(sse, buckets):
            continue
        for rule in dicts(sse.props.get("rules")):
            default = get(rule, "applyServerSideEncryptionByDefault")
            if get(default, "sseAlgorithm") == "aws:kms":
                return get(default, "kmsMasterKeyId")
    return None


def registered_writers(policy: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(writer role ARN, object pattern) of each Allow s3:PutObject a shared archive's policy
    grants one principal by `aws:PrincipalArn`; [] for a combined stack's archive."""
    found = []
    for statement in dicts(policy.get("Statement")):
        arns = get(statement, "Condition", "ArnEquals", "aws:PrincipalArn")
        resource = statement.get("Resource")
        if (
            statement.get("Effect") == "Allow"
            and statement.get("Action") in ("s3:PutObject", ["s3:PutObject"])
            and isinstance(arns, str)
            and isinstance(resource, str)
        ):
            found.append((arns, resource))
    return found


def _uploaders(policy: Mapping[str, Any], objects: str, account: str) -> list[tuple[str, str]]:
    """(principal, object ARN) of the uploads that must pass: each writer's in its prefix."""
    writers = registered_writers(policy)
    if not writers:
        return [(in_account_role(account), objects)]
    return [(arn, pattern.replace("*", "probe/object.jsonl.gz")) for arn, pattern in writers]


def _as(principal: str, action: str, resource: str, context: Mapping[str, Any]) -> Request:
    account = arn_part(principal, "account") or _DEFAULT_ACCOUNT
    return Request(
        action=action,
        resource=resource,
        principal=principal,
        account=account,
        context={"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, **context},
    )


def _key_problems(
    policy: Mapping[str, Any], objects: str, key: str, *, replica: bool = False
) -> list[str]:
    account = arn_part(key, "account") or _DEFAULT_ACCOUNT
    region = arn_part(key, "region") or "us-east-1"
    foreign = f"arn:aws:kms:{region}:{account}:key/{FOREIGN_KEY_ID}"
    problems = []
    foreign_context = {**_TLS, SSE_HEADER: "aws:kms", KEY_HEADER: foreign}
    for principal, resource in _uploaders(policy, objects, account):
        with_foreign = _as(principal, "s3:PutObject", resource, foreign_context)
        if resource_decision(policy, with_foreign) != "explicit-deny":
            problems.append("does not deny an upload that names another KMS key")
            break
    if replica:
        return problems
    own_uploads = {
        "with no encryption header (the agent's uploads)": {**_TLS},
        "naming the archive key": {**_TLS, SSE_HEADER: "aws:kms", KEY_HEADER: key},
    }
    for label, context in own_uploads.items():
        for principal, resource in _uploaders(policy, objects, account):
            request = _as(principal, "s3:PutObject", resource, context)
            if resource_decision(policy, request) == "explicit-deny":
                problems.append(f"denies uploads {label}")
                break
    return problems


def replication_destinations(resources: list[StackResource]) -> set[str]:
    """Bucket ARNs that S3 replication of this stack writes to."""
    return {
        str(get(rule, "destination", "bucket"))
        for r in resources
        if r.type == REPLICATION_TYPE
        for rule in dicts(r.props.get("rules"))
        if isinstance(get(rule, "destination", "bucket"), str)
    }


def _delete_problems(policy: Mapping[str, Any], objects: str, account: str) -> list[str]:
    return [
        f"does not deny {action} (the bucket has no Object Lock)"
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion")
        if resource_decision(policy, caller(account, action, objects, _TLS)) != "explicit-deny"
    ]


def _check(resources: list[StackResource], config: Mapping[str, Any], report: StackReport) -> None:
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    destinations = log_destinations(resources)
    replicas = replication_destinations(resources)
    for policy_resource in (r for r in resources if r.type in BUCKET_POLICY_TYPES):
        text = policy_resource.props.get("policy")
        if text is UNKNOWN:
            continue
        policy = document(text)
        for bucket in linked_buckets(policy_resource, buckets):
            arn = bucket_arn(bucket)
            if bucket.urn in destinations or arn is None:
                continue
            if policy is None:
                report("the bucket policy is not a JSON policy document", policy_resource.urn)
                continue
            objects = f"{arn}/{config['probeKey']}"
            key = archive_key(bucket, resources)
            replica = arn in replicas
            problems = (
                _key_problems(policy, objects, key, replica=replica) if isinstance(key, str) else []
            )
            if bucket.props.get("objectLockEnabled") not in (True, UNKNOWN):
                account = arn_part(key, "account") or _DEFAULT_ACCOUNT
                problems += _delete_problems(policy, objects, account)
            for problem in problems:
                report(f"the policy of bucket '{bucket.name}' {problem}", policy_resource.urn)


def policies() -> list[Policy]:
    return [
        stack_policy(
            name="s3-bucket-policy-denies",
            what="The archive's bucket policy denies uploads that name another KMS key (but "
            "not the agent's own uploads) and, without Object Lock, every deletion of an "
            "audit object; judged by evaluating requests against it.",
            fix="add Deny s3:PutObject with Condition {Null: {<key-id header>: 'false'}, "
            "StringNotEquals: {<key-id header>: <archive key ARN>}} and, without Object Lock, "
            "Deny s3:DeleteObject and s3:DeleteObjectVersion on <bucket ARN>/* (the "
            "AuditLogBucket component writes both).",
            severity=Severity.HIGH,
            enforcement=EnforcementLevel.MANDATORY,
            check=_check,
            config={
                "probeKey": {
                    "type": "string",
                    "default": "audit/probe/object.jsonl.gz",
                    "description": "Object key the probe requests name (any audit object).",
                }
            },
        ),
    ]
