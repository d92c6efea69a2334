"""The archive's access logs: a separate bucket, reachable by S3 log delivery for it only."""

from __future__ import annotations

from typing import Any

import pytest

from components.archive.bucket import AuditLogBucket, AuditLogBucketArgs
from components.archive.policies import LOG_PREFIX
from components.archive.settings import BucketSettings, access_log_bucket_name
from tests.conftest import policy_document, run_component
from tooling.graph import RecordedResource, ResourceGraph

S3 = "aws:s3/"


def _graph(**settings: Any) -> ResourceGraph:
    args = AuditLogBucketArgs(
        settings=BucketSettings(**settings), log_prefix="audit/test/", environment="test"
    )
    return run_component(lambda: AuditLogBucket("archive", args))


def _log_resource(graph: ResourceGraph, type_token: str) -> RecordedResource:
    [found] = [r for r in graph.by_type(type_token) if r.name.startswith("archive-access-logs")]
    return found


def _buckets(graph: ResourceGraph) -> tuple[RecordedResource, RecordedResource]:
    archive = graph.one("container-audit-log:storage:AuditLogBucket")
    by_name = {r.name: r for r in graph.children_of(archive.urn)}
    return by_name["archive-bucket"], by_name["archive-access-logs"]


def test_archive_logs_its_access_into_the_separate_bucket() -> None:
    graph = _graph(name="audit-archive-test")
    archive, logs = _buckets(graph)
    logging = graph.one(f"{S3}bucketLogging:BucketLogging").inputs
    assert logging["bucket"] == archive.outputs["bucket"] == "audit-archive-test"
    assert logging["targetBucket"] == logs.outputs["bucket"] == "audit-archive-test-access-logs"
    assert logging["targetPrefix"] == LOG_PREFIX


def test_log_bucket_is_private_versioned_encrypted_and_expires_with_the_archive() -> None:
    graph = _graph(retentionDays=180, transitionDays=None)
    block = _log_resource(graph, f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block[flag] is True for flag in flags)
    ownership = _log_resource(graph, f"{S3}bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    versioning = _log_resource(graph, f"{S3}bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    sse = _log_resource(
        graph,
        f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    # S3 log delivery writes with SSE-S3.
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }
    [rule] = _log_resource(
        graph, f"{S3}bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ).inputs["rules"]
    assert rule["expiration"]["days"] == 180
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1


def test_log_bucket_has_no_object_lock_even_where_the_archive_has_one() -> None:
    lock = {"enabled": True, "mode": "COMPLIANCE", "retentionDays": 30}
    _, logs = _buckets(_graph(objectLock=lock, retentionDays=60, transitionDays=None))
    assert logs.inputs.get("objectLockEnabled") in (None, False)


def test_only_s3_log_delivery_for_this_archive_may_write_and_only_over_tls() -> None:
    graph = _graph()
    archive, logs = _buckets(graph)
    policy = _log_resource(graph, f"{S3}bucketPolicy:BucketPolicy")
    statements = {s["Sid"]: s for s in policy_document(policy)["Statement"]}
    log_arn = logs.outputs["arn"]
    assert statements["DenyInsecureTransport"]["Resource"] == [log_arn, f"{log_arn}/*"]
    delivery = statements["AllowServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == f"{log_arn}/{LOG_PREFIX}*"
    assert delivery["Condition"] == {"ArnEquals": {"aws:SourceArn": archive.outputs["arn"]}}
    logging = graph.one(f"{S3}bucketLogging:BucketLogging")
    assert policy.urn in logging.dependencies


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        ("audit-log-prod", "audit-log-prod-access-logs"),
        (None, None),  # the archive's name is generated: so is this one
        ("a" * 51, "a" * 51 + "-access-logs"),  # 63 characters, the longest S3 accepts
        ("a" * 52, None),
    ],
)
def test_log_bucket_name(archive: str | None, expected: str | None) -> None:
    assert access_log_bucket_name(archive) == expected
