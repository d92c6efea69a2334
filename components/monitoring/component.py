"""PipelineMonitoring: how Prometheus scrapes the agents, the alert rules, the dashboard.

With the Prometheus Operator (`monitoring.prometheusOperator: true`): a PodMonitor for both
agent endpoints and a PrometheusRule. Always: the same rules in a ConfigMap (a rule file to
mount into any Prometheus; the offline plan writes it to build/<stack>/alerts/). Optional:
the Grafana dashboard as a ConfigMap for the sidecar convention.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.agent import handoff_cleaner
from components.agent.metrics import EXPORTER_PATH, EXPORTER_PORT_NAME
from components.common.workload import ARTIFACT_ANNOTATION, labels
from components.monitoring.alerts import RULES_FILE, S3RouteTiming, rule_groups, rules_text
from components.monitoring.dashboard import SIDECAR_LABEL, dashboard
from components.monitoring.settings import MonitoringSettings

NAME = "container-audit-log"
DASHBOARD_FILE = f"{NAME}.json"
OPERATOR_API = "monitoring.coreos.com/v1"


@dataclass(frozen=True)
class PipelineMonitoringArgs:
    settings: MonitoringSettings
    namespace: str
    # The agent pods' selector labels and the port name of their own metrics endpoint.
    agent_selector: dict[str, str]
    agent_port_name: str
    agent_metrics_path: str
    s3_routes: Sequence[S3RouteTiming]
    provider: k8s.Provider
    depends_on: Sequence[pulumi.Resource] = ()


class PipelineMonitoring(pulumi.ComponentResource):
    rules_config_map: k8s.core.v1.ConfigMap
    pod_monitor: k8s.apiextensions.CustomResource | None
    prometheus_rule: k8s.apiextensions.CustomResource | None
    dashboard_config_map: k8s.core.v1.ConfigMap | None

    def __init__(
        self, name: str, args: PipelineMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:monitoring:PipelineMonitoring", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=list(args.depends_on)
        )
        object_labels = {**labels(NAME, "monitoring"), **settings.rule_labels}
        metadata: dict[str, Any] = {"namespace": args.namespace, "labels": object_labels}
        groups = rule_groups(settings, args.s3_routes)

        self.rules_config_map = k8s.core.v1.ConfigMap(
            f"{name}-alert-rules",
            metadata={
                **metadata,
                "name": f"{NAME}-alert-rules",
                "annotations": {ARTIFACT_ANNOTATION: "alerts"},
            },
            data={RULES_FILE: rules_text(settings, args.s3_routes)},
            opts=child,
        )
        self.pod_monitor = None
        self.prometheus_rule = None
        if settings.prometheus_operator:
            self.pod_monitor = k8s.apiextensions.CustomResource(
                f"{name}-pod-monitor",
                api_version=OPERATOR_API,
                kind="PodMonitor",
                metadata={**metadata, "name": "fluent-bit"},
                spec=pod_monitor_spec(settings, args),
                opts=child,
            )
            self.prometheus_rule = k8s.apiextensions.CustomResource(
                f"{name}-prometheus-rule",
                api_version=OPERATOR_API,
                kind="PrometheusRule",
                metadata={**metadata, "name": NAME},
                spec=groups,
                opts=child,
            )
        self.dashboard_config_map = None
        if settings.dashboard:
            self.dashboard_config_map = k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata={
                    **metadata,
                    "name": f"{NAME}-dashboard",
                    "labels": {**object_labels, **SIDECAR_LABEL},
                    "annotations": {ARTIFACT_ANNOTATION: "dashboards"},
                },
                data={DASHBOARD_FILE: json.dumps(dashboard(settings), indent=2, sort_keys=True)},
                opts=child,
            )
        self.register_outputs({"rulesConfigMap": self.rules_config_map.metadata["name"]})


def pod_monitor_spec(
    settings: MonitoringSettings, args: PipelineMonitoringArgs
) -> dict[str, object]:
    # Every series gets the configured job, which the rules select on.
    relabel = [{"action": "replace", "targetLabel": "job", "replacement": settings.job}]
    endpoints = [
        (args.agent_port_name, args.agent_metrics_path),
        (EXPORTER_PORT_NAME, EXPORTER_PATH),
        (handoff_cleaner.METRICS_PORT_NAME, handoff_cleaner.METRICS_PATH),
    ]
    return {
        "selector": {"matchLabels": dict(args.agent_selector)},
        "namespaceSelector": {"matchNames": [args.namespace]},
        "podMetricsEndpoints": [
            {
                "port": port,
                "path": path,
                "interval": settings.scrape_interval,
                "relabelings": relabel,
            }
            for port, path in endpoints
        ],
    }
