"""Access logging of the archive: who read or wrote it is recorded in a separate bucket.

S3 server access logs go to a destination bucket named by an aws.s3.BucketLogging. That
destination is a different kind of bucket: S3 writes into it (it cannot use Object Lock
default retention, and takes SSE-S3), so the archive-only rules exempt it by this link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import StackReport, StackResource, as_list, dicts, stack_policy
from .iam_eval import Request
from .probes import document, resource_decision

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
LOG_DELIVERY = "logging.s3.amazonaws.com"
LOGGING_TYPES = (
    "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketLoggingV2:BucketLoggingV2",
)


def _name(bucket: StackResource) -> str | None:
    name = bucket.props.get("bucket")
    return name if isinstance(name, str) and name else None


def _named(value: Any, buckets: list[StackResource]) -> list[StackResource]:
    return [b for b in buckets if isinstance(value, str) and _name(b) == value]


def logging_links(
    resources: list[StackResource],
) -> list[tuple[StackResource, list[StackResource], list[StackResource]]]:
    """(logging resource, source buckets, destination buckets) of every BucketLogging."""
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    links = []
    for logging in (r for r in resources if r.type in LOGGING_TYPES):
        targets = _named(logging.props.get("targetBucket"), buckets)
        # The source by name, else by dependency (a bucket id that is not yet its name).
        sources = _named(logging.props.get("bucket"), buckets) or [
            b for b in buckets if logging.depends_on(b, "bucket") and b not in targets
        ]
        links.append((logging, sources, targets))
    return links


def _admits_log_delivery(
    policy: StackResource, bucket: StackResource, buckets: list[StackResource]
) -> bool:
    """Whether S3 log delivery may write into `bucket` the logs of another bucket here."""
    parsed = document(policy.props.get("policy"))
    name = _name(bucket)
    if parsed is None or name is None:
        return False
    sources = [f"arn:aws:s3:::{n}" for b in buckets if b is not bucket and (n := _name(b))]
    # Log delivery writes under the logging's target prefix: probe the objects it names.
    objects = {f"arn:aws:s3:::{name}/any/key"} | {
        str(r).replace("*", "x")
        for statement in dicts(parsed.get("Statement"))
        for r in as_list(statement.get("Resource"))
        if str(r).startswith(f"arn:aws:s3:::{name}/")
    }
    return any(
        resource_decision(
            parsed,
            Request("s3:PutObject", obj, principal=LOG_DELIVERY, context={"aws:SourceArn": src}),
        )
        == "allow"
        for src in sources
        for obj in objects
    )


def log_destinations(resources: list[StackResource]) -> set[str]:
    """URNs of the buckets that receive access logs: another bucket's logging target, or a
    bucket whose policy lets S3 log delivery write (still a log bucket when a link is cut)."""
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    linked = {
        target.urn
        for _, sources, targets in logging_links(resources)
        for target in targets
        if all(target.urn != source.urn for source in sources)
    }
    admitting = {
        bucket.urn
        for policy in resources
        if policy.type in BUCKET_POLICY_TYPES
        for bucket in _named(policy.props.get("bucket"), buckets)
        if _admits_log_delivery(policy, bucket, buckets)
    }
    return linked | admitting


def _check_access_logging(
    resources: list[StackResource], config: Mapping[str, Any], report: StackReport
) -> None:
    destinations = log_destinations(resources)
    logged: set[str] = set()
    for logging, sources, targets in logging_links(resources):
        for source in sources:
            if any(target.urn == source.urn for target in targets):
                report(
                    f"bucket '{source.name}' logs its access into itself: each log write "
                    "is logged again, and whoever can delete objects deletes the trail",
                    logging.urn,
                )
            elif targets or not config["requireDestinationInStack"]:
                logged.add(source.urn)
            else:
                report(
                    f"bucket '{source.name}' logs to {logging.props.get('targetBucket')!r}, "
                    "not a bucket of this stack",
                    logging.urn,
                )
    for bucket in resources:
        if bucket.type in BUCKET_TYPES and bucket.urn not in destinations | logged:
            report(
                f"bucket '{bucket.name}' has no server access logging to a separate bucket",
                bucket.urn,
            )


def policies() -> list[Policy]:
    return [
        stack_policy(
            name="s3-access-logging",
            what="Every bucket (but the log destination itself) has server access logging "
            "to a separate bucket, so reads and writes of the archive leave a trail.",
            fix="add an aws.s3.BucketLogging with bucket=<the bucket> and targetBucket=<a "
            "separate log bucket of this stack> (the AuditLogBucket component creates both).",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.MANDATORY,
            check=_check_access_logging,
            config={
                "requireDestinationInStack": {
                    "type": "boolean",
                    "default": True,
                    "description": "The log destination must be a bucket of this stack.",
                }
            },
        ),
    ]
