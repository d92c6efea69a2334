"""SyslogGate under mocks, and in the EKS stacks: what it may do, where it runs, and
that audit-producing pods (the demo) stay off a node until it lifts the taint."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest

from components.node_syslog.gate import TAINT_EFFECT, TAINT_KEY
from components.node_syslog.gate_component import SyslogGate, SyslogGateArgs
from tests.conftest import run_component, stack_graph
from tooling.graph import ResourceGraph


def _graph() -> ResourceGraph:
    def build() -> SyslogGate:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        return SyslogGate(
            "gate", SyslogGateArgs(namespace="audit-logging", listen_port=514, provider=provider)
        )

    return run_component(build)


def _pod(graph: ResourceGraph) -> dict[str, Any]:
    spec = graph.one("kubernetes:apps/v1:DaemonSet").inputs["spec"]
    pod = spec["template"]["spec"]
    assert isinstance(pod, dict)
    return pod


def test_rbac_is_get_and_patch_nodes_and_create_events_only() -> None:
    graph = _graph()
    rules = sorted(
        (rule["resources"][0], tuple(rule["verbs"]))
        for role in graph.by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        for rule in role.inputs["rules"]
    )
    assert rules == [("events", ("create",)), ("nodes", ("get", "patch"))]
    for binding in graph.by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"):
        assert binding.inputs["subjects"] == [
            {"kind": "ServiceAccount", "name": "syslog-gate", "namespace": "audit-logging"}
        ]


def test_gate_tolerates_only_its_taint_and_checks_the_port_workloads_use() -> None:
    pod = _pod(_graph())
    assert pod["tolerations"] == [{"key": TAINT_KEY, "operator": "Exists", "effect": TAINT_EFFECT}]
    assert pod["hostNetwork"] is False and pod["automountServiceAccountToken"] is True
    [container] = pod["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["PORT"] == "514" and env["TAINT_KEY"] == TAINT_KEY
    assert env["HOST_IP"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    assert container["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_eks_stacks_run_the_gate(stack: str) -> None:
    graph = stack_graph(stack)
    assert graph.by_type("container-audit-log:node:SyslogGate")


def test_local_stack_has_no_startup_taint_to_lift() -> None:
    assert stack_graph("local").by_type("container-audit-log:node:SyslogGate") == []


def test_demo_pods_stay_off_nodes_whose_syslog_is_not_ready() -> None:
    deployments = stack_graph("dev").by_type("kubernetes:apps/v1:Deployment")
    assert deployments
    for deployment in deployments:
        tolerations = deployment.inputs["spec"]["template"]["spec"].get("tolerations", [])
        assert not any(t.get("operator") == "Exists" and "key" not in t for t in tolerations), (
            deployment.urn
        )
        assert not any(t.get("key") == TAINT_KEY for t in tolerations), deployment.urn
