"""Benchmark (not a test): the rendered node syslog config in the real rsyslogd.

1. throughput: N messages over TCP into imtcp, forwarded to a sink standing in for the
   agent; messages/second from the first byte sent to the last message received.
2. outage recovery: steady traffic while the sink is down for OUTAGE seconds (queued in
   memory, then spilled to disk), then the time from the sink's return to the last
   queued message delivered. Run once with a draining agent and once with connection
   resets (an agent crash), counting lost and duplicated messages.

    .venv/bin/python -m bench.rsyslog_throughput [--messages 100000] [--outage 30]
"""

from __future__ import annotations

import argparse
import collections
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.rsyslog_harness import (
    NodeLayout,
    RsyslogDaemon,
    TcpSink,
    prime,
    rfc5424,
    send_tcp,
)
from tooling.loopback import LOOPBACK, free_port, wait_until


@dataclass(frozen=True)
class Row:
    scenario: str
    messages: int
    seconds: float
    rate: float | None
    lost: int
    duplicates: int


def _tally(sink: TcpSink, marker: str, total: int) -> tuple[int, int]:
    ids = [frame.rsplit(marker, 1)[1] for frame in sink.snapshot() if marker in frame]
    counts = collections.Counter(ids)
    return total - len(counts), sum(c - 1 for c in counts.values())


def _all_in(sink: TcpSink, marker: str, total: int) -> bool:
    return len({f for f in sink.snapshot() if marker in f}) >= total


def throughput(root: Path, total: int, queue_mode: str = "disk") -> Row:
    layout = NodeLayout(root)
    settings = layout.settings(udp=False, queueMode=queue_mode)
    agent_port = free_port()
    layout.write(settings, agent_port)
    sink = TcpSink(agent_port)
    sink.start()
    try:
        with RsyslogDaemon(layout) as daemon:
            daemon.wait_listening(settings.listen_port)
            prime(sink, lambda p: send_tcp(settings.listen_port, [rfc5424("h", "bench", p)]))
            lines = [rfc5424("node-1", "bench", f"tp-{i:07d}") for i in range(total)]
            base = sink.count()
            start = time.monotonic()
            send_tcp(settings.listen_port, lines)
            wait_until(
                lambda: sink.count() >= base + total, 300, "throughput messages", interval=0.01
            )
            elapsed = time.monotonic() - start
            lost, dups = _tally(sink, "tp-", total)
    finally:
        sink.stop(graceful=False, drain_timeout=0)
    label = f"throughput ({total} msgs, TCP in, {queue_mode} queue)"
    return Row(label, total, elapsed, total / elapsed, lost, dups)


def _settle(sink: TcpSink, marker: str, total: int, quiet: float, timeout: float) -> float:
    """Wait until every message arrived, or nothing new came for `quiet` seconds (a
    message lost for good); return when the last frame arrived (monotonic clock)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = sink.count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.01)
        count = sink.count()
        if count != last_count:
            last_count, last_change = count, time.monotonic()
            continue
        complete = count >= total and _all_in(sink, marker, total)
        if complete or time.monotonic() - last_change > quiet:
            return last_change
    raise TimeoutError(f"messages still arriving after {timeout:.0f}s")


def outage(root: Path, seconds: float, rate: int, graceful: bool) -> Row:
    layout = NodeLayout(root)
    settings = layout.settings(udp=False)
    agent_port = free_port()
    layout.write(settings, agent_port)
    marker = "og-" if graceful else "or-"
    sink = TcpSink(agent_port)
    sink.start()
    daemon = RsyslogDaemon(layout)
    sent = 0
    try:
        daemon.start()
        daemon.wait_listening(settings.listen_port)
        prime(sink, lambda p: send_tcp(settings.listen_port, [rfc5424("h", "bench", p)]))
        stop_sending = threading.Event()

        def stream() -> None:  # `rate` messages/s in 10 ms slices
            nonlocal sent
            with socket.create_connection((LOOPBACK, settings.listen_port), 10) as conn:
                while not stop_sending.is_set():
                    burst = [
                        rfc5424("node-1", "bench", f"{marker}{sent + i:07d}")
                        for i in range(max(1, rate // 100))
                    ]
                    conn.sendall("".join(f"{line}\n" for line in burst).encode())
                    sent += len(burst)
                    time.sleep(0.01)

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        time.sleep(1.0)
        sink.stop(graceful=graceful)
        time.sleep(seconds)
        stop_sending.set()
        sender.join(timeout=10)
        back = time.monotonic()
        sink.start()
        recovery = _settle(sink, marker, sent, quiet=12.0, timeout=seconds + 120) - back
        time.sleep(0.5)
        lost, dups = _tally(sink, marker, sent)
    finally:
        sink.stop(graceful=False, drain_timeout=0)
        daemon.stop()
    kind = "draining agent" if graceful else "agent reset"
    return Row(f"recovery after {seconds:g}s outage ({kind})", sent, recovery, None, lost, dups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--outage", type=float, default=30.0, help="sink outage, seconds")
    parser.add_argument("--rate", type=int, default=1000, help="messages/s during the outage")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("disk", "disk-assisted"):
            rows.append(throughput(Path(tmp) / f"tp-{mode}", args.messages, mode))
        rows.append(outage(Path(tmp) / "og", args.outage, args.rate, graceful=True))
        rows.append(outage(Path(tmp) / "or", args.outage, args.rate, graceful=False))

    header = f"{'scenario':<56} {'messages':>9} {'seconds':>8} {'msg/s':>9} {'lost':>5} {'dups':>5}"
    print(header)
    print("-" * len(header))
    for row in rows:
        rate = f"{row.rate:,.0f}" if row.rate is not None else "-"
        print(
            f"{row.scenario:<56} {row.messages:>9} {row.seconds:>8.2f} {rate:>9} "
            f"{row.lost:>5} {row.duplicates:>5}"
        )


if __name__ == "__main__":
    main()
