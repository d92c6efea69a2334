"""The real rsyslogd against rendered configs: process control, the handoff files it
writes for the agent, a TCP sink standing in for a syslog receiver, senders and an RFC 5424
parser.

Everything talks to 127.0.0.1 only, and every wait has a deadline. Shared by the tests
and bench/rsyslog_throughput.py.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, Protocol

from components.node_syslog.rsyslog import (
    HANDOFF_GLOB,
    NodeSyslogSettings,
    render_main_conf,
    render_rsyslog_conf,
)
from tooling.loopback import LOOPBACK, free_port, wait_until

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
Framing = Literal["newline", "octet-counting"]


# --- the node side: config files in a temp dir + the daemon --------------------------


@dataclass(frozen=True)
class NodeLayout:
    """Every path rsyslogd touches, under one temp dir."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def handoff(self) -> Path:
        return self.root / "handoff"

    @property
    def dropin(self) -> Path:
        return self.root / "rsyslog.d" / "60-container-audit-log.conf"

    @property
    def main_conf(self) -> Path:
        return self.root / "rsyslog.conf"

    @property
    def pidfile(self) -> Path:
        return self.root / "rsyslogd.pid"

    @property
    def socket_path(self) -> Path:
        return self.root / "sock" / "dev-log"

    @property
    def local_copy(self) -> Path:
        return self.root / "copy" / "audit.log"

    @property
    def log(self) -> Path:
        return self.root / "rsyslogd.out"

    def settings(self, **overrides: object) -> NodeSyslogSettings:
        """Settings with every path in this layout and the listener on loopback."""
        values: dict[str, object] = {
            "listenAddress": LOOPBACK,
            "listenPort": free_port(),
            "journal": "imuxsock",
            "socketPath": str(self.socket_path),
            "workDirectory": str(self.work),
            "spoolDirectory": str(self.spool),
            "handoffDirectory": str(self.handoff),
        }
        values.update(overrides)
        return NodeSyslogSettings.model_validate(values)

    def write(self, settings: NodeSyslogSettings) -> Path:
        """Write the rendered drop-in and main config; return the main config path."""
        for directory in (self.work, self.spool, self.dropin.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.dropin.write_text(render_rsyslog_conf(settings))
        self.main_conf.write_text(render_main_conf(settings, dropin_path=str(self.dropin)))
        return self.main_conf


def validate_config(conf: Path) -> subprocess.CompletedProcess[str]:
    """`rsyslogd -N1`: parse and check the whole config, as the node does before start."""
    return subprocess.run(
        [RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30, check=False
    )


class RsyslogDaemon:
    """`rsyslogd -n -f CONF -i PIDFILE` in the foreground; always stopped on exit."""

    def __init__(self, layout: NodeLayout) -> None:
        self.layout = layout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("rsyslogd already running")
        self._log = self.layout.log.open("ab")
        self._proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.layout.main_conf), "-i", str(self.layout.pidfile)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait_listening(self, port: int, timeout: float = 10.0) -> None:
        def accepting() -> bool:
            self._check_alive()
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
                return True
            return False

        wait_until(accepting, timeout, f"rsyslogd to listen on {port}", diagnose=self.output)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (a clean stop: queues saved to disk) and wait; SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        if proc is None:
            return 0
        try:
            proc.send_signal(signal.SIGTERM)
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            raise RuntimeError(
                f"rsyslogd did not stop within {timeout:.0f}s of SIGTERM:\n{self.output()}"
            ) from None
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def kill(self) -> None:
        """SIGKILL (a crash): nothing saved. Its pid file stays behind, and a new rsyslogd
        refuses to start over it: removed, as a new pod starts without it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.layout.pidfile.unlink(missing_ok=True)

    def output(self) -> str:
        return self.layout.log.read_text(errors="replace") if self.layout.log.exists() else ""

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"rsyslogd exited ({self._proc.returncode}):\n{self.output()}")

    def __enter__(self) -> RsyslogDaemon:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- what rsyslog hands the agent: the handoff files ---------------------------------


class Sink(Protocol):
    def snapshot(self) -> list[str]: ...


@dataclass(frozen=True)
class HandoffFiles:
    """The lines rsyslog wrote into the handoff directory (the agent's side of the hop),
    file by file in name (minute) order; a line still being written is left out."""

    directory: Path

    def snapshot(self) -> list[str]:
        lines: list[str] = []
        for path in sorted(self.directory.glob(HANDOFF_GLOB)):
            text = path.read_bytes().decode("utf-8", "replace")
            complete, _, _partial = text.rpartition("\n")
            lines += [line for line in complete.split("\n") if line]
        return lines

    def count(self) -> int:
        return len(self.snapshot())


# --- a syslog receiver: a TCP sink ----------------------------------------------------


@dataclass
class _Conn:
    sock: socket.socket
    thread: threading.Thread | None = None
    closing_deadline: float | None = None


@dataclass
class TcpSink:
    """Accepts syslog over TCP on loopback and keeps every frame, in arrival order.

    `stop(graceful=True)` models an agent that stops accepting and drains: it sends FIN
    and reads until rsyslog closes its side. `stop(graceful=False)` resets connections
    (an agent crash): what is in flight is lost, as with any plain TCP receiver.
    """

    port: int
    framing: Framing = "newline"
    frames: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _acceptor: threading.Thread | None = None
    _conns: list[_Conn] = field(default_factory=list)
    _running: bool = False

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, self.port))
        listener.listen(16)
        listener.settimeout(0.1)
        self._listener, self._running = listener, True
        self._acceptor = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._acceptor.start()

    def stop(self, graceful: bool = True, drain_timeout: float = 5.0) -> None:
        self._running = False
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        conns, self._conns = self._conns, []
        deadline = time.monotonic() + drain_timeout
        for conn in conns:
            with contextlib.suppress(OSError):
                if graceful:
                    conn.sock.shutdown(socket.SHUT_WR)
                else:
                    conn.sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
            conn.closing_deadline = time.monotonic() if not graceful else deadline
        for conn in conns:
            if conn.thread is not None:
                conn.thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.frames)

    def count(self) -> int:
        with self._lock:
            return len(self.frames)

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._running:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(0.1)
            conn = _Conn(sock)
            conn.thread = threading.Thread(target=self._read_loop, args=(conn,), daemon=True)
            self._conns.append(conn)
            conn.thread.start()

    def _read_loop(self, conn: _Conn) -> None:
        buffer = b""
        try:
            while conn.closing_deadline is None or time.monotonic() < conn.closing_deadline:
                try:
                    chunk = conn.sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                buffer = self._take_frames(buffer + chunk)
        finally:
            conn.sock.close()

    def _take_frames(self, buffer: bytes) -> bytes:
        frames: list[str] = []
        if self.framing == "newline":
            *complete, buffer = buffer.split(b"\n")
            frames = [line.decode("utf-8", "replace") for line in complete if line]
        else:
            while True:
                length, space, rest = buffer.partition(b" ")
                if not space or not length.isdigit() or len(rest) < int(length):
                    break
                frames.append(rest[: int(length)].decode("utf-8", "replace"))
                buffer = rest[int(length) :]
        with self._lock:
            self.frames.extend(frames)
        return buffer


@contextlib.contextmanager
def running_sink(port: int, framing: Framing = "newline") -> Iterator[TcpSink]:
    sink = TcpSink(port, framing)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop(graceful=False, drain_timeout=0)


# --- senders and messages ------------------------------------------------------------


def rfc5424(
    host: str, app: str, text: str, pri: int = 134, procid: str = "4242", msgid: str = "AUDIT"
) -> str:
    return f"<{pri}>1 2024-05-01T12:00:00.000Z {host} {app} {procid} {msgid} - {text}"


def rfc3164(host: str, app: str, text: str, pri: int = 134, pid: int = 4242) -> str:
    return f"<{pri}>May  1 12:00:00 {host} {app}[{pid}]: {text}"


def send_tcp(port: int, lines: Iterable[str]) -> None:
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        sock.sendall("".join(f"{line}\n" for line in lines).encode())


def send_udp(port: int, lines: Iterable[str], pause_every: int = 50) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for index, line in enumerate(lines, 1):
            sock.sendto(line.encode(), (LOOPBACK, port))
            if index % pause_every == 0:
                time.sleep(0.002)  # loopback UDP still drops when a burst beats the reader


def send_unix(path: Path, lines: Iterable[str]) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        for line in lines:
            sock.sendto(line.encode(), str(path))


# --- what the agent receives ---------------------------------------------------------

# Node syslog puts "<seq> <seq_instance> " before each forwarded message.
_RFC5424 = re.compile(
    r"^(?:(?P<seq>\d+) (?P<seq_instance>[0-9A-Za-z_.:-]+) )?"
    r"<(?P<pri>\d{1,3})>1 (?P<timestamp>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[[^\]]*\])+) ?(?P<msg>.*)$"
)


@dataclass(frozen=True)
class Syslog5424:
    pri: int
    timestamp: str
    host: str
    app: str
    procid: str
    msgid: str
    structured_data: str
    msg: str
    seq: int | None = None
    seq_instance: str | None = None


def parse_rfc5424(frame: str) -> Syslog5424:
    match = _RFC5424.match(frame)
    if match is None:
        raise ValueError(f"not an RFC 5424 message: {frame!r}")
    return Syslog5424(
        int(match["pri"]),
        match["timestamp"],
        match["host"],
        match["app"],
        match["procid"],
        match["msgid"],
        match["sd"],
        match["msg"],
        int(match["seq"]) if match["seq"] else None,
        match["seq_instance"],
    )


def delivered(sink: Sink, marker: str) -> list[Syslog5424]:
    """Parsed frames whose message contains `marker` (probes and others left out)."""
    return [parse_rfc5424(f) for f in sink.snapshot() if marker in f]


def prime(sink: Sink, send_probe: Callable[[str], None], timeout: float = 10.0) -> None:
    """Send probes until one comes through: the input and the path to the sink are up."""
    sent = 0

    def probe_seen() -> bool:
        nonlocal sent
        if any("probe-" in frame for frame in sink.snapshot()):
            return True
        sent += 1
        send_probe(f"probe-{sent}")
        return False

    wait_until(probe_seen, timeout, "a probe message to reach the sink", interval=0.2)
