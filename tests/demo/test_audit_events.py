"""demo/audit_events.py: its messages through the agent's own RFC 5424 parser, the script
run locally against loopback listeners, and through the real rsyslogd with the rendered
node config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from components.render.fluent_bit_parsers import RFC5424_PARSER, parse_time, parse_with
from demo.audit_events import (
    SD_ID,
    Identity,
    SyslogSender,
    escape_control,
    format_event,
    parse_structured_data,
)
from tests.demo.helpers import RUN_ID, SERVICE, run_plan, sent_events, udp_collector, wait_for
from tests.rsyslog_harness import (
    NodeLayout,
    RsyslogDaemon,
    running_sink,
)
from tooling.loopback import free_port

IDENTITY = Identity("run-9", "service-1", "service-1-abc12", "audit-demo", "service-1", "node-a")
# One round of SERVICE: START, EXEC + EXIT per command, STOP.
EVENTS_PER_ROUND = 2 + 2 * len(SERVICE.commands)


def audit(line: str) -> dict[str, str]:
    """The record the agent makes of `line`, and the demo's SD element in it."""
    record = parse_with(RFC5424_PARSER, line)
    assert record is not None, f"the agent's parser drops {line!r}"
    return parse_structured_data(record["extradata"])[SD_ID]


def test_message_survives_the_agents_parser() -> None:
    tricky = 'echo "a]b" \\ $HOME\nnext\tline'
    when = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    line = format_event(
        IDENTITY, "SHELL", f"shell command: {tricky}", pid=42, uid=10001,
        extra={"command": tricky}, when=when,
    )  # fmt: skip
    record = parse_with(RFC5424_PARSER, line)
    assert record is not None
    assert (record["host"], record["ident"], record["pid"], record["msgid"]) == (
        "service-1-abc12",
        "service-1",
        "42",
        "SHELL",
    )
    assert parse_time(RFC5424_PARSER, record["timestamp"]) == when
    params = parse_structured_data(record["extradata"])[SD_ID]
    assert params["run_id"] == "run-9" and params["uid"] == "10001"
    assert params["command"] == escape_control(tricky) == 'echo "a]b" \\ $HOME\\nnext\\tline'
    assert record["message"] == f"shell command: {escape_control(tricky)}"
    assert "\n" not in line


def test_header_fields_stay_within_rfc5424_limits() -> None:
    identity = Identity("r", "s" * 80, "pod with space", "ns", "c", "n")
    line = format_event(identity, "EXEC", "x", pid=1, uid=0)
    record = parse_with(RFC5424_PARSER, line)
    assert record is not None
    assert record["ident"] == "s" * 48  # APP-NAME is at most 48 characters
    assert record["host"] == "podwithspace"


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
    """demo script -> real rsyslogd (rendered node config) -> TCP sink standing in for the
    agent: every event arrives, in RFC 5424 the agent parses, run_id intact."""
    layout = NodeLayout(tmp_path / "node")
    settings = layout.settings()
    agent_port = free_port()
    layout.write(settings, agent_port)
    with (
        running_sink(agent_port, framing=settings.tcp_framing) as sink,
        RsyslogDaemon(layout) as daemon,
    ):
        daemon.wait_listening(settings.listen_port)
        done = run_plan(tmp_path, settings.listen_port)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: sink.count() >= EVENTS_PER_ROUND, timeout=15)
    sent = sent_events(done)
    received = sink.snapshot()
    assert len(received) == len(sent) == EVENTS_PER_ROUND
    for original, forwarded in zip(sent, received, strict=True):
        before, after = parse_with(RFC5424_PARSER, original), parse_with(RFC5424_PARSER, forwarded)
        assert before is not None and after is not None
        # rsyslog re-renders the header; what the archive needs must come through as sent.
        for key in ("timestamp", "host", "ident", "pid", "msgid", "extradata", "message"):
            assert after[key] == before[key], key
        assert audit(forwarded)["run_id"] == RUN_ID


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
