"""The rendered config in the real rsyslogd: every message reaches the handoff files the
agent reads, one RFC 5424 line each, and what waits in rsyslog survives a restart.
"""

from __future__ import annotations

import collections
import re
import socket
import stat
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from components.node_syslog.rsyslog import NodeSyslogSettings
from tests.rsyslog_harness import (
    HandoffFiles,
    NodeLayout,
    RsyslogDaemon,
    Sink,
    Syslog5424,
    delivered,
    prime,
    rfc3164,
    rfc5424,
    send_tcp,
    send_udp,
    send_unix,
)
from tooling.localrun import handoff_file
from tooling.loopback import LOOPBACK, wait_until

N = 200


class Node:
    """rsyslogd with the rendered config in a temp dir, and the handoff files it writes."""

    def __init__(self, root: Path, **overrides: object) -> None:
        self.layout = NodeLayout(root)
        self.settings: NodeSyslogSettings = self.layout.settings(**overrides)
        self.layout.write(self.settings)
        self.daemon = RsyslogDaemon(self.layout)
        self.handoff = HandoffFiles(self.layout.handoff)

    @property
    def port(self) -> int:
        return self.settings.listen_port

    def start(self) -> None:
        self.daemon.start()
        self.daemon.wait_listening(self.port)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path, localCopy={"enabled": True, "path": str(tmp_path / "copy/audit.log")})
    try:
        yield node
    finally:
        node.daemon.stop()


def _texts(received: list[Syslog5424]) -> list[str]:
    # RFC 3164 keeps the space after "tag:" in MSG; the text itself must be intact.
    return [r.msg.removeprefix(" ") for r in received]


def _diagnose(node: Node, sink: Sink) -> str:
    return f"{len(sink.snapshot())} lines written; rsyslogd said:\n{node.daemon.output()}"


def _duplicates(texts: list[str]) -> int:
    return sum(count - 1 for count in collections.Counter(texts).values())


def _wait_for_lines(node: Node, marker: str, count: int) -> list[Syslog5424]:
    wait_until(
        lambda: len(delivered(node.handoff, marker)) >= count,
        15,
        f"{count} '{marker}' lines in the handoff files",
        diagnose=lambda: _diagnose(node, node.handoff),
    )
    return delivered(node.handoff, marker)


def _wait_for_all(
    node: Node, sink: Sink, marker: str, expected: set[str], timeout: float
) -> list[str]:
    wait_until(
        lambda: expected <= set(_texts(delivered(sink, marker))),
        timeout,
        f"all {len(expected)} '{marker}' messages at the sink",
        diagnose=lambda: _diagnose(node, sink),
    )
    time.sleep(0.3)  # anything still in flight would show up as a duplicate
    return _texts(delivered(sink, marker))


def test_every_message_arrives_as_rfc5424_with_host_app_and_text(node: Node) -> None:
    sink = node.handoff
    node.start()
    prime(sink, lambda probe: send_udp(node.port, [rfc3164("probe-host", "probe", probe)]))
    cases: dict[str, Callable[[list[str]], None]] = {
        "tcp5424": lambda lines: send_tcp(node.port, lines),
        "tcp3164": lambda lines: send_tcp(node.port, lines),
        "udp5424": lambda lines: send_udp(node.port, lines),
        "udp3164": lambda lines: send_udp(node.port, lines),
    }
    for case, send in cases.items():
        build = rfc5424 if case.endswith("5424") else rfc3164
        send([build(f"host-{case}", f"app-{case}", f'{case}-{i:04d} a=b "q"') for i in range(N)])
    wait_until(node.layout.socket_path.exists, 10, "the imuxsock socket")
    send_unix(
        node.layout.socket_path,
        [f"<14>May  1 12:00:00 sockapp[77]: sock-{i:04d}" for i in range(N)],
    )

    expected = {f'{case}-{i:04d} a=b "q"' for case in cases for i in range(N)}
    expected |= {f"sock-{i:04d}" for i in range(N)}
    wait_until(
        lambda: expected <= set(_texts(delivered(sink, ""))),
        15,
        "every message at the sink",
        diagnose=lambda: _diagnose(node, sink),
    )

    received = [r for r in delivered(sink, "") if "probe-" not in r.msg]
    for case in cases:
        mine = [r for r in received if r.msg.lstrip().startswith(case)]
        assert len(mine) == N, case
        msgid = "AUDIT" if case.endswith("5424") else "-"
        assert {(r.host, r.app, r.procid, r.msgid, r.pri) for r in mine} == {
            (f"host-{case}", f"app-{case}", "4242", msgid, 134)
        }
    sock = [r for r in received if "sock-" in r.msg]
    assert {(r.host, r.app, r.procid) for r in sock} == {(socket.gethostname(), "sockapp", "77")}
    print(f"\ndelivered {len(received)} messages, duplicates: {_duplicates(_texts(received))}")


def test_long_messages_arrive_whole(tmp_path: Path) -> None:
    """rsyslog truncates at maxMessageSize (8 KiB unless the main config raises it)."""
    node = Node(tmp_path, maxMessageSize=32 * 1024, udp=False)
    long_text = "long-" + "x" * 20_000
    try:
        node.start()
        send_tcp(node.port, [rfc5424("h", "app", long_text)])
        texts = _wait_for_all(node, node.handoff, "long-", {long_text}, 10)
        assert texts == [long_text]
    finally:
        node.daemon.stop()


def test_one_line_per_record_in_private_minute_files(tmp_path: Path) -> None:
    """A line feed inside a message (octet-counted TCP carries one) must not split the
    record: the agent reads one record per line."""
    node = Node(tmp_path, udp=False)
    try:
        node.start()
        frame = rfc5424("h", "app", "nl-first\nnl-second").encode()
        with socket.create_connection((LOOPBACK, node.port), timeout=10) as conn:
            conn.sendall(str(len(frame)).encode() + b" " + frame)
        received = _wait_for_lines(node, "nl-first", 1)
    finally:
        node.daemon.stop()
    assert len(received) == 1 and "nl-second" in received[0].msg, received
    files = list(node.layout.handoff.glob("audit-*.log"))
    assert [re.fullmatch(r"audit-\d{8}T\d{4}\.log", f.name) is not None for f in files] == [True]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(node.layout.handoff.stat().st_mode) == 0o700


def test_a_handoff_write_that_fails_is_dropped_and_said(tmp_path: Path) -> None:
    """Documented in README (Buffering): omfile does not retry a failed write, it drops the
    message and says so. The handoff file of this minute and the next is /dev/full here."""
    node = Node(tmp_path, udp=False)
    node.layout.handoff.mkdir(mode=0o700)
    now = datetime.now(UTC)
    for moment in (now, now + timedelta(minutes=1)):
        handoff_file(node.layout.handoff, moment).symlink_to("/dev/full")
    try:
        node.start()
        send_tcp(node.port, [rfc5424("h", "app", f"full-{i:03d}") for i in range(20)])
        wait_until(
            lambda: "message lost" in node.daemon.output(),
            10,
            "rsyslogd to report the lost messages",
            diagnose=node.daemon.output,
        )
    finally:
        node.daemon.stop()
    assert "No space left on device" in node.daemon.output()
    # Nothing went anywhere else: only the two links are there.
    assert all(path.is_symlink() for path in node.layout.handoff.iterdir())
