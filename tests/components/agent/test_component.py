"""FluentBitDaemonSet under mocks, and every stack's agent config against the real schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.agent.component import FluentBitDaemonSet, FluentBitDaemonSetArgs
from components.agent.config import config_checksum
from components.agent.parsers import undefined_parsers
from components.agent.settings import AgentSettings, PipelineContext
from tests.agent_harness import AGENT_CONFIG_FILE
from tests.conftest import STACKS, run_component, stack_graph
from tooling.artifacts import daemon_configs
from tooling.fluent_bit_schema import check_config, dry_run, load_schema
from tooling.graph import ResourceGraph

ROLE = "arn:aws:iam::123456789012:role/agent"


def _graph(role_arn: str | None = ROLE, **agent: Any) -> ResourceGraph:
    import pulumi_kubernetes as k8s

    settings = AgentSettings.model_validate(
        {"routes": [{"type": "s3", "name": "archive"}], **agent}
    )

    def build() -> FluentBitDaemonSet:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        return FluentBitDaemonSet(
            "agent",
            FluentBitDaemonSetArgs(
                settings=settings,
                context=PipelineContext(cluster_name="c1", environment="dev"),
                region="eu-west-1",
                audit_bucket="archive-bucket",
                log_prefix="audit/dev/",
                provider=provider,
                role_arn=role_arn,
            ),
        )

    return run_component(build)


def _daemonset(graph: ResourceGraph) -> dict[str, Any]:
    spec = graph.one("kubernetes:apps/v1:DaemonSet").inputs["spec"]
    assert isinstance(spec, dict)
    return spec


def _container(graph: ResourceGraph, name: str = "fluent-bit") -> dict[str, Any]:
    containers = _daemonset(graph)["template"]["spec"]["containers"]
    [container] = [c for c in containers if c["name"] == name]
    assert isinstance(container, dict)
    return container


def test_image_is_pinned() -> None:
    assert _container(_graph())["image"] == "fluent/fluent-bit:5.1.1"
    digest = "sha256:" + "a" * 64
    assert _container(_graph(imageDigest=digest))["image"] == f"fluent/fluent-bit:5.1.1@{digest}"


def test_host_network_reaches_node_rsyslog() -> None:
    pod = _daemonset(_graph())["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"


def test_buffers_live_on_host_paths_and_config_is_read_only() -> None:
    graph = _graph()
    pod = _daemonset(graph)["template"]["spec"]
    host_paths = {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    config = yaml.safe_load(
        graph.one("kubernetes:core/v1:ConfigMap").inputs["data"]["fluent-bit.yaml"]
    )
    storage_path = config["service"]["storage.path"]
    [s3] = [o for o in config["pipeline"]["outputs"] if o["name"] == "s3"]
    assert {storage_path, s3["store_dir"]} <= host_paths
    mounts = {m["mountPath"]: m for m in _container(graph)["volumeMounts"]}
    assert storage_path in mounts and s3["store_dir"] in mounts
    config_mounts = [m for m in mounts.values() if m["name"] == "config"]
    assert config_mounts and all(m["readOnly"] is True for m in config_mounts)


def test_security_context_is_locked_down() -> None:
    graph = _graph()
    context = _container(graph)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert context["privileged"] is False
    pod = _daemonset(graph)["template"]["spec"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_resources_priority_tolerations_and_rolling_update() -> None:
    graph = _graph(maxUnavailable="20%", resources={"limits": {"cpu": "2", "memory": "1Gi"}})
    spec = _daemonset(graph)
    pod = spec["template"]["spec"]
    assert _container(graph)["resources"]["limits"] == {"cpu": "2", "memory": "1Gi"}
    assert _container(graph)["resources"]["requests"]  # defaults stay
    assert pod["priorityClassName"] == "system-node-critical"
    assert {"operator": "Exists"} in pod["tolerations"]
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "20%"},
    }


def test_probes_and_grace_period() -> None:
    graph = _graph(grace=40)
    container = _container(graph)
    # A failing secondary route makes /api/v1/health unhealthy: it may take the pod out of
    # readiness, never get it killed (liveness is the process answering, /api/v1/uptime).
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/v1/uptime"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"
    config = yaml.safe_load(
        graph.one("kubernetes:core/v1:ConfigMap").inputs["data"]["fluent-bit.yaml"]
    )
    assert config["service"]["grace"] == "40"
    assert _daemonset(graph)["template"]["spec"]["terminationGracePeriodSeconds"] > 40


def test_config_checksum_on_the_pod_template_follows_the_config() -> None:
    graph = _graph()
    text = graph.one("kubernetes:core/v1:ConfigMap").inputs["data"]["fluent-bit.yaml"]
    annotations = _daemonset(graph)["template"]["metadata"]["annotations"]
    assert annotations["checksum/config"] == config_checksum(text)
    changed = _daemonset(_graph(flush=5))["template"]["metadata"]["annotations"]
    assert changed["checksum/config"] != annotations["checksum/config"]


def test_service_account_carries_the_irsa_role() -> None:
    account = _graph().one("kubernetes:core/v1:ServiceAccount").inputs
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    assert account["automountServiceAccountToken"] is False


def test_without_irsa_static_keys_come_from_an_optional_secret() -> None:
    graph = _graph(role_arn=None)
    assert graph.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]["annotations"] == {}
    [source] = _container(graph)["envFrom"]
    assert source["secretRef"]["optional"] is True


def test_no_api_access_and_no_metrics_objects_unless_asked() -> None:
    graph = _graph()
    types = {r.type for r in graph.resources}
    assert not any(t.startswith("kubernetes:rbac") for t in types)
    assert _daemonset(graph)["template"]["spec"]["automountServiceAccountToken"] is False
    assert "kubernetes:core/v1:Service" not in types
    graph = _graph(metricsService=True, serviceMonitor=True)
    assert graph.one("kubernetes:core/v1:Service").inputs["spec"]["ports"][0]["port"] == 2020
    monitor = graph.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor").inputs
    assert monitor["spec"]["endpoints"][0]["path"] == "/api/v2/metrics/prometheus"


def test_node_name_comes_from_the_downward_api() -> None:
    env = {e["name"]: e for e in _container(_graph())["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def _agent_config(stack: str) -> tuple[str, dict[str, Any]]:
    [(_, text)] = [c for c in daemon_configs(stack_graph(stack)) if c[0] == AGENT_CONFIG_FILE]
    return text, yaml.safe_load(text)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_agent_config_fits_the_plugin_schema(stack: str) -> None:
    _, config = _agent_config(stack)
    assert check_config(config, load_schema()) == []
    assert undefined_parsers(config) == []


@pytest.mark.parametrize("stack", STACKS)
def test_stack_agent_writes_under_the_prefix_its_role_may_write(stack: str) -> None:
    _, config = _agent_config(stack)
    prefix = stack_graph(stack).stack_outputs["logPrefix"]
    archives = [o for o in config["pipeline"]["outputs"] if o["name"] == "s3"]
    assert archives
    for output in archives:
        assert output["s3_key_format"].lstrip("/").startswith(prefix)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_agent_config_passes_fluent_bit_dry_run(
    stack: str, fluent_bit: str, tmp_path: Path
) -> None:
    text, _ = _agent_config(stack)
    path = tmp_path / "fluent-bit.yaml"
    path.write_text(text)
    result = dry_run(path, env={"NODE_NAME": "node-1", "HOST_IP": "127.0.0.1"})
    assert result.returncode == 0, result.stdout + result.stderr
