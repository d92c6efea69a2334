"""ServiceAccountRole: trusted by one service account only, with the permission given."""

from __future__ import annotations

from components.identity.component import ServiceAccountRole, ServiceAccountRoleArgs
from tests.conftest import policy_document, run_component
from tooling.graph import ResourceGraph

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::a/audit/*"]}
    ],
}


def _graph() -> ResourceGraph:
    args = ServiceAccountRoleArgs(
        namespace="audit-logging",
        service_account="fluent-bit",
        oidc_provider_arn=PROVIDER,
        oidc_provider_url=ISSUER,
        policy=POLICY,
    )
    return run_component(lambda: ServiceAccountRole("agent", args))


def test_trust_pins_sub_and_aud_with_string_equals() -> None:
    trust = policy_document(_graph().one("aws:iam/role:Role"), "assumeRolePolicy")
    [statement] = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": PROVIDER}
    host = ISSUER.removeprefix("https://")
    assert statement["Condition"] == {
        "StringEquals": {
            f"{host}:sub": "system:serviceaccount:audit-logging:fluent-bit",
            f"{host}:aud": "sts.amazonaws.com",
        }
    }


def test_inline_policy_is_the_given_document() -> None:
    graph = _graph()
    document = policy_document(graph.one("aws:iam/rolePolicy:RolePolicy"))
    assert document == POLICY
