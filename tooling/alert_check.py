"""`make e2e-alerts`: the alert rules against the real agent and a real Prometheus.

One node of the local stack on loopback (moto behind a proxy, the real Fluent Bit and
rsyslogd with the rendered configs, tooling.monitoring_rig) and Debian's `prometheus`
scraping the agent with the rendered rule file, shortened thresholds (scrape 5 s, window
1 m, heartbeat every 10 s). Then:

1. S3 unreachable (the proxy refuses connections): the upload alerts must go
   pending/firing;
2. S3 back: they must resolve;
3. `verify --heartbeat` against the archive passes; rsyslogd stopped: AuditHeartbeatStale
   fires and `verify --heartbeat` fails naming the node.

Every phase is bounded; everything started is stopped by pid. Exit 0 when every
expectation held, 1 otherwise, 2 when a tool is missing. Takes 6-9 minutes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from components.agent.routes import parse_duration
from components.monitoring.alerts import S3RouteTiming, rule_groups
from components.monitoring.settings import MonitoringSettings
from tooling.localrun import DUMMY_AWS_ENV, Supervisor
from tooling.loopback import LOOPBACK, free_port, wait_until
from tooling.monitoring_rig import NODE, MonitoringRig, find_fluent_bit, find_rsyslogd

EXIT_OK, EXIT_FAILED, EXIT_MISSING_TOOL = 0, 1, 2
STACK = "local"
# Short enough for one run on a laptop, long enough for two scrapes per window.
CHECK_SETTINGS: dict[str, Any] = {
    "scrapeInterval": "5s",
    "rsyslogStatsIntervalSeconds": 5,
    "heartbeat": {"intervalSeconds": 10},
    "alerts": {
        "window": "1m",
        "uploadMargin": "1m",
        "outputErrors": 1,
        "outputRetries": 1,
        "agentErrorsLogged": 1,
        "heartbeatStaleAfter": "30s",
        "agentDownFor": "30s",
    },
}
# What an S3 outage must raise: the route's output fails, and the route counts as stale.
OUTAGE_ALERTS = ("AuditOutputErrors", "AuditS3UploadStale")
# Reported, not required: what else the outage raised.
OUTAGE_WATCH = ("AuditAgentErrorsLogged", "AuditOutputRetriesRising", "AuditRecordsDropped")


def prometheus_config(rig: MonitoringRig, settings: MonitoringSettings) -> dict[str, Any]:
    relabel = [{"target_label": "job", "replacement": settings.job}]
    return {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "evaluation_interval": settings.scrape_interval,
        },
        "rule_files": ["rules.yaml"],
        "scrape_configs": [
            {
                "job_name": settings.job,
                "metrics_path": "/api/v2/metrics/prometheus",
                "static_configs": [{"targets": [f"{LOOPBACK}:{rig.http_port}"]}],
            },
            {
                "job_name": f"{settings.job}-rsyslog",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"{LOOPBACK}:{rig.exporter_port}"]}],
                "relabel_configs": relabel,
            },
        ],
    }


class Prometheus:
    def __init__(self, port: int) -> None:
        self.base = f"http://{LOOPBACK}:{port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.base}{path}", timeout=5) as response:  # noqa: S310
            return json.loads(response.read())

    def alert_states(self) -> dict[str, str]:
        """alertname -> 'firing' or 'pending' (firing wins) for every active alert."""
        states: dict[str, str] = {}
        for alert in self.get("/api/v1/alerts")["data"]["alerts"]:
            name = alert["labels"]["alertname"]
            if states.get(name) != "firing":
                states[name] = alert["state"]
        return states

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/-/ready", timeout=2) as r:  # noqa: S310
                return int(r.status) == 200
        except OSError:
            return False


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, log: Callable[[str], None]
) -> float | None:
    """Seconds until `check()` held, or None after `timeout` (polled every 5 s)."""
    start = time.monotonic()
    while time.monotonic() - start <= timeout:
        if check():
            elapsed = time.monotonic() - start
            log(f"{what}: after {elapsed:.0f}s")
            return elapsed
        time.sleep(5)
    log(f"{what}: NOT within {timeout:.0f}s")
    return None


def _active(prom: Prometheus, alert: str) -> bool:
    return alert in prom.alert_states()


def _inactive(prom: Prometheus, alert: str) -> bool:
    return alert not in prom.alert_states()


def _firing(prom: Prometheus, alert: str) -> bool:
    return prom.alert_states().get(alert) == "firing"


def verify_heartbeat(rig: MonitoringRig, max_age: int) -> tuple[int, str]:
    from tooling.verify import main as verify_main

    argv = [
        "--stack", STACK, "--no-pulumi", "--bucket", rig.bucket, "--region", rig.cfg.region,
        "--endpoint-url", rig.moto_endpoint, "--heartbeat", "--since", "30m",
        "--nodes", NODE, "--max-age", str(max_age),
    ]  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out):
        code = verify_main(argv)
    return code, out.getvalue()


def run(root: Path, log: Callable[[str], None]) -> int:
    agent, rsyslogd, prometheus = find_fluent_bit(), find_rsyslogd(), shutil.which("prometheus")
    missing = [
        name
        for name, found in (
            ("fluent-bit", agent),
            ("rsyslogd", rsyslogd),
            ("prometheus", prometheus),
        )
        if not found
    ]
    if missing or agent is None or rsyslogd is None or prometheus is None:
        log(
            f"missing: {', '.join(missing)} (fluent-bit 5.1.x: FLUENT_BIT=/path; "
            "apt-get install rsyslog prometheus)"
        )
        return EXIT_MISSING_TOOL
    settings = MonitoringSettings.model_validate(CHECK_SETTINGS)
    # verify reads the archive with the same dummy keys the agent uploads with (moto).
    os.environ.update(DUMMY_AWS_ENV)
    rig = MonitoringRig(STACK, root, settings)
    routes = [
        S3RouteTiming(r.name, parse_duration(r.upload_timeout))
        for r in rig.agent_settings.s3_routes
    ]
    (root / "rules.yaml").write_text(yaml.safe_dump(rule_groups(settings, routes)))
    port = free_port()
    supervisor = Supervisor(root, announce="e2e-alerts")
    failures: list[str] = []
    try:
        rig.start(agent, rsyslogd)
        (root / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(rig, settings)))
        supervisor.start(
            "prometheus",
            [
                prometheus,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'tsdb'}",
                f"--web.listen-address={LOOPBACK}:{port}",
            ],
            {"PATH": "/usr/bin:/bin", **DUMMY_AWS_ENV},
        )
        prom = Prometheus(port)
        wait_until(prom.ready, 60, "prometheus ready", interval=0.5)
        timeout = rig.upload_timeout_s + 180

        def heartbeats_seen() -> bool:
            query = 'fluentbit_input_records_total{name="heartbeat"}'
            result = prom.get(f"/api/v1/query?query={urllib.parse.quote(query)}")
            return any(float(r["value"][1]) > 0 for r in result["data"]["result"])

        if wait_for("heartbeats counted by Prometheus", heartbeats_seen, 90, log) is None:
            failures.append("no heartbeat reached the agent")
        before = prom.alert_states()
        log(f"before the outage, active alerts: {before or 'none'}")
        failures += [f"{a} active before the outage" for a in OUTAGE_ALERTS if a in before]

        rig.proxy.cut()
        log("S3 unreachable (proxy refuses connections)")
        for alert in OUTAGE_ALERTS:
            if (
                wait_for(f"{alert} pending/firing", partial(_active, prom, alert), timeout, log)
                is None
            ):
                failures.append(f"{alert} did not fire during the outage")
        during = prom.alert_states()
        log(f"during the outage, active alerts: {during}")
        for alert in OUTAGE_WATCH:
            log(f"  {alert}: {during.get(alert, 'inactive')}")

        rig.proxy.restore()
        log("S3 reachable again")
        span = rig.upload_timeout_s + 60 + 240
        for alert in OUTAGE_ALERTS:
            if wait_for(f"{alert} resolved", partial(_inactive, prom, alert), span, log) is None:
                failures.append(f"{alert} did not resolve after S3 returned")

        code, out = verify_heartbeat(rig, max_age=rig.upload_timeout_s + 60)
        log(f"verify --heartbeat with rsyslogd running: exit {code}\n{out}")
        if code != 0:
            failures.append("verify --heartbeat failed while heartbeats flowed")

        rig.stop_rsyslog()
        log("rsyslogd stopped: heartbeats stop")
        if (
            wait_for(
                "AuditHeartbeatStale firing",
                lambda: prom.alert_states().get("AuditHeartbeatStale") == "firing",
                180,
                log,
            )
            is None
        ):
            failures.append("AuditHeartbeatStale did not fire after rsyslogd stopped")
        # The alert fires 30 s or more after the last heartbeat: a 30 s bound must fail.
        code, out = verify_heartbeat(rig, max_age=30)
        log(f"verify --heartbeat --max-age 30: exit {code}\n{out}")
        if code != 1 or "STALE" not in out:
            failures.append("verify --heartbeat did not fail on the stopped node")
    finally:
        supervisor.stop_all()
        rig.stop()
    for failure in failures:
        log(f"FAILED: {failure}")
    log("e2e-alerts: OK" if not failures else "e2e-alerts: FAILED")
    return EXIT_OK if not failures else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make e2e-alerts", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="e2e-alerts-"))
    start = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - start:6.0f}s] {text}", flush=True)

    try:
        return run(root, log)
    finally:
        if args.keep:
            log(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
