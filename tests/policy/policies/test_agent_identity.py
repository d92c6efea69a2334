"""iam-agent-least-privilege: the agent's role judged by the requests it would allow."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import analyze_stack
from tooling.graph import RecordedResource

STACK_POLICY = "iam-agent-least-privilege"
CONFIG = {**c.CONFIG, STACK_POLICY: {"logPrefix": "audit/"}}
PUT = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{c.BUCKET_ARN}/audit/*"}
VIA_S3 = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
KEY = {
    "Effect": "Allow",
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": c.KEY_ARN,
    "Condition": VIA_S3,
}


def _with_agent_policy(*statements: dict[str, Any]) -> list[RecordedResource]:
    return [
        dataclasses.replace(r, inputs={**r.inputs, "policy": c.document(*statements)})
        if r.type == c.ROLE_POLICY_T
        else r
        for r in c.resources()
    ]


def _fired(*statements: dict[str, Any]) -> list[str]:
    return [
        m for m, _ in analyze_stack(_with_agent_policy(*statements), CONFIG).get(STACK_POLICY, [])
    ]


def test_the_intended_permission_passes() -> None:
    assert _fired(PUT, KEY) == []


def test_an_equivalent_rewrite_passes() -> None:
    rewritten_put = {**PUT, "Action": ["s3:putobject"], "Resource": [f"{c.BUCKET_ARN}/audit/*"]}
    split_key = [{**KEY, "Action": action} for action in KEY["Action"]]
    assert _fired(rewritten_put, *split_key) == []


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        pytest.param(
            [{**PUT, "Resource": f"{c.BUCKET_ARN}/*"}, KEY],
            "may put objects in the archive outside its prefix 'audit/'",
            id="whole-bucket",
        ),
        pytest.param(
            [{**PUT, "Resource": f"{c.BUCKET_ARN}/aud*"}, KEY],
            "outside its prefix",
            id="prefix-glob-escapes",
        ),
        pytest.param(
            [{**PUT, "Action": ["s3:PutObject", "s3:GetObject"]}, KEY],
            "may s3:GetObject on the archive",
            id="read",
        ),
        pytest.param(
            [{**PUT, "Action": "s3:Delete*"}, PUT, KEY],
            "s3:DeleteObject",
            id="delete-by-wildcard",
        ),
        pytest.param([{**PUT, "Action": "s3:Put*"}, KEY], "s3:PutObjectAcl", id="put-wildcard"),
        pytest.param(
            [PUT, {k: v for k, v in KEY.items() if k != "Condition"}],
            "may use the archive key directly",
            id="no-via-s3",
        ),
        pytest.param(
            [PUT, {**KEY, "Condition": {"StringLike": {"kms:ViaService": "*"}}}],
            "may use the archive key directly",
            id="via-any-service",
        ),
        pytest.param(
            [
                PUT,
                {
                    **KEY,
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt", "kms:ScheduleKeyDeletion"],
                },
            ],
            "kms:ScheduleKeyDeletion on the archive or its key",
            id="key-administration",
        ),
        pytest.param(
            [PUT, KEY, {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}],
            "beyond the pipeline's needs",
            id="not-action",
        ),
        pytest.param(
            [PUT, KEY, {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}],
            "allows ec2:RunInstances beyond",
            id="unknown-service-as-written",
        ),
    ],
)
def test_broken_promises_are_named(statements: list[dict[str, Any]], message: str) -> None:
    fired = _fired(*statements)
    assert any(message in m for m in fired), fired


def test_other_routes_actions_are_accepted_where_configured() -> None:
    search = {
        "Effect": "Allow",
        "Action": "es:ESHttpPost",
        "Resource": "arn:aws:es:eu-west-1:1:domain/x/*",
    }
    assert _fired(PUT, KEY, search) != []
    config = {**CONFIG, STACK_POLICY: {"logPrefix": "audit/", "otherActions": ["es:ESHttpPost"]}}
    fired = analyze_stack(_with_agent_policy(PUT, KEY, search), config)
    assert STACK_POLICY not in fired


def test_a_managed_policy_on_the_agent_role_is_refused() -> None:
    attachment = RecordedResource(
        c.urn(c.ATTACHMENT_T, "extra"),
        c.ATTACHMENT_T,
        "extra",
        True,
        None,
        (),
        None,
        {"role": c.ROLE_NAME, "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    resources = [*_with_agent_policy(PUT, KEY), attachment]
    [(message, at)] = analyze_stack(resources, CONFIG)[STACK_POLICY]
    assert "ReadOnlyAccess" in message and at == attachment.urn


def test_a_role_other_services_assume_is_not_the_agent() -> None:
    trust = json.loads(c.role()["assumeRolePolicy"])
    trust["Statement"][0]["Condition"]["StringEquals"][f"{c.ISSUER}:sub"] = (
        "system:serviceaccount:other:app"
    )
    resources = [
        dataclasses.replace(r, inputs={**r.inputs, "assumeRolePolicy": json.dumps(trust)})
        if r.type == c.ROLE_T
        else r
        for r in _with_agent_policy(
            PUT, KEY, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        )
    ]
    assert STACK_POLICY not in analyze_stack(resources, CONFIG)
