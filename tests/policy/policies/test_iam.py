from __future__ import annotations

from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import analyze

POLICY_T = "aws:iam/policy:Policy"
SUB = f"{c.ISSUER}:sub"
AUD = f"{c.ISSUER}:aud"


def _allow(action: Any, resource: Any = f"{c.BUCKET_ARN}/*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"role": c.ROLE_NAME, "policy": c.document(*statements)}


def _trust(condition: dict[str, Any], **changes: Any) -> dict[str, Any]:
    statement = {**c.trust_statement(), "Condition": condition, **changes}
    return {**c.role(), "assumeRolePolicy": c.document(statement)}


PINNED = {SUB: "system:serviceaccount:audit-logging:fluent-bit", AUD: "sts.amazonaws.com"}

VIOLATIONS = [
    pytest.param(c.ROLE_POLICY_T, _policy(_allow("*")), "iam-no-wildcard-action", id="star"),
    pytest.param(c.ROLE_POLICY_T, _policy(_allow("s3:*")), "iam-no-wildcard-action", id="s3-star"),
    pytest.param(
        c.ROLE_POLICY_T,
        _policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": c.BUCKET_ARN}),
        "iam-no-wildcard-action",
        id="not-action",
    ),
    pytest.param(
        c.ROLE_T,
        {**c.role(), "inlinePolicies": [{"name": "kms", "policy": c.document(_allow(["kms:*"]))}]},
        "iam-no-wildcard-action",
        id="role-inline-policy",
    ),
    pytest.param(
        POLICY_T,
        {"policy": c.document(_allow("s3:PutObject", "*"))},
        "iam-no-wildcard-resource-write",
        id="put-anywhere",
    ),
    pytest.param(
        c.ROLE_POLICY_T,
        _policy(_allow(["s3:GetObject", "logs:PutLogEvents"], ["*"])),
        "iam-no-wildcard-resource-write",
        id="one-write-among-reads",
    ),
    pytest.param(
        c.ROLE_T,
        _trust(
            {"StringLike": {SUB: "system:serviceaccount:audit-logging:*", AUD: "sts.amazonaws.com"}}
        ),
        "iam-irsa-trust-pinned",
        id="string-like-wildcard",
    ),
    pytest.param(
        c.ROLE_T,
        _trust(
            {
                "StringEquals": {
                    **PINNED,
                    SUB: [
                        "system:serviceaccount:audit-logging:fluent-bit",
                        "system:serviceaccount:default:default",
                    ],
                }
            }
        ),
        "iam-irsa-trust-pinned",
        id="two-service-accounts",
    ),
    pytest.param(
        c.ROLE_T,
        _trust({"StringEquals": {SUB: PINNED[SUB]}}),
        "iam-irsa-trust-pinned",
        id="no-audience",
    ),
    pytest.param(
        c.ROLE_T,
        _trust({"StringEquals": {**PINNED, SUB: "system:serviceaccount:audit-logging:*"}}),
        "iam-irsa-trust-pinned",
        id="wildcard-in-string-equals",
    ),
    pytest.param(
        c.ROLE_T,
        _trust(
            {
                "StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/OTHER:sub": PINNED[SUB],
                    "oidc.eks.us-east-1.amazonaws.com/id/OTHER:aud": "sts.amazonaws.com",
                }
            }
        ),
        "iam-irsa-trust-pinned",
        id="conditions-of-another-issuer",
    ),
    pytest.param(
        c.ROLE_T,
        _trust({"StringEquals": PINNED}, Principal={"Federated": "accounts.google.com"}),
        "iam-irsa-trust-pinned",
        id="not-an-oidc-provider-arn",
    ),
    pytest.param(
        c.ROLE_T,
        {
            **c.role(),
            "assumeRolePolicy": c.document(
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ),
        },
        "iam-trust-no-wildcard-principal",
        id="anyone-may-assume",
    ),
    pytest.param(
        c.ATTACHMENT_T,
        {**c.attachment(), "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "iam-no-admin-policy-attachment",
        id="administrator",
    ),
    pytest.param(
        c.ROLE_T,
        {**c.role(), "managedPolicyArns": ["arn:aws:iam::aws:policy/PowerUserAccess"]},
        "iam-no-admin-policy-attachment",
        id="role-managed-arns",
    ),
    pytest.param(
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        {"user": "ci", "policyArn": "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"},
        "iam-no-admin-policy-attachment",
        id="user-in-govcloud",
    ),
]


@pytest.mark.parametrize(("type_token", "props", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(
    type_token: str, props: dict[str, Any], policy: str
) -> None:
    fired = analyze(type_token, props)
    assert set(fired) == {policy}, fired


@pytest.mark.parametrize(
    ("type_token", "props"),
    [
        (c.ROLE_T, c.role()),
        (c.ROLE_POLICY_T, c.role_policy()),
        (c.ATTACHMENT_T, c.attachment()),
        (c.ROLE_POLICY_T, _policy(_allow(["s3:GetObject", "s3:List*"], "*"))),
        (c.ROLE_POLICY_T, _policy({**_allow("s3:*", "*"), "Effect": "Deny"})),
        (
            c.ATTACHMENT_T,
            {**c.attachment(), "policyArn": f"arn:aws:iam::{c.ACCOUNT}:policy/AdministratorAccess"},
        ),
    ],
)
def test_compliant_resource_fires_nothing(type_token: str, props: dict[str, Any]) -> None:
    assert analyze(type_token, props) == {}


def test_write_actions_without_resource_scoping_can_be_allowed_by_config() -> None:
    props = _policy(_allow("ec2:CreateTags", "*"))
    config = {"iam-no-wildcard-resource-write": {"allowedActions": ["ec2:CreateTags"]}}
    assert analyze(c.ROLE_POLICY_T, props, config) == {}


def test_irsa_message_names_the_subject() -> None:
    props = _trust({"StringEquals": {**PINNED, SUB: "system:serviceaccount:audit-logging:*"}})
    [message] = analyze(c.ROLE_T, props)["iam-irsa-trust-pinned"]
    assert "system:serviceaccount:audit-logging:*" in message
