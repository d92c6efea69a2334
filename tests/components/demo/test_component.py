"""DemoWorkloads under mocks: what it registers, and the policy pack on it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components.demo.component import DemoWorkloads, DemoWorkloadsArgs
from components.demo.render import CHECKSUM_ANNOTATION, DemoSettings
from tests.conftest import run_component
from tests.policy.harness import analyze, changed
from tooling.artifacts import daemon_configs, kubernetes_manifests
from tooling.engine import REPO_ROOT
from tooling.graph import RecordedResource, ResourceGraph

COMPONENT = "container-audit-log:demo:DemoWorkloads"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POLICY_CONFIGS = sorted((REPO_ROOT / "policy" / "config").glob("*.json"))


@cache
def _graph(run_id: str = "dev-demo", image_digest: str | None = None) -> ResourceGraph:
    import pulumi_kubernetes as k8s

    def build() -> DemoWorkloads:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        return DemoWorkloads(
            "demo",
            DemoWorkloadsArgs(
                settings=DemoSettings(enabled=True, image_digest=image_digest),
                run_id=run_id,
                provider=provider,
                syslog_port=1514,
            ),
        )

    return run_component(build)


def _env(deployment: RecordedResource) -> dict[str, Any]:
    [container] = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_registers_namespace_scripts_and_one_deployment_per_service() -> None:
    graph = _graph()
    component = graph.one(COMPONENT)
    children = graph.children_of(component.urn)
    assert sorted(r.type.split(":")[-1] for r in children) == [
        "ConfigMap",
        "Deployment",
        "Deployment",
        "Namespace",
    ]
    assert all(r.provider and "kubernetes::k8s" in r.provider for r in children)
    names = sorted(r.inputs["metadata"]["name"] for r in graph.by_type(DEPLOYMENT))
    assert names == ["service-1", "service-2"]


def test_namespace_enforces_restricted_pod_security() -> None:
    labels = _graph().one("kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_deployments_wait_for_namespace_and_scripts() -> None:
    graph = _graph()
    namespace = graph.one("kubernetes:core/v1:Namespace").urn
    scripts = graph.one("kubernetes:core/v1:ConfigMap").urn
    for deployment in graph.by_type(DEPLOYMENT):
        assert {namespace, scripts} <= set(deployment.dependencies)
        assert deployment.inputs["metadata"]["namespace"] == "audit-demo"


def test_run_id_and_syslog_port_reach_every_container() -> None:
    for deployment in _graph("pr-17").by_type(DEPLOYMENT):
        env = _env(deployment)
        assert env["AUDIT_RUN_ID"] == "pr-17"
        assert env["AUDIT_SYSLOG_PORT"] == "1514"


def test_pods_roll_when_the_scripts_change() -> None:
    graph = _graph()
    data = graph.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    for deployment in graph.by_type(DEPLOYMENT):
        annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
        assert len(annotations[CHECKSUM_ANNOTATION]) == 64
    assert "audit_events.py" in data


def test_plan_writes_the_scripts_for_review() -> None:
    written = dict(daemon_configs(_graph()))
    assert written["demo/audit_events.py"] == (REPO_ROOT / "demo" / "audit_events.py").read_text()
    assert json.loads(written["demo/service-2.json"])["commands"]


@pytest.mark.parametrize("version", ["1.31", kubernetes_validate.latest_version()])
def test_manifests_validate(version: str) -> None:
    manifests = list(kubernetes_manifests(_graph()))
    assert len(manifests) == 4
    for _, manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)


def _policy_config(path: Path) -> dict[str, Any]:
    return {k: v for k, v in json.loads(path.read_text()).items() if isinstance(v, dict)}


@pytest.mark.parametrize("config_path", POLICY_CONFIGS, ids=lambda p: p.stem)
def test_zero_policy_violations(config_path: Path) -> None:
    config = _policy_config(config_path)
    # Where the stack requires digests (prod), the demo would be deployed with one.
    # (An archive stack's config sets no Kubernetes policy: it runs no workload.)
    pinned = config.get("k8s-image-pinned", {})
    digest = "sha256:" + "0" * 64 if pinned.get("requireDigest") else None
    for resource in _graph(image_digest=digest).resources:
        assert analyze(resource.type, resource.inputs, config) == {}, resource.name


def test_the_policy_check_would_catch_a_writable_root() -> None:
    deployment = _graph().by_type(DEPLOYMENT)[0]
    path = ("spec", "template", "spec", "containers", 0, "securityContext")
    bad = changed(deployment.inputs, (*path, "readOnlyRootFilesystem"), False)
    fired = analyze(DEPLOYMENT, bad, _policy_config(POLICY_CONFIGS[0]))
    assert set(fired) == {"k8s-read-only-root-filesystem"}
