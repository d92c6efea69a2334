"""Stack config `container-audit-log:monitoring`: scraping, alert thresholds, heartbeat.

How Prometheus finds the agents (a PodMonitor when the Prometheus Operator is present,
scrape annotations otherwise), the thresholds of every alert rule
(components.monitoring.alerts), the node heartbeat (rsyslog's immark) and the optional
Grafana dashboard. Pure: no Pulumi imports.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from components.agent.monitoring import AgentMonitoring
from components.common.model import CamelModel
from components.node_syslog.monitoring import RsyslogMonitoring

_DURATION = re.compile(r"^[1-9][0-9]*(s|m|h)$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:/-]{1,63}$")
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def duration_seconds(value: str) -> int:
    """Seconds of a Prometheus duration of one unit ("30s", "5m", "1h")."""
    if not _DURATION.match(value):
        raise ValueError(f"duration {value!r} is not a whole number of s, m or h, such as '5m'")
    return int(value[:-1]) * {"s": 1, "m": 60, "h": 3600}[value[-1]]


def seconds_text(seconds: int) -> str:
    """The shortest exact Prometheus duration of `seconds` (3600 -> 1h, 90 -> 90s)."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _check_duration(value: str, key: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(
            f"{key} {value!r} must be a whole number of s, m or h, such as '30s' or '5m'"
        )
    return value


class HeartbeatSettings(CamelModel):
    """Every node's rsyslog emits one heartbeat record per interval (immark) that travels the
    whole path to every route; `verify --heartbeat` and the stale alert look for it."""

    enabled: bool = True
    interval_seconds: int = Field(
        default=60, ge=10, le=3600, description="Seconds between two heartbeats of a node."
    )
    message: str = Field(
        default="container-audit-log heartbeat",
        pattern=r"^[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*$",
        max_length=80,
        description="The heartbeat's message text; how verify tells heartbeats from events.",
    )


class AlertThresholds(CamelModel):
    """When each alert fires. Windows are Prometheus durations ('5m')."""

    agent_down_for: str = Field(default="5m", description="Scrape failing this long.")
    input_paused_for: str = Field(
        default="5m", description="Input paused/over its limit this long."
    )
    output_errors: int = Field(default=3, ge=1, description="Output errors in `window` per route.")
    output_retries: int = Field(default=3, ge=1, description="Retries in `window` per route.")
    agent_errors_logged: int = Field(
        default=5,
        ge=1,
        description=(
            "Error lines the agent logged in `window`; S3 uploads from the upload timer fail "
            "only in the agent's log, not in the output counters."
        ),
    )
    window: str = Field(default="10m", description="Rate window of the counter alerts.")
    upload_margin: str = Field(
        default="5m", description="Upload stale = route's uploadTimeout + this margin."
    )
    buffer_chunks_down: int = Field(
        default=500,
        ge=1,
        description="Input chunks parked on disk (not in memory): the backlog is growing.",
    )
    buffer_capacity_percent: int = Field(
        default=20,
        ge=1,
        le=99,
        description="Alert when a route's buffer has less than this percent of its bound left.",
    )
    rsyslog_queue_size: int = Field(
        default=10_000,
        ge=1,
        description="Messages waiting in rsyslog's queue, in front of the numbering.",
    )
    handoff_unread_for: str = Field(
        default="10m",
        description=(
            "Records wait unread in a node's handoff files this long (the agent is down or "
            "stuck); they are safe until the disk fills."
        ),
    )
    handoff_free_percent: int = Field(
        default=10,
        ge=1,
        le=99,
        description=(
            "Free space left on the handoff files' filesystem; when it is full, rsyslog "
            "drops the records it cannot write."
        ),
    )
    heartbeat_stale_after: str = Field(
        default="5m",
        description="A node's heartbeat counts stale after interval + this (at the agent).",
    )

    @field_validator(
        "agent_down_for",
        "input_paused_for",
        "window",
        "upload_margin",
        "heartbeat_stale_after",
    )
    @classmethod
    def _valid_duration(cls, value: str) -> str:
        return _check_duration(value, "monitoring.alerts duration")


class MonitoringSettings(CamelModel):
    """Stack config section `container-audit-log:monitoring`."""

    prometheus_operator: bool = Field(
        default=False,
        description=(
            "The cluster runs the Prometheus Operator: deploy a PodMonitor and a PrometheusRule. "
            "Otherwise the agent pods carry prometheus.io/* scrape annotations and the rules "
            "are a ConfigMap (and build/<stack>/alerts/) to load into Prometheus."
        ),
    )
    scrape_interval: str = Field(default="30s")
    job: str = Field(
        default="fluent-bit",
        description="The `job` label the agents' series carry; the rules select on it.",
    )
    rule_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels on the PrometheusRule/PodMonitor so the Operator selects them.",
    )
    severity: str = Field(default="critical", description="`severity` label of every alert.")
    alerts: AlertThresholds = AlertThresholds()
    heartbeat: HeartbeatSettings = HeartbeatSettings()
    rsyslog_stats_interval_seconds: int = Field(
        default=30,
        ge=5,
        le=3600,
        description="How often rsyslog writes its queue counters (impstats) for the agent.",
    )
    rsyslog_stats_port: int = Field(
        default=5141,
        ge=1024,
        le=65535,
        description="Agent's loopback TCP port that takes rsyslog's counters.",
    )
    exporter_port: int = Field(
        default=2021,
        ge=1024,
        le=65535,
        description="Agent's port (node IP) serving the rsyslog_* series at /metrics.",
    )
    dashboard: bool = Field(
        default=False,
        description="A Grafana dashboard ConfigMap (sidecar label grafana_dashboard).",
    )

    @field_validator("scrape_interval")
    @classmethod
    def _valid_interval(cls, value: str) -> str:
        return _check_duration(value, "monitoring.scrapeInterval")

    @field_validator("job", "severity")
    @classmethod
    def _valid_label_value(cls, value: str) -> str:
        if not _LABEL_VALUE.match(value):
            raise ValueError(
                f"{value!r} must be 1-63 letters, digits or _.:/- (a Prometheus label value)"
            )
        return value

    @field_validator("rule_labels")
    @classmethod
    def _valid_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _LABEL_NAME.match(name) or not _LABEL_VALUE.match(text):
                raise ValueError(
                    f"ruleLabels {name}={text!r}: names must be identifiers, values 1-63 "
                    "letters, digits or _.:/-"
                )
        return value

    @property
    def heartbeat_message(self) -> str | None:
        return self.heartbeat.message if self.heartbeat.enabled else None

    def agent(self) -> AgentMonitoring:
        return AgentMonitoring(
            heartbeat_message=self.heartbeat_message,
            stats_port=self.rsyslog_stats_port,
            exporter_port=self.exporter_port,
        )

    def rsyslog(self) -> RsyslogMonitoring:
        return RsyslogMonitoring(
            heartbeat_interval_s=self.heartbeat.interval_seconds
            if self.heartbeat.enabled
            else None,
            heartbeat_message=self.heartbeat.message,
            stats_interval_s=self.rsyslog_stats_interval_seconds,
            stats_port=self.rsyslog_stats_port,
        )

    def scrape_annotations(self, http_port: int, metrics_path: str) -> dict[str, str]:
        """The prometheus.io/* pod annotations, when no Operator selects the pods itself.

        The convention has one port per pod: the agent's own endpoint. The rsyslog_* series
        on exporterPort need a second scrape job (README)."""
        if self.prometheus_operator:
            return {}
        return {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(http_port),
            "prometheus.io/path": metrics_path,
        }

    @model_validator(mode="after")
    def _windows_cover_scrapes(self) -> MonitoringSettings:
        # A rate over a window shorter than two scrapes has no two samples: never fires.
        scrape = duration_seconds(self.scrape_interval)
        if duration_seconds(self.alerts.window) < 2 * scrape:
            raise ValueError(
                f"monitoring.alerts.window {self.alerts.window} must be at least twice "
                f"scrapeInterval {self.scrape_interval}, or rates have no two samples"
            )
        return self
