"""S3 policies: the audit archive must be encrypted, versioned, private, TLS-only and tidy.

In pulumi-aws 7 a bucket's settings are separate resources whose `bucket` input names the
bucket. Resource policies check each settings resource; the stack policies relate them to
their bucket, because a bucket with no settings resource at all is the worst case.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from . import iam_documents as iam
from .common import (
    UNKNOWN,
    Report,
    Resource,
    StackReport,
    StackResource,
    as_list,
    dicts,
    get,
    is_set,
    parse_json,
    resource_policy,
    stack_policy,
)
from .iam_eval import Request
from .probes import FOREIGN_ACCOUNT, caller, resource_decision
from .s3_logging import log_destinations

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
SSE_TYPES = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING_TYPES = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
PUBLIC_ACCESS_BLOCK_TYPES = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
LIFECYCLE_TYPES = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
OBJECT_LOCK_TYPES = (
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
)
OWNERSHIP_TYPES = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
BUCKET_POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")

_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<rest>.+)$")
_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
_PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEE_GROUPS = ("/global/AllUsers", "/global/AuthenticatedUsers")
_PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


def bucket_name(bucket: StackResource) -> str | None:
    name = bucket.props.get("bucket")
    return name if isinstance(name, str) and name else None


def linked_buckets(companion: StackResource, buckets: list[StackResource]) -> list[StackResource]:
    """The buckets a settings resource applies to: by property dependency, name, or dependency."""
    by_property = companion.property_dependencies.get("bucket")
    if by_property:
        return [b for b in buckets if b.urn in by_property]
    value = companion.props.get("bucket")
    if isinstance(value, str):
        named = [b for b in buckets if bucket_name(b) == value]
        if named:
            return named
    return [b for b in buckets if b.urn in companion.dependencies]


def _label(bucket: StackResource) -> str:
    name = bucket_name(bucket)
    return f"bucket '{bucket.name}'" + (f" ({name})" if name else "")


# --- resource policies ------------------------------------------------------------------


def _check_encryption(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    rules = dicts(resource.props.get("rules"))
    if not rules and resource.props.get("rules") is not UNKNOWN:
        report("the configuration has no rules, so objects are not encrypted by default")
    for index, rule in enumerate(rules):
        default = rule.get("applyServerSideEncryptionByDefault")
        algorithm = get(default, "sseAlgorithm")
        if algorithm is UNKNOWN:
            continue
        if algorithm is None:
            report(f"rules[{index}] sets no applyServerSideEncryptionByDefault.sseAlgorithm")
            continue
        if config["requireKms"] and algorithm not in _KMS_ALGORITHMS:
            report(f"rules[{index}] uses sseAlgorithm '{algorithm}'; this stack requires 'aws:kms'")
        elif config["requireKms"] and not is_set(get(default, "kmsMasterKeyId")):
            report(
                f"rules[{index}] uses {algorithm} without kmsMasterKeyId, so the AWS-managed "
                "key is used and its key policy cannot be restricted"
            )


def _check_encryption_of_stack(
    resources: list[StackResource], config: Mapping[str, Any], report: StackReport
) -> None:
    # S3 writes access logs with SSE-S3 only: a log destination is exempt from requireKms.
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    destinations = log_destinations(resources)
    for sse in (r for r in resources if r.type in SSE_TYPES):
        linked = linked_buckets(sse, buckets)
        exempt = bool(linked) and all(b.urn in destinations for b in linked)
        settings = {**config, "requireKms": config["requireKms"] and not exempt}
        _check_encryption(sse, settings, _at(report, sse.urn))


def _at(report: StackReport, urn: str) -> Report:
    def report_here(message: str) -> None:
        report(message, urn)

    return report_here


def _check_bucket_key(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    for index, rule in enumerate(dicts(resource.props.get("rules"))):
        algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        enabled = rule.get("bucketKeyEnabled")
        if algorithm == "aws:kms" and enabled is not True and enabled is not UNKNOWN:
            report(f"rules[{index}] uses aws:kms with bucketKeyEnabled={enabled}")


def _check_versioning(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    status = get(resource.props, "versioningConfiguration", "status")
    if status not in ("Enabled", UNKNOWN):
        report(f"versioningConfiguration.status is {status!r}, not 'Enabled'")


def _check_public_access_block(
    resource: Resource, config: Mapping[str, Any], report: Report
) -> None:
    off = [
        flag
        for flag in _PUBLIC_ACCESS_FLAGS
        if resource.props.get(flag) is not True and resource.props.get(flag) is not UNKNOWN
    ]
    if off:
        report(f"{', '.join(off)} not set to true")


def _public_grant_uris(props: dict[str, Any]) -> list[str]:
    grants = dicts(props.get("grants")) + dicts(get(props, "accessControlPolicy", "grants"))
    uris = [g.get("uri") for g in grants] + [get(g, "grantee", "uri") for g in grants]
    return [
        uri
        for uri in uris
        if isinstance(uri, str) and any(uri.endswith(group) for group in _PUBLIC_GRANTEE_GROUPS)
    ]


def _check_acl(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    acl = resource.props.get("acl")
    if acl in _PUBLIC_CANNED_ACLS:
        report(f"canned ACL '{acl}' makes the bucket readable outside the account")
    for uri in _public_grant_uris(resource.props):
        report(f"an ACL grant is given to the public group {uri}")


# Plain-HTTP requests that must be refused, by anyone: read, write, list, reconfigure.
_INSECURE_PROBES = (
    ("s3:GetObject", "object"),
    ("s3:PutObject", "object"),
    ("s3:DeleteObject", "object"),
    ("s3:ListBucket", "bucket"),
    ("s3:PutBucketPolicy", "bucket"),
)


def _insecure_requests_allowed(policy: dict[str, Any], bucket: str) -> list[str]:
    arn = f"arn:aws:s3:::{bucket}"
    targets = {"bucket": arn, "object": f"{arn}/any/key"}
    not_denied = []
    for action, target in _INSECURE_PROBES:
        for who in (
            caller(FOREIGN_ACCOUNT, action, targets[target], {}),
            Request(action, targets[target]),
        ):
            request = dataclasses.replace(
                who, context={**who.context, "aws:SecureTransport": False}
            )
            if resource_decision(policy, request) != "explicit-deny":
                not_denied.append(action)
                break
    return not_denied


def _check_tls_only(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    policy, bucket = resource.props.get("policy"), resource.props.get("bucket")
    if policy is UNKNOWN:
        return
    parsed = parse_json(policy)
    if not isinstance(parsed, dict):
        report("the bucket policy is missing or is not a JSON policy document")
        return
    # The bucket the document is about: the names its statements give (the `bucket` input
    # is the bucket's id, its name on AWS, but not always known or equal in a preview).
    named = {
        match.group("rest").split("/", 1)[0]
        for statement in iam.statements(parsed)
        for arn in iam.resources(statement)
        if (match := _S3_ARN.match(arn)) and "*" not in match.group("rest").split("/", 1)[0]
    }
    if not named and isinstance(bucket, str) and bucket:
        named = {bucket}
    if not named:
        return  # the bucket's name is not known yet (preview of a new bucket)
    allowed = sorted({a for name in named for a in _insecure_requests_allowed(parsed, name)})
    if allowed:
        report(
            f"requests without TLS (aws:SecureTransport false) are not denied for "
            f"{', '.join(allowed)}"
        )


def _rule_covers_whole_bucket(rule: dict[str, Any]) -> bool:
    if rule.get("prefix"):
        return False
    flt = rule.get("filter")
    if flt is None or flt == {}:
        return True
    return isinstance(flt, dict) and not (flt.get("prefix") or flt.get("tag") or flt.get("and"))


def _check_lifecycle(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    rules = dicts(resource.props.get("rules"))
    if resource.props.get("rules") is UNKNOWN:
        return
    max_days = config["maxDaysAfterInitiation"]
    for rule in rules:
        days = get(rule, "abortIncompleteMultipartUpload", "daysAfterInitiation")
        if rule.get("status") != "Enabled" or not _rule_covers_whole_bucket(rule):
            continue
        if days is UNKNOWN or (isinstance(days, int | float) and 1 <= days <= max_days):
            return
    report(
        "no enabled whole-bucket rule sets abortIncompleteMultipartUpload.daysAfterInitiation "
        f"between 1 and {max_days}; incomplete uploads are kept (and billed) forever"
    )


def _check_ownership(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    ownership = get(resource.props, "rule", "objectOwnership")
    if ownership not in ("BucketOwnerEnforced", UNKNOWN):
        report(f"rule.objectOwnership is {ownership!r}, so ACLs still decide object access")


# --- stack policies ---------------------------------------------------------------------

_COMPANIONS = (
    ("server-side encryption", SSE_TYPES, "aws.s3.BucketServerSideEncryptionConfiguration"),
    ("versioning", VERSIONING_TYPES, "aws.s3.BucketVersioning"),
    ("public access block", PUBLIC_ACCESS_BLOCK_TYPES, "aws.s3.BucketPublicAccessBlock"),
    ("ownership controls", OWNERSHIP_TYPES, "aws.s3.BucketOwnershipControls"),
    ("lifecycle configuration", LIFECYCLE_TYPES, "aws.s3.BucketLifecycleConfiguration"),
    ("bucket policy", BUCKET_POLICY_TYPES, "aws.s3.BucketPolicy"),
)


def _check_companions(
    resources: list[StackResource], config: Mapping[str, Any], report: StackReport
) -> None:
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    for label, types, sdk_class in _COMPANIONS:
        covered = {
            bucket.urn
            for companion in resources
            if companion.type in types
            for bucket in linked_buckets(companion, buckets)
        }
        for bucket in buckets:
            if bucket.urn not in covered:
                report(f"{_label(bucket)} has no {label}: add an {sdk_class} for it", bucket.urn)


def _retention_days(retention: Any) -> float | None:
    days, years = get(retention, "days"), get(retention, "years")
    if isinstance(days, int | float):
        return float(days)
    if isinstance(years, int | float):
        return float(years) * 365
    return None


def _check_lock_configuration(
    lock: StackResource, config: Mapping[str, Any], report: StackReport
) -> None:
    if lock.props.get("objectLockEnabled", "Enabled") not in ("Enabled", UNKNOWN):
        report(f"objectLockEnabled is {lock.props.get('objectLockEnabled')!r}", lock.urn)
    retention = get(lock.props, "rule", "defaultRetention")
    if retention is UNKNOWN:
        return
    if retention is None:
        if config["requireObjectLock"]:
            report("no rule.defaultRetention, so new objects are not locked", lock.urn)
        return
    mode = get(retention, "mode")
    if mode is not UNKNOWN and mode not in as_list(config["allowedModes"]):
        report(f"retention mode {mode!r} is not one of {config['allowedModes']}", lock.urn)
    days = _retention_days(retention)
    minimum = config["minRetentionDays"]
    if days is not None and days < minimum:
        report(f"default retention of {days:g} days is below the minimum {minimum}", lock.urn)


def _check_object_lock(
    resources: list[StackResource], config: Mapping[str, Any], report: StackReport
) -> None:
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    locks = [r for r in resources if r.type in OBJECT_LOCK_TYPES]
    for lock in locks:
        _check_lock_configuration(lock, config, report)
    if not config["requireObjectLock"]:
        return
    locked = {bucket.urn for lock in locks for bucket in linked_buckets(lock, buckets)}
    # S3 cannot deliver access logs into a bucket with a default retention.
    destinations = log_destinations(resources)
    for bucket in (b for b in buckets if b.urn not in destinations):
        if bucket.props.get("objectLockEnabled") not in (True, UNKNOWN):
            report(f"{_label(bucket)} is created without objectLockEnabled=true", bucket.urn)
        if bucket.urn not in locked:
            report(f"{_label(bucket)} has no BucketObjectLockConfiguration", bucket.urn)


def policies() -> list[Policy]:
    high, mandatory = Severity.HIGH, EnforcementLevel.MANDATORY
    return [
        stack_policy(
            name="s3-bucket-companions",
            what="Every S3 bucket needs its encryption, versioning, public access block, "
            "ownership controls, lifecycle and bucket policy resources.",
            fix="create the missing aws.s3.Bucket* resource with bucket=<the bucket's id> "
            "(the AuditLogBucket component creates all of them).",
            severity=high,
            enforcement=mandatory,
            check=_check_companions,
        ),
        stack_policy(
            name="s3-encryption-kms",
            what="S3 default encryption must be on, with a customer-managed KMS key where "
            "requireKms is set (an access-log destination, which S3 writes with SSE-S3, "
            "excepted).",
            fix="set rules[].applyServerSideEncryptionByDefault to sseAlgorithm 'aws:kms' "
            "and kmsMasterKeyId to the archive's KMS key ARN.",
            severity=high,
            enforcement=mandatory,
            check=_check_encryption_of_stack,
            config={
                "requireKms": {
                    "type": "boolean",
                    "default": True,
                    "description": "Require SSE-KMS with an explicit key (not SSE-S3).",
                }
            },
        ),
        resource_policy(
            name="s3-bucket-key-enabled",
            what="SSE-KMS buckets should use an S3 Bucket Key (fewer KMS calls, lower cost "
            "and less KMS throttling under log bursts).",
            fix="set bucketKeyEnabled=true on each aws:kms encryption rule.",
            severity=Severity.LOW,
            enforcement=EnforcementLevel.ADVISORY,
            types=SSE_TYPES,
            check=_check_bucket_key,
        ),
        resource_policy(
            name="s3-versioning-enabled",
            what="Bucket versioning must be Enabled so an overwrite or delete of an audit "
            "object keeps the previous version.",
            fix="set versioningConfiguration.status='Enabled' on the aws.s3.BucketVersioning.",
            severity=Severity.MEDIUM,
            enforcement=mandatory,
            types=VERSIONING_TYPES,
            check=_check_versioning,
        ),
        resource_policy(
            name="s3-public-access-block",
            what="All four S3 public access block flags must be true.",
            fix="set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and "
            "restrictPublicBuckets to true on the aws.s3.BucketPublicAccessBlock.",
            severity=Severity.CRITICAL,
            enforcement=mandatory,
            types=PUBLIC_ACCESS_BLOCK_TYPES,
            check=_check_public_access_block,
        ),
        resource_policy(
            name="s3-no-public-acl",
            what="No bucket ACL may grant access to AllUsers or AuthenticatedUsers.",
            fix="remove the public canned acl and grants; rely on BucketOwnerEnforced "
            "ownership and the bucket policy instead.",
            severity=Severity.CRITICAL,
            enforcement=mandatory,
            types=BUCKET_TYPES + ACL_TYPES,
            check=_check_acl,
        ),
        resource_policy(
            name="s3-deny-insecure-transport",
            what="The bucket policy must deny every request that does not use TLS.",
            fix="add a statement Effect=Deny, Principal={'AWS': '*'}, Action='s3:*', "
            "Resource=[bucket ARN, bucket ARN + '/*'], "
            "Condition={'Bool': {'aws:SecureTransport': 'false'}}.",
            severity=high,
            enforcement=mandatory,
            types=BUCKET_POLICY_TYPES,
            check=_check_tls_only,
        ),
        resource_policy(
            name="s3-lifecycle-abort-multipart",
            what="A lifecycle rule must abort incomplete multipart uploads (Fluent Bit "
            "uploads in parts; a crashed upload otherwise stays billed forever).",
            fix="add an Enabled rule with an empty filter and "
            "abortIncompleteMultipartUpload.daysAfterInitiation between 1 and the limit.",
            severity=Severity.LOW,
            enforcement=EnforcementLevel.ADVISORY,
            types=LIFECYCLE_TYPES,
            check=_check_lifecycle,
            config={
                "maxDaysAfterInitiation": {
                    "type": "integer",
                    "default": 7,
                    "description": "Longest accepted daysAfterInitiation.",
                }
            },
        ),
        stack_policy(
            name="s3-object-lock",
            what="Where the stack requires it, buckets must be created with object lock and "
            "a default retention (WORM audit archive; an access-log destination excepted); "
            "any lock configuration must use an allowed mode and retention.",
            fix="create the bucket with objectLockEnabled=true and add an "
            "aws.s3.BucketObjectLockConfiguration with rule.defaultRetention "
            "(mode COMPLIANCE or GOVERNANCE, days >= minRetentionDays).",
            severity=high,
            enforcement=mandatory,
            check=_check_object_lock,
            config={
                "requireObjectLock": {
                    "type": "boolean",
                    "default": False,
                    "description": "Every bucket must have object lock with default retention.",
                },
                "allowedModes": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["COMPLIANCE", "GOVERNANCE"]},
                    "default": ["COMPLIANCE", "GOVERNANCE"],
                    "description": "Accepted default retention modes.",
                },
                "minRetentionDays": {
                    "type": "integer",
                    "default": 1,
                    "description": "Shortest accepted default retention, in days.",
                },
            },
        ),
        resource_policy(
            name="s3-ownership-enforced",
            what="Object ownership must be BucketOwnerEnforced (ACLs disabled).",
            fix="set rule.objectOwnership='BucketOwnerEnforced' on the "
            "aws.s3.BucketOwnershipControls.",
            severity=Severity.MEDIUM,
            enforcement=mandatory,
            types=OWNERSHIP_TYPES,
            check=_check_ownership,
        ),
    ]
