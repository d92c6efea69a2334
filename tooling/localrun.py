"""Run the real agent on this machine, loopback only: for `make e2e`, the tests and the bench.

A stack's rendered Fluent Bit config is run as it is, with only its paths (storage.path,
each S3 store_dir, the handoff files it reads and their offset database) moved under a temp
dir, its ports (HTTP server, rsyslog-stats input) moved to free 127.0.0.1 ports, and its S3
routes pointed at a moto server on loopback. Outputs that
need a server this machine does not have (OpenSearch, CloudWatch, ...) are left out.

Every process is started by a Supervisor, which writes its output to `<root>/<name>.log`
(readable while it runs) and stops it by pid: SIGTERM first (the agent flushes), SIGKILL if
it does not exit in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from components.agent.config import HANDOFF_DB_FILE, to_yaml
from components.agent.handoff_cleaner import INTERVAL_SECONDS, SETTLE_SECONDS
from components.agent.handoff_cleaner import METRICS_PATH as CLEANER_METRICS_PATH
from components.agent.handoff_cleaner import SCRIPT_SOURCE as CLEANER_SCRIPT
from components.node_syslog.rsyslog import HANDOFF_GLOB, NodeSyslogSettings, render_main_conf
from tooling.loopback import LOOPBACK, free_port, wait_until

# Outputs that reach a server this machine does not have are dropped; S3 goes to moto.
LOCAL_OUTPUTS = ("s3", "stdout", "prometheus_exporter")
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local-access-key",
    "AWS_SECRET_ACCESS_KEY": "local-secret-key",  # moto accepts any key
}
# What the DaemonSet sets from the downward API.
AGENT_NODE_ENV = {"NODE_NAME": "local-node", "HOST_IP": LOOPBACK}
# A Fluent Bit log line: "[2026/11/30 00:10:00.123] [ warn] [output:s3:s3.0] ..."
_LOG_LINE = re.compile(r"^\[[^\]]+\] \[ *(?P<level>[a-z]+)\] (?P<text>.*)$")


class LocalRunError(Exception):
    """A step of a local run that failed, as one line."""


def write_node_rsyslog(settings: NodeSyslogSettings, node_root: Path, dropin_text: str) -> Path:
    """A node's rsyslog files under `node_root` as the installer lays them out (work, spool
    and handoff directories, the drop-in, a main config including it); returns the main
    config's path."""
    for directory in (
        settings.work_directory,
        settings.spool_directory,
        settings.handoff_directory,
    ):
        Path(directory).mkdir(parents=True, exist_ok=True)
    dropin = node_root / "60-container-audit-log.conf"
    dropin.write_text(dropin_text, encoding="utf-8")
    main_conf = node_root / "rsyslog.conf"
    main_conf.write_text(render_main_conf(settings, dropin_path=str(dropin)), encoding="utf-8")
    return main_conf


def check_rsyslog_config(rsyslogd: str, main_conf: Path) -> None:
    """`rsyslogd -N1`: LocalRunError with rsyslogd's complaint when it rejects the config."""
    check = subprocess.run(
        [rsyslogd, "-N1", "-f", str(main_conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if check.returncode != 0:
        raise LocalRunError(f"rsyslogd rejects the rendered config: {check.stderr.strip()[-300:]}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class _Started:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    stop_timeout: float


class Supervisor:
    """Starts daemons with their output in `<root>/<name>.log`; stops each by pid."""

    def __init__(self, root: Path, announce: str | None = None) -> None:
        self.root = root
        self.announce = announce  # prefix of "started"/"stopped" lines on stdout, or silent
        self.started: list[_Started] = []

    def log_path(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        stop_timeout: float = 40.0,
    ) -> subprocess.Popen[bytes]:
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
        )
        self.started.append(_Started(name, process, log, stop_timeout))
        self._say(f"started {name} (pid {process.pid})")
        return process

    def check(self) -> None:
        """LocalRunError when a started process has exited."""
        for entry in self.started:
            if entry.process.poll() is not None:
                raise LocalRunError(
                    f"{entry.name} exited with {entry.process.returncode}: {self.tail(entry.name)}"
                )

    def tail(self, name: str, lines: int = 5) -> str:
        path = self.log_path(name)
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def stop(self, name: str) -> int | None:
        """Stop one process by pid (SIGTERM, then SIGKILL); its exit code (None if unknown)."""
        for entry in list(self.started):
            if entry.name == name:
                self.started.remove(entry)
                return self._stop(entry)
        raise KeyError(name)

    def _stop(self, entry: _Started) -> int | None:
        process = entry.process
        try:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=entry.stop_timeout)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            self._say(f"stopped {entry.name} (pid {process.pid})")
        except ProcessLookupError:
            pass
        finally:
            entry.log.close()
        return process.returncode

    def stop_all(self) -> None:
        """Stop in reverse start order (each daemon flushes into the one after it)."""
        while self.started:
            self._stop(self.started.pop())

    def _say(self, line: str) -> None:
        if self.announce is not None:
            print(f"{self.announce}: {line}", flush=True)


# --- S3 on loopback (moto server) --------------------------------------------------------


def start_moto(supervisor: Supervisor, port: int | None = None) -> str:
    """A moto S3 server on 127.0.0.1; its endpoint URL."""
    port = port or free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
    supervisor.start("moto", argv, stop_timeout=10)

    def up() -> bool:
        supervisor.check()
        return http_ok(f"{endpoint}/moto-api/")

    wait_until(up, 60, "moto server", interval=0.1)
    return endpoint


def s3_client(endpoint: str, region: str) -> Any:
    """A client of the moto server with the run's dummy keys, path-style like the agent."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=20),
    )


def create_bucket(endpoint: str, bucket: str, region: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(endpoint, region)
    where = (
        {}
        if region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    )
    try:
        client.create_bucket(Bucket=bucket, **where)
    except (BotoCoreError, ClientError) as error:
        raise LocalRunError(f"cannot create bucket {bucket} on {endpoint}: {error}") from None


# --- the agent ---------------------------------------------------------------------------


def handoff_file(directory: Path, now: datetime | None = None) -> Path:
    """The handoff file node syslog writes at `now` (components.node_syslog.rsyslog names it)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return directory / HANDOFF_GLOB.replace("*", f"{moment:%Y%m%dT%H%M}")


def hand_off(directory: Path, lines: Sequence[str]) -> None:
    """Append `lines` to the current handoff file, one per line, as node syslog does."""
    directory.mkdir(parents=True, exist_ok=True)
    with handoff_file(directory).open("a", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in lines))


def remap_agent_config(
    config: Mapping[str, Any],
    root: Path,
    http_port: int,
    endpoint: str,
    bucket: str | None,
    handoff: Path,
) -> tuple[dict[str, Any], list[str]]:
    """The rendered config with buffers under `root`, loopback ports, S3 on `endpoint`, and
    its tail input reading the handoff files in `handoff`.

    `bucket` replaces every S3 route's bucket when given. Returns the config and the
    aliases of the outputs dropped (no such server here). Nothing else changes.
    """
    storage = root / "buffer"
    service = {**config["service"], "storage.path": str(storage), "http_port": str(http_port)}
    pipeline = config["pipeline"]
    inputs: list[dict[str, Any]] = []
    for entry in pipeline["inputs"]:
        if entry["name"] == "tail":
            # The handoff files and the offsets of what was read, both moved.
            entry = {
                **entry,
                "path": str(handoff / HANDOFF_GLOB),
                "db": str(storage / HANDOFF_DB_FILE),
            }
        elif "port" in entry:  # the rsyslog-stats TCP input
            entry = {**entry, "listen": LOOPBACK, "port": str(free_port())}
        inputs.append(dict(entry))
    outputs: list[dict[str, Any]] = []
    dropped: list[str] = []
    for entry in pipeline["outputs"]:
        name = str(entry["name"])
        if name not in LOCAL_OUTPUTS:
            dropped.append(str(entry.get("alias", name)))
            continue
        if name == "prometheus_exporter":
            entry = {**entry, "host": LOOPBACK, "port": str(free_port())}
        if name == "s3":
            alias = str(entry.get("alias", "s3"))
            entry = {
                **entry,
                "endpoint": endpoint,
                "bucket": bucket or entry["bucket"],
                "store_dir": str(root / "s3" / alias),
            }
        outputs.append(dict(entry))
    remapped = {
        **config,
        "service": service,
        "pipeline": {**pipeline, "inputs": inputs, "outputs": outputs},
    }
    return remapped, dropped


@dataclass(frozen=True)
class LogLine:
    level: str  # error, warn, info, debug, trace
    text: str


def parse_agent_log(text: str) -> list[LogLine]:
    """The agent's own log lines (level and text); other output (stdout records) is skipped."""
    lines = []
    for raw in text.splitlines():
        match = _LOG_LINE.match(raw)
        if match:
            lines.append(LogLine(match.group("level"), match.group("text")))
    return lines


@dataclass
class RunningAgent:
    """A started agent: where it listens, its config and log, how to stop it."""

    supervisor: Supervisor
    name: str
    binary: str
    config: dict[str, Any]
    config_path: Path
    http_port: int
    handoff: Path  # the directory of the handoff files it reads
    pid: int
    dropped: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def log_path(self) -> Path:
        return self.supervisor.log_path(self.name)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_lines(self, *levels: str) -> list[LogLine]:
        """The agent's log lines, only those of `levels` when given."""
        lines = parse_agent_log(self.log_text())
        return [line for line in lines if not levels or line.level in levels]

    @property
    def health_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}/api/v1/health"

    def metrics(self) -> dict[str, Any]:
        """The agent's /api/v1/metrics document (records and bytes per plugin)."""
        url = f"http://{LOOPBACK}:{self.http_port}/api/v1/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            loaded: dict[str, Any] = json.loads(response.read())
        return loaded

    def hand_off(self, lines: Sequence[str]) -> None:
        """Lines for the agent to read, written as node syslog writes them."""
        hand_off(self.handoff, lines)

    def stop(self) -> int | None:
        """SIGTERM (the agent flushes and uploads what it holds), SIGKILL past the timeout."""
        if self.exit_code is None:
            self.exit_code = self.supervisor.stop(self.name)
        return self.exit_code


def grace_seconds(config: Mapping[str, Any]) -> float:
    return float(config.get("service", {}).get("grace", 5))


def start_agent(
    supervisor: Supervisor,
    binary: str,
    config: Mapping[str, Any],
    root: Path,
    *,
    endpoint: str,
    bucket: str | None = None,
    region: str = "us-east-1",
    name: str = "fluent-bit",
    http_port: int | None = None,
    handoff: Path | None = None,
    env: Mapping[str, str] | None = None,
    health_timeout: float = 60.0,
) -> RunningAgent:
    """Remap `config` (remap_agent_config), write it, start the agent, wait for /health.
    It reads the handoff files in `handoff` (default: `<root>/<name>/handoff`)."""
    http_port = http_port or free_port()
    handoff = handoff or root / name / "handoff"
    handoff.mkdir(parents=True, exist_ok=True)
    remapped, dropped = remap_agent_config(
        config, root / name, http_port, endpoint, bucket, handoff
    )
    path = root / name / "fluent-bit.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(remapped), encoding="utf-8")
    agent_env = {
        **os.environ,
        **DUMMY_AWS_ENV,
        **AGENT_NODE_ENV,
        "AWS_REGION": region,
        **(env or {}),
    }
    # A stopping agent may take `grace` seconds to flush; give it that and a margin.
    process = supervisor.start(
        name, [binary, "-c", str(path)], agent_env, stop_timeout=grace_seconds(remapped) + 30
    )
    agent = RunningAgent(
        supervisor, name, binary, remapped, path, http_port, handoff, process.pid, dropped
    )

    def healthy() -> bool:
        supervisor.check()
        return http_ok(agent.health_url)

    wait_until(
        healthy,
        health_timeout,
        f"{name} health endpoint",
        interval=0.1,
        diagnose=lambda: supervisor.tail(name, 20),
    )
    return agent


def tail_db(config: Mapping[str, Any]) -> Path:
    """The offset database of a (remapped) agent config's handoff input."""
    (tail,) = [entry for entry in config["pipeline"]["inputs"] if entry["name"] == "tail"]
    return Path(tail["db"])


def cleaner_process(
    handoff: Path, database: Path, *, interval_s: int, settle_s: int, metrics_port: int
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the pod's handoff cleaner run here (metrics_port 0: none)."""
    env = {
        **os.environ,
        "HANDOFF_DIR": str(handoff),
        "TAIL_DB": str(database),
        "INTERVAL_SECONDS": str(interval_s),
        "SETTLE_SECONDS": str(settle_s),
        "METRICS_ADDRESS": LOOPBACK,
        "METRICS_PORT": str(metrics_port),
    }
    return [sys.executable, str(CLEANER_SCRIPT)], env


def start_cleaner(
    supervisor: Supervisor,
    agent: RunningAgent,
    *,
    settle_s: int = SETTLE_SECONDS,
    interval_s: int = INTERVAL_SECONDS,
    name: str = "handoff-cleaner",
) -> str:
    """The agent pod's handoff cleaner, run on this machine beside `agent` (its script, its
    handoff directory and tail database); the URL of its metrics."""
    port = free_port()
    argv, env = cleaner_process(
        agent.handoff,
        tail_db(agent.config),
        interval_s=interval_s,
        settle_s=settle_s,
        metrics_port=port,
    )
    supervisor.start(name, argv, env, stop_timeout=10)
    url = f"http://{LOOPBACK}:{port}{CLEANER_METRICS_PATH}"

    def serving() -> bool:
        supervisor.check()
        return http_ok(url)

    wait_until(serving, 30, f"{name} metrics", interval=0.1)
    return url


def wait_for_log(agent: RunningAgent, pattern: str, timeout: float) -> LogLine:
    """The first agent log line whose text matches `pattern`, waiting up to `timeout`."""
    regex = re.compile(pattern)
    found: list[LogLine] = []

    def seen() -> bool:
        found[:] = [line for line in agent.log_lines() if regex.search(line.text)]
        return bool(found)

    wait_until(seen, timeout, f"agent log line /{pattern}/", interval=0.2)
    return found[0]


@contextlib.contextmanager
def supervised(root: Path, announce: str | None = None) -> Iterator[Supervisor]:
    """A Supervisor that stops everything it started when the block ends."""
    supervisor = Supervisor(root, announce)
    try:
        yield supervisor
    finally:
        supervisor.stop_all()
