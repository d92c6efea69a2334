"""The Athena workgroup and auditor policies: compliant cases fire nothing, each breach one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policy.harness import DELETE, analyze, changed

WORKGROUP_T = "aws:athena/workgroup:Workgroup"
ROLE_POLICY_T = "aws:iam/rolePolicy:RolePolicy"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def workgroup() -> dict[str, Any]:
    return {
        "name": "audit",
        "configuration": {
            "enforceWorkgroupConfiguration": True,
            "bytesScannedCutoffPerQuery": 10_000_000_000,
            "managedQueryResultsConfiguration": {
                "enabled": True,
                "encryptionConfiguration": {"kmsKey": KEY},
            },
        },
    }


def s3_results_workgroup(option: str) -> dict[str, Any]:
    props = changed(workgroup(), ("configuration", "managedQueryResultsConfiguration"), DELETE)
    props["configuration"]["resultConfiguration"] = {
        "outputLocation": "s3://results/audit/",
        "encryptionConfiguration": {"encryptionOption": option, "kmsKeyArn": KEY},
    }
    return props


def auditor(*statements: dict[str, Any]) -> dict[str, Any]:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {"name": "archive-auditor", "role": "auditor", "policy": json.dumps(document)}


READ = {
    "Sid": "Read",
    "Effect": "Allow",
    "Action": ["s3:GetObject", "athena:StartQueryExecution", "glue:GetTable"],
    "Resource": ["arn:aws:s3:::archive/audit/*"],
}


# (type, props, the policy that must fire): the pack's test finds every policy here.
VIOLATIONS = [
    pytest.param(
        WORKGROUP_T,
        changed(workgroup(), ("configuration", "enforceWorkgroupConfiguration"), False),
        "athena-workgroup-enforced",
        id="not-enforced",
    ),
    pytest.param(
        WORKGROUP_T, s3_results_workgroup("SSE_S3"), "athena-workgroup-results-encrypted", id="sse"
    ),
    pytest.param(
        ROLE_POLICY_T,
        auditor({**READ, "Action": ["s3:DeleteObject"]}),
        "auditor-role-read-only",
        id="auditor-deletes",
    ),
]


@pytest.mark.parametrize(("type_token", "props", "policy"), VIOLATIONS)
def test_violation_fires_its_policy(type_token: str, props: dict[str, Any], policy: str) -> None:
    assert policy in analyze(type_token, props)


@pytest.mark.parametrize(
    "props", [workgroup(), s3_results_workgroup("SSE_KMS"), s3_results_workgroup("CSE_KMS")]
)
def test_compliant_workgroup_fires_nothing(props: dict[str, Any]) -> None:
    assert analyze(WORKGROUP_T, props) == {}


@pytest.mark.parametrize(
    ("path", "value", "policy"),
    [
        (("configuration", "enforceWorkgroupConfiguration"), False, "athena-workgroup-enforced"),
        (("configuration", "bytesScannedCutoffPerQuery"), DELETE, "athena-workgroup-enforced"),
        (
            ("configuration", "bytesScannedCutoffPerQuery"),
            5_000_000_000_000,
            "athena-workgroup-enforced",
        ),
        (("configuration",), DELETE, "athena-workgroup-enforced"),
        (
            ("configuration", "managedQueryResultsConfiguration", "encryptionConfiguration"),
            DELETE,
            "athena-workgroup-results-encrypted",
        ),
    ],
)
def test_each_breach_fires_its_policy(path: tuple[str, ...], value: Any, policy: str) -> None:
    assert set(analyze(WORKGROUP_T, changed(workgroup(), path, value))) == {policy}


def test_sse_s3_results_only_where_kms_is_not_required() -> None:
    props = s3_results_workgroup("SSE_S3")
    assert set(analyze(WORKGROUP_T, props)) == {"athena-workgroup-results-encrypted"}
    config = {"athena-workgroup-results-encrypted": {"requireKms": False}}
    assert analyze(WORKGROUP_T, props, config) == {}


def test_auditor_that_only_reads_fires_nothing() -> None:
    assert analyze(ROLE_POLICY_T, auditor(READ)) == {}


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ({**READ, "Action": ["s3:PutObject"]}, "s3:PutObject"),
        ({**READ, "Action": ["s3:*"]}, "an auditor may only read"),
        ({**READ, "Action": ["athena:DeleteWorkGroup"]}, "athena:DeleteWorkGroup"),
        ({**READ, "Resource": "*"}, "every resource"),
        ({"Sid": "N", "Effect": "Allow", "NotAction": ["s3:Put*"], "Resource": "*"}, "NotAction"),
    ],
)
def test_auditor_write_or_wildcard_fires(statement: dict[str, Any], fragment: str) -> None:
    fired = analyze(ROLE_POLICY_T, auditor(statement))  # the IAM wildcard rules may fire too
    assert any(fragment in message for message in fired["auditor-role-read-only"])


def test_other_role_policies_are_not_auditors() -> None:
    props = {**auditor({**READ, "Action": ["s3:PutObject"]}), "name": "fluent-bit-writer"}
    assert "auditor-role-read-only" not in analyze(ROLE_POLICY_T, props)
