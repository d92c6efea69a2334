"""The agent role's policy, route by route: exactly the calls each Fluent Bit 5.1.1 output
plugin makes, on exactly that route's resources, in the stack's partition.

The expected action lists come from reading the plugin sources, not from the code under test:
out_s3 (s3.c, s3_multipart.c) sends PUT object, POST ?uploads, PUT ?partNumber, POST
?uploadId, all authorized as s3:PutObject; out_cloudwatch_logs (cloudwatch_api.c) sends
CreateLogStream and PutLogEvents, CreateLogGroup with auto_create_group, PutRetentionPolicy
after creating a group with log_retention_days; out_opensearch (opensearch.c) only POSTs
<path>/_bulk.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from components.agent.routes import RenderError, Route, S3Route
from components.agent.settings import AgentSettings
from components.common.partition import partition_of
from components.identity.iam import (
    AuditArchive,
    account_of,
    agent_policy_for_stack,
    agent_role_policy,
)
from policy.policies.iam_eval import Request, all_actions, evaluate_identity

ACCOUNT = "123456789012"
OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k"
ARCHIVE = AuditArchive("archive", "arn:aws:s3:::archive", "audit/dev/", KEY)
ROUTES: TypeAdapter[list[Route]] = TypeAdapter(list[Route])


def _policy(*routes: dict[str, Any], region: str = "eu-west-1") -> list[dict[str, Any]]:
    resolved = [
        r.resolved("archive", region, "audit/dev/") if isinstance(r, S3Route) else r
        for r in ROUTES.validate_python(list(routes))
    ]
    document = agent_role_policy(resolved, ARCHIVE, partition_of(region), region, ACCOUNT)
    statements: list[dict[str, Any]] = document["Statement"]
    return statements


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (action, resource)
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
        for resource in statement["Resource"]
    }


def test_audit_archive_route_puts_objects_under_the_log_prefix_and_uses_the_key_via_s3() -> None:
    statements = _policy({"type": "s3", "name": "audit-archive"})
    assert _grants(statements) == {
        ("s3:PutObject", "arn:aws:s3:::archive/audit/dev/*"),
        ("kms:Decrypt", KEY),
        ("kms:GenerateDataKey", KEY),
    }
    [kms] = [s for s in statements if s["Resource"] == [KEY]]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_a_route_with_its_own_bucket_gets_that_bucket_and_prefix_only() -> None:
    statements = _policy(
        {"type": "s3", "name": "audit-archive"},
        {"type": "s3", "name": "copy", "bucket": "team-copy", "keyPrefix": "ours/x"},
    )
    grants = _grants(statements)
    assert ("s3:PutObject", "arn:aws:s3:::team-copy/ours/x/*") in grants
    assert {a for a, r in grants if "team-copy" in r} == {"s3:PutObject"}


def test_a_route_with_a_bucket_and_no_prefix_writes_under_the_default_prefix() -> None:
    statements = _policy({"type": "s3", "name": "copy", "bucket": "team-copy"})
    assert _grants(statements) == {("s3:PutObject", "arn:aws:s3:::team-copy/container-audit/*")}


def test_an_s3_compatible_endpoint_needs_no_iam() -> None:
    with pytest.raises(RenderError, match="no route writes to AWS"):
        _policy({"type": "s3", "name": "minio", "endpoint": "http://minio:9000"})


CLOUDWATCH = {
    "type": "cloudwatch_logs",
    "name": "cw",
    "region": "eu-west-1",
    "logGroupName": "/audit/containers",
}
GROUP = f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/audit/containers"


@pytest.mark.parametrize(
    ("extra", "actions"),
    [
        ({}, {"logs:CreateLogStream", "logs:PutLogEvents"}),
        (
            {"autoCreateGroup": True},
            {"logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"},
        ),
        (
            {"autoCreateGroup": True, "logRetentionDays": 30},
            {
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:CreateLogGroup",
                "logs:PutRetentionPolicy",
            },
        ),
    ],
)
def test_cloudwatch_route_gets_exactly_the_plugins_calls_on_its_group(
    extra: dict[str, Any], actions: set[str]
) -> None:
    grants = _grants(_policy({**CLOUDWATCH, **extra}))
    assert {action for action, _ in grants} == actions
    assert all(resource.startswith(GROUP) for _, resource in grants)
    assert ("logs:PutLogEvents", f"{GROUP}:log-stream:audit-*") in grants


def test_opensearch_with_sigv4_may_only_post_bulk_on_its_domain() -> None:
    domain = f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/audit"
    route = {
        "type": "opensearch",
        "name": "search",
        "host": "search-audit-x.eu-west-1.es.amazonaws.com",
        "awsAuth": True,
        "awsRegion": "eu-west-1",
        "domainArn": domain,
    }
    assert _grants(_policy(route)) == {("es:ESHttpPost", f"{domain}/_bulk")}


@pytest.mark.parametrize(
    "route",
    [
        {"type": "stdout", "name": "console"},
        {"type": "loki", "name": "loki", "host": "loki.example.com"},
        {"type": "forward", "name": "agg", "host": "agg.example.com"},
        {
            "type": "opensearch",
            "name": "search",
            "host": "search.example.com",
            "httpUser": "writer",
            "httpPasswordSecret": {"name": "s", "key": "k"},
        },
    ],
)
def test_routes_outside_aws_add_no_permission(route: dict[str, Any]) -> None:
    only_archive = _grants(_policy({"type": "s3", "name": "audit-archive"}))
    assert _grants(_policy({"type": "s3", "name": "audit-archive"}, route)) == only_archive


@pytest.mark.parametrize(
    ("region", "arn_partition", "via_service"),
    [
        ("eu-west-1", "aws", "s3.eu-west-1.amazonaws.com"),
        ("cn-north-1", "aws-cn", "s3.cn-north-1.amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "s3.us-gov-west-1.amazonaws.com"),
    ],
)
def test_arns_and_kms_via_service_follow_the_partition(
    region: str, arn_partition: str, via_service: str
) -> None:
    archive = AuditArchive(
        "archive", f"arn:{arn_partition}:s3:::archive", "audit/", f"arn:{arn_partition}:kms:k"
    )
    settings = AgentSettings.model_validate(
        {"routes": [{"type": "s3", "name": "audit-archive"}, {**CLOUDWATCH, "region": region}]}
    )
    oidc = f"arn:{arn_partition}:iam::{ACCOUNT}:oidc-provider/x"
    document = agent_policy_for_stack(settings, archive, partition_of(region), region, oidc)
    grants = _grants(document["Statement"])
    assert ("s3:PutObject", f"arn:{arn_partition}:s3:::archive/audit/*") in grants
    assert any(r.startswith(f"arn:{arn_partition}:logs:{region}:{ACCOUNT}:") for _, r in grants)
    [kms] = [s for s in document["Statement"] if s.get("Condition")]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == via_service


def test_account_comes_from_a_well_formed_arn_only() -> None:
    assert account_of(OIDC) == ACCOUNT
    with pytest.raises(RenderError, match="names no 12-digit account"):
        account_of("arn:aws:iam::oidc-provider/x")


# --- judged with IAM's rules: exactly these actions, on these resources, nothing else -------

# Resources a route's calls touch, and neighbours it must not reach.
_ROUTE_CASES: list[tuple[dict[str, Any], set[str], list[str], list[str]]] = [
    (
        {"type": "s3", "name": "audit-archive"},
        {"s3:PutObject"},
        ["arn:aws:s3:::archive/audit/dev/audit.syslog/2026/11/30/00/0000-x.jsonl.gz"],
        [
            "arn:aws:s3:::archive/audit/prod/x",
            "arn:aws:s3:::archive/x",
            "arn:aws:s3:::archive",
            "arn:aws:s3:::other/audit/dev/x",
        ],
    ),
    (
        {**CLOUDWATCH, "autoCreateGroup": True, "logRetentionDays": 7},
        {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
        },
        [GROUP, f"{GROUP}:*", f"{GROUP}:log-stream:audit-node-1.audit.syslog"],
        [
            f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/audit/other:*",
            f"arn:aws:logs:eu-west-2:{ACCOUNT}:log-group:/audit/containers:*",
            "arn:aws:logs:eu-west-1:210987654321:log-group:/audit/containers:*",
        ],
    ),
    (
        {
            "type": "opensearch",
            "name": "search",
            "host": "search-audit-x.eu-west-1.es.amazonaws.com",
            "awsAuth": True,
            "awsRegion": "eu-west-1",
            "domainArn": f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/audit",
        },
        {"es:ESHttpPost"},
        [f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/audit/_bulk"],
        [
            f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/audit/container-audit/_search",
            f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/other/_bulk",
            f"arn:aws:es:eu-west-1:{ACCOUNT}:domain/audit",
        ],
    ),
]


@pytest.mark.parametrize(
    ("route", "expected", "reached", "neighbours"),
    _ROUTE_CASES,
    ids=[case[0]["type"] for case in _ROUTE_CASES],
)
def test_the_role_allows_exactly_the_plugins_actions_and_nothing_else(
    route: dict[str, Any], expected: set[str], reached: list[str], neighbours: list[str]
) -> None:
    statements = _policy(route)
    policy = {"Version": "2012-10-17", "Statement": statements}
    role = f"arn:aws:iam::{ACCOUNT}:role/fluent-bit"

    def allowed(resource: str, context: dict[str, Any] | None = None) -> set[str]:
        return {
            action
            for action in all_actions()
            if evaluate_identity(
                [policy], Request(action, resource, role, ACCOUNT, context or {})
            ).decision
            == "allow"
        }

    granted = set().union(*(allowed(resource) for resource in reached))
    assert granted == expected
    for resource in neighbours:
        assert allowed(resource) == set(), resource
    if route["type"] == "s3":
        via_s3 = {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
        assert allowed(KEY, via_s3) == {"kms:Decrypt", "kms:GenerateDataKey"}
        assert allowed(KEY) == set()  # never directly, only through S3
        assert allowed(KEY, {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}) == set()
