"""Every Kubernetes object of every stack validates against the official API schemas."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.conftest import STACKS, stack_graph
from tooling.artifacts import kubernetes_manifests

# The oldest Kubernetes we support and the newest the validator bundles.
VERSIONS = ["1.31", kubernetes_validate.latest_version()]
# CRDs (ServiceMonitor) have no official schema; they are checked in their own tests.
BUILT_IN_GROUPS = ("v1", "apps/v1", "rbac.authorization.k8s.io/v1", "batch/v1")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("stack", STACKS)
def test_manifests_are_valid_kubernetes_objects(stack: str, version: str) -> None:
    manifests = list(kubernetes_manifests(stack_graph(stack)))
    assert manifests, "every stack deploys the agent"
    for filename, manifest in manifests:
        if manifest["apiVersion"] not in BUILT_IN_GROUPS:
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{stack}/{filename} invalid for {version}: {error.message}")


def test_the_validator_rejects_an_unknown_field() -> None:
    _, daemonset = next(
        m for m in kubernetes_manifests(stack_graph("dev")) if m[1]["kind"] == "DaemonSet"
    )
    broken = {**daemonset, "spec": {**daemonset["spec"], "replicas": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.31", strict=True)
