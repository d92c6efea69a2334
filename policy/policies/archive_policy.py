"""The archive's bucket policy, judged by what it decides: other keys and deletion denied.

Requests by a role of the archive's own account are evaluated against the bucket policy:
an upload naming another KMS key must be denied, the agent's own uploads (no encryption
header, or naming the archive key) must not be, and without Object Lock every deletion of
an audit object must be denied (an admin role may be excepted, a probe role is not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import UNKNOWN, StackReport, StackResource, dicts, get, stack_policy
from .probes import FOREIGN_KEY_ID, arn_part, caller, document, resource_decision
from .s3 import BUCKET_POLICY_TYPES, BUCKET_TYPES, SSE_TYPES, linked_buckets
from .s3_logging import log_destinations

SSE_HEADER = "s3:x-amz-server-side-encryption"
KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"
_TLS: Mapping[str, Any] = {"aws:SecureTransport": True}
_DEFAULT_ACCOUNT = "123456789012"


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


def _key_problems(policy: Mapping[str, Any], objects: str, key: str) -> list[str]:
    account = arn_part(key, "account") or _DEFAULT_ACCOUNT
    region = arn_part(key, "region") or "us-east-1"
    foreign = f"arn:aws:kms:{region}:{account}:key/{FOREIGN_KEY_ID}"
    problems = []
    with_foreign = caller(
        account, "s3:PutObject", objects, {**_TLS, SSE_HEADER: "aws:kms", KEY_HEADER: foreign}
    )
    if resource_decision(policy, with_foreign) != "explicit-deny":
        problems.append("does not deny an upload that names another KMS key")
    own_uploads = {
        "with no encryption header (the agent's uploads)": {**_TLS},
        "naming the archive key": {**_TLS, SSE_HEADER: "aws:kms", KEY_HEADER: key},
    }
    for label, context in own_uploads.items():
        request = caller(account, "s3:PutObject", objects, context)
        if resource_decision(policy, request) == "explicit-deny":
            problems.append(f"denies uploads {label}")
    return problems


def _delete_problems(policy: Mapping[str, Any], objects: str, account: str) -> list[str]:
    return [
        f"does not deny {action} (the bucket has no Object Lock)"
        for action in ("s3:DeleteObject", "s3:DeleteObjectVersion")
        if resource_decision(policy, caller(account, action, objects, _TLS)) != "explicit-deny"
    ]


def _check(resources: list[StackResource], config: Mapping[str, Any], report: StackReport) -> None:
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    destinations = log_destinations(resources)
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
            problems = _key_problems(policy, objects, key) if isinstance(key, str) else []
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
