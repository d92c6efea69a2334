"""A steady stream of distinct audit events into node syslog over TCP, as a container
sends them to `$HOST_IP:514`.

Each event is one RFC 5424 line whose message is `<run> e<index>`. The sender keeps one
connection; when a send fails (rsyslog down), it reconnects and sends that event again,
so an event is only lost if the kernel took it and the receiver never read it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from dataclasses import dataclass, field

from tooling.loopback import LOOPBACK

_EVENT = re.compile(r"(?P<run>fault-[0-9a-f]+) e(?P<index>[0-9]+)\b")


def event_line(run: str, index: int) -> str:
    return f"<134>1 2026-01-01T00:00:00.000Z {NODE_HOST} audit-load 7 LOAD - {run} e{index}\n"


NODE_HOST = "fault-host"


def send_marker(port: int, run: str, index: int, timeout: float = 30.0) -> None:
    """One more event, `index`, sent after the stream: node syslog numbers and forwards in
    order, so once it is archived, whatever was going to arrive has (see scenarios)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=2) as sock:
                sock.sendall(event_line(run, index).encode())
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def event_index(message: str, run: str) -> int | None:
    """The event index a record's message carries for `run`, or None."""
    match = _EVENT.search(message)
    if match is None or match["run"] != run:
        return None
    return int(match["index"])


@dataclass
class SteadySender:
    """Sends events 0..total-1 at `rate` per second to `port` in a background thread."""

    port: int
    run: str
    total: int
    rate: float
    sent: int = 0
    reconnects: int = 0
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> None:
        """Until every event is sent (TimeoutError past `timeout`)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._stop.set()
                raise TimeoutError(f"sender sent {self.sent}/{self.total} in {timeout:.0f}s")

    def _connect(self, deadline: float) -> socket.socket:
        while time.monotonic() < deadline and not self._stop.is_set():
            with contextlib.suppress(OSError):
                return socket.create_connection((LOOPBACK, self.port), timeout=2)
            time.sleep(0.05)
        raise TimeoutError("node syslog did not accept a connection")

    def _loop(self) -> None:
        start = time.monotonic()
        deadline = start + self.total / self.rate + 120
        sock = self._connect(deadline)
        try:
            while self.sent < self.total and not self._stop.is_set():
                due = start + self.sent / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                try:
                    sock.sendall(event_line(self.run, self.sent).encode())
                    self.sent += 1
                except OSError:
                    sock.close()
                    self.reconnects += 1
                    sock = self._connect(deadline)
        finally:
            sock.close()
