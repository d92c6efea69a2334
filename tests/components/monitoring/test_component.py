"""PipelineMonitoring under mocks: what each stack setting deploys, and the Prometheus
Operator objects against the structure of their CRDs.

PodMonitor and PrometheusRule are CRDs, absent from the official Kubernetes schemas; the
JSON schemas below restate the fields, types, required keys and duration pattern of the
Prometheus Operator's `monitoring.coreos.com/v1` CRDs (podmonitors, prometheusrules) for
exactly the parts we set, closed to anything else.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from components.monitoring.alerts import S3RouteTiming
from components.monitoring.component import PipelineMonitoring, PipelineMonitoringArgs
from components.monitoring.settings import MonitoringSettings
from tests.conftest import run_component, stack_config_with, stack_graph
from tooling.artifacts import daemon_configs, kubernetes_manifests
from tooling.engine import run_program
from tooling.graph import ResourceGraph

DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": STRING_MAP,
    },
}

PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": {"type": "string", "pattern": DURATION},
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "record": {"type": "string"},
                                        "expr": {"type": ["string", "integer"]},
                                        "for": {"type": "string", "pattern": DURATION},
                                        "keep_firing_for": {"type": "string", "pattern": DURATION},
                                        "labels": STRING_MAP,
                                        "annotations": STRING_MAP,
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}

RELABEL_ACTIONS = [
    "replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
    "lowercase", "uppercase", "keepequal", "dropequal",
]  # fmt: skip
POD_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "required": ["selector"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": STRING_MAP},
                },
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": DURATION},
                            "relabelings": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "action": {"enum": RELABEL_ACTIONS},
                                        "targetLabel": {"type": "string"},
                                        "replacement": {"type": "string"},
                                        "sourceLabels": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                        },
                                        "regex": {"type": "string"},
                                        "separator": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _operator_graph() -> ResourceGraph:
    raw = stack_config_with("dev", "container-audit-log:monitoring", {"prometheusOperator": True})
    return run_program("dev", raw)


def _manifest(graph: ResourceGraph, kind: str) -> dict[str, Any]:
    found = [m for _, m in kubernetes_manifests(graph) if m["kind"] == kind]
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]


def test_operator_objects_match_their_crds() -> None:
    graph = _operator_graph()
    jsonschema.validate(_manifest(graph, "PrometheusRule"), PROMETHEUS_RULE)
    jsonschema.validate(_manifest(graph, "PodMonitor"), POD_MONITOR)


def test_the_crd_schemas_reject_a_misspelt_field() -> None:
    rule = _manifest(_operator_graph(), "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for_"] = "5m"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, PROMETHEUS_RULE)


def test_the_pod_monitor_scrapes_the_three_endpoints_of_the_agent_pods() -> None:
    graph = _operator_graph()
    monitor = _manifest(graph, "PodMonitor")
    agent = next(
        d for _, d in kubernetes_manifests(graph)
        if d["kind"] == "DaemonSet" and d["metadata"]["name"] == "fluent-bit"
    )  # fmt: skip
    pod = agent["spec"]["template"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    # The agent's own metrics, its rsyslog-stats exporter, and the handoff cleaner's.
    ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert {e["port"] for e in endpoints} == ports
    assert {e["path"] for e in endpoints} == {"/api/v2/metrics/prometheus", "/metrics"}
    assert "prometheus.io/scrape" not in pod["metadata"].get("annotations", {})


def test_without_the_operator_pods_carry_scrape_annotations() -> None:
    graph = stack_graph("dev")
    kinds = {m["kind"] for _, m in kubernetes_manifests(graph)}
    assert not kinds & {"PodMonitor", "PrometheusRule"}
    agent = next(
        m for _, m in kubernetes_manifests(graph)
        if m["kind"] == "DaemonSet" and m["metadata"]["name"] == "fluent-bit"
    )  # fmt: skip
    annotations = agent["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "2020"
    assert annotations["prometheus.io/path"] == "/api/v2/metrics/prometheus"


def test_the_plan_writes_the_same_rules_as_a_file() -> None:
    graph = _operator_graph()
    files = dict(daemon_configs(graph))
    rules = yaml.safe_load(files["alerts/container-audit-log.rules.yaml"])
    assert rules == _manifest(graph, "PrometheusRule")["spec"]


def test_the_dashboard_is_optional_and_labelled_for_the_sidecar() -> None:
    assert "dashboards/container-audit-log.json" not in dict(daemon_configs(stack_graph("dev")))
    raw = stack_config_with("dev", "container-audit-log:monitoring", {"dashboard": True})
    graph = run_program("dev", raw)
    board = json.loads(dict(daemon_configs(graph))["dashboards/container-audit-log.json"])
    assert board["uid"] == "container-audit-log" and board["panels"]
    maps = [m for _, m in kubernetes_manifests(graph) if m["kind"] == "ConfigMap"]
    dashboard_map = next(
        m for m in maps if m["metadata"]["name"] == "container-audit-log-dashboard"
    )
    assert dashboard_map["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_every_child_has_the_component_as_parent() -> None:
    def build() -> PipelineMonitoring:
        import pulumi_kubernetes as k8s

        return PipelineMonitoring(
            "mon",
            PipelineMonitoringArgs(
                settings=MonitoringSettings(prometheus_operator=True, dashboard=True),
                namespace="audit-logging",
                agent_selector={"app.kubernetes.io/name": "fluent-bit"},
                agent_port_name="http",
                agent_metrics_path="/api/v2/metrics/prometheus",
                s3_routes=[S3RouteTiming("audit-archive", 600)],
                provider=k8s.Provider("k8s"),
            ),
        )

    graph = run_component(build)
    component = next(r for r in graph.resources if r.type.endswith("PipelineMonitoring"))
    children = [r for r in graph.resources if r.parent == component.urn]
    assert len(children) == 4  # rules ConfigMap, PodMonitor, PrometheusRule, dashboard


def test_agent_ports_must_all_differ() -> None:
    from components.config import ConfigError, load_stack_config
    from tooling.engine import load_stack_file

    raw, _ = load_stack_file("dev")
    raw["container-audit-log:monitoring"] = json.dumps({"exporterPort": 2020})
    with pytest.raises(
        ConfigError, match=r"monitoring\.exporterPort 2020 is already agent\.httpPort"
    ):
        load_stack_config(raw, "dev")
