"""A small RELP client (RFC-less: librelp's protocol, as rsyslog's imrelp speaks it), for
the fault rig and the tests: at-least-once delivery into node syslog.

A frame is `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. The session opens with `open` (the
offer), sends `syslog` frames and is answered with `rsp` frames (`200 OK`) per txnr;
imrelp acknowledges a message once the ruleset it is bound to ran (rsyslog.RELP_RULESET:
numbered and written to a handoff file). Up to `window` messages wait unacknowledged; on
any error (EOF, reset, `serverclose`, a non-200 answer, no answer within `ack_timeout_s`)
the client reconnects and sends every unacknowledged message again, in order, with new
txnrs: nothing is lost, a message the server had written but not acknowledged arrives
twice. Every wait is bounded: `RelpError` when no message was acknowledged for
`stall_s`.

Stdlib only; one thread (not thread-safe).
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

OFFER = b"relp_version=0\nrelp_software=container-audit-log,1,tooling.relp\ncommands=syslog"
# Where Debian/Ubuntu (multiarch), Fedora/AL2023 (lib64) and others put rsyslog's modules.
_MODULE_GLOBS = (
    ("/usr/lib", "*/rsyslog/imrelp.so"),
    ("/usr/lib64", "rsyslog/imrelp.so"),
    ("/usr/lib", "rsyslog/imrelp.so"),
    ("/usr/local/lib", "rsyslog/imrelp.so"),
)
INSTALL_HINT = "apt-get install rsyslog-relp"


class RelpError(Exception):
    """The server acknowledged nothing for too long (or never accepted a session)."""


class _SessionLostError(Exception):
    pass


def imrelp_module() -> Path | None:
    """rsyslog's imrelp module (package rsyslog-relp), if installed."""
    for base, pattern in _MODULE_GLOBS:
        found = sorted(Path(base).glob(pattern))
        if found:
            return found[0]
    return None


def frame(txnr: int, command: bytes, data: bytes = b"") -> bytes:
    if data:
        return b"%d %s %d %s\n" % (txnr, command, len(data), data)
    return b"%d %s 0\n" % (txnr, command)


def parse_frames(buffer: bytes) -> tuple[list[tuple[int, bytes, bytes]], bytes]:
    """The complete frames at the start of `buffer` as (txnr, command, data), and the rest.
    _SessionLostError on a malformed frame."""
    frames: list[tuple[int, bytes, bytes]] = []
    while True:
        first = buffer.find(b" ")
        second = buffer.find(b" ", first + 1) if first >= 0 else -1
        if second < 0:
            return frames, buffer
        end_digits = second + 1
        while end_digits < len(buffer) and buffer[end_digits : end_digits + 1].isdigit():
            end_digits += 1
        if end_digits >= len(buffer):
            return frames, buffer
        try:
            txnr, length = int(buffer[:first]), int(buffer[second + 1 : end_digits])
        except ValueError:
            raise _SessionLostError(f"malformed frame {buffer[:60]!r}") from None
        if length == 0:
            end, data = end_digits, b""
        else:
            end = end_digits + 1 + length
            if len(buffer) <= end:
                return frames, buffer
            data = buffer[end_digits + 1 : end]
        if buffer[end : end + 1] != b"\n":
            raise _SessionLostError(f"frame without its trailer {buffer[:60]!r}")
        frames.append((txnr, buffer[first + 1 : second], data))
        buffer = buffer[end + 1 :]


class RelpClient:
    """`send(message)` queues one syslog message (blocking while `window` wait for their
    acknowledgement); `flush()` waits until every message was acknowledged; `close()`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        window: int = 128,
        ack_timeout_s: float = 5.0,
        stall_s: float = 120.0,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        self.host, self.port, self.window = host, port, window
        self._stopped = stopped  # RelpError at the next wait once it says True
        self.ack_timeout_s, self.stall_s = ack_timeout_s, stall_s
        self.acked = 0
        self.reconnects = 0
        self.resent = 0
        self._pending: deque[bytes] = deque()  # not sent in this session, in order
        self._unacked: OrderedDict[int, bytes] = OrderedDict()  # txnr -> message, in order
        self._sock: socket.socket | None = None
        self._txnr = 0
        self._rbuf = b""
        self._wbuf = b""
        self._progress = time.monotonic()  # last ack (or start)
        self._last_ack_wait = time.monotonic()
        self._retry_at = 0.0
        self._backoff = 0.05

    @property
    def outstanding(self) -> int:
        """Messages queued or sent but not acknowledged yet."""
        return len(self._pending) + len(self._unacked)

    def send(self, message: bytes) -> None:
        if not self.outstanding:  # the stall clock runs only while something waits
            self._progress = time.monotonic()
        self._pending.append(message)
        self._pump(0.0)
        while self.outstanding > self.window:
            self._pump(0.05)

    def flush(self) -> None:
        while self.outstanding:
            self._pump(0.05)

    def close(self) -> None:
        """Flush, then end the session politely (bounded)."""
        self.flush()
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.setblocking(True)
            sock.settimeout(2)
            sock.sendall(frame(self._txnr + 1, b"close"))
            sock.recv(256)
        sock.close()

    def abort(self) -> None:
        """Drop the connection without waiting for anything."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None

    # --- internals ---------------------------------------------------------------------

    def _pump(self, wait_s: float) -> None:
        if self._stopped():
            raise RelpError(f"RELP {self.host}:{self.port}: stopped, {self.outstanding} unsent")
        if time.monotonic() - self._progress > self.stall_s:
            raise RelpError(
                f"RELP {self.host}:{self.port}: nothing acknowledged for {self.stall_s:.0f} s "
                f"({self.outstanding} outstanding)"
            )
        if self._sock is None and not self._connect():
            time.sleep(wait_s)
            return
        try:
            self._step(wait_s)
        except (OSError, _SessionLostError):
            self._lose_session()

    def _connect(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(frame(1, b"open", OFFER))
            buffer, frames = b"", list[tuple[int, bytes, bytes]]()
            deadline = time.monotonic() + 5
            while not frames:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(4096)
                if not data:
                    raise _SessionLostError("closed during open")
                frames, buffer = parse_frames(buffer + data)
            txnr, command, answer = frames[0]
            if txnr != 1 or command != b"rsp" or not answer.startswith(b"200"):
                raise _SessionLostError(f"open refused: {answer[:60]!r}")
        except (OSError, _SessionLostError):
            if sock is not None:
                sock.close()
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 0.5)
            return False
        sock.setblocking(False)
        self._sock, self._rbuf, self._wbuf, self._txnr = sock, buffer, b"", 1
        self._backoff = 0.05
        self._last_ack_wait = time.monotonic()
        return True

    def _lose_session(self) -> None:
        self.abort()
        self.reconnects += 1
        self.resent += len(self._unacked)
        # What was sent and not acknowledged goes first again, in its order.
        self._pending.extendleft(reversed(list(self._unacked.values())))
        self._unacked.clear()
        self._wbuf = b""

    def _step(self, wait_s: float) -> None:
        sock = self._sock
        assert sock is not None
        while self._pending and len(self._unacked) < self.window:
            self._txnr += 1
            message = self._pending.popleft()
            self._unacked[self._txnr] = message
            self._wbuf += frame(self._txnr, b"syslog", message)
        writers = [sock] if self._wbuf else []
        readable, writable, _ = select.select([sock], writers, [], wait_s)
        if writable:
            sent = sock.send(self._wbuf)
            self._wbuf = self._wbuf[sent:]
        if readable:
            data = sock.recv(65536)
            if not data:
                raise _SessionLostError("closed by the server")
            frames, self._rbuf = parse_frames(self._rbuf + data)
            for txnr, command, answer in frames:
                if command == b"serverclose":
                    raise _SessionLostError("serverclose")
                if command != b"rsp" or not answer.startswith(b"200"):
                    raise _SessionLostError(f"{command!r} {answer[:60]!r}")
                if self._unacked.pop(txnr, None) is not None:
                    self.acked += 1
                    self._progress = self._last_ack_wait = time.monotonic()
        if not self._unacked:
            self._last_ack_wait = time.monotonic()
        elif time.monotonic() - self._last_ack_wait > self.ack_timeout_s:
            raise _SessionLostError(f"no answer for {self.ack_timeout_s:.0f} s")
