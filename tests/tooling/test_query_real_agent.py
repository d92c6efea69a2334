"""Every named query, on DuckDB, over the objects the REAL agent wrote to S3 (moto).

demo events (audit_events.py) -> rsyslogd -> fluent-bit, both with the local stack's
rendered configs and monitoring additions (rsyslog's immark heartbeat every few seconds)
-> moto S3 -> `tooling.query --local <endpoint>`. The expected answers come from what the
demo printed it sent (its RFC 5424 lines) and from the objects themselves, not from the
code under test. Also: the Glue table's columns are exactly the keys of the records the
agent wrote, heartbeats included.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.agent.metrics import HANDOFF_INPUT, HEARTBEAT_EMITTER
from components.agent.parsers import TIME_UNREADABLE_KEY
from components.archive.table import record_columns
from components.demo.render import DemoService, service_plan
from demo.audit_events import SD_ID, parse_structured_data
from tests.agent_harness import AgentRunner
from tooling import e2e, query
from tooling.localrun import RunningAgent, s3_client, supervised
from tooling.loopback import free_port, wait_until

NAMESPACE = "shop"
SERVICES = (
    DemoService(name="web", commands=[["id", "-u"], ["sh", "-c", "exit 3"]]),
    DemoService(name="batch", commands=[["true"], ["no-such-command-15"]]),
)
TYPED = ("id -u", "echo 'quoted \"text\" ]'")
# Sent straight to the agent: structured data rsyslog would not pass through unchanged.
RAW_LINES = ("<14>1 2026-11-30T10:00:02.000Z h a 1 - [odd one] malformed sd",)
HEARTBEAT_INTERVAL_S = 3
HEARTBEATS = 2  # at least: the newest must be told from an older one
HEARTBEAT_MESSAGE = "container-audit-log heartbeat"


@dataclass(frozen=True)
class Sent:
    """What the demo sent, as it printed it."""

    events: list[dict[str, str]]  # the audit SD params of every event, plus msgid and pid
    run_id: str


@dataclass(frozen=True)
class Run:
    endpoint: str
    bucket: str
    records: list[dict[str, Any]]  # the events' objects
    heartbeats: list[dict[str, Any]]  # the heartbeat tag's objects
    sent: Sent
    start: datetime


def _demo(run_id: str, syslog_port: int, scratch: Path) -> Sent:
    scratch.mkdir(parents=True, exist_ok=True)
    events: list[dict[str, str]] = []

    def keep(line: str) -> None:
        header = line.split(" ", 6)
        params = parse_structured_data(line)[SD_ID]
        events.append({**params, "msgid": header[5], "pid": header[4]})

    for service in SERVICES:
        plan = scratch / f"{service.name}.json"
        plan.write_text(service_plan(service, iterations=1), encoding="utf-8")
        env = e2e.demo_process_env(service, run_id, syslog_port, NAMESPACE, scratch)
        done = subprocess.run(
            [sys.executable, str(e2e.DEMO_DIR / "audit_events.py"), "run", "--plan", str(plan)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        for line in done.stdout.splitlines():
            if line.startswith("<"):
                keep(line)
    shell = subprocess.run(
        ["bash", "--rcfile", str(e2e.DEMO_DIR / "audit-shell.sh"), "-i"],
        input="".join(f"{line}\n" for line in TYPED),
        env=e2e.demo_process_env(SERVICES[0], run_id, syslog_port, NAMESPACE, scratch),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shell.returncode == 0
    return Sent(events, run_id)


def _input_records(agent: RunningAgent, name: str) -> int:
    """Records one of the agent's inputs took in (0 while its HTTP server does not answer)."""
    try:
        return int(agent.metrics().get("input", {}).get(name, {}).get("records", 0))
    except (OSError, ValueError):
        return 0


@pytest.fixture(scope="module")
def run(
    fluent_bit: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    rsyslogd = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")
    if rsyslogd is None:
        pytest.skip("needs rsyslogd (apt-get install rsyslog)")
    root = Path(tmp_path_factory.mktemp("query-e2e"))
    stack = e2e.load_local_stack()
    run_id = f"q15-{datetime.now(UTC):%H%M%S}"
    start = datetime.now(UTC) - timedelta(minutes=1)
    with supervised(root) as supervisor:
        runner = AgentRunner(fluent_bit, moto_endpoint, root, supervisor)
        bucket = runner.new_bucket()
        agent = runner.start(
            stack.monitored_agent_config,
            bucket=bucket,
            env={"NODE_NAME": "e2e-node"},
            handoff=e2e.handoff_directory(root),
        )
        ports = e2e.Ports(syslog=free_port(), http=agent.http_port, s3=0)
        monitoring = e2e.node_monitoring(stack, agent.config, HEARTBEAT_INTERVAL_S)
        e2e._start_rsyslog(supervisor, rsyslogd, stack, root, ports, monitoring)
        sent = _demo(run_id, ports.syslog, root / "demo")
        agent.hand_off(RAW_LINES)
        expected = len(sent.events) + len(TYPED) + 1 + len(RAW_LINES)
        wait_until(
            lambda: (
                _input_records(agent, HANDOFF_INPUT) >= expected + HEARTBEATS
                and _input_records(agent, HEARTBEAT_EMITTER) >= HEARTBEATS
            ),
            60,
            f"the agent to receive {expected} records and {HEARTBEATS} heartbeats",
            interval=0.2,
        )
        supervisor.stop_all()  # rsyslogd, then the agent: it uploads what it holds
        objects = runner.objects(bucket)
    heartbeat_prefix = f"{stack_prefix(stack)}audit.heartbeat/"
    records = [
        r for key, rows in objects.items() if not key.startswith(heartbeat_prefix) for r in rows
    ]
    beats = [r for key, rows in objects.items() if key.startswith(heartbeat_prefix) for r in rows]
    yield Run(moto_endpoint, bucket, records, beats, sent, start)


def stack_prefix(stack: e2e.LocalStack) -> str:
    route = next(o for o in stack.agent_config["pipeline"]["outputs"] if o["name"] == "s3")
    return str(route["s3_key_format"]).lstrip("/").split("$TAG", 1)[0]


def ask(run: Run, name: str, *params: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    args = ["--stack", "local", "--query", name, "--local", run.endpoint, "--bucket", run.bucket]
    args += [
        "--start",
        run.start.isoformat(),
        "--end",
        (run.start + timedelta(hours=1)).isoformat(),
    ]
    for param in params:
        args += ["--param", param]
    parsed = query._parser().parse_args(args)
    result = query.answer(parsed, s3_client=s3_client(run.endpoint, "eu-west-1"))
    out.write(query.format_table(result))
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_table_columns_are_the_keys_the_agent_writes(run: Run) -> None:
    keys = {key for record in [*run.records, *run.heartbeats] for key in record}
    columns = {c.name for c in record_columns()}
    assert keys <= columns, f"keys without a column: {sorted(keys - columns)}"
    # seq and seq_instance come from the node agent's sequence stage (no-loss issue);
    # time_unreadable only appears on a record whose timestamp could not be read.
    assert columns - keys <= {"seq", "seq_instance", TIME_UNREADABLE_KEY}, sorted(columns - keys)


def _commands(run: Run, **match: str) -> list[tuple[str, str]]:
    """(pod, command) of every command event the demo sent that matches."""
    return sorted(
        (e["pod"], e["command"])
        for e in run.sent.events
        if e["event"] in ("START", "EXEC") and all(e[k] == v for k, v in match.items())
    )


def test_commands_in_pod(run: Run) -> None:
    pod = "web-e2e"
    rows = ask(run, "commands-in-pod", f"namespace={NAMESPACE}", f"pod={pod}")
    got = sorted((r["pod"], r["command"]) for r in rows if r["event"] != "SHELL")
    assert got == _commands(run, pod=pod)
    assert {r["command"] for r in rows if r["event"] == "SHELL"} == set(TYPED)


def test_commands_in_namespace_and_on_node(run: Run) -> None:
    rows = ask(run, "commands-in-namespace", f"namespace={NAMESPACE}")
    assert sorted((r["pod"], r["command"]) for r in rows if r["event"] != "SHELL") == _commands(run)
    on_node = ask(run, "commands-on-node", "node=e2e-node")
    assert len(on_node) == len(rows)
    assert ask(run, "commands-on-node", "node=elsewhere") == []


def test_shell_sessions(run: Run) -> None:
    rows = ask(run, "shell-sessions")
    assert [r["typed"] for r in rows] == [None, *TYPED]  # opened, then each line typed
    assert {r["shell_pid"] for r in rows} == {rows[0]["shell_pid"]}
    assert rows[0]["pod"] == "web-e2e"


def test_commands_by_uid(run: Run) -> None:
    rows = ask(run, "commands-by-uid", f"uid={os.getuid()}")
    assert len(rows) == len(_commands(run)) + len(TYPED)
    assert ask(run, "commands-by-uid", "uid=4242") == []


def test_failed_commands(run: Run) -> None:
    rows = ask(run, "failed-commands")
    expected = sorted(
        (e["command"], int(e["exit"]))
        for e in run.sent.events
        if e["event"] == "EXIT" and e["exit"] != "0"
    )
    assert sorted((r["command"], r["exit_code"]) for r in rows) == expected
    assert ("no-such-command-15", 127) in expected and ("sh -c 'exit 3'", 3) in expected


def test_run_events(run: Run) -> None:
    rows = ask(run, "run-events", f"run_id={run.sent.run_id}", "service=batch")
    expected = [e["event"] for e in run.sent.events if e["service"] == "batch"]
    assert [r["event"] for r in rows] == expected
    assert ask(run, "run-events", "run_id=another-run", "service=batch") == []


def test_sequence_gaps(run: Run) -> None:
    rows = ask(run, "sequence-gaps")
    assert rows == []  # nothing was lost (and without seq fields, nothing to compare)
    # Heartbeats and events share rsyslog's numbering: either alone has holes the other fills.
    # (Only RAW_LINES, sent to the agent directly, carry no seq.)
    numbered = [r for r in [*run.records, *run.heartbeats] if "seq" in r]
    assert len(numbered) == len(run.records) + len(run.heartbeats) - len(RAW_LINES)
    seqs = sorted(int(r["seq"]) for r in numbered)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert all("seq" in r for r in run.heartbeats)


def test_heartbeats(run: Run) -> None:
    """Per node, the newest heartbeat the agent archived, its age and its sequence identity,
    as the objects under the heartbeat tag hold them (rsyslog's immark, through the agent)."""
    beats = [r for r in run.heartbeats if r["message"].strip() == HEARTBEAT_MESSAGE]
    assert len(beats) >= HEARTBEATS and len(beats) == len(run.heartbeats)
    newest = max(beats, key=lambda r: str(r["date"]))
    end = run.start + timedelta(hours=1)
    rows = ask(run, "heartbeats")
    assert rows == [
        {
            "node": "e2e-node",
            "newest": newest["date"],
            "age_s": int(
                (end - datetime.fromisoformat(newest["date"][:19] + "+00:00")).total_seconds()
            ),
            "seq_instance": newest.get("seq_instance"),
            "seq": newest.get("seq"),
            "heartbeats": len(beats),
        }
    ]
    # Events are not heartbeats: the event queries never read the heartbeat tag.
    assert all(r["message"].strip() != HEARTBEAT_MESSAGE for r in run.records)


def test_window_outside_the_run_finds_nothing(run: Run) -> None:
    out = io.StringIO()
    args = query._parser().parse_args(
        [
            *("--stack", "local", "--query", "failed-commands", "--local", run.endpoint),
            *("--bucket", run.bucket, "--start", "2020-01-01", "--end", "2020-01-02"),
        ]
    )
    result = query.answer(args, s3_client=s3_client(run.endpoint, "eu-west-1"))
    out.write(query.format_table(result))
    assert result.rows == []
