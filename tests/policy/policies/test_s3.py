from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.policy import compliant as c
from tests.policy.harness import DELETE, analyze, analyze_stack, changed
from tooling.graph import RecordedResource

RULE = ("rules", 0)
DEFAULT = (*RULE, "applyServerSideEncryptionByDefault")
ABORT = (*RULE, "abortIncompleteMultipartUpload", "daysAfterInitiation")
COMPANIONS = "s3-bucket-companions"
LOCK = "s3-object-lock"
ENCRYPTION = "s3-encryption-kms"
ACCESS_LOGGING = "s3-access-logging"
BUCKET_POLICY = "s3-bucket-policy-denies"
STACK_POLICIES = (COMPANIONS, LOCK, ENCRYPTION, ACCESS_LOGGING, BUCKET_POLICY)
PUBLIC_GRANT = {
    "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
    "permission": "READ",
}


def _no_tls(statement: dict[str, Any]) -> dict[str, Any]:
    return {**c.bucket_policy(), "policy": c.document(statement)}


# (resource type, props, policy config, the one policy expected to fire)
VIOLATIONS = [
    pytest.param(
        c.SSE_T,
        changed(c.sse(), (*RULE, "bucketKeyEnabled"), False),
        {},
        "s3-bucket-key-enabled",
        id="bucket-key-off",
    ),
    pytest.param(
        c.VERSIONING_T,
        changed(c.versioning(), ("versioningConfiguration", "status"), "Suspended"),
        {},
        "s3-versioning-enabled",
        id="versioning-suspended",
    ),
    pytest.param(
        c.PAB_T,
        {**c.public_access_block(), "restrictPublicBuckets": False},
        {},
        "s3-public-access-block",
        id="one-flag-false",
    ),
    pytest.param(
        c.PAB_T,
        changed(c.public_access_block(), ("ignorePublicAcls",), DELETE),
        {},
        "s3-public-access-block",
        id="one-flag-unset",
    ),
    pytest.param(
        c.BUCKET_T, {**c.bucket(), "acl": "public-read"}, {}, "s3-no-public-acl", id="canned"
    ),
    pytest.param(
        c.ACL_T,
        {"bucket": c.BUCKET, "accessControlPolicy": {"grants": [PUBLIC_GRANT]}},
        {},
        "s3-no-public-acl",
        id="grant-to-all-users",
    ),
    pytest.param(
        c.BUCKET_POLICY_T,
        _no_tls({**c.tls_statement(), "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
        {},
        "s3-deny-insecure-transport",
        id="denies-tls-instead",
    ),
    pytest.param(
        c.BUCKET_POLICY_T,
        _no_tls({**c.tls_statement(), "Resource": c.BUCKET_ARN}),
        {},
        "s3-deny-insecure-transport",
        id="objects-not-covered",
    ),
    pytest.param(
        c.BUCKET_POLICY_T,
        _no_tls({**c.tls_statement(), "Principal": {"AWS": f"arn:aws:iam::{c.ACCOUNT}:root"}}),
        {},
        "s3-deny-insecure-transport",
        id="one-principal-only",
    ),
    pytest.param(
        c.LIFECYCLE_T,
        changed(c.lifecycle(), ABORT[:-1], DELETE),
        {},
        "s3-lifecycle-abort-multipart",
        id="no-abort",
    ),
    pytest.param(
        c.LIFECYCLE_T,
        changed(c.lifecycle(), ABORT, 30),
        {},
        "s3-lifecycle-abort-multipart",
        id="abort-too-late",
    ),
    pytest.param(
        c.LIFECYCLE_T,
        changed(c.lifecycle(), (*RULE, "filter"), {"prefix": "tmp/"}),
        {},
        "s3-lifecycle-abort-multipart",
        id="abort-only-under-prefix",
    ),
    pytest.param(
        c.LIFECYCLE_T,
        changed(c.lifecycle(), (*RULE, "status"), "Disabled"),
        {},
        "s3-lifecycle-abort-multipart",
        id="rule-disabled",
    ),
    pytest.param(
        c.OWNERSHIP_T,
        changed(c.ownership(), ("rule", "objectOwnership"), "ObjectWriter"),
        {},
        "s3-ownership-enforced",
        id="object-writer",
    ),
]


@pytest.mark.parametrize(("type_token", "props", "config", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(
    type_token: str, props: dict[str, Any], config: dict[str, Any], policy: str
) -> None:
    fired = analyze(type_token, props, {**c.CONFIG, **config})
    assert set(fired) == {policy}, fired


@pytest.mark.parametrize(
    ("type_token", "props"),
    [
        (c.BUCKET_T, c.bucket()),
        (c.SSE_T, c.sse()),
        (c.VERSIONING_T, c.versioning()),
        (c.PAB_T, c.public_access_block()),
        (c.OWNERSHIP_T, c.ownership()),
        (c.LIFECYCLE_T, c.lifecycle()),
        (c.BUCKET_POLICY_T, c.bucket_policy()),
        (c.ACL_T, {"bucket": c.BUCKET, "acl": "private"}),
        (c.LIFECYCLE_T, changed(c.lifecycle(), (*RULE, "filter"), {"prefix": ""})),
    ],
)
def test_compliant_resource_fires_nothing(type_token: str, props: dict[str, Any]) -> None:
    assert analyze(type_token, props, c.CONFIG) == {}


def _sse_rules(rules: list[dict[str, Any]]) -> list[RecordedResource]:
    return [
        dataclasses.replace(r, inputs={**r.inputs, "rules": rules}) if r.type == c.SSE_T else r
        for r in c.resources()
    ]


SSE_S3 = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(SSE_S3, id="sse-s3-where-kms-required"),
        pytest.param(
            [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}],
            id="aws-managed-kms-key",
        ),
        pytest.param([], id="no-rules"),
    ],
)
def test_encryption_violations(rules: list[dict[str, Any]]) -> None:
    fired = analyze_stack(_sse_rules(rules), c.CONFIG)
    assert {k for k in fired if k != "s3-bucket-key-enabled"} == {ENCRYPTION}


def test_sse_s3_is_accepted_where_kms_is_not_required() -> None:
    config = {**c.CONFIG, ENCRYPTION: {"requireKms": False}}
    assert ENCRYPTION not in analyze_stack(_sse_rules(SSE_S3), config)


def test_key_unknown_during_preview_is_not_a_violation() -> None:
    props = changed(c.sse(), (*DEFAULT, "kmsMasterKeyId"), UNKNOWN_STRING_VALUE)
    assert analyze_stack(_sse_rules(props["rules"]), c.CONFIG) == {}


def _with_log_bucket(encryption: list[dict[str, Any]]) -> list[RecordedResource]:
    """The compliant stack plus its access-log destination bucket, with every companion."""
    log_resources = []
    for r in c.resources():
        if r.inputs.get("bucket") == c.BUCKET and r.type != c.LOGGING_T:
            inputs = {**r.inputs, "bucket": c.LOG_BUCKET}
            if r.type == c.SSE_T:
                inputs["rules"] = encryption
            if r.type == c.LOCK_T:
                continue
            if r.type == c.BUCKET_T:
                inputs["objectLockEnabled"] = False
            log_resources.append(
                dataclasses.replace(r, urn=r.urn + "-logs", name=r.name + "-logs", inputs=inputs)
            )
    return [*c.resources(), *log_resources]


def test_log_destination_may_use_sse_s3_and_no_object_lock() -> None:
    config = {**c.CONFIG, ACCESS_LOGGING: {}, LOCK: PROD_LOCK}
    assert analyze_stack(_with_log_bucket(SSE_S3), config) == {}
    unencrypted = analyze_stack(_with_log_bucket([]), config)
    assert set(unencrypted) == {ENCRYPTION}


def test_bucket_without_access_logging_violates() -> None:
    fired = analyze_stack(_without(c.LOGGING_T), c.CONFIG)
    assert set(fired) == {ACCESS_LOGGING}
    assert fired[ACCESS_LOGGING] == [
        (
            "bucket 'archive' has no server access logging to a separate bucket",
            c.urn(c.BUCKET_T, "archive"),
        )
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (c.BUCKET, "logs its access into itself"),
        ("someone-elses-bucket", "not a bucket of this stack"),
    ],
)
def test_access_logs_must_go_to_a_separate_bucket_of_the_stack(target: str, message: str) -> None:
    resources = _replace(c.LOGGING_T, targetBucket=target)
    fired = analyze_stack(resources, {**c.CONFIG, ACCESS_LOGGING: {}})
    assert set(fired) == {ACCESS_LOGGING}
    assert message in fired[ACCESS_LOGGING][0][0]


def test_messages_name_the_bad_value() -> None:
    props = changed(c.versioning(), ("versioningConfiguration", "status"), "Suspended")
    assert analyze(c.VERSIONING_T, props)["s3-versioning-enabled"] == [
        "versioningConfiguration.status is 'Suspended', not 'Enabled'"
    ]


# --- stack policies ---------------------------------------------------------------------


def _without(type_token: str) -> list[RecordedResource]:
    return [r for r in c.resources() if r.type != type_token]


def _replace(type_token: str, **inputs: Any) -> list[RecordedResource]:
    return [
        dataclasses.replace(r, inputs={**r.inputs, **inputs}) if r.type == type_token else r
        for r in c.resources()
    ]


@pytest.mark.parametrize(
    "missing", [c.SSE_T, c.VERSIONING_T, c.PAB_T, c.OWNERSHIP_T, c.LIFECYCLE_T, c.BUCKET_POLICY_T]
)
def test_bucket_without_a_companion_violates(missing: str) -> None:
    fired = analyze_stack(_without(missing), c.CONFIG)
    assert set(fired) == {COMPANIONS}
    [(message, at)] = fired[COMPANIONS]
    assert at == c.urn(c.BUCKET_T, "archive")
    assert "bucket 'archive' (audit-archive-test) has no" in message


def test_companion_linked_by_bucket_name_alone_counts() -> None:
    resources = [dataclasses.replace(r, dependencies=()) for r in c.resources()]
    assert analyze_stack(resources, c.CONFIG) == {}


def test_companion_of_another_bucket_does_not_count() -> None:
    resources = [
        dataclasses.replace(r, dependencies=(), inputs={**r.inputs, "bucket": "other"})
        if r.type == c.SSE_T
        else r
        for r in c.resources()
    ]
    assert set(analyze_stack(resources, c.CONFIG)) == {COMPANIONS}


def _delete_denied() -> str:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        "Resource": f"{c.BUCKET_ARN}/*",
    }
    return c.document(c.tls_statement(), c.foreign_key_statement(), deny)


PROD_LOCK = {"requireObjectLock": True, "allowedModes": ["COMPLIANCE"], "minRetentionDays": 90}


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param(_without(c.LOCK_T), id="no-lock-configuration"),
        pytest.param(
            # Without the lock, the bucket policy must deny deletion, and this one does not.
            [
                dataclasses.replace(r, inputs={**r.inputs, "policy": _delete_denied()})
                if r.type == c.BUCKET_POLICY_T
                else r
                for r in _replace(c.BUCKET_T, objectLockEnabled=False)
            ],
            id="bucket-without-lock",
        ),
        pytest.param(
            _replace(c.LOCK_T, rule={"defaultRetention": {"mode": "GOVERNANCE", "days": 365}}),
            id="mode-not-allowed",
        ),
        pytest.param(
            _replace(c.LOCK_T, rule={"defaultRetention": {"mode": "COMPLIANCE", "days": 30}}),
            id="retention-too-short",
        ),
        pytest.param(_replace(c.LOCK_T, rule=None), id="no-default-retention"),
    ],
)
def test_object_lock_where_required(resources: list[RecordedResource]) -> None:
    fired = analyze_stack(resources, {**c.CONFIG, LOCK: PROD_LOCK})
    assert set(fired) == {LOCK}


def test_object_lock_in_years_meets_a_days_minimum() -> None:
    resources = _replace(c.LOCK_T, rule={"defaultRetention": {"mode": "COMPLIANCE", "years": 1}})
    assert analyze_stack(resources, {**c.CONFIG, LOCK: PROD_LOCK}) == {}


def test_object_lock_not_required_by_default() -> None:
    assert analyze_stack(_without(c.LOCK_T), c.CONFIG) == {}


# --- what the bucket policy decides -------------------------------------------------------

DENY_DELETE = {
    "Sid": "DenyAuditObjectDeletion",
    "Effect": "Deny",
    "Principal": "*",
    "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
    "Resource": f"{c.BUCKET_ARN}/*",
}
IF_EXISTS = {
    **c.foreign_key_statement(),
    "Condition": {"StringNotEqualsIfExists": {c.KEY_HEADER: c.KEY_ARN}},
}


def _with_bucket_policy(*statements: dict[str, Any], locked: bool = True) -> list[RecordedResource]:
    resources = _replace(c.BUCKET_POLICY_T, policy=c.document(*statements))
    if not locked:
        resources = [
            dataclasses.replace(r, inputs={**r.inputs, "objectLockEnabled": False})
            if r.type == c.BUCKET_T
            else r
            for r in resources
            if r.type != c.LOCK_T
        ]
    return resources


@pytest.mark.parametrize(
    ("statements", "locked", "message"),
    [
        pytest.param(
            [c.tls_statement()],
            True,
            "does not deny an upload that names another KMS key",
            id="no-foreign-key-deny",
        ),
        pytest.param(
            [c.tls_statement(), IF_EXISTS],
            True,
            "denies uploads with no encryption header (the agent's uploads)",
            id="if-exists-denies-the-agent",
        ),
        pytest.param(
            [c.tls_statement(), c.foreign_key_statement()],
            False,
            "does not deny s3:DeleteObject (the bucket has no Object Lock)",
            id="no-lock-no-delete-deny",
        ),
        pytest.param(
            [
                c.tls_statement(),
                c.foreign_key_statement(),
                {**DENY_DELETE, "Action": "s3:DeleteObject"},
            ],
            False,
            "does not deny s3:DeleteObjectVersion",
            id="versions-still-deletable",
        ),
    ],
)
def test_bucket_policy_is_judged_by_its_decisions(
    statements: list[dict[str, Any]], locked: bool, message: str
) -> None:
    fired = analyze_stack(_with_bucket_policy(*statements, locked=locked), c.CONFIG)
    assert set(fired) == {BUCKET_POLICY}
    assert any(message in text for text, _ in fired[BUCKET_POLICY])


def test_equivalent_rewrites_are_accepted() -> None:
    rewritten_delete = {**DENY_DELETE, "Action": "s3:Delete*", "Principal": {"AWS": "*"}}
    foreign_as_list = {
        **c.foreign_key_statement(),
        "Action": ["s3:PutObject"],
        "Resource": [f"{c.BUCKET_ARN}/*"],
    }
    resources = _with_bucket_policy(
        c.tls_statement(), foreign_as_list, rewritten_delete, locked=False
    )
    assert analyze_stack(resources, c.CONFIG) == {}
