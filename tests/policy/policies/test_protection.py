"""archive-protected: in stacks that require it, the archive's buckets and keys are protected."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import analyze

REQUIRED = {"archive-protected": {"requireProtection": True}}
ARCHIVE_KEY = {**c.kms_key(), "tags": {"data": "audit-archive"}}

VIOLATIONS = [
    pytest.param(c.BUCKET_T, {"bucket": c.BUCKET}, "archive-protected", id="bucket"),
    pytest.param(c.KEY_T, ARCHIVE_KEY, "archive-protected", id="archive-key"),
]


@pytest.mark.parametrize(("type_token", "props", "policy"), VIOLATIONS)
def test_an_unprotected_archive_is_refused_where_required(
    type_token: str, props: dict[str, Any], policy: str
) -> None:
    fired = analyze(type_token, props, REQUIRED)
    assert policy in fired
    assert "not protected" in fired[policy][0]


@pytest.mark.parametrize(("type_token", "props", "policy"), VIOLATIONS)
def test_a_protected_archive_passes(type_token: str, props: dict[str, Any], policy: str) -> None:
    assert policy not in analyze(type_token, props, REQUIRED, protect=True)


@pytest.mark.parametrize(("type_token", "props", "policy"), VIOLATIONS)
def test_dev_does_not_require_protection(
    type_token: str, props: dict[str, Any], policy: str
) -> None:
    assert policy not in analyze(type_token, props)


def test_a_key_that_encrypts_no_archive_may_go() -> None:
    # e.g. the EKS cluster's secrets key: replaced with its cluster.
    assert "archive-protected" not in analyze(c.KEY_T, c.kms_key(), REQUIRED)
