from __future__ import annotations

from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import DELETE, analyze, changed

PUBLIC = {**c.cluster(), "endpointPublicAccess": True}
OFFICE = {"eks-public-endpoint-restricted": {"allowedPublicCidrs": ["203.0.113.0/24"]}}


VIOLATIONS = [
    pytest.param(
        {**c.cluster(), "createOidcProvider": False}, {}, "eks-oidc-provider", id="no-oidc"
    ),
    pytest.param(
        changed(c.cluster(), ("createOidcProvider",), DELETE), {}, "eks-oidc-provider", id="unset"
    ),
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
