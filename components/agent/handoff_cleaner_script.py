"""handoff-cleaner: deletes node-local handoff files the agent has read to the end.

Runs as a sidecar of the agent pod (python3 standard library only; shipped as text in a
ConfigMap). rsyslog writes each record as one line into a per-UTC-minute file
`HANDOFF_DIR/audit-YYYYMMDDTHHMM.log` (RELP records: `audit-YYYYMMDDTHHMM-relp.log`, a file of
their own); Fluent Bit's `tail` input reads them and keeps its
read position per file in an SQLite database (TAIL_DB). Tail never deletes a file, and only
its database knows what was consumed; this program reads that database (read-only) and
deletes a file only when all of these hold:

* the name is `audit-YYYYMMDDTHHMM.log` or `audit-YYYYMMDDTHHMM-relp.log` (a real minute),
  the entry is a regular file (never a symlink: nothing outside HANDOFF_DIR is ever touched);
* its minute ended, and its mtime is, at least SETTLE_SECONDS ago (rsyslog writes by
  processing time, so it has moved on to a later file);
* the row tail resumes this file from (tail looks rows up by inode, newest id first:
  `SELECT ... WHERE inode=@inode ORDER BY id DESC`) exists, is named exactly this path, and
  its offset equals the file's size. Tail stores the resumable offset: the end of the last
  complete line it handed on, so a partial trailing line keeps the file. An offset beyond the
  size means the file was truncated or replaced after tail read it: kept as unread;
* the file is unchanged (inode, size, mtime) between that check and the unlink.

Anything else is kept. A missing database means nothing was consumed yet; a busy or
unreadable one, or one without the expected table, deletes nothing that cycle and counts an
error. The database stays in WAL mode while the agent runs; opening it read-only needs the
`-shm` file, which SQLite creates if it is absent (after the agent stopped cleanly), so the
directory must be writable for this process (the mount is read-write; the connection
never writes the database).

Metrics (Prometheus text format, GET /metrics on METRICS_ADDRESS:METRICS_PORT) tell an
operator that records wait unread (agent down or stuck) before the disk fills.

Environment: HANDOFF_DIR, TAIL_DB (absolute paths; HANDOFF_DIR exactly as the agent's tail
`path` names it, since the database stores that path), INTERVAL_SECONDS (10),
SETTLE_SECONDS (120), METRICS_PORT (2021; 0: no server), METRICS_ADDRESS (0.0.0.0).
Logs: one JSON line per deleted file, per error and per cycle that changed something.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import signal
import socket
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NAME_PATTERN = re.compile(r"^audit-(?P<minute>\d{8}T\d{4})(?:-relp)?\.log$")
TABLE = "in_tail_files"
# The columns this program reads (Fluent Bit 5.1.1 plugins/in_tail/tail_sql.h has more).
REQUIRED_COLUMNS = frozenset({"id", "name", "offset", "inode"})
DB_TIMEOUT_SECONDS = 2.0
STOP_WAIT_SECONDS = 5.0
DEFAULTS = {
    "INTERVAL_SECONDS": "10",
    "SETTLE_SECONDS": "120",
    "METRICS_PORT": "2021",
    "METRICS_ADDRESS": "0.0.0.0",  # noqa: S104 - scraped from the pod IP
}


class ConfigError(Exception):
    """A bad environment value: one line naming the variable, the value and what is accepted."""


class DatabaseError(Exception):
    """The tail database could not be read this cycle (`kind`: busy, schema, unreadable)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Config:
    handoff_dir: str
    tail_db: str
    interval_seconds: float
    settle_seconds: float
    metrics_port: int
    metrics_address: str


def _seconds(env: Mapping[str, str], name: str, zero_ok: bool) -> float:
    raw = env.get(name, DEFAULTS[name])
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        accepted = "a number of seconds, 0 or more" if zero_ok else "a number of seconds above 0"
        raise ConfigError(f"{name}={raw!r} is not accepted: {accepted}")
    return value


def _absolute_path(env: Mapping[str, str], name: str, what: str) -> str:
    raw = env.get(name, "")
    if not raw or not Path(raw).is_absolute() or "\x00" in raw:
        raise ConfigError(f"{name}={raw!r} is not accepted: the absolute path of {what}")
    return os.path.normpath(raw)


def load_config(env: Mapping[str, str]) -> Config:
    """The settings from the environment; ConfigError on the first bad value."""
    handoff_dir = _absolute_path(env, "HANDOFF_DIR", "the directory rsyslog writes to")
    tail_db = _absolute_path(env, "TAIL_DB", "the tail input's database (its `db`)")
    interval = _seconds(env, "INTERVAL_SECONDS", zero_ok=False)
    settle = _seconds(env, "SETTLE_SECONDS", zero_ok=True)
    port_raw = env.get("METRICS_PORT", DEFAULTS["METRICS_PORT"])
    if not re.fullmatch(r"\d{1,5}", port_raw) or int(port_raw) > 65535:
        raise ConfigError(
            f"METRICS_PORT={port_raw!r} is not accepted: a TCP port 1-65535, or 0 for no server"
        )
    address = env.get("METRICS_ADDRESS", DEFAULTS["METRICS_ADDRESS"])
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ConfigError(
            f"METRICS_ADDRESS={address!r} is not accepted: an IPv4 or IPv6 address "
            "(0.0.0.0 for every interface)"
        ) from None
    return Config(handoff_dir, tail_db, interval, settle, int(port_raw), address)


def log(event: str, **fields: Any) -> None:
    line = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, **fields}
    print(json.dumps(line, sort_keys=False), flush=True)


# --- the tail database -------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """One row of in_tail_files: where tail resumes the file it names."""

    row_id: int
    name: str
    offset: int
    inode: int


def database_uri(path: str) -> str:
    """A read-only `file:` URI for `path` (percent-encoded, so '?' or '#' stay in the path)."""
    return Path(path).absolute().as_uri() + "?mode=ro"


def read_positions(path: str, timeout: float = DB_TIMEOUT_SECONDS) -> dict[int, Position] | None:
    """inode -> the row tail resumes that inode from (its newest id), or None when the
    database does not exist (nothing consumed yet). DatabaseError when it cannot be read."""
    if not os.path.lexists(path):
        return None
    try:
        connection = sqlite3.connect(database_uri(path), uri=True, timeout=timeout)
    except sqlite3.Error as error:
        raise DatabaseError("unreadable", f"cannot open {path} read-only: {error}") from None
    try:
        columns = {str(row[1]) for row in connection.execute(f"PRAGMA table_info({TABLE})")}
        missing = REQUIRED_COLUMNS - columns
        if missing:
            what = f"lacks columns {sorted(missing)}" if columns else f"has no table {TABLE}"
            raise DatabaseError(
                "schema", f"{path} {what}: not a Fluent Bit tail database this cleaner knows"
            )
        rows = connection.execute(
            f"SELECT id, name, offset, inode FROM {TABLE} ORDER BY id"  # noqa: S608 - constant
        ).fetchall()
    except sqlite3.Error as error:
        name = str(getattr(error, "sqlite_errorname", ""))
        kind = "busy" if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) else "unreadable"
        hint = ""
        if name == "SQLITE_READONLY_DIRECTORY":
            hint = " (no -shm file and its directory is not writable: mount it read-write)"
        raise DatabaseError(kind, f"cannot read {path}: {error} [{name}]{hint}") from None
    finally:
        connection.close()
    positions: dict[int, Position] = {}
    for row_id, name, offset, inode in rows:
        if not isinstance(row_id, int) or not isinstance(inode, int):
            continue
        offset_value = offset if isinstance(offset, int) else -1
        # Later ids win: tail's SQL_GET_FILE orders by id desc and takes the first row.
        positions[inode] = Position(row_id, str(name), offset_value, inode)
    return positions


# --- the handoff files -------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffFile:
    path: str
    minute_end: float  # epoch seconds when its minute ended
    inode: int
    size: int
    mtime: float
    mtime_ns: int


def minute_end(name: str) -> float | None:
    """When the minute in a handoff file name ended (epoch seconds); None if not one."""
    match = NAME_PATTERN.match(name)
    if match is None:
        return None
    try:
        start = datetime.strptime(match.group("minute"), "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None
    return start.timestamp() + 60


def scan(directory: str) -> list[HandoffFile]:
    """The regular files named like handoff files (symlinks and the rest are not looked at)."""
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            end = minute_end(entry.name)
            if end is None:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            found.append(
                HandoffFile(
                    str(Path(directory) / entry.name),
                    end,
                    info.st_ino,
                    info.st_size,
                    info.st_mtime,
                    info.st_mtime_ns,
                )
            )
    return sorted(found, key=lambda f: f.path)


@dataclass(frozen=True)
class Verdict:
    delete: bool
    reason: str
    unread: int
    offset: int | None


def judge(file: HandoffFile, position: Position | None, now: float, settle: float) -> Verdict:
    """What to do with one file, given the row tail resumes its inode from."""
    if position is None:
        return Verdict(False, "no row for its inode", file.size, None)
    if os.path.normpath(position.name) != file.path:
        reason = f"the row for its inode names {position.name}"
        return Verdict(False, reason, file.size, None)
    if position.offset > file.size:
        reason = "the row's offset is past its size (truncated or replaced)"
        return Verdict(False, reason, file.size, position.offset)
    unread = file.size - max(position.offset, 0)
    if unread > 0:
        return Verdict(False, "unread bytes", unread, position.offset)
    if now - file.minute_end < settle or now - file.mtime < settle:
        return Verdict(False, "not settled", 0, position.offset)
    return Verdict(True, "read to the end", 0, position.offset)


# --- the cycle ---------------------------------------------------------------------------


@dataclass
class Metrics:
    unread_bytes: int = 0
    files: int = 0
    oldest_unread_seconds: float = 0.0
    deleted_files_total: int = 0
    deleted_bytes_total: int = 0
    errors_total: int = 0
    last_cycle_timestamp: float = 0.0
    # The handoff directory's filesystem: when it fills, rsyslog's writes fail and it
    # drops the records it cannot write ("message lost", measured with rsyslogd 8.2302).
    filesystem_free_bytes: int = 0
    filesystem_size_bytes: int = 0


@dataclass
class CycleResult:
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # path -> why
    errors: list[str] = field(default_factory=list)


def _unchanged(file: HandoffFile) -> bool:
    try:
        info = os.lstat(file.path)
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_ino == file.inode
        and info.st_size == file.size
        and info.st_mtime_ns == file.mtime_ns
    )


class Cleaner:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.lock = threading.Lock()

    def _error(self, result: CycleResult, kind: str, message: str, **fields: Any) -> None:
        result.errors.append(message)
        with self.lock:
            self.metrics.errors_total += 1
        log("error", kind=kind, message=message, **fields)

    def cycle(self, now: float | None = None) -> CycleResult:
        """One pass: list, read the database, delete what is consumed, update the metrics."""
        now = time.time() if now is None else now
        result = CycleResult()
        try:
            files = scan(self.config.handoff_dir)
        except OSError as error:
            self._error(result, "handoff_dir", f"cannot list {self.config.handoff_dir}: {error}")
            return result
        try:
            space = os.statvfs(self.config.handoff_dir)
        except OSError as error:
            self._error(result, "statvfs", f"cannot stat {self.config.handoff_dir}: {error}")
        else:
            with self.lock:
                self.metrics.filesystem_free_bytes = space.f_bavail * space.f_frsize
                self.metrics.filesystem_size_bytes = space.f_blocks * space.f_frsize
        try:
            positions = read_positions(self.config.tail_db)
        except DatabaseError as error:
            self._error(result, f"database_{error.kind}", str(error))
            with self.lock:
                self.metrics.files = len(files)
            return result
        unread_total = 0
        oldest = 0.0
        deleted_bytes = 0
        for file in files:
            position = None if positions is None else positions.get(file.inode)
            verdict = judge(file, position, now, self.config.settle_seconds)
            if not verdict.delete:
                result.kept[file.path] = verdict.reason
                unread_total += verdict.unread
                if verdict.unread > 0:
                    oldest = max(oldest, now - file.mtime)
                continue
            if not _unchanged(file):
                result.kept[file.path] = "changed while checked"
                continue
            try:
                Path(file.path).unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                self._error(result, "unlink", f"cannot delete {file.path}: {error}")
                continue
            result.deleted.append(file.path)
            deleted_bytes += file.size
            log("deleted", file=file.path, bytes=file.size, inode=file.inode, offset=verdict.offset)
        with self.lock:
            self.metrics.unread_bytes = unread_total
            self.metrics.files = len(files) - len(result.deleted)
            self.metrics.oldest_unread_seconds = max(oldest, 0.0)
            self.metrics.deleted_files_total += len(result.deleted)
            self.metrics.deleted_bytes_total += deleted_bytes
            self.metrics.last_cycle_timestamp = now
        if result.deleted or result.errors:
            log(
                "cycle",
                deleted=len(result.deleted),
                deleted_bytes=deleted_bytes,
                kept=len(result.kept),
                unread_bytes=unread_total,
                errors=len(result.errors),
            )
        return result


# --- metrics -----------------------------------------------------------------------------

SERIES: list[tuple[str, str, str, Callable[[Metrics], float]]] = [
    (
        "audit_handoff_unread_bytes",
        "gauge",
        "Bytes of handoff files the agent has not read (whole size of a file without a row).",
        lambda m: m.unread_bytes,
    ),
    ("audit_handoff_files", "gauge", "Handoff files on the node.", lambda m: m.files),
    (
        "audit_handoff_oldest_unread_seconds",
        "gauge",
        "Age (by mtime) of the oldest handoff file with unread bytes; 0 if none.",
        lambda m: m.oldest_unread_seconds,
    ),
    (
        "audit_handoff_deleted_files_total",
        "counter",
        "Handoff files deleted after the agent read them to the end.",
        lambda m: m.deleted_files_total,
    ),
    (
        "audit_handoff_deleted_bytes_total",
        "counter",
        "Bytes of the handoff files deleted.",
        lambda m: m.deleted_bytes_total,
    ),
    (
        "audit_handoff_cleaner_errors_total",
        "counter",
        "Cycles' errors: tail database busy, unreadable or unknown; listing or unlink failed.",
        lambda m: m.errors_total,
    ),
    (
        "audit_handoff_filesystem_free_bytes",
        "gauge",
        "Bytes free for rsyslog on the handoff directory's filesystem.",
        lambda m: m.filesystem_free_bytes,
    ),
    (
        "audit_handoff_filesystem_size_bytes",
        "gauge",
        "Size of the handoff directory's filesystem.",
        lambda m: m.filesystem_size_bytes,
    ),
    (
        "audit_handoff_last_cycle_timestamp_seconds",
        "gauge",
        "When the last cycle that read the tail database (or found none) ended.",
        lambda m: m.last_cycle_timestamp,
    ),
]


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_metrics(metrics: Metrics) -> str:
    lines = []
    for name, kind, text, value in SERIES:
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        lines.append(f"{name} {_number_text(value(metrics))}")
    return "\n".join(lines) + "\n"


def serve_metrics(cleaner: Cleaner, address: str, port: int) -> ThreadingHTTPServer:
    """GET /metrics on address:port (port 0: any free port), served by a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            with cleaner.lock:
                body = render_metrics(cleaner.metrics).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return None

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        address_family = (
            socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        )

    server = Server((address, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


# --- the program -------------------------------------------------------------------------


def run(cleaner: Cleaner, stop: threading.Event, max_cycles: int | None = None) -> int:
    """Cycle every interval until `stop` is set (or `max_cycles` ran); the cycles run."""
    cycles = 0
    while not stop.is_set() and (max_cycles is None or cycles < max_cycles):
        cleaner.cycle()
        cycles += 1
        stop.wait(cleaner.config.interval_seconds)
    return cycles


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        config = load_config(os.environ if env is None else env)
    except ConfigError as error:
        print(f"handoff-cleaner: {error}", file=sys.stderr, flush=True)
        return 2
    cleaner = Cleaner(config)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = None
    if config.metrics_port:
        try:
            server = serve_metrics(cleaner, config.metrics_address, config.metrics_port)
        except OSError as error:
            where = f"{config.metrics_address}:{config.metrics_port}"
            print(f"handoff-cleaner: cannot serve metrics on {where}: {error}", file=sys.stderr)
            return 1
    log(
        "started",
        handoff_dir=config.handoff_dir,
        tail_db=config.tail_db,
        interval_seconds=config.interval_seconds,
        settle_seconds=config.settle_seconds,
        metrics_port=config.metrics_port,
    )
    try:
        run(cleaner, stop)
    finally:
        if server is not None:
            # The serving thread is a daemon: a stuck scrape cannot hold the exit.
            closer = threading.Thread(target=server.shutdown, daemon=True)
            closer.start()
            closer.join(STOP_WAIT_SECONDS)
            server.server_close()
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
