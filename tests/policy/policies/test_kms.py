from __future__ import annotations

from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import DELETE, analyze, changed


def _key_policy(principal: Any, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Sid": "KeyUse",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "kms:*",
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return c.document(statement)


OWN_ACCOUNT_ONLY = _key_policy({"AWS": f"arn:aws:iam::{c.ACCOUNT}:root"})

VIOLATIONS = [
    pytest.param(
        {**c.kms_key(), "policy": _key_policy("*")}, "kms-key-policy-restricted", id="world-open"
    ),
    pytest.param(
        {**c.kms_key(), "policy": _key_policy({"AWS": "*"})},
        "kms-key-policy-restricted",
        id="any-aws-principal",
    ),
    pytest.param(
        {**c.kms_key(), "policy": OWN_ACCOUNT_ONLY, "bypassPolicyLockoutSafetyCheck": True},
        "kms-key-policy-restricted",
        id="lockout-check-bypassed",
    ),
    pytest.param({**c.kms_key(), "enableKeyRotation": False}, "kms-key-rotation", id="off"),
    pytest.param(
        changed(c.kms_key(), ("enableKeyRotation",), DELETE), "kms-key-rotation", id="unset"
    ),
    pytest.param({**c.kms_key(), "rotationPeriodInDays": 730}, "kms-key-rotation", id="slow"),
    pytest.param(
        {**c.kms_key(), "deletionWindowInDays": 7}, "kms-key-deletion-window", id="short-window"
    ),
]


@pytest.mark.parametrize(("props", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(props: dict[str, Any], policy: str) -> None:
    assert set(analyze(c.KEY_T, props)) == {policy}


@pytest.mark.parametrize(
    "props",
    [
        c.kms_key(),
        changed(c.kms_key(), ("deletionWindowInDays",), DELETE),
        {**c.kms_key(), "rotationPeriodInDays": 90},
        {**c.kms_key(), "policy": OWN_ACCOUNT_ONLY},
        # '*' narrowed to this account by a condition is the same as naming the account.
        {
            **c.kms_key(),
            "policy": _key_policy("*", {"StringEquals": {"aws:PrincipalAccount": c.ACCOUNT}}),
        },
    ],
)
def test_compliant_key_fires_nothing(props: dict[str, Any]) -> None:
    assert analyze(c.KEY_T, props) == {}


def test_rotation_limit_comes_from_config() -> None:
    props = {**c.kms_key(), "rotationPeriodInDays": 200}
    config = {"kms-key-rotation": {"maxRotationPeriodDays": 180}}
    assert analyze(c.KEY_T, props, config)["kms-key-rotation"] == [
        "rotationPeriodInDays is 200, longer than 180"
    ]
