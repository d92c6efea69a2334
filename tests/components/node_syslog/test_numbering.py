"""Numbered records, proven with the real rsyslogd and the rendered config: concurrent
senders get one gap-free sequence from 1 (RELP senders one of their own), and a restart
starts a new instance at 1."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from components.node_syslog.rsyslog import RELP_HANDOFF_SUFFIX
from tests.components.node_syslog.test_rsyslog_forwarding import Node
from tests.rsyslog_harness import Syslog5424, delivered, rfc5424, send_tcp
from tooling.loopback import LOOPBACK, free_port, wait_until
from tooling.relp import RelpClient

SENDERS = 4
PER_SENDER = 2_000


def _send_concurrently(node: Node, marker: str) -> None:
    def one_sender(index: int) -> None:
        send_tcp(
            node.port,
            (rfc5424("node-a", "app", f"{marker} s{index} m{m}") for m in range(PER_SENDER)),
        )

    threads = [threading.Thread(target=one_sender, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def _numbers(received: list[Syslog5424]) -> dict[str | None, list[int]]:
    by_instance: dict[str | None, list[int]] = {}
    for record in received:
        assert record.seq is not None, f"un-numbered record: {record}"
        by_instance.setdefault(record.seq_instance, []).append(record.seq)
    return by_instance


def test_concurrent_senders_get_one_gap_free_sequence_from_one(tmp_path: Path) -> None:
    node = Node(tmp_path)
    total = SENDERS * PER_SENDER
    sink = node.handoff
    node.start()
    try:
        _send_concurrently(node, "num")
        wait_until(
            lambda: len(delivered(sink, "num ")) >= total,
            60,
            f"{total} numbered messages at the sink",
            diagnose=node.daemon.output,
        )
    finally:
        node.daemon.stop()
    received = delivered(sink, "num ")
    numbers = _numbers(received)
    assert len(numbers) == 1, f"one rsyslog process, one instance; got {list(numbers)}"
    (instance, seqs), *_ = numbers.items()
    assert instance and len(instance) >= 16, f"instance id {instance!r} is not a random id"
    assert Counter(seqs).most_common(1)[0][1] == 1, "a sequence number was given twice"
    assert sorted(seqs) == list(range(1, total + 1))
    # Each message keeps one number: the texts are distinct and all arrived once.
    assert len({r.msg for r in received}) == total


def test_a_restart_starts_a_new_instance_at_one(tmp_path: Path) -> None:
    node = Node(tmp_path)
    sink = node.handoff
    node.start()
    try:
        send_tcp(node.port, (rfc5424("node-a", "app", f"first m{m}") for m in range(50)))
        wait_until(lambda: len(delivered(sink, "first ")) >= 50, 30, "first run delivered")
        node.daemon.stop()
        node.start()
        send_tcp(node.port, (rfc5424("node-a", "app", f"second m{m}") for m in range(50)))
        wait_until(lambda: len(delivered(sink, "second ")) >= 50, 30, "second run delivered")
    finally:
        node.daemon.stop()
    first = _numbers(delivered(sink, "first "))
    second = _numbers(delivered(sink, "second "))
    assert len(first) == 1 and len(second) == 1
    assert first.keys() != second.keys(), "the counter restarted under the same instance id"
    assert sorted(next(iter(first.values()))) == list(range(1, 51))
    assert sorted(next(iter(second.values()))) == list(range(1, 51))


def test_relp_and_tcp_senders_at_once_each_get_one_gap_free_sequence(
    rsyslog_relp: Path, tmp_path: Path
) -> None:
    """RELP has a counter of its own, run by imrelp's single thread (no queue, Direct main
    queue); TCP keeps the forwarding ruleset's. Also proves the journal's path under the
    Direct main queue: the default ruleset `call`s the forwarding ruleset, which enqueues
    (a stand-in imtcp input named "imjournal", bound to no ruleset, takes that path)."""
    del rsyslog_relp
    node = Node(tmp_path, journal="imjournal", relp={"enabled": True, "port": free_port()})
    journal_port = free_port()
    with node.layout.dropin.open("a") as dropin:
        dropin.write(
            f'input(type="imtcp" name="imjournal" address="{LOOPBACK}" port="{journal_port}")\n'
        )
    relp_port = node.settings.relp.port

    def relp_sender(index: int) -> None:
        client = RelpClient(LOOPBACK, relp_port, stall_s=60)
        for m in range(PER_SENDER):
            client.send(rfc5424("node-a", "app", f"mix relp s{index} m{m}").encode())
        client.close()

    def tcp_sender(port: int, kind: str, index: int) -> None:
        lines = (rfc5424("node-a", "app", f"mix {kind} s{index} m{m}") for m in range(PER_SENDER))
        send_tcp(port, lines)

    journal_senders = 2
    senders = [threading.Thread(target=relp_sender, args=(i,)) for i in range(SENDERS)]
    senders += [
        threading.Thread(target=tcp_sender, args=(node.port, "tcp", i)) for i in range(SENDERS)
    ]
    senders += [
        threading.Thread(target=tcp_sender, args=(journal_port, "journal", i))
        for i in range(journal_senders)
    ]
    total = (2 * SENDERS + journal_senders) * PER_SENDER
    node.start()
    try:
        node.daemon.wait_listening(relp_port)
        node.daemon.wait_listening(journal_port)
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(timeout=90)
        wait_until(
            lambda: len(delivered(node.handoff, "mix ")) >= total,
            60,
            f"{total} numbered messages in the handoff files",
            diagnose=node.daemon.output,
        )
    finally:
        node.daemon.stop()
    received = delivered(node.handoff, "mix ")
    assert len({r.msg for r in received}) == total == len(received), "lost or duplicated"
    numbers = _numbers(received)
    assert len(numbers) == 2, f"two counters in one process; got {list(numbers)}"
    kinds = {
        instance: {r.msg.split()[1] for r in received if r.seq_instance == instance}
        for instance in numbers
    }
    assert sorted(map(sorted, kinds.values())) == [["journal", "tcp"], ["relp"]]
    for instance, seqs in numbers.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"{instance}: repeated or skipped"
    # RELP records are in RELP's own files, the rest in the forwarding ruleset's.
    for path in node.layout.handoff.glob("audit-*.log"):
        texts = [line for line in path.read_text().splitlines() if "mix " in line]
        relp_file = path.name.endswith(f"{RELP_HANDOFF_SUFFIX}.log")
        assert all((" mix relp " in line) == relp_file for line in texts), path.name
