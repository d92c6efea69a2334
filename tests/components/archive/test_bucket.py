"""AuditLogBucket under mocks: what reaches the engine is a locked-down archive."""

from __future__ import annotations

import dataclasses
from typing import Any

from components.archive.bucket import AuditLogBucket, AuditLogBucketArgs
from components.archive.settings import BucketSettings, ObjectLockSettings
from tests.conftest import policy_document, run_component
from tooling.graph import ResourceGraph

S3 = "aws:s3/"


def _full_graph(**settings: Any) -> ResourceGraph:
    args = AuditLogBucketArgs(
        settings=BucketSettings(**settings), log_prefix="audit/test/", environment="test"
    )
    return run_component(lambda: AuditLogBucket("archive", args))


def _bucket_graph(**settings: Any) -> ResourceGraph:
    """The archive's own resources (its access-log bucket is tested in test_access_logs)."""
    graph = _full_graph(**settings)
    own = tuple(r for r in graph.resources if "access-log" not in r.name)
    return dataclasses.replace(graph, resources=own)


def test_all_four_public_access_flags_are_on() -> None:
    block = _bucket_graph().one(f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block[flag] is True, flag


def test_kms_encryption_with_a_rotating_key_and_bucket_key() -> None:
    graph = _bucket_graph()
    key = graph.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    rule = graph.one(
        f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key.outputs["arn"]
    assert rule["bucketKeyEnabled"] is True


def test_sse_s3_creates_no_key() -> None:
    graph = _bucket_graph(encryption="sse-s3")
    assert graph.by_type("aws:kms/key:Key") == []
    rule = graph.one(
        f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_versioning_and_owner_enforced() -> None:
    graph = _bucket_graph()
    assert (
        graph.one(f"{S3}bucketVersioning:BucketVersioning").inputs["versioningConfiguration"][
            "status"
        ]
        == "Enabled"
    )
    assert (
        graph.one(f"{S3}bucketOwnershipControls:BucketOwnershipControls").inputs["rule"][
            "objectOwnership"
        ]
        == "BucketOwnerEnforced"
    )


def test_lifecycle_transitions_expires_and_aborts_uploads() -> None:
    rules = {
        r["id"]: r
        for r in _bucket_graph(retention_days=200, transition_days=45)
        .one(f"{S3}bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        .inputs["rules"]
    }
    retention = rules["audit-retention"]
    assert retention["filter"]["prefix"] == "audit/test/"
    assert retention["expiration"]["days"] == 200
    assert retention["transitions"] == [{"days": 45, "storageClass": "GLACIER_IR"}]
    assert (
        rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"][
            "daysAfterInitiation"
        ]
        == 1
    )


def test_object_lock_when_configured() -> None:
    graph = _bucket_graph(
        object_lock=ObjectLockSettings(enabled=True, mode="COMPLIANCE", retention_days=100)
    )
    assert graph.one(f"{S3}bucket:Bucket").inputs["objectLockEnabled"] is True
    retention = graph.one(
        f"{S3}bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    ).inputs["rule"]["defaultRetention"]
    assert retention == {"mode": "COMPLIANCE", "days": 100}


def test_no_object_lock_by_default() -> None:
    graph = _bucket_graph()
    assert graph.one(f"{S3}bucket:Bucket").inputs["objectLockEnabled"] is False
    assert graph.by_type(f"{S3}bucketObjectLockConfiguration:BucketObjectLockConfiguration") == []


def _statements(graph: ResourceGraph) -> dict[str, dict[str, Any]]:
    document = policy_document(graph.one(f"{S3}bucketPolicy:BucketPolicy"))
    return {s["Sid"]: s for s in document["Statement"]}


def test_bucket_policy_denies_plain_http() -> None:
    graph = _bucket_graph()
    tls = _statements(graph)["DenyInsecureTransport"]
    arn = graph.one(f"{S3}bucket:Bucket").outputs["arn"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(tls["Resource"]) == {arn, f"{arn}/*"}


def test_without_object_lock_deletion_is_denied_except_for_the_admin_role() -> None:
    admin = "arn:aws:iam::123456789012:role/audit-admin"
    deny = _statements(_bucket_graph(admin_role_arn=admin))["DenyAuditObjectDeletion"]
    assert deny["Effect"] == "Deny"
    assert "s3:DeleteObjectVersion" in deny["Action"]
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": admin}}
    assert "Condition" not in _statements(_bucket_graph())["DenyAuditObjectDeletion"]


def test_with_object_lock_the_lock_guards_deletion() -> None:
    graph = _bucket_graph(object_lock=ObjectLockSettings(enabled=True, retention_days=30))
    assert "DenyAuditObjectDeletion" not in _statements(graph)


def test_policy_waits_for_the_public_access_block() -> None:
    graph = _bucket_graph()
    block = graph.one(f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.urn in graph.one(f"{S3}bucketPolicy:BucketPolicy").dependencies


def test_every_child_is_parented_to_the_component() -> None:
    graph = _full_graph()
    component = graph.one("container-audit-log:storage:AuditLogBucket")
    children = [r for r in graph.resources if r.type.startswith("aws:")]
    assert children and all(r.parent == component.urn for r in children)
