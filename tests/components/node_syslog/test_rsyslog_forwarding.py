"""The rendered config in the real rsyslogd: every message reaches the agent (a TCP sink
here) in RFC 5424, through an agent outage and through an rsyslog restart.

Duplicates: plain TCP cannot tell rsyslog which bytes the receiver processed. When a
connection breaks, omfwd sends its current batch again and (ResendLastMSGOnReconnect)
the last message, so each break may repeat up to FORWARD_BATCH_SIZE + 1 messages. The
agent side de-duplicates if it must; losing a line is the failure we test against.
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from components.node_syslog.rsyslog import FORWARD_BATCH_SIZE, NodeSyslogSettings
from tests.rsyslog_harness import (
    NodeLayout,
    RsyslogDaemon,
    Syslog5424,
    TcpSink,
    delivered,
    prime,
    rfc3164,
    rfc5424,
    running_sink,
    send_tcp,
    send_udp,
    send_unix,
)
from tooling.loopback import LOOPBACK, free_port, wait_until

N = 200
DUPLICATES_PER_BREAK = FORWARD_BATCH_SIZE + 1


class Node:
    """rsyslogd with the rendered config in a temp dir, and the agent's port."""

    def __init__(self, root: Path, **overrides: object) -> None:
        self.layout = NodeLayout(root)
        self.settings: NodeSyslogSettings = self.layout.settings(**overrides)
        self.agent_port = free_port()
        self.layout.write(self.settings, self.agent_port)
        self.daemon = RsyslogDaemon(self.layout)

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


def _diagnose(node: Node, sink: TcpSink) -> str:
    return f"sink holds {sink.count()} frames; rsyslogd said:\n{node.daemon.output()}"


def _duplicates(texts: list[str]) -> int:
    return sum(count - 1 for count in collections.Counter(texts).values())


def _wait_for_all(
    node: Node, sink: TcpSink, marker: str, expected: set[str], timeout: float
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
    with running_sink(node.agent_port) as sink:
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
            send(
                [build(f"host-{case}", f"app-{case}", f'{case}-{i:04d} a=b "q"') for i in range(N)]
            )
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
        assert {(r.host, r.app, r.procid) for r in sock} == {
            (socket.gethostname(), "sockapp", "77")
        }
        print(f"\ndelivered {len(received)} messages, duplicates: {_duplicates(_texts(received))}")


def test_octet_counted_framing_reaches_an_octet_counting_agent(tmp_path: Path) -> None:
    node = Node(tmp_path, tcpFraming="octet-counting", udp=False)
    try:
        with running_sink(node.agent_port, framing="octet-counting") as sink:
            node.start()
            send_tcp(node.port, [rfc5424("h", "app", f"oc-{i:04d}") for i in range(N)])
            texts = _wait_for_all(node, sink, "oc-", {f"oc-{i:04d}" for i in range(N)}, 10)
            assert len(texts) == N
    finally:
        node.daemon.stop()


def test_long_messages_arrive_whole(tmp_path: Path) -> None:
    """rsyslog truncates at maxMessageSize (8 KiB unless the main config raises it)."""
    node = Node(tmp_path, maxMessageSize=32 * 1024, udp=False)
    long_text = "long-" + "x" * 20_000
    try:
        with running_sink(node.agent_port) as sink:
            node.start()
            send_tcp(node.port, [rfc5424("h", "app", long_text)])
            texts = _wait_for_all(node, sink, "long-", {long_text}, 10)
        assert texts == [long_text]
    finally:
        node.daemon.stop()


def test_agent_outage_mid_stream_loses_nothing(node: Node) -> None:
    total = 1500
    sink = TcpSink(node.agent_port)
    sink.start()
    try:
        node.start()
        prime(sink, lambda probe: send_tcp(node.port, [rfc5424("h", "p", probe)]))
        sent = threading.Event()

        def stream() -> None:  # ~1.5 s of steady traffic on one connection
            with socket.create_connection((LOOPBACK, node.port), timeout=10) as conn:
                for i in range(total):
                    conn.sendall(f"{rfc5424('node-a', 'auditd', f'out-{i:05d}')}\n".encode())
                    time.sleep(0.001)
            sent.set()

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        wait_until(lambda: len(delivered(sink, "out-")) > total // 5, 10, "traffic to flow")
        sink.stop(graceful=True)  # the agent goes away ...
        before = len(delivered(sink, "out-"))
        time.sleep(1.0)
        sink.start()  # ... and comes back on the same port
        sender.join(timeout=20)
        assert sent.is_set()
        assert before < total, "the outage did not happen mid-stream"

        texts = _wait_for_all(node, sink, "out-", {f"out-{i:05d}" for i in range(total)}, 20)
        duplicates = _duplicates(texts)
        print(
            f"\noutage: {total} sent, {len(set(texts))} distinct delivered, "
            f"{duplicates} duplicates ({before} before the outage)"
        )
        assert duplicates <= DUPLICATES_PER_BREAK
    finally:
        sink.stop(graceful=False, drain_timeout=0)


def test_restart_with_queued_messages_loses_nothing(node: Node) -> None:
    total = 3 * N
    # The agent is down from the start: everything stays in rsyslog's action queue.
    node.start()
    send_tcp(node.port, [rfc5424("node-b", "shell", f"rst-{i:05d}") for i in range(total)])
    copy = Path(node.settings.local_copy.path)
    # The local copy runs after the forwarding action in the same ruleset: a line there
    # means the message is in the forwarding queue.
    wait_until(
        lambda: copy.exists() and copy.read_text().count("rst-") >= total,
        10,
        "every message in the forwarding queue",
    )

    assert node.daemon.stop() == 0  # SIGTERM: queue.saveOnShutdown spools it to disk
    spooled = sorted(p.name for p in node.layout.spool.iterdir())
    assert any(name.endswith(".qi") for name in spooled), spooled

    with running_sink(node.agent_port) as sink:
        node.start()  # same config, same spool directory
        texts = _wait_for_all(node, sink, "rst-", {f"rst-{i:05d}" for i in range(total)}, 15)
        node.daemon.stop()
    duplicates = _duplicates(texts)
    print(
        f"\nrestart: {total} queued, {len(set(texts))} distinct delivered, "
        f"{duplicates} duplicates, spool had {spooled}"
    )
    assert duplicates <= DUPLICATES_PER_BREAK
    assert not list(node.layout.spool.iterdir()), "the queue files were not consumed"
