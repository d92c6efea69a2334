"""Benchmark (not a test): the rendered node syslog config in the real rsyslogd.

rsyslogd numbers every message and appends it as one line to the handoff file of the
current UTC minute (omfile, no action queue); the agent reads those files. Nothing stands
in for the agent here: the lines in the handoff files are what rsyslog delivered.

1. throughput: N messages over one TCP connection into imtcp until all N are complete
   lines in the handoff files; messages/second from the first byte sent to the last line
   written. Once as rendered, once with the local copy on (a second file per message).
2. restart mid-stream: steady traffic (RATE messages/s, a sender that reconnects) while
   rsyslogd is stopped and started again: once with SIGTERM (its intake queue is saved to
   disk and read back), once with SIGKILL (a crash). Counted in the handoff files, of the
   messages the sender got into a socket: lost and duplicated. "seconds" is how long
   rsyslogd took no messages (from the signal to listening again). A plain TCP sender
   loses what is in flight when its receiver goes away; that counts as lost here too.

    .venv/bin/python -m bench.rsyslog_throughput [--messages 100000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from components.node_syslog.rsyslog import HANDOFF_GLOB
from tests.rsyslog_harness import (
    HandoffFiles,
    NodeLayout,
    RsyslogDaemon,
    prime,
    rfc5424,
    send_tcp,
)
from tooling.loopback import LOOPBACK, wait_until


@dataclass(frozen=True)
class Row:
    scenario: str
    messages: int
    seconds: float
    rate: float | None
    lost: int
    duplicates: int


class LineCount:
    """Complete lines in the handoff files so far, read on from where the last call
    stopped (cheap enough to poll while rsyslogd writes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._offsets: dict[Path, int] = {}
        self._lines = 0

    def __call__(self) -> int:
        for path in sorted(self.directory.glob(HANDOFF_GLOB)):
            offset = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
            complete = data.rfind(b"\n") + 1
            self._lines += data.count(b"\n", 0, complete)
            self._offsets[path] = offset + complete
        return self._lines


def _tally(files: HandoffFiles, marker: str, sent: set[int]) -> tuple[int, int]:
    """(lost, duplicates) of the messages `sent`, by their ids in the handoff files."""
    ids = [int(line.rsplit(marker, 1)[1]) for line in files.snapshot() if marker in line]
    counts = collections.Counter(ids)
    return len(sent - counts.keys()), sum(c - 1 for c in counts.values())


def _node(root: Path, local_copy: bool = False) -> tuple[NodeLayout, int]:
    """The rendered node config under `root` (TCP in, no UDP); the port it listens on."""
    layout = NodeLayout(root)
    overrides: dict[str, object] = {"udp": False}
    if local_copy:
        overrides["localCopy"] = {"enabled": True, "path": str(layout.local_copy)}
    settings = layout.settings(**overrides)
    layout.write(settings)
    return layout, settings.listen_port


def throughput(root: Path, total: int, local_copy: bool = False) -> Row:
    layout, port = _node(root, local_copy)
    files = HandoffFiles(layout.handoff)
    with RsyslogDaemon(layout) as daemon:
        daemon.wait_listening(port)
        prime(files, lambda p: send_tcp(port, [rfc5424("h", "bench", p)]))
        lines = [rfc5424("node-1", "bench", f"tp-{i:07d}") for i in range(total)]
        written = LineCount(layout.handoff)
        base = written()
        start = time.monotonic()
        send_tcp(port, lines)
        wait_until(lambda: written() >= base + total, 300, "throughput messages", interval=0.01)
        elapsed = time.monotonic() - start
    lost, dups = _tally(files, "tp-", set(range(total)))
    copy = "local copy on" if local_copy else "as rendered"
    return Row(
        f"throughput (TCP in -> handoff files, {copy})", total, elapsed, total / elapsed, lost, dups
    )


def _settle(files: HandoffFiles, marker: str, sent: set[int], quiet: float, timeout: float) -> None:
    """Until every sent message is in the files, or none came for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    written = LineCount(files.directory)
    last_count, last_change = written(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        count = written()
        if count != last_count:
            last_count, last_change = count, time.monotonic()
            continue
        if _tally(files, marker, sent)[0] == 0 or time.monotonic() - last_change > quiet:
            return
    raise TimeoutError(f"messages still arriving after {timeout:.0f}s")


def restart(root: Path, rate: int, steady_s: float, kill: bool) -> Row:
    layout, port = _node(root)
    files = HandoffFiles(layout.handoff)
    marker = "rk-" if kill else "rs-"
    daemon = RsyslogDaemon(layout)
    sent: set[int] = set()  # ids of the bursts that went into a socket without an error
    stop_sending = threading.Event()

    def stream() -> None:  # `rate` messages/s in 10 ms slices; reconnects when refused
        next_id = 0
        while not stop_sending.is_set():
            try:
                with socket.create_connection((LOOPBACK, port), 1) as conn:
                    while not stop_sending.is_set():
                        ids = range(next_id, next_id + max(1, rate // 100))
                        next_id = ids.stop
                        burst = [rfc5424("node-1", "bench", f"{marker}{i:07d}") for i in ids]
                        conn.sendall("".join(f"{line}\n" for line in burst).encode())
                        sent.update(ids)
                        time.sleep(0.01)
            except OSError:
                time.sleep(0.05)

    try:
        daemon.start()
        daemon.wait_listening(port)
        prime(files, lambda p: send_tcp(port, [rfc5424("h", "bench", p)]))
        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        time.sleep(steady_s)
        down = time.monotonic()
        if kill:
            os.kill(int(layout.pidfile.read_text().split()[0]), signal.SIGKILL)
        daemon.stop()  # after SIGKILL: only reaps it
        daemon.start()
        daemon.wait_listening(port, timeout=30)
        down = time.monotonic() - down
        time.sleep(steady_s)
        stop_sending.set()
        sender.join(timeout=10)
        _settle(files, marker, sent, quiet=10.0, timeout=120)
        lost, dups = _tally(files, marker, sent)
    finally:
        stop_sending.set()
        daemon.stop()
    how = "SIGKILL" if kill else "SIGTERM"
    return Row(f"rsyslogd restart mid-stream ({how}, {rate}/s)", len(sent), down, None, lost, dups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=1000, help="messages/s around a restart")
    parser.add_argument(
        "--steady", type=float, default=5.0, help="seconds of traffic before and after a restart"
    )
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rsyslog-") as tmp:
        rows.append(throughput(Path(tmp) / "tp", args.messages))
        rows.append(throughput(Path(tmp) / "tp-copy", args.messages, local_copy=True))
        rows.append(restart(Path(tmp) / "rs", args.rate, args.steady, kill=False))
        rows.append(restart(Path(tmp) / "rk", args.rate, args.steady, kill=True))

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
