"""The handoff cleaner against the real Fluent Bit tail input and its offset database: it
deletes exactly the handoff files the agent read to the end, keeps every other file, reads
the WAL-mode database read-only while the agent runs, after a SIGKILL and after a clean stop,
and says what waits unread in its metrics."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.agent import handoff_cleaner_script as script
from components.agent.config import to_yaml
from components.agent.handoff_cleaner import SCRIPT_SOURCE
from tooling.localrun import Supervisor, http_ok, supervised
from tooling.loopback import LOOPBACK, free_port, wait_until

SETTLE = 120
OLD = -3600.0  # an mtime this many seconds from now: well past the settle window


def minute_name(minutes_ago: int) -> str:
    minute = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return minute.strftime("audit-%Y%m%dT%H%M.log")


def record_lines(tag: str, count: int) -> str:
    return "".join(
        f"{n} 7 <110>1 2026-11-30T01:00:00.000Z node app - - - {tag} record {n}\n"
        for n in range(1, count + 1)
    )


def write(path: Path, text: str, mtime: float | None = OLD) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
    if mtime is not None:
        age(path, mtime)


def age(path: Path, seconds: float = OLD) -> None:
    """Set the mtime `seconds` from now (negative: in the past)."""
    when = time.time() + seconds
    os.utime(path, (when, when))


def rows(database: Path) -> dict[str, tuple[int, int]]:
    """name -> (offset, inode), read independently of the cleaner."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        found = connection.execute("SELECT name, offset, inode FROM in_tail_files").fetchall()
    connection.close()
    return {str(name): (int(offset), int(inode)) for name, offset, inode in found}


@dataclass
class TailRig:
    """The real agent: a tail input on `handoff` with its db, records to a `file` output."""

    binary: str
    root: Path
    supervisor: Supervisor
    handoff: Path = field(init=False)
    database: Path = field(init=False)
    output: Path = field(init=False)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.handoff = self.root / "handoff"
        self.database = self.root / "storage" / "handoff.db"
        self.output = self.root / "out"
        for directory in (self.handoff, self.database.parent, self.output):
            directory.mkdir(parents=True, exist_ok=True)

    def config(self, port: int, **tail: str) -> dict[str, Any]:
        return {
            "service": {
                "flush": "1",
                "log_level": "info",
                "http_server": "on",
                "http_listen": LOOPBACK,
                "http_port": str(port),
                "storage.path": str(self.database.parent),
            },
            "pipeline": {
                "inputs": [
                    {
                        "name": "tail",
                        "tag": "handoff",
                        "path": f"{self.handoff}/audit-*.log",
                        "db": str(self.database),
                        "read_from_head": "true",
                        "refresh_interval": "1",
                        "storage.type": "filesystem",
                        **tail,
                    }
                ],
                "outputs": [
                    {
                        "name": "file",
                        "match": "*",
                        "path": str(self.output),
                        "file": "records.txt",
                        "format": "plain",
                    }
                ],
            },
        }

    def start(self, **tail: str) -> str:
        name = f"fluent-bit-{len(self.supervisor.started)}-{time.monotonic_ns()}"
        port = free_port()
        path = self.root / f"{name}.yaml"
        path.write_text(to_yaml(self.config(port, **tail)), encoding="utf-8")
        self.running[name] = self.supervisor.start(name, [self.binary, "-c", str(path)])

        def up() -> bool:
            self.supervisor.check()
            return http_ok(f"http://{LOOPBACK}:{port}/")

        wait_until(up, 30, f"{name} HTTP server", interval=0.1)
        return name

    def kill(self, name: str) -> None:
        """SIGKILL, by pid: no flush, no checkpoint; the database stays mid-WAL."""
        process = self.running.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.supervisor.stop(name)  # already gone: closes its log

    def stop(self, name: str) -> int | None:
        self.running.pop(name)
        return self.supervisor.stop(name)

    def records(self) -> list[str]:
        out = self.output / "records.txt"
        return out.read_text(encoding="utf-8").splitlines() if out.exists() else []

    def wait_read(self, paths: list[Path], records: int, timeout: float = 30) -> None:
        """Until the database holds every path's current size as its offset (by inode) and
        the output has `records` records."""

        def done() -> bool:
            if not self.database.exists():
                return False
            try:
                positions = rows(self.database)
            except sqlite3.Error:
                return False
            for path in paths:
                info = path.stat()
                if positions.get(str(path)) != (info.st_size, info.st_ino):
                    return False
            return len(self.records()) >= records

        wait_until(
            done,
            timeout,
            f"the agent to read {len(paths)} files",
            interval=0.1,
            diagnose=lambda: f"{self.database_text()}\n{self.supervisor.tail(self.last(), 15)}",
        )

    def database_text(self) -> str:
        try:
            return repr(rows(self.database))
        except sqlite3.Error as error:
            return f"(database: {error})"

    def last(self) -> str:
        return self.supervisor.started[-1].name if self.supervisor.started else "fluent-bit"

    def cleaner(self, **env: str) -> script.Cleaner:
        values = {"HANDOFF_DIR": str(self.handoff), "TAIL_DB": str(self.database), **env}
        return script.Cleaner(script.load_config(values))


@pytest.fixture
def rig(fluent_bit: str, tmp_path: Path) -> Iterator[TailRig]:
    with supervised(tmp_path / "agents") as supervisor:
        yield TailRig(fluent_bit, tmp_path, supervisor)


@pytest.fixture(scope="session")
def tail_schema(fluent_bit: str, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The CREATE statements of the database the real agent makes (on an empty directory)."""
    root = tmp_path_factory.mktemp("schema")
    with supervised(root / "agents") as supervisor:
        rig = TailRig(fluent_bit, root, supervisor)
        name = rig.start()

        def created() -> bool:
            try:
                return "in_tail_files" in {table for table, _ in _master(rig.database)}
            except sqlite3.Error:
                return False

        wait_until(created, 30, "the agent's tail database", interval=0.1)
        assert rig.stop(name) == 0
    return [sql for _, sql in _master(rig.database)]


def _master(database: Path) -> list[tuple[str, str]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        found = connection.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        tables = [(str(name), str(sql)) for name, sql in found]
    connection.close()
    return tables


def fake_database(path: Path, schema: list[str], entries: list[tuple[str, int, int]]) -> Path:
    """A database made with the real agent's schema, holding (name, offset, inode) rows."""
    with sqlite3.connect(path) as connection:
        for statement in schema:
            connection.execute(statement)
        connection.executemany(
            "INSERT INTO in_tail_files (name, offset, inode, created) VALUES (?, ?, ?, 0)",
            entries,
        )
    connection.close()
    return path


def metric_values(text: str) -> dict[str, float]:
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


# --- the real agent ----------------------------------------------------------------------


def test_deletes_what_the_running_agent_read_and_keeps_everything_else(
    rig: TailRig, tmp_path: Path
) -> None:
    consumed = [rig.handoff / minute_name(m) for m in (50, 49, 48)]
    relp = rig.handoff / minute_name(50).replace(".log", "-relp.log")  # RELP's own file
    recent_name = rig.handoff / minute_name(0)  # this minute: rsyslog may still write it
    recent_mtime = rig.handoff / minute_name(47)  # written just now
    for number, path in enumerate([*consumed, recent_name], start=1):
        write(path, record_lines(path.name, number))
    write(recent_mtime, record_lines("late", 2), mtime=None)
    write(relp, record_lines(relp.name, 5))
    unrelated = [
        rig.handoff / "audit-20261130T0100.log.1",
        rig.handoff / "audit-2026113T0100.log",
        rig.handoff / "audit-20261399T0100.log",  # no such minute
        rig.handoff / "audit-20261130T0100-tcp.log",
        rig.handoff / "notes.txt",
    ]
    for path in unrelated:
        write(path, "not a handoff file\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / minute_name(46)
    write(target, record_lines("outside", 1))
    link = rig.handoff / minute_name(46)
    link.symlink_to(target)  # tail follows it; the cleaner must not

    agent = rig.start()
    read = [*consumed, recent_name, recent_mtime, relp]
    # The link's target (1 record) and the three unrelated names the tail glob matches are
    # read too (1 record each).
    rig.wait_read(read, records=1 + 2 + 3 + 4 + 2 + 5 + 1 + 3)
    assert rig.database.with_name("handoff.db-wal").exists()  # WAL mode while it runs
    assert rows(rig.database)[str(link)][1] == target.stat().st_ino

    cleaner = rig.cleaner()
    result = cleaner.cycle()

    assert sorted(result.deleted) == sorted(str(p) for p in [*consumed, relp])
    assert result.errors == []
    assert result.kept == {
        str(recent_name): "not settled",
        str(recent_mtime): "not settled",
    }
    assert not any(p.exists() for p in [*consumed, relp])
    assert all(p.exists() for p in [*unrelated, recent_name, recent_mtime, target])
    assert link.is_symlink()
    metrics = metric_values(script.render_metrics(cleaner.metrics))
    assert metrics["audit_handoff_files"] == 2
    assert metrics["audit_handoff_unread_bytes"] == 0
    assert metrics["audit_handoff_oldest_unread_seconds"] == 0
    assert metrics["audit_handoff_deleted_files_total"] == 4
    assert metrics["audit_handoff_deleted_bytes_total"] == sum(
        len(record_lines(p.name, n).encode()) for n, p in enumerate(consumed, start=1)
    ) + len(record_lines(relp.name, 5).encode())
    assert metrics["audit_handoff_cleaner_errors_total"] == 0

    # Past the settle window the rest go too; the symlinked file never does.
    later = cleaner.cycle(now=time.time() + 3 * SETTLE)
    assert sorted(later.deleted) == sorted([str(recent_name), str(recent_mtime)])
    assert later.kept == {}
    assert target.exists()
    assert link.is_symlink()
    assert rig.stop(agent) == 0


def test_after_a_sigkill_keeps_unread_and_replaced_files_and_the_restart_reads_them(
    rig: TailRig,
) -> None:
    first, second, third = (rig.handoff / minute_name(m) for m in (30, 29, 28))
    for path in (first, second, third):
        write(path, record_lines(path.name, 3))
    agent = rig.start()
    rig.wait_read([first, second, third], records=9)
    rig.kill(agent)
    wal = rig.database.with_name("handoff.db-wal")
    assert wal.stat().st_size > 0  # the offsets live in the WAL, not yet in the main file

    # While the agent is down: a record appended to `first` (unread), `second` replaced by
    # a new file of the same name and size (another inode), a file the agent never saw
    # (made first: it must not reuse the inode of the replaced file, whose row stays).
    unseen = rig.handoff / minute_name(27)
    write(unseen, record_lines(unseen.name, 2))
    write(first, record_lines("appended", 1))
    replacement = second.with_suffix(".new")
    write(replacement, second.read_text(encoding="utf-8"))
    replacement.replace(second)
    age(second)

    cleaner = rig.cleaner()
    result = cleaner.cycle()
    assert result.deleted == [str(third)]
    assert result.kept == {
        str(first): "unread bytes",
        str(second): "no row for its inode",
        str(unseen): "no row for its inode",
    }
    metrics = metric_values(script.render_metrics(cleaner.metrics))
    expected_unread = (
        len(record_lines("appended", 1)) + second.stat().st_size + unseen.stat().st_size
    )
    assert metrics["audit_handoff_unread_bytes"] == expected_unread
    assert metrics["audit_handoff_files"] == 3
    assert 3500 < metrics["audit_handoff_oldest_unread_seconds"] < 3700

    # The restarted agent reads the rest (the replaced file anew); then all of it goes.
    agent = rig.start()
    rig.wait_read([first, second, unseen], records=9 + 1 + 3 + 2)
    final = cleaner.cycle()
    assert sorted(final.deleted) == sorted(str(p) for p in (first, second, unseen))
    assert metric_values(script.render_metrics(cleaner.metrics))["audit_handoff_unread_bytes"] == 0
    assert list(rig.handoff.iterdir()) == []
    assert rig.stop(agent) == 0


def test_reads_the_database_after_a_clean_stop_and_counts_a_locked_one_as_an_error(
    rig: TailRig,
) -> None:
    done = rig.handoff / minute_name(20)
    write(done, record_lines(done.name, 2))
    agent = rig.start()
    rig.wait_read([done], records=2)
    assert rig.stop(agent) == 0
    # The last connection checkpointed and removed the WAL: reading creates -shm again.
    assert not rig.database.with_name("handoff.db-wal").exists()
    assert rig.cleaner().cycle().deleted == [str(done)]

    # db.locking holds an exclusive lock: the cleaner waits its timeout, deletes nothing.
    held = rig.handoff / minute_name(19)
    write(held, record_lines(held.name, 1))
    agent = rig.start(**{"db.locking": "true"})
    wait_until(lambda: len(rig.records()) >= 3, 30, "the locked agent to read", interval=0.1)
    cleaner = rig.cleaner()
    result = cleaner.cycle()
    assert result.deleted == []
    assert len(result.errors) == 1
    assert "database is locked" in result.errors[0]
    assert held.exists()
    assert cleaner.metrics.errors_total == 1
    assert cleaner.metrics.last_cycle_timestamp == 0  # no cycle read the database yet
    assert rig.stop(agent) == 0


# --- the real agent's schema, rows written by the test -----------------------------------


def test_a_missing_database_means_nothing_was_consumed(tmp_path: Path) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    old = handoff / minute_name(90)
    write(old, "1 1 record\n")
    cleaner = script.Cleaner(
        script.load_config({"HANDOFF_DIR": str(handoff), "TAIL_DB": str(tmp_path / "none.db")})
    )
    result = cleaner.cycle()
    assert result.deleted == []
    assert result.errors == []
    assert result.kept == {str(old): "no row for its inode"}
    assert cleaner.metrics.unread_bytes == len("1 1 record\n")
    assert 3500 < cleaner.metrics.oldest_unread_seconds < 3700


@pytest.mark.parametrize(
    ("row_name", "beyond_size", "reason"),
    [
        ("SELF", 0, None),
        ("SELF", -1, "unread bytes"),
        # Tail found this inode under another name (inode reuse, db.compare_filename off).
        ("OTHER", 0, "the row for its inode names OTHER"),
        ("SELF", 5, "the row's offset is past its size (truncated or replaced)"),
    ],
)
def test_only_a_row_naming_the_file_and_at_its_end_deletes_it(
    tail_schema: list[str], tmp_path: Path, row_name: str, beyond_size: int, reason: str | None
) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    path = handoff / minute_name(90)
    write(path, record_lines("x", 3))
    other = str(handoff / minute_name(91))
    size = path.stat().st_size
    name = str(path) if row_name == "SELF" else other
    database = fake_database(
        tmp_path / "handoff.db", tail_schema, [(name, size + beyond_size, path.stat().st_ino)]
    )
    cleaner = script.Cleaner(
        script.load_config({"HANDOFF_DIR": str(handoff), "TAIL_DB": str(database)})
    )
    result = cleaner.cycle()
    if reason is None:
        assert result.deleted == [str(path)]
    else:
        assert result.kept == {str(path): reason.replace("OTHER", other)}
        assert path.exists()


def test_the_newest_row_of_an_inode_is_the_one_tail_resumes_from(
    tail_schema: list[str], tmp_path: Path
) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    path = handoff / minute_name(90)
    write(path, record_lines("x", 3))
    info = path.stat()
    entries = [(str(path), info.st_size, info.st_ino), (str(path), 0, info.st_ino)]
    database = fake_database(tmp_path / "handoff.db", tail_schema, entries)
    config = script.load_config({"HANDOFF_DIR": str(handoff), "TAIL_DB": str(database)})
    assert script.Cleaner(config).cycle().kept == {str(path): "unread bytes"}


def test_an_unknown_database_is_an_error_and_deletes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    path = handoff / minute_name(90)
    write(path, "1 1 record\n")
    database = tmp_path / "handoff.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE in_tail_files (id INTEGER PRIMARY KEY, path TEXT)")
    connection.close()
    cleaner = script.Cleaner(
        script.load_config({"HANDOFF_DIR": str(handoff), "TAIL_DB": str(database)})
    )
    result = cleaner.cycle()
    assert result.deleted == []
    assert path.exists()
    assert cleaner.metrics.errors_total == 1
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["event"] == "error"
    assert line["kind"] == "database_schema"
    assert "lacks columns ['inode', 'name', 'offset']" in line["message"]


# --- the program: environment, metrics endpoint, SIGTERM -----------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("INTERVAL_SECONDS", "0", "a number of seconds above 0"),
        ("INTERVAL_SECONDS", "ten", "a number of seconds above 0"),
        ("SETTLE_SECONDS", "-1", "a number of seconds, 0 or more"),
        ("SETTLE_SECONDS", "nan", "a number of seconds, 0 or more"),
        ("METRICS_PORT", "70000", "a TCP port 1-65535, or 0 for no server"),
        ("METRICS_ADDRESS", "localhost", "an IPv4 or IPv6 address"),
        ("HANDOFF_DIR", "relative/dir", "the absolute path of"),
        ("TAIL_DB", "", "the absolute path of"),
    ],
)
def test_a_bad_environment_value_exits_2_naming_it(
    tmp_path: Path, variable: str, value: str, accepted: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HANDOFF_DIR": str(tmp_path),
        "TAIL_DB": str(tmp_path / "handoff.db"),
        variable: value,
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT_SOURCE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"{variable}={value!r} is not accepted: {accepted}" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_serves_the_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    write(handoff / minute_name(90), "1 1 record\n")
    write(handoff / minute_name(89), "2 1 another record\n")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HANDOFF_DIR": str(handoff),
        "TAIL_DB": str(tmp_path / "none.db"),
        "METRICS_PORT": str(port),
        "METRICS_ADDRESS": LOOPBACK,
        "INTERVAL_SECONDS": "0.2",
    }
    with supervised(tmp_path / "cleaner") as supervisor:
        process = supervisor.start("cleaner", [sys.executable, str(SCRIPT_SOURCE)], env)
        url = f"http://{LOOPBACK}:{port}/metrics"
        text: list[str] = []

        def scraped() -> bool:
            supervisor.check()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    text[:] = [response.read().decode()]
            except OSError:
                return False
            return metric_values(text[0])["audit_handoff_last_cycle_timestamp_seconds"] > 0

        wait_until(scraped, 30, "the cleaner's metrics", interval=0.1)
        started = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    values = metric_values(text[0])
    assert values["audit_handoff_files"] == 2
    assert values["audit_handoff_unread_bytes"] == len("1 1 record\n2 1 another record\n")
    assert 3500 < values["audit_handoff_oldest_unread_seconds"] < 3700
    assert values["audit_handoff_deleted_files_total"] == 0
    assert values["audit_handoff_cleaner_errors_total"] == 0
    for name, kind, _, _ in script.SERIES:
        assert f"# TYPE {name} {kind}" in text[0]
        assert f"# HELP {name} " in text[0]
    log = [json.loads(line) for line in supervisor.log_path("cleaner").read_text().splitlines()]
    assert [entry["event"] for entry in log] == ["started", "stopped"]  # idle cycles are quiet


def test_the_relp_file_of_a_minute_ends_with_its_minute() -> None:
    # rsyslog writes RELP records to a file of their own (components/node_syslog/rsyslog.py).
    plain = script.minute_end("audit-20261130T0100.log")
    assert plain is not None
    assert script.minute_end("audit-20261130T0100-relp.log") == plain
    for name in ("audit-20261130T0100-tcp.log", "audit-20261130T0100-relp.log.1"):
        assert script.minute_end(name) is None
