"""The series the alert rules and the dashboard use exist in the real agent's output.

The dev stack's rendered agent config (with the monitoring additions) runs in the real
Fluent Bit, fed by the real rsyslogd with its rendered config (heartbeat and impstats); the
test scrapes `/api/v2/metrics/prometheus` and the exporter's `/metrics`. A metric renamed by
a Fluent Bit upgrade fails here, not in the pager.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from components.agent import metrics as m
from components.monitoring.alerts import S3RouteTiming, alert_rules
from components.monitoring.dashboard import dashboard
from components.monitoring.settings import MonitoringSettings
from components.node_syslog.rsyslog import HANDOFF_ACTION, RULESET
from tooling.loopback import wait_until
from tooling.monitoring_rig import MonitoringRig, find_rsyslogd, scrape

# Counters every 5 s (the shortest allowed), so the rsyslog series appear quickly.
SETTINGS = MonitoringSettings.model_validate({"rsyslogStatsIntervalSeconds": 5})
SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ", re.MULTILINE)
USED = re.compile(r"\b([a-z_][a-z0-9_]*)\{")


@pytest.fixture(scope="module")
def served(
    fluent_bit: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, set[str]]]:
    """Metric name -> the label sets it was served with, from the pod's three endpoints."""
    agent = fluent_bit
    rsyslogd = find_rsyslogd()
    if rsyslogd is None:
        pytest.skip("rsyslogd not found: apt-get install rsyslog")
    rig = MonitoringRig("dev", tmp_path_factory.mktemp("rig"), SETTINGS)
    try:
        rig.start(agent, rsyslogd)
        wait_until(
            lambda: m.RSYSLOG_QUEUE_SIZE in scrape(rig.exporter_url),
            30,
            "rsyslog's counters on the agent's exporter",
            interval=0.5,
            diagnose=lambda: rig.supervisor.tail("fluent-bit", 20),
        )
        text = "".join(
            scrape(url)
            for url in (rig.agent_metrics_url, rig.exporter_url, rig.cleaner_metrics_url)
        )
    finally:
        rig.stop()
    found: dict[str, set[str]] = {}
    for name, labels in SERIES.findall(text):
        found.setdefault(name, set()).add(labels)
    yield found


def _used_names() -> set[str]:
    rules = alert_rules(SETTINGS, [S3RouteTiming("audit-archive", 300)])
    panels = dashboard(SETTINGS)["panels"]
    exprs = [r.expr for r in rules] + [t["expr"] for p in panels for t in p["targets"]]
    # `up` is Prometheus's own series for every scrape target.
    return {name for e in exprs for name in USED.findall(e)} - {"up"}


def test_every_series_the_rules_and_dashboard_use_is_served(served: dict[str, set[str]]) -> None:
    missing = sorted(_used_names() - set(served))
    assert not missing, f"not served by the real agent: {missing}"


def test_the_label_values_the_rules_select_exist(served: dict[str, set[str]]) -> None:
    inputs = " ".join(served[m.INPUT_RECORDS])
    assert f'name="{m.HEARTBEAT_EMITTER}"' in inputs
    assert f'name="{m.HANDOFF_INPUT}"' in inputs
    assert 'name="audit-archive"' in " ".join(served[m.OUTPUT_ERRORS])
    assert 'message_type="' in " ".join(served[m.LOGGED_MESSAGES])
    # rsyslog's one queue: the numbering ruleset's, which the handoff writes drain.
    assert f'name="{RULESET}"' in " ".join(served[m.RSYSLOG_QUEUE_SIZE])
    assert f'name="{HANDOFF_ACTION}"' in " ".join(served[m.RSYSLOG_ACTION_FAILED])


def test_the_name_list_is_complete() -> None:
    """Everything agent_metrics names is used somewhere, and checked above."""
    assert set(m.BUILT_IN) - {m.UPTIME} <= _used_names() | {m.OUTPUT_RECORDS}
