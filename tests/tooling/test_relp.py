"""tooling.relp against the real rsyslogd with imrelp and the rendered config: what a RELP
sender got acknowledged is in the RELP handoff file, numbered, and a rsyslogd stopped or
killed mid-stream loses none of it (the sender resends what was not acknowledged)."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from components.node_syslog.rsyslog import RELP_HANDOFF_SUFFIX
from tests.components.node_syslog.test_rsyslog_forwarding import Node
from tests.rsyslog_harness import HandoffFiles, delivered, rfc5424
from tooling.loopback import LOOPBACK, free_port, wait_until
from tooling.relp import RelpClient, frame, parse_frames

MESSAGES = 3_000
RATE = 1_000.0


class RelpNode(Node):
    def __init__(self, root: Path) -> None:
        super().__init__(root, relp={"enabled": True, "port": free_port()})
        self.relp_port = self.settings.relp.port

    def start(self) -> None:
        super().start()
        self.daemon.wait_listening(self.relp_port)

    def relp_lines(self) -> HandoffFiles:
        return _RelpFiles(self.layout.handoff)


class _RelpFiles(HandoffFiles):
    """Only the RELP handoff files (audit-<minute>-relp.log)."""

    def snapshot(self) -> list[str]:
        return [
            line
            for path in sorted(self.directory.glob(f"audit-*{RELP_HANDOFF_SUFFIX}.log"))
            for line in path.read_text(errors="replace").split("\n")[:-1]
            if line
        ]


@pytest.fixture
def node(rsyslog_relp: Path, tmp_path: Path) -> RelpNode:
    del rsyslog_relp
    return RelpNode(tmp_path)


def _message(marker: str, n: int) -> bytes:
    return rfc5424("node-a", "app", f"{marker} m{n:06d}").encode()


def _check(node: RelpNode, marker: str, count: int) -> tuple[int, int]:
    """Every message arrived; each instance's numbers are 1..N (a number given twice or
    skipped fails). (instances, duplicated messages)."""
    received = delivered(node.relp_lines(), marker)
    texts = Counter(r.msg for r in received)
    missing = [n for n in range(count) if f"{marker} m{n:06d}" not in texts]
    assert not missing, f"{len(missing)} acknowledged messages lost, first {missing[:5]}"
    by_instance: dict[str | None, list[int]] = {}
    for record in received:
        assert record.seq is not None
        by_instance.setdefault(record.seq_instance, []).append(record.seq)
    for instance, seqs in by_instance.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"instance {instance}: gaps"
    return len(by_instance), sum(texts.values()) - len(texts)


def test_frames_round_trip() -> None:
    data = frame(2, b"syslog", b"hello world") + frame(3, b"rsp", b"200 OK") + b"4 rsp"
    frames, rest = parse_frames(data)
    assert frames == [(2, b"syslog", b"hello world"), (3, b"rsp", b"200 OK")]
    assert rest == b"4 rsp"
    assert parse_frames(frame(5, b"close"))[0] == [(5, b"close", b"")]


def test_messages_land_in_the_relp_handoff_file_numbered_from_one(node: RelpNode) -> None:
    node.start()
    try:
        client = RelpClient(LOOPBACK, node.relp_port, stall_s=30)
        for n in range(MESSAGES):
            client.send(_message("plain", n))
        client.close()
        assert client.acked == MESSAGES and client.reconnects == 0
        # Acknowledged means written: no waiting for the file.
        assert _check(node, "plain", MESSAGES) == (1, 0)
    finally:
        node.daemon.stop()
    assert not list(node.layout.handoff.glob("audit-*[0-9].log")), "RELP wrote the TCP file"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_rsyslogd_stopped_mid_stream_loses_nothing(node: RelpNode, signum: int) -> None:
    node.start()
    client = RelpClient(LOOPBACK, node.relp_port, stall_s=60)
    errors: list[BaseException] = []

    def stream() -> None:
        started = time.monotonic()
        try:
            for n in range(MESSAGES):
                if (wait := started + n / RATE - time.monotonic()) > 0:
                    time.sleep(wait)  # paced: the stop comes mid-stream
                client.send(_message("crash", n))
            client.close()
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)

    sender = threading.Thread(target=stream, name="relp-sender")
    sender.start()
    try:
        wait_until(lambda: client.acked >= MESSAGES // 3, 30, "a third acknowledged")
        if signum == signal.SIGKILL:
            node.daemon.kill()
        else:
            assert node.daemon.stop() == 0
        node.start()
        sender.join(timeout=90)
        assert not sender.is_alive(), "the sender did not finish"
    finally:
        client_stuck = sender.is_alive()
        node.daemon.stop()
        if client_stuck:
            sender.join(timeout=130)
    assert not errors, errors
    assert client.reconnects >= 1, "the stop did not reach the sender"
    instances, duplicates = _check(node, "crash", MESSAGES)
    assert instances == 2, "a restarted rsyslogd numbers under a new instance"
    assert duplicates <= client.resent
