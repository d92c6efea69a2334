"""Every alert rule, through the real `promtool`: valid, fires on the series that should trip
it, and stays silent on a healthy one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring.alerts import S3RouteTiming, alert_rules, rule_groups
from components.monitoring.settings import MonitoringSettings
from tests.conftest import STACKS, stack_graph
from tests.prometheus_tools import promtool
from tooling.artifacts import daemon_configs

README = Path(__file__).resolve().parents[3] / "README.md"
SETTINGS = MonitoringSettings()  # defaults: window 10m, "for" 5m, heartbeat every 60 s
ROUTES = [S3RouteTiming("audit-archive", upload_timeout_s=60)]  # stale after 1m + 5m
JOB = 'job="fluent-bit",instance="node-1:2020"'
RUNBOOK = "README.md#alerts-and-runbooks"


@dataclass(frozen=True)
class Case:
    alert: str
    tripping: dict[str, str]  # series -> promtool values
    healthy: dict[str, str]
    eval_time: str
    labels: dict[str, str]  # the alert's own labels, beyond alertname/severity/pipeline
    summary: str


NODE = {"instance": "node-1:2020"}
ROUTE = {**NODE, "name": "audit-archive"}

CASES = [
    Case(
        "AuditAgentDown",
        {f"up{{{JOB}}}": "0x10"},
        {f"up{{{JOB}}}": "1x10"},
        "8m",
        {**NODE, "job": "fluent-bit"},
        "Audit agent on node-1:2020 cannot be scraped",
    ),
    Case(
        "AuditAgentInputPaused",
        {
            f'fluentbit_input_ingestion_paused{{{JOB},name="node-syslog"}}': "1x10",
            f'fluentbit_input_storage_overlimit{{{JOB},name="node-syslog"}}': "0x10",
        },
        {
            f'fluentbit_input_ingestion_paused{{{JOB},name="node-syslog"}}': "0 1 0 1 0 0 0 0 0 0",
            f'fluentbit_input_storage_overlimit{{{JOB},name="node-syslog"}}': "0x10",
        },
        "8m",
        {**NODE, "name": "node-syslog"},
        "Audit agent input node-syslog on node-1:2020 is paused",
    ),
    Case(
        "AuditOutputErrors",
        {f'fluentbit_output_errors_total{{{JOB},name="audit-archive"}}': "0+1x15"},
        {f'fluentbit_output_errors_total{{{JOB},name="audit-archive"}}': "7x15"},
        "12m",
        ROUTE,
        "Route audit-archive on node-1:2020 fails to deliver",
    ),
    Case(
        "AuditOutputRetriesRising",
        {f'fluentbit_output_retries_total{{{JOB},name="audit-archive"}}': "0+1x15"},
        {f'fluentbit_output_retries_total{{{JOB},name="audit-archive"}}': "2x15"},
        "12m",
        ROUTE,
        "Route audit-archive on node-1:2020 keeps retrying",
    ),
    # An S3 route loses records only when a retry is given up; the engine's dropped count
    # rises during every S3 outage although out_s3 keeps those records (the fault suite).
    Case(
        "AuditRecordsDropped",
        {
            f'fluentbit_output_dropped_records_total{{{JOB},name="audit-archive"}}': "0x8",
            f'fluentbit_output_retries_failed_total{{{JOB},name="audit-archive"}}': (
                "0 0 0 0 1 1 1 1"
            ),
        },
        {
            f'fluentbit_output_dropped_records_total{{{JOB},name="audit-archive"}}': (
                "0 0 0 0 2100 2100 2100 2100"
            ),
            f'fluentbit_output_retries_failed_total{{{JOB},name="audit-archive"}}': "0x8",
        },
        "6m",
        ROUTE,
        "Route audit-archive on node-1:2020 dropped audit records",
    ),
    # Any other route loses what the engine drops.
    Case(
        "AuditRecordsDropped",
        {f'fluentbit_output_dropped_records_total{{{JOB},name="search"}}': "0 0 0 0 40 40 40 40"},
        {f'fluentbit_output_dropped_records_total{{{JOB},name="search"}}': "0x8"},
        "6m",
        {**NODE, "name": "search"},
        "Route search on node-1:2020 dropped audit records",
    ),
    Case(
        "AuditAgentErrorsLogged",
        {
            f'fluentbit_logger_logs_total{{{JOB},message_type="error"}}': "0+2x15",
            f'fluentbit_logger_logs_total{{{JOB},message_type="info"}}': "0+1x15",
        },
        {
            f'fluentbit_logger_logs_total{{{JOB},message_type="error"}}': "1x15",
            f'fluentbit_logger_logs_total{{{JOB},message_type="info"}}': "0+50x15",
        },
        "10m",
        NODE,
        "Audit agent on node-1:2020 logs errors",
    ),
    Case(
        "AuditS3UploadStale",
        {f'fluentbit_output_errors_total{{{JOB},name="audit-archive"}}': "0 0 0 1 1 1 1 1"},
        # Failures before the agent's start are counted once, never again: uploads succeed.
        {f'fluentbit_output_errors_total{{{JOB},name="audit-archive"}}': "4x8"},
        "5m",
        ROUTE,
        "S3 route audit-archive on node-1:2020 failed to upload within 6m",
    ),
    Case(
        "AuditBufferBacklog",
        {f'fluentbit_input_storage_chunks_down{{{JOB},name="node-syslog"}}': "600x10"},
        {f'fluentbit_input_storage_chunks_down{{{JOB},name="node-syslog"}}': "12x10"},
        "8m",
        {**NODE, "name": "node-syslog"},
        "Audit agent on node-1:2020 holds a growing backlog on disk",
    ),
    Case(
        "AuditBufferNearLimit",
        {f'fluentbit_output_chunk_available_capacity_percent{{{JOB},name="search"}}': "10x5"},
        {f'fluentbit_output_chunk_available_capacity_percent{{{JOB},name="search"}}': "100x5"},
        "3m",
        {**NODE, "name": "search"},
        "Route search on node-1:2020 buffer is near its bound",
    ),
    Case(
        "AuditRsyslogQueueGrowing",
        {f'rsyslog_queue_size{{{JOB},name="container_audit_forward"}}': "0+4000x10"},
        {f'rsyslog_queue_size{{{JOB},name="container_audit_forward"}}': "30x10"},
        "10m",
        {**NODE, "name": "container_audit_forward"},
        "rsyslog on node-1:2020 queues 40000 messages for the agent",
    ),
    Case(
        "AuditRsyslogQueueFull",
        {f'rsyslog_queue_full{{{JOB},name="container_audit_forward"}}': "0 0 0 1 1 1"},
        {f'rsyslog_queue_full{{{JOB},name="container_audit_forward"}}': "0x6"},
        "5m",
        {**NODE, "name": "container_audit_forward"},
        "rsyslog's queue on node-1:2020 was full",
    ),
    Case(
        "AuditRsyslogDropped",
        {f'rsyslog_action_failed{{{JOB},name="container_audit_handoff"}}': "0 0 0 12 12 40"},
        {f'rsyslog_action_failed{{{JOB},name="container_audit_handoff"}}': "0x6"},
        "5m",
        {**NODE, "name": "container_audit_handoff"},
        "rsyslog on node-1:2020 dropped messages its action container_audit_handoff could not "
        "process",
    ),
    Case(
        "AuditHandoffUnread",
        # The agent stopped reading 11 minutes ago: the oldest unread file ages by the minute.
        {f"audit_handoff_oldest_unread_seconds{{{JOB}}}": "0 0 0 0+60x12"},
        {f"audit_handoff_oldest_unread_seconds{{{JOB}}}": "0 30 0 45 0 20 0 0 50 0 0 0 0 0 0"},
        "14m",
        NODE,
        "Records wait unread for the agent in the handoff files on node-1:2020",
    ),
    Case(
        "AuditHandoffDiskLow",
        {
            f"audit_handoff_filesystem_free_bytes{{{JOB}}}": "300-50x5",
            f"audit_handoff_filesystem_size_bytes{{{JOB}}}": "1000x5",
        },
        {
            f"audit_handoff_filesystem_free_bytes{{{JOB}}}": "500x5",
            f"audit_handoff_filesystem_size_bytes{{{JOB}}}": "1000x5",
        },
        "5m",
        NODE,
        "The handoff files' disk on node-1:2020 is nearly full: rsyslog drops what it cannot write",
    ),
    Case(
        "AuditHandoffCleanerErrors",
        {f"audit_handoff_cleaner_errors_total{{{JOB}}}": "0 0 1 2 3 4"},
        {f"audit_handoff_cleaner_errors_total{{{JOB}}}": "0x6"},
        "5m",
        NODE,
        "The handoff cleaner on node-1:2020 fails: read files stay on disk",
    ),
    Case(
        "AuditHeartbeatStale",
        {f'fluentbit_input_records_total{{{JOB},name="heartbeat"}}': "0+1x3 3x10"},
        {f'fluentbit_input_records_total{{{JOB},name="heartbeat"}}': "0+1x13"},
        "12m",
        NODE,
        "No heartbeat from node syslog on node-1:2020 for 6m",
    ),
]


def _test_group(case: Case, series: dict[str, str], fires: bool) -> dict[str, Any]:
    expected = [
        {
            "exp_labels": {
                **case.labels,
                "severity": "critical",
                "pipeline": "container-audit-log",
            },
            "exp_annotations": {"summary": case.summary, "runbook": RUNBOOK},
        }
    ]
    return {
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in series.items()],
        "alert_rule_test": [
            {
                "eval_time": case.eval_time,
                "alertname": case.alert,
                "exp_alerts": expected if fires else [],
            }
        ],
    }


def _write(tmp_path: Path, tests: list[dict[str, Any]]) -> Path:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups(SETTINGS, ROUTES)))
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "tests.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_every_alert_has_a_case() -> None:
    names = {rule.alert for rule in alert_rules(SETTINGS, ROUTES)}
    assert names == {case.alert for case in CASES}


def test_promtool_accepts_the_rule_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rule_groups(SETTINGS, ROUTES)))
    done = promtool("check", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len({case.alert for case in CASES})} rules found" in done.stdout


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.alert)
def test_alert_fires_on_trouble_and_not_on_health(case: Case, tmp_path: Path) -> None:
    tests = [_test_group(case, case.tripping, True), _test_group(case, case.healthy, False)]
    done = promtool("test", "rules", _write(tmp_path, tests), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The harness can fail: a healthy series that is expected to fire does not."""
    case = CASES[0]
    done = promtool(
        "test", "rules", _write(tmp_path, [_test_group(case, case.healthy, True)]), cwd=tmp_path
    )
    assert done.returncode != 0
    assert "FAILED" in done.stdout + done.stderr


def test_every_alert_has_a_runbook_line_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for case in CASES:
        assert f"| `{case.alert}` |" in text, f"README has no runbook line for {case.alert}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stacks_planned_rule_file_passes_promtool(stack: str, tmp_path: Path) -> None:
    files = dict(daemon_configs(stack_graph(stack)))
    path = tmp_path / "rules.yaml"
    path.write_text(files["alerts/container-audit-log.rules.yaml"])
    done = promtool("check", "rules", path)
    assert done.returncode == 0, done.stdout + done.stderr
