"""Every named query, on DuckDB, over the objects the REAL agent wrote to S3 (moto).

demo events (audit_events.py) -> rsyslogd -> fluent-bit, both with the local stack's
rendered configs -> moto S3 -> `tooling.query --local <endpoint>`. The expected answers
come from what the demo printed it sent (its RFC 5424 lines), not from the code under test.
Also: the Glue table's columns are exactly the keys of the records the agent wrote.
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

from components.render.archive_table import record_columns
from components.render.demo import DemoService, service_plan
from components.render.fluent_bit_parsers import TIME_UNREADABLE_KEY
from demo.audit_events import SD_ID, parse_structured_data
from tests.agent_harness import AgentRunner
from tests.agent_records import received, send_lines
from tooling import e2e, query
from tooling.localrun import s3_client, supervised
from tooling.loopback import free_port, wait_until

NAMESPACE = "shop"
SERVICES = (
    DemoService(name="web", commands=[["id", "-u"], ["sh", "-c", "exit 3"]]),
    DemoService(name="batch", commands=[["true"], ["no-such-command-15"]]),
)
TYPED = ("id -u", "echo 'quoted \"text\" ]'")
# Sent straight to the agent: structured data rsyslog would not pass through unchanged.
RAW_LINES = ("<14>1 2026-11-30T10:00:02.000Z h a 1 - [odd one] malformed sd",)


@dataclass(frozen=True)
class Sent:
    """What the demo sent, as it printed it."""

    events: list[dict[str, str]]  # the audit SD params of every event, plus msgid and pid
    run_id: str


@dataclass(frozen=True)
class Run:
    endpoint: str
    bucket: str
    records: list[dict[str, Any]]
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
        agent = runner.start(stack.agent_config, bucket=bucket, env={"NODE_NAME": "e2e-node"})
        ports = e2e.Ports(syslog=free_port(), agent=agent.ports.syslog, http=agent.ports.http, s3=0)
        e2e._start_rsyslog(supervisor, rsyslogd, stack, root, ports)
        sent = _demo(run_id, ports.syslog, root / "demo")
        send_lines(agent, RAW_LINES)
        expected = len(sent.events) + len(TYPED) + 1 + len(RAW_LINES)
        wait_until(
            lambda: received(agent) >= expected,
            60,
            f"the agent to receive {expected} records",
            interval=0.2,
        )
        supervisor.stop_all()  # rsyslogd, then the agent: it uploads what it holds
        records = [r for rows in runner.objects(bucket).values() for r in rows]
    yield Run(moto_endpoint, bucket, records, sent, start)


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
    keys = {key for record in run.records for key in record}
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
