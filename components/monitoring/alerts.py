"""The alert rules that say audit records are at risk, as data (a Prometheus rule file).

One group; every rule selects the agents' series by `job` and carries a `runbook` line that
matches the README's. Thresholds come from MonitoringSettings; the upload-stale window of an
S3 route is its uploadTimeout plus a margin. The same groups go into a PrometheusRule (when
the Prometheus Operator is present) and into a plain rule file. Pure: no Pulumi imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from components.agent import metrics as m
from components.monitoring.settings import MonitoringSettings, duration_seconds, seconds_text

GROUP = "container-audit-log"
RULES_FILE = f"{GROUP}.rules.yaml"
# Each alert's runbook line is in the README, under this heading.
RUNBOOK = "README.md#alerts-and-runbooks"


@dataclass(frozen=True)
class S3RouteTiming:
    """What the upload-stale rule needs of one S3 route."""

    name: str
    upload_timeout_s: int


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: str
    summary: str

    def as_rule(self, severity: str) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "alert": self.alert,
            "expr": self.expr,
            "labels": {"severity": severity, "pipeline": GROUP},
            "annotations": {"summary": self.summary, "runbook": RUNBOOK},
        }
        if self.for_ != "0s":
            rule["for"] = self.for_
        return rule


def alert_rules(
    settings: MonitoringSettings, s3_routes: Sequence[S3RouteTiming]
) -> list[AlertRule]:
    """Every rule, in README order."""
    t = settings.alerts
    job = f'job="{settings.job}"'
    w = t.window
    # Route names are [-a-z0-9] (ROUTE_NAME_PATTERN): nothing to escape in the regex.
    s3_names = "|".join(sorted(route.name for route in s3_routes))
    not_s3 = f',name!~"{s3_names}"' if s3_names else ""
    rules = [
        AlertRule(
            "AuditAgentDown",
            f"up{{{job}}} == 0",
            t.agent_down_for,
            "Audit agent on {{ $labels.instance }} cannot be scraped",
        ),
        AlertRule(
            "AuditAgentInputPaused",
            f"max by (instance, name) ({m.INPUT_PAUSED}{{{job}}}) > 0 or "
            f"max by (instance, name) ({m.INPUT_OVERLIMIT}{{{job}}}) > 0",
            t.input_paused_for,
            "Audit agent input {{ $labels.name }} on {{ $labels.instance }} is paused",
        ),
        AlertRule(
            "AuditOutputErrors",
            f"sum by (instance, name) (increase({m.OUTPUT_ERRORS}{{{job}}}[{w}])) "
            f">= {t.output_errors}",
            "0s",
            "Route {{ $labels.name }} on {{ $labels.instance }} fails to deliver",
        ),
        AlertRule(
            "AuditOutputRetriesRising",
            f"sum by (instance, name) (increase({m.OUTPUT_RETRIES}{{{job}}}[{w}])) "
            f">= {t.output_retries}",
            "0s",
            "Route {{ $labels.name }} on {{ $labels.instance }} keeps retrying",
        ),
        AlertRule(
            "AuditRecordsDropped",
            # The engine counts dropped_records on an S3 output during an outage although
            # out_s3 holds them in store_dir and uploads them later (measured by the fault
            # suite: 2,100 "dropped" in a 60 s outage, 0 lost). For S3 routes a real loss is
            # a retry given up (retries_failed); other routes lose what they drop.
            f"sum by (instance, name) (increase({m.OUTPUT_DROPPED}{{{job}{not_s3}}}[{w}])) > 0 or "
            f"sum by (instance, name) (increase({m.OUTPUT_RETRIES_FAILED}{{{job}}}[{w}])) > 0",
            "0s",
            "Route {{ $labels.name }} on {{ $labels.instance }} dropped audit records",
        ),
        AlertRule(
            "AuditAgentErrorsLogged",
            f'sum by (instance) (increase({m.LOGGED_MESSAGES}{{{job},message_type="error"}}'
            f"[{w}])) >= {t.agent_errors_logged}",
            "0s",
            "Audit agent on {{ $labels.instance }} logs errors",
        ),
        *(_upload_stale(settings, route) for route in s3_routes),
        AlertRule(
            "AuditBufferBacklog",
            f"max by (instance, name) ({m.INPUT_CHUNKS_DOWN}{{{job}}}) >= {t.buffer_chunks_down}",
            t.input_paused_for,
            "Audit agent on {{ $labels.instance }} holds a growing backlog on disk",
        ),
        AlertRule(
            "AuditBufferNearLimit",
            f"min by (instance, name) ({m.OUTPUT_CAPACITY}{{{job}}}) < {t.buffer_capacity_percent}",
            "0s",
            "Route {{ $labels.name }} on {{ $labels.instance }} buffer is near its bound",
        ),
        AlertRule(
            "AuditRsyslogQueueGrowing",
            f"max by (instance, name) ({m.RSYSLOG_QUEUE_SIZE}{{{job}}}) >= {t.rsyslog_queue_size}",
            t.input_paused_for,
            "rsyslog on {{ $labels.instance }} queues {{ $value }} messages for the agent",
        ),
        AlertRule(
            "AuditRsyslogQueueFull",
            f"max by (instance, name) (changes({m.RSYSLOG_QUEUE_FULL}{{{job}}}[{w}])) > 0",
            "0s",
            "rsyslog's queue on {{ $labels.instance }} was full",
        ),
        AlertRule(
            "AuditRsyslogDropped",
            f"max by (instance, name) (changes({m.RSYSLOG_ACTION_FAILED}{{{job}}}[{w}])) > 0",
            "0s",
            "rsyslog on {{ $labels.instance }} dropped messages its action {{ $labels.name }} "
            "could not process",
        ),
        AlertRule(
            "AuditHandoffUnread",
            f"max by (instance) ({m.HANDOFF_OLDEST_UNREAD}{{{job}}}) "
            f">= {duration_seconds(t.handoff_unread_for)}",
            "0s",
            "Records wait unread for the agent in the handoff files on {{ $labels.instance }}",
        ),
        AlertRule(
            "AuditHandoffDiskLow",
            f"min by (instance) (100 * {m.HANDOFF_FREE_BYTES}{{{job}}} "
            f"/ {m.HANDOFF_SIZE_BYTES}{{{job}}}) < {t.handoff_free_percent}",
            "0s",
            "The handoff files' disk on {{ $labels.instance }} is nearly full: "
            "rsyslog drops what it cannot write",
        ),
        AlertRule(
            "AuditHandoffCleanerErrors",
            f"sum by (instance) (increase({m.HANDOFF_CLEANER_ERRORS}{{{job}}}[{w}])) > 0",
            "0s",
            "The handoff cleaner on {{ $labels.instance }} fails: read files stay on disk",
        ),
    ]
    if settings.heartbeat.enabled:
        rules.append(_heartbeat_stale(settings))
    return rules


def _upload_stale(settings: MonitoringSettings, route: S3RouteTiming) -> AlertRule:
    # Fluent Bit 5.1.1 counts no successful S3 upload: a route whose output failed within
    # uploadTimeout + margin has not delivered what it held then.
    span = seconds_text(route.upload_timeout_s + duration_seconds(settings.alerts.upload_margin))
    job = f'job="{settings.job}"'
    return AlertRule(
        "AuditS3UploadStale",
        f'sum by (instance, name) (increase({m.OUTPUT_ERRORS}{{{job},name="{route.name}"}}'
        f"[{span}])) > 0",
        "0s",
        f"S3 route {route.name} on {{{{ $labels.instance }}}} failed to upload within {span}",
    )


def _heartbeat_stale(settings: MonitoringSettings) -> AlertRule:
    span = seconds_text(
        settings.heartbeat.interval_seconds
        + duration_seconds(settings.alerts.heartbeat_stale_after)
    )
    job = f'job="{settings.job}"'
    return AlertRule(
        "AuditHeartbeatStale",
        f'sum by (instance) (increase({m.INPUT_RECORDS}{{{job},name="{m.HEARTBEAT_EMITTER}"}}'
        f"[{span}])) == 0",
        "0s",
        "No heartbeat from node syslog on {{ $labels.instance }} for " + span,
    )


def rule_groups(settings: MonitoringSettings, s3_routes: Sequence[S3RouteTiming]) -> dict[str, Any]:
    """The rule file's content: `{groups: [...]}` (also a PrometheusRule's spec)."""
    return {
        "groups": [
            {
                "name": GROUP,
                "rules": [r.as_rule(settings.severity) for r in alert_rules(settings, s3_routes)],
            }
        ]
    }


def rules_text(settings: MonitoringSettings, s3_routes: Sequence[S3RouteTiming]) -> str:
    """The rule file, deterministic (what `promtool check rules` and Prometheus read)."""
    return yaml.safe_dump(rule_groups(settings, s3_routes), sort_keys=False, width=100_000)
