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
import socket
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
from demo.audit_events import SD_ID, parse_structured_data
from tests.real_agent import fluent_bit_binary
from tooling import e2e, query
from tooling.archive import decode_body
from tooling.loopback import LOOPBACK, wait_until

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


def _records_through_the_agent(log: Path, run_id: str) -> int:
    """Records the agent has passed to its outputs, as its stdout route printed them.

    (The agent's log, not its HTTP metrics: with other test runs on the machine, a port
    handed out as free can be taken before the agent binds it.)
    """
    text = log.read_text(errors="replace") if log.exists() else ""
    ours = sum(1 for line in text.splitlines() if f'"run_id":"{run_id}"' in line)
    raw = sum(1 for line in text.splitlines() if '"extradata":"[odd one]"' in line)
    return ours + raw


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
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    binary = fluent_bit_binary()
    rsyslogd = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")
    if binary is None or rsyslogd is None:
        pytest.skip("needs fluent-bit and rsyslogd")
    root = Path(tmp_path_factory.mktemp("query-e2e"))
    stack = e2e.load_local_stack()
    ports = e2e.free_ports()
    run_id = f"q15-{datetime.now(UTC):%H%M%S}"
    start = datetime.now(UTC) - timedelta(minutes=1)
    s3_side, node_side = e2e.Supervisor(root), e2e.Supervisor(root)
    try:
        endpoint = e2e._start_moto(s3_side, ports.s3)
        e2e.create_bucket(endpoint, stack.bucket, stack.region)
        e2e._start_agent(node_side, binary, stack, root, ports, endpoint)
        e2e._start_rsyslog(node_side, rsyslogd, stack, root, ports)
        sent = _demo(run_id, ports.syslog, root / "demo")
        with socket.create_connection((LOOPBACK, ports.agent), timeout=5) as sock:
            sock.sendall("".join(f"{line}\n" for line in RAW_LINES).encode())
        expected = len(sent.events) + len(TYPED) + 1 + len(RAW_LINES)
        log = root / "fluent-bit.log"
        wait_until(
            lambda: _records_through_the_agent(log, run_id) >= expected,
            60,
            f"the agent to receive {expected} records",
            interval=0.2,
        )
        node_side.stop_all()  # the agent uploads what it holds when it stops
        client = e2e.s3_client(endpoint, stack.region)
        listed = client.list_objects_v2(Bucket=stack.bucket).get("Contents", [])
        records = [
            record
            for item in listed
            for record in decode_body(
                client.get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read()
            )
        ]
        yield Run(endpoint, stack.bucket, records, sent, start)
    finally:
        node_side.stop_all()
        s3_side.stop_all()


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
    result = query.answer(parsed, s3_client=e2e.s3_client(run.endpoint, "us-east-1"))
    out.write(query.format_table(result))
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_table_columns_are_the_keys_the_agent_writes(run: Run) -> None:
    keys = {key for record in run.records for key in record}
    columns = {c.name for c in record_columns()}
    assert keys <= columns, f"keys without a column: {sorted(keys - columns)}"
    # seq and seq_instance come from the node agent's sequence stage (no-loss issue).
    assert columns - keys <= {"seq", "seq_instance"}, sorted(columns - keys)


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
    result = query.answer(args, s3_client=e2e.s3_client(run.endpoint, "us-east-1"))
    out.write(query.format_table(result))
    assert result.rows == []
