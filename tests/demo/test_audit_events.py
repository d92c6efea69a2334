"""demo/audit_events.py: its messages through the real agent (the dev stack's config), the
script run locally against loopback listeners, and through the real rsyslogd with the
rendered node config."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from demo.audit_events import (
    SD_ID,
    Identity,
    SyslogSender,
    escape_control,
    format_event,
    parse_structured_data,
)
from tests.agent_harness import AgentRunner, records_of, stack_agent_config
from tests.demo.helpers import RUN_ID, SERVICE, run_plan, sent_events, udp_collector, wait_for
from tests.rsyslog_harness import (
    HandoffFiles,
    NodeLayout,
    RsyslogDaemon,
    parse_rfc5424,
    running_sink,
)
from tooling.loopback import free_port

IDENTITY = Identity("run-9", "service-1", "service-1-abc12", "audit-demo", "service-1", "node-a")
# One round of SERVICE: START, EXEC + EXIT per command, STOP.
EVENTS_PER_ROUND = 2 + 2 * len(SERVICE.commands)


def audit(line: str) -> dict[str, str]:
    """The demo's SD element of an RFC 5424 line (what follows the six header fields)."""
    return parse_structured_data(line.split(" ", 6)[6])[SD_ID]


def test_events_as_the_agent_archives_them(run_agent: AgentRunner) -> None:
    """Header fields, time, structured data and message of demo events, read back from the
    S3 objects the real agent writes."""
    tricky = 'echo "a]b" \\ $HOME\nnext\tline'
    when = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    shell = format_event(
        IDENTITY, "SHELL", f"shell command: {tricky}", pid=42, uid=10001,
        extra={"command": tricky}, when=when,
    )  # fmt: skip
    long_names = Identity("r", "s" * 80, "pod with space", "ns", "c", "n")
    clipped = format_event(long_names, "EXEC", "clipped header", pid=1, uid=0)
    assert "\n" not in shell
    records = records_of(run_agent, stack_agent_config("dev"), [shell, clipped])
    by_message = {r["message"]: r for r in records}
    record = by_message[f"shell command: {escape_control(tricky)}"]
    assert (record["host"], record["ident"], record["pid"], record["msgid"]) == (
        "service-1-abc12",
        "service-1",
        "42",
        "SHELL",
    )
    assert record["date"] == "2024-05-01T12:00:00.123456Z"
    params = parse_structured_data(record["extradata"])[SD_ID]
    assert params["run_id"] == "run-9" and params["uid"] == "10001"
    assert params["command"] == escape_control(tricky) == 'echo "a]b" \\ $HOME\\nnext\\tline'
    header = by_message["clipped header"]
    assert header["ident"] == "s" * 48  # APP-NAME is at most 48 characters
    assert header["host"] == "podwithspace"


def test_run_over_tcp_uses_octet_counting(tmp_path: Path) -> None:
    port = free_port()
    with running_sink(port, framing="octet-counting") as sink:
        done = run_plan(tmp_path, port)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: sink.count() >= EVENTS_PER_ROUND)
    frames = sink.snapshot()
    assert frames == sent_events(done)
    params = [audit(frame) for frame in frames]
    assert [p["event"] for p in params] == ["START", *["EXEC", "EXIT"] * 3, "STOP"]
    assert {p["run_id"] for p in params} == {RUN_ID}
    exits = [p.get("exit") for p in params if p["event"] == "EXIT"]
    assert exits == ["0", "0", "127"]  # a command that cannot start is still logged
    assert params[1]["command"] == "id -u"


def test_run_over_udp(tmp_path: Path) -> None:
    with udp_collector() as collector:
        done = run_plan(tmp_path, collector.port, transport="udp")
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(collector.frames) >= EVENTS_PER_ROUND)
    assert sorted(collector.frames) == sorted(sent_events(done))


def test_tcp_falls_back_to_udp_when_no_one_listens_on_tcp(tmp_path: Path) -> None:
    with udp_collector(free_port()) as collector:
        done = run_plan(tmp_path, collector.port, transport="tcp")
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(collector.frames) >= EVENTS_PER_ROUND)
    assert {audit(frame)["run_id"] for frame in collector.frames} == {RUN_ID}


def test_a_syslog_it_cannot_reach_is_reported_not_fatal(tmp_path: Path) -> None:
    done = run_plan(tmp_path, 514, host="256.0.0.1")  # not an address: every send fails
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if "syslog send failed" in line]
    assert len(failures) == EVENTS_PER_ROUND  # each event still lands in the container log
    assert "Traceback" not in done.stderr
    assert sent_events(done) == []


def test_events_reach_the_agent_through_rsyslog(tmp_path: Path) -> None:
    """demo script -> real rsyslogd (rendered node config) -> the handoff files the agent
    reads: every event arrives, in RFC 5424 the agent parses, run_id intact."""
    layout = NodeLayout(tmp_path / "node")
    settings = layout.settings()
    layout.write(settings)
    sink = HandoffFiles(layout.handoff)
    with RsyslogDaemon(layout) as daemon:
        daemon.wait_listening(settings.listen_port)
        done = run_plan(tmp_path, settings.listen_port)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: sink.count() >= EVENTS_PER_ROUND, timeout=15)
    sent = sent_events(done)
    received = sink.snapshot()
    assert len(received) == len(sent) == EVENTS_PER_ROUND
    numbers = []
    for original, forwarded in zip(sent, received, strict=True):
        # rsyslog re-renders the header and numbers the record; what the archive needs must
        # come through as sent.
        parsed = parse_rfc5424(forwarded)
        numbers.append(parsed.seq)
        assert replace(parsed, seq=None, seq_instance=None) == parse_rfc5424(original)
        assert audit(forwarded)["run_id"] == RUN_ID
    assert numbers == list(range(1, EVENTS_PER_ROUND + 1))


def test_a_restarted_receiver_loses_no_event() -> None:
    """rsyslog restarting closes the kept connection; the next event reconnects instead
    of vanishing into the closed socket."""
    port = free_port()
    sender = SyslogSender("127.0.0.1", port, "tcp")
    first, second = (format_event(IDENTITY, "EXEC", f"n{i}", pid=1, uid=0) for i in (1, 2))
    with running_sink(port, framing="octet-counting") as sink:
        assert sender.send(first) == "tcp"
        wait_for(lambda: sink.count() == 1)
        sink.stop(graceful=True, drain_timeout=0.5)
    with running_sink(port, framing="octet-counting") as restarted:
        assert sender.send(second) == "tcp"
        wait_for(lambda: restarted.count() == 1)
    sender.close()
    assert restarted.snapshot() == [second]
