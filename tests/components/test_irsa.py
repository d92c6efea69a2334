"""ServiceAccountRole: trusted by one service account only, with the permission given."""

from __future__ import annotations

from components.irsa import ServiceAccountRole, ServiceAccountRoleArgs
from components.render.iam import audit_writer_policy
from tests.conftest import policy_document, run_component
from tooling.graph import ResourceGraph

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"
BUCKET = "arn:aws:s3:::archive"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"


def _graph() -> ResourceGraph:
    args = ServiceAccountRoleArgs(
        namespace="audit-logging",
        service_account="fluent-bit",
        oidc_provider_arn=PROVIDER,
        oidc_provider_url=ISSUER,
        policy=audit_writer_policy(BUCKET, "audit/", KEY, "eu-west-1"),
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
    assert document == audit_writer_policy(BUCKET, "audit/", KEY, "eu-west-1")


def test_writer_policy_has_no_wildcard_action_or_resource() -> None:
    for key in (KEY, None):
        for statement in audit_writer_policy(BUCKET, "audit/dev/", key, "eu-west-1")["Statement"]:
            for action in statement["Action"]:
                assert "*" not in action
            for resource in statement["Resource"]:
                assert resource != "*" and not resource.endswith(":*")


def test_writer_policy_only_puts_objects_under_the_prefix() -> None:
    [write] = audit_writer_policy(BUCKET, "audit/dev/", None, "eu-west-1")["Statement"]
    assert write["Action"] == ["s3:PutObject"]
    assert write["Resource"] == [f"{BUCKET}/audit/dev/*"]


def test_kms_use_is_limited_to_s3_in_the_region() -> None:
    statements = audit_writer_policy(BUCKET, "audit/", KEY, "eu-west-1")["Statement"]
    [kms] = [s for s in statements if s["Resource"] == [KEY]]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
