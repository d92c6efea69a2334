from __future__ import annotations

from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import DELETE, analyze, analyze_stack, changed
from tooling.graph import RecordedResource

PUBLIC = {**c.cluster(), "endpointPublicAccess": True}
OFFICE = {"eks-public-endpoint-restricted": {"allowedPublicCidrs": ["203.0.113.0/24"]}}


VIOLATIONS = [
    pytest.param(
        {**c.cluster(), "enabledClusterLogTypes": ["api"]},
        {},
        "eks-control-plane-logging",
        id="no-audit-log",
    ),
    pytest.param(
        changed(c.cluster(), ("enabledClusterLogTypes",), DELETE),
        {},
        "eks-control-plane-logging",
        id="no-logs",
    ),
    pytest.param(
        changed(c.cluster(), ("endpointPublicAccess",), DELETE),
        {},
        "eks-public-endpoint-restricted",
        id="pulumi-eks-default-is-public",
    ),
    pytest.param(
        {**PUBLIC, "publicAccessCidrs": ["0.0.0.0/0"]},
        OFFICE,
        "eks-public-endpoint-restricted",
        id="world-open",
    ),
    pytest.param(
        {**PUBLIC, "publicAccessCidrs": ["198.51.100.0/24"]},
        OFFICE,
        "eks-public-endpoint-restricted",
        id="cidr-not-allowed",
    ),
    pytest.param(
        {**PUBLIC, "publicAccessCidrs": ["203.0.0.0/16"]},
        OFFICE,
        "eks-public-endpoint-restricted",
        id="cidr-wider-than-allowed",
    ),
    pytest.param(
        {**c.cluster(), "endpointPrivateAccess": False},
        {},
        "eks-public-endpoint-restricted",
        id="no-endpoint-at-all",
    ),
    pytest.param(
        changed(c.cluster(), ("encryptionConfigKeyArn",), DELETE),
        {},
        "eks-secrets-encryption",
        id="secrets-not-encrypted",
    ),
]


@pytest.mark.parametrize(("props", "config", "policy"), VIOLATIONS)
def test_violation_fires_exactly_its_policy(
    props: dict[str, Any], config: dict[str, Any], policy: str
) -> None:
    assert set(analyze(c.CLUSTER_T, props, config)) == {policy}


@pytest.mark.parametrize(
    ("props", "config"),
    [
        pytest.param(c.cluster(), {}, id="private-only"),
        pytest.param({**PUBLIC, "publicAccessCidrs": ["203.0.113.16/28"]}, OFFICE, id="office"),
        pytest.param(
            {**PUBLIC, "publicAccessCidrs": ["0.0.0.0/0"]},
            {"eks-public-endpoint-restricted": {"allowWorldOpen": True}},
            id="world-explicitly-allowed",
        ),
    ],
)
def test_compliant_cluster_fires_nothing(props: dict[str, Any], config: dict[str, Any]) -> None:
    assert analyze(c.CLUSTER_T, props, config) == {}


def test_log_message_names_the_missing_types() -> None:
    fired = analyze(c.CLUSTER_T, {**c.cluster(), "enabledClusterLogTypes": ["authenticator"]})
    assert fired["eks-control-plane-logging"] == ["enabledClusterLogTypes lacks ['api', 'audit']"]


STACK_POLICY = "eks-oidc-provider"
PLAIN_T = "aws:eks/cluster:Cluster"
OIDC_T = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def plain_cluster() -> dict[str, Any]:
    """A compliant plain aws.eks.Cluster: private endpoint, logs, secrets encrypted."""
    return {
        "name": "audit",
        "roleArn": "arn:aws:iam::123456789012:role/eks",
        "vpcConfig": {
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
            "subnetIds": ["subnet-1", "subnet-2"],
        },
        "enabledClusterLogTypes": ["api", "audit"],
        "encryptionConfig": {
            "provider": {"keyArn": "arn:aws:kms:eu-west-1:123456789012:key/k"},
            "resources": ["secrets"],
        },
    }


def _eks_fired(resources: list[RecordedResource]) -> dict[str, list[tuple[str, str | None]]]:
    # The pipeline policy also fires on these partial stacks; only the EKS rules matter here.
    return {k: v for k, v in analyze_stack(resources).items() if k.startswith("eks-")}


def _stack_with(cluster_type: str, props: dict[str, Any], oidc: bool) -> list[RecordedResource]:
    cluster = RecordedResource(
        c.urn(cluster_type, "cluster"), cluster_type, "cluster", True, None, (), None, props
    )
    provider = RecordedResource(
        c.urn(OIDC_T, "oidc"),
        OIDC_T,
        "oidc",
        True,
        None,
        (cluster.urn,),
        None,
        {"clientIdLists": ["sts.amazonaws.com"], "url": "https://oidc.example"},
    )
    return [cluster, provider] if oidc else [cluster]


@pytest.mark.parametrize(
    ("props", "oidc"),
    [
        pytest.param({**c.cluster(), "createOidcProvider": False}, False, id="no-oidc"),
        pytest.param(changed(c.cluster(), ("createOidcProvider",), DELETE), False, id="unset"),
    ],
)
def test_component_without_oidc_provider_fails(props: dict[str, Any], oidc: bool) -> None:
    assert set(_eks_fired(_stack_with(c.CLUSTER_T, props, oidc))) == {"eks-oidc-provider"}


def test_plain_cluster_needs_an_oidc_provider_built_from_it() -> None:
    assert _eks_fired(_stack_with(PLAIN_T, plain_cluster(), oidc=True)) == {}
    fired = _eks_fired(_stack_with(PLAIN_T, plain_cluster(), oidc=False))
    assert set(fired) == {"eks-oidc-provider"}
    assert "no aws.iam.OpenIdConnectProvider" in fired["eks-oidc-provider"][0][0]


def test_compliant_plain_cluster_fires_nothing() -> None:
    assert analyze(PLAIN_T, plain_cluster()) == {}


@pytest.mark.parametrize(
    ("path", "value", "policy"),
    [
        pytest.param(
            ("vpcConfig", "endpointPublicAccess"),
            True,
            "eks-public-endpoint-restricted",
            id="public-to-the-world",
        ),
        pytest.param(
            ("vpcConfig", "endpointPublicAccess"),
            DELETE,
            "eks-public-endpoint-restricted",
            id="aws-default-is-public",
        ),
        pytest.param(
            ("enabledClusterLogTypes",), DELETE, "eks-control-plane-logging", id="no-logs"
        ),
        pytest.param(("encryptionConfig",), DELETE, "eks-secrets-encryption", id="no-encryption"),
        pytest.param(
            ("encryptionConfig", "resources"),
            ["other"],
            "eks-secrets-encryption",
            id="secrets-not-covered",
        ),
    ],
)
def test_plain_cluster_violation_fires_exactly_its_policy(
    path: tuple[str, ...], value: Any, policy: str
) -> None:
    assert set(analyze(PLAIN_T, changed(plain_cluster(), path, value))) == {policy}
