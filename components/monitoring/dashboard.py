"""The Grafana dashboard of the pipeline, as data (serialized with json by the caller).

Records in and out per node, retries and errors, buffer use, rsyslog's queue and the
heartbeat. Loaded by Grafana's dashboard sidecar from a ConfigMap labelled
`grafana_dashboard: "1"`. Pure: no Pulumi imports.
"""

from __future__ import annotations

from typing import Any

from components.agent import metrics as m
from components.monitoring.settings import MonitoringSettings

UID = "container-audit-log"
SIDECAR_LABEL = {"grafana_dashboard": "1"}


def _panel(index: int, title: str, exprs: list[tuple[str, str]], unit: str) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend}
            for n, (expr, legend) in enumerate(exprs)
        ],
    }


def dashboard(settings: MonitoringSettings) -> dict[str, Any]:
    job = f'job="{settings.job}"'
    heartbeats = f'{m.INPUT_RECORDS}{{{job},name="{m.HEARTBEAT_EMITTER}"}}'
    rate = "5m"
    panels = [
        (
            "Records in per node",
            [
                (
                    f'sum by (instance) (rate({m.INPUT_RECORDS}{{{job},name="{m.HANDOFF_INPUT}"}}'
                    f"[{rate}]))",
                    "{{instance}}",
                )
            ],
            "rps",
        ),
        (
            "Records out per route and node",
            [
                (
                    f"sum by (instance, name) (rate({m.OUTPUT_RECORDS}{{{job}}}[{rate}]))",
                    "{{name}} {{instance}}",
                )
            ],
            "rps",
        ),
        (
            "Retries and errors per route",
            [
                (
                    f"sum by (name) (increase({m.OUTPUT_RETRIES}{{{job}}}[{rate}]))",
                    "retries {{name}}",
                ),
                (
                    f"sum by (name) (increase({m.OUTPUT_ERRORS}{{{job}}}[{rate}]))",
                    "errors {{name}}",
                ),
                (
                    f"sum by (name) (increase({m.OUTPUT_DROPPED}{{{job}}}[{rate}]))",
                    "dropped {{name}}",
                ),
            ],
            "short",
        ),
        (
            "Buffer use per node",
            [
                (
                    f"max by (instance) ({m.INPUT_CHUNKS_DOWN}{{{job}}})",
                    "chunks on disk {{instance}}",
                ),
                (
                    f"min by (instance, name) ({m.OUTPUT_CAPACITY}{{{job}}})",
                    "capacity left % {{name}} {{instance}}",
                ),
            ],
            "short",
        ),
        (
            "Upload failures per S3 route (errors logged by the agent)",
            [
                (
                    f'sum by (instance) (increase({m.LOGGED_MESSAGES}{{{job},message_type="error"}}'
                    f"[{rate}]))",
                    "{{instance}}",
                )
            ],
            "short",
        ),
        (
            "rsyslog queue and heartbeats per node",
            [
                (f"max by (instance) ({m.RSYSLOG_QUEUE_SIZE}{{{job}}})", "queue {{instance}}"),
                (
                    f"sum by (instance) (increase({heartbeats}[{rate}]))",
                    "heartbeats/5m {{instance}}",
                ),
            ],
            "short",
        ),
    ]
    return {
        "uid": UID,
        "title": "Container Audit Log pipeline",
        "tags": ["container-audit-log"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": [_panel(i, title, exprs, unit) for i, (title, exprs, unit) in enumerate(panels)],
    }
