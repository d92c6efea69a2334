"""Container runtime audit events of the demo workloads, sent to node syslog in RFC 5424.

    audit_events.py run --plan PLAN.json [--iterations N] [--interval S]
        the container's entrypoint: logs that it starts, then each command of the plan
        before it runs (EXEC) and how it ended (EXIT), then that it stops (STOP)
    audit_events.py shell-start --pid PID --shell NAME
    audit_events.py shell-command --pid PID -- LINE
        the shell profiles (audit-shell.sh, audit-sh.sh): a shell opened, a command typed

Where events go and what identifies them comes from the environment, as the Deployment
sets it (downward API) and as the local end-to-end run sets it:
HOST_IP and AUDIT_SYSLOG_PORT (the node's rsyslog), AUDIT_SYSLOG_TRANSPORT (tcp or udp),
AUDIT_RUN_ID, AUDIT_SERVICE, POD_NAME, POD_NAMESPACE, NODE_NAME, CONTAINER_NAME.

Standard library only: the same file runs in the demo image and on a developer machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# RFC 5612 reserves private enterprise number 32473 for documentation and examples.
SD_ID = "audit@32473"
# Facility 13 is "log audit"; severity 5 is "notice": 13 * 8 + 5.
PRI = 109
APP_NAME_MAX = 48
MSG_MAX_BYTES = 16 * 1024
# Every structured-data value is bounded (after escaping) so that a record always ends with
# its closing ']' well inside rsyslog's maxMessageSize (64 KiB by default): a cut record
# loses the SD element, and with it the run id that ties the event to its run.
SD_VALUE_MAX_BYTES = 256
SD_LONG_VALUE_MAX_BYTES = {"command": 4096}
SD_MAX_PARAMS = 16
# Header (<= 400) + SD (16 params, one long) + MSG (16 KiB + marker): below this.
EVENT_MAX_BYTES = 32 * 1024
EXEC, EXIT, START, STOP, SHELL = "EXEC", "EXIT", "START", "STOP", "SHELL"

# Control characters would end the line on a newline-framed hop (rsyslog -> agent).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SD_ELEMENT = re.compile(r'\[(?P<id>[^ \]="]+)(?P<params>(?: [^ =\]"]+="(?:[^"\\]|\\.)*")*)\]')
_SD_PARAM = re.compile(r'(?P<name>[^ =\]"]+)="(?P<value>(?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Identity:
    """Who emits: what the downward API and the Deployment tell the container."""

    run_id: str
    service: str
    pod: str
    namespace: str
    container: str
    node: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Identity:
        hostname = socket.gethostname()
        return cls(
            run_id=env.get("AUDIT_RUN_ID", "unset"),
            service=env.get("AUDIT_SERVICE", "unknown"),
            pod=env.get("POD_NAME", hostname),
            namespace=env.get("POD_NAMESPACE", "-"),
            container=env.get("CONTAINER_NAME", "-"),
            node=env.get("NODE_NAME", "-"),
        )


def escape_control(text: str) -> str:
    """One line of text: control characters as \\n, \\t, \\r or \\xNN."""
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return _CONTROL.sub(lambda m: named.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


def _sd_value(value: str, limit: int = SD_VALUE_MAX_BYTES) -> str:
    """A PARAM-VALUE: escaped (RFC 5424 section 6.3.3: '"', '\\' and ']'), at most
    `limit` UTF-8 bytes, never ending inside an escape or a character."""
    text = escape_control(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    data = escaped.encode("utf-8")
    if len(data) <= limit:
        return escaped
    # Room for the marker at its longest: it names how many bytes were dropped.
    room = limit - len(f"...(+{len(data)} bytes)")
    kept = data[:room].decode("utf-8", "ignore")
    # An odd run of trailing backslashes would escape the closing quote.
    trailing = len(kept) - len(kept.rstrip("\\"))
    if trailing % 2:
        kept = kept[:-1]
    return f"{kept}...(+{len(data) - len(kept.encode('utf-8'))} bytes)"


def _sd_param(name: str, value: str) -> str:
    limit = SD_LONG_VALUE_MAX_BYTES.get(name, SD_VALUE_MAX_BYTES)
    return f' {_param_name(name)}="{_sd_value(value, limit)}"'


def _param_name(name: str) -> str:
    """A PARAM-NAME: 1-32 printable ASCII characters except '=', ' ', ']' and '"'."""
    cleaned = "".join(c for c in name if 33 <= ord(c) <= 126 and c not in '= ]"')[:32]
    if not cleaned:
        raise ValueError(f"structured-data param name {name!r} has no allowed character")
    return cleaned


def _header_field(value: str, limit: int) -> str:
    """A header field: printable ASCII without spaces, at most `limit` characters, or '-'."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def _truncate(text: str, limit: int = MSG_MAX_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", "ignore")
    return f"{kept}...[truncated {len(data) - limit} bytes]"


def format_event(
    identity: Identity,
    msgid: str,
    message: str,
    *,
    pid: int,
    uid: int,
    extra: Mapping[str, str] | None = None,
    when: datetime | None = None,
) -> str:
    """One RFC 5424 message (no framing): header, the audit SD element, the message."""
    stamp = (when or datetime.now(UTC)).astimezone(UTC)
    params: dict[str, str] = {
        # First, so that nothing before it can push it out of a record.
        "run_id": identity.run_id,
        "service": identity.service,
        "pod": identity.pod,
        "namespace": identity.namespace,
        "container": identity.container,
        "node": identity.node,
        "uid": str(uid),
        **(extra or {}),
    }
    if len(params) > SD_MAX_PARAMS:
        raise ValueError(f"{len(params)} structured-data params; at most {SD_MAX_PARAMS}")
    structured = "[" + SD_ID + "".join(_sd_param(k, v) for k, v in params.items()) + "]"
    header = " ".join(
        [
            f"<{PRI}>1",
            stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            _header_field(identity.pod, 255),
            _header_field(identity.service, APP_NAME_MAX),
            str(pid),
            _header_field(msgid, 32),
        ]
    )
    return f"{header} {structured} {_truncate(escape_control(message))}"


def parse_structured_data(text: str) -> dict[str, dict[str, str]]:
    """SD-ID -> params of every SD element found in `text` (the inverse of format_event)."""
    elements: dict[str, dict[str, str]] = {}
    for element in _SD_ELEMENT.finditer(text):
        params = {
            p["name"]: re.sub(r"\\(.)", r"\1", p["value"])
            for p in _SD_PARAM.finditer(element["params"])
        }
        elements[element["id"]] = params
    return elements


# --- sending -------------------------------------------------------------------------


class SyslogSender:
    """RFC 5424 to node syslog: TCP with octet-counting framing (RFC 6587), UDP fallback.

    TCP because it pushes back and reports failures, where UDP silently drops when the
    receiver is busy; octet counting because a frame then never depends on its content.
    rsyslog's imtcp detects octet-counted frames by the leading digit.
    """

    def __init__(self, host: str, port: int, transport: str, timeout: float = 2.0) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"transport {transport!r} must be tcp or udp")
        self.host, self.port, self.transport, self.timeout = host, port, transport, timeout
        self._tcp: socket.socket | None = None
        self._lock = threading.Lock()

    def send(self, message: str) -> str:
        """Send one message; returns the transport that took it. Raises OSError if none did."""
        data = message.encode("utf-8")
        with self._lock:
            if self.transport == "tcp":
                for _ in range(2):
                    reused = self._tcp is not None
                    try:
                        self._send_tcp(data)
                        return "tcp"
                    except OSError:
                        self._close_tcp()
                    if not reused:
                        break  # a fresh connect failed: do not wait for a second one
                    # else: the kept connection went stale (rsyslog restarted): reconnect once
            self._send_udp(data)
            return "udp"

    def _send_tcp(self, data: bytes) -> None:
        if self._tcp is not None and _peer_closed(self._tcp):
            # A write to a connection the receiver already closed "succeeds" and is lost.
            self._close_tcp()
        if self._tcp is None:
            self._tcp = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._tcp.sendall(str(len(data)).encode() + b" " + data)

    def _send_udp(self, data: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, (self.host, self.port))

    def _close_tcp(self) -> None:
        if self._tcp is not None:
            try:
                self._tcp.close()
            finally:
                self._tcp = None

    def close(self) -> None:
        with self._lock:
            self._close_tcp()


def _peer_closed(sock: socket.socket) -> bool:
    """True when the receiver closed or reset the connection (syslog never sends data)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def sender_from_env(env: Mapping[str, str], timeout: float = 2.0) -> SyslogSender:
    return SyslogSender(
        env.get("HOST_IP", "127.0.0.1"),
        int(env.get("AUDIT_SYSLOG_PORT", "514")),
        env.get("AUDIT_SYSLOG_TRANSPORT", "tcp"),
        timeout,
    )


class Emitter:
    """Formats and sends events; in `run` mode also prints each one (the container log)."""

    def __init__(
        self, identity: Identity, sender: SyslogSender, echo: bool, uid: int | None = None
    ) -> None:
        self.identity, self.sender, self.echo = identity, sender, echo
        self.uid = os.getuid() if uid is None else uid
        self.sent = 0
        self.failed = 0

    def emit(
        self, msgid: str, message: str, pid: int, extra: Mapping[str, str] | None = None
    ) -> None:
        line = format_event(
            self.identity,
            msgid,
            message,
            pid=pid,
            uid=self.uid,
            extra={"event": msgid, **(extra or {})},
        )
        try:
            self.sender.send(line)
            self.sent += 1
        except OSError as error:
            self.failed += 1
            print(f"audit: syslog send failed ({error}): {line}", file=sys.stderr, flush=True)
            return
        if self.echo:
            print(line, flush=True)


# --- run mode ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What an entrypoint runs: commands (argv lists) every `interval` seconds."""

    commands: tuple[tuple[str, ...], ...]
    interval: float
    iterations: int  # 0: until stopped
    command_timeout: float

    @classmethod
    def load(cls, path: str) -> Plan:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        commands = tuple(tuple(str(arg) for arg in command) for command in data["commands"])
        if not commands or any(not command for command in commands):
            raise ValueError(f"{path}: 'commands' must be a non-empty list of non-empty argv lists")
        return cls(
            commands=commands,
            interval=float(data.get("interval", 30)),
            iterations=int(data.get("iterations", 0)),
            command_timeout=float(data.get("commandTimeout", 10)),
        )


def run_command(emitter: Emitter, argv: Sequence[str], timeout: float) -> int:
    """Log the command, run it, log how it ended; its output goes to the container log."""
    line = shlex.join(argv)
    emitter.emit(EXEC, f"exec: {line}", os.getpid(), {"command": line})
    started = time.monotonic()
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    except OSError as error:
        emitter.emit(
            EXIT,
            f"exit: {line}: cannot start: {error.strerror}",
            os.getpid(),
            {"command": line, "exit": "127"},
        )
        return 127
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    elapsed_ms = int((time.monotonic() - started) * 1000)
    emitter.emit(
        EXIT,
        f"exit {code} after {elapsed_ms} ms: {line}",
        process.pid,
        {"command": line, "exit": str(code), "duration_ms": str(elapsed_ms)},
    )
    return code


def run(emitter: Emitter, plan: Plan, argv: Sequence[str]) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    entry = shlex.join(argv)
    emitter.emit(
        START,
        f"start: {entry} (uid {emitter.uid}, gid {os.getgid()})",
        os.getpid(),
        {"command": entry},
    )
    iteration = 0
    while not stop.is_set() and (plan.iterations == 0 or iteration < plan.iterations):
        iteration += 1
        for command in plan.commands:
            if stop.is_set():
                break
            run_command(emitter, command, plan.command_timeout)
        if plan.iterations == 0 or iteration < plan.iterations:
            stop.wait(plan.interval)
    emitter.emit(STOP, f"stop after {iteration} iteration(s)", os.getpid())
    emitter.sender.close()
    return 0 if emitter.failed == 0 else 1


# --- CLI -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Container audit events to node syslog.")
    commands = parser.add_subparsers(dest="mode", required=True)
    run_parser = commands.add_parser("run", help="the entrypoint: run a plan, log every command")
    run_parser.add_argument("--plan", required=True, help="JSON: commands, interval, iterations")
    run_parser.add_argument("--iterations", type=int, help="override the plan's iterations")
    run_parser.add_argument("--interval", type=float, help="override the plan's interval")
    start = commands.add_parser("shell-start", help="a shell was opened")
    start.add_argument("--pid", type=int, required=True)
    start.add_argument("--shell", default="sh")
    command = commands.add_parser("shell-command", help="a command was typed in a shell")
    command.add_argument("--pid", type=int, required=True)
    command.add_argument("--shell", default="bash")
    command.add_argument("line", help="the command line as typed (after --)")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(raw)
    environment = os.environ if env is None else env
    identity = Identity.from_env(environment)
    if args.mode == "run":
        plan = Plan.load(args.plan)
        if args.iterations is not None or args.interval is not None:
            plan = Plan(
                commands=plan.commands,
                interval=plan.interval if args.interval is None else args.interval,
                iterations=plan.iterations if args.iterations is None else args.iterations,
                command_timeout=plan.command_timeout,
            )
        emitter = Emitter(identity, sender_from_env(environment), echo=True)
        return run(emitter, plan, ["audit_events.py", *raw])
    # Shell hooks must never hang or clutter the user's terminal: short timeout, no echo.
    emitter = Emitter(identity, sender_from_env(environment, timeout=1.0), echo=False)
    if args.mode == "shell-start":
        emitter.emit(SHELL, f"shell started: {args.shell}", args.pid, {"shell": args.shell})
    else:
        line = args.line
        emitter.emit(
            SHELL, f"shell command: {line}", args.pid, {"shell": args.shell, "command": line}
        )
    emitter.sender.close()
    return 0 if emitter.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
