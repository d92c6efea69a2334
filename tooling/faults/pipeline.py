"""One node's pipeline on loopback for the fault scenarios: rsyslogd and Fluent Bit with
the `local` stack's rendered configs, S3 on a moto server.

Only paths (a temp dir), ports (free 127.0.0.1 ports) and the S3 endpoint move; the
agent's upload timeout is shortened so a run takes seconds, and the stdout route (which
copies every record into the agent's log) is left out. Each daemon can be stopped with
any signal and started again on the same state (queue files, buffers, offsets); every
process is stopped by pid when the pipeline closes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from components.render.fluent_bit_config import to_yaml
from components.render.rsyslog import NodeSyslogSettings, render_main_conf, render_rsyslog_conf
from tooling.agent import find_fluent_bit
from tooling.e2e import load_local_stack, remap_node_syslog
from tooling.faults.spool_hop import spool_agent_config, spool_rsyslog_conf
from tooling.localrun import (
    DUMMY_AWS_ENV,
    AgentPorts,
    create_bucket,
    http_ok,
    remap_agent_config,
    s3_client,
)
from tooling.loopback import LOOPBACK, free_port, wait_until

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
NODE_NAME = "fault-node"
REGION = "us-east-1"


def find_agent() -> str | None:
    """The Fluent Bit 5.1.x binary (tooling.agent's lookup), or None."""
    return find_fluent_bit()


@dataclass
class Daemon:
    """A process started from argv with its output in `log`; stopped by pid."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = None

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} already running")
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int, timeout: float = 60.0) -> int | None:
        """Send `signum` and wait for the exit (SIGKILL past `timeout`); the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            code = process.wait(timeout=10)
        if self._out is not None:
            self._out.close()
            self._out = None
        return code

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class NodePipeline:
    """rsyslogd -> Fluent Bit -> moto S3 for one node, every path under `root`."""

    root: Path
    agent_binary: str
    upload_timeout: str = "3s"
    grace: int = 5
    agent_overrides: Mapping[str, str] = field(default_factory=dict)
    # "tcp": the rendered hop (omfwd -> syslog input). "spool": the measured alternative
    # (tooling.faults.spool_hop), for the comparison table only.
    hop: Literal["tcp", "spool"] = "tcp"
    # nodeSyslog settings to change (camelCase keys), e.g. {"queueCheckpointInterval": 1}.
    node_overrides: Mapping[str, object] = field(default_factory=dict)
    bucket: str = field(default_factory=lambda: f"faults-{secrets.token_hex(4)}")
    syslog_port: int = field(default_factory=free_port)
    agent_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    daemons: dict[str, Daemon] = field(default_factory=dict)
    # Every stop by a fault: (daemon, signal, exit code); a negative code is a crash.
    exits: list[tuple[str, int, int | None]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.s3_port}"

    # --- setup ---------------------------------------------------------------------

    def prepare(self) -> None:
        """Write both configs and define the three daemons (nothing started yet)."""
        stack = load_local_stack()
        ports = AgentPorts(syslog=self.agent_port, http=self.http_port)
        agent_root = self.root / "fluent-bit"
        config, _ = remap_agent_config(
            stack.agent_config, agent_root, ports, self.endpoint, self.bucket
        )
        config = self._fault_agent_config(config)
        if self.hop == "spool":
            config = spool_agent_config(config, self.root / "hop-spool")
        agent_root.mkdir(parents=True, exist_ok=True)
        agent_conf = agent_root / "fluent-bit.yaml"
        agent_conf.write_text(to_yaml(config), encoding="utf-8")
        agent_env = {
            **os.environ,
            **DUMMY_AWS_ENV,
            "AWS_REGION": REGION,
            "NODE_NAME": NODE_NAME,
            "HOST_IP": LOOPBACK,
        }
        node_root = self.root / "rsyslog"
        node_syslog = NodeSyslogSettings.model_validate(
            {**stack.node_syslog.model_dump(by_alias=True), **self.node_overrides}
        )
        settings = remap_node_syslog(node_syslog, node_root, self.syslog_port)
        main_conf = self._write_rsyslog(settings, node_root)
        self.daemons = {
            "moto": Daemon(
                "moto",
                [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.s3_port)],
                self.root / "moto.log",
            ),
            "agent": Daemon(
                "agent",
                [self.agent_binary, "-c", str(agent_conf)],
                agent_root / "agent.log",
                agent_env,
            ),
            "rsyslogd": Daemon(
                "rsyslogd",
                [RSYSLOGD, "-n", "-f", str(main_conf), "-i", str(node_root / "rsyslogd.pid")],
                node_root / "rsyslogd.log",
            ),
        }

    def _fault_agent_config(self, config: dict[str, Any]) -> dict[str, Any]:
        service = {**config["service"], "log_level": "info", "grace": str(self.grace)}
        service.update(self.agent_overrides)
        outputs = [
            {**entry, "upload_timeout": self.upload_timeout}
            for entry in config["pipeline"]["outputs"]
            if entry["name"] == "s3"
        ]
        return {
            **config,
            "service": service,
            "pipeline": {**config["pipeline"], "outputs": outputs},
        }

    def _write_rsyslog(self, settings: NodeSyslogSettings, node_root: Path) -> Path:
        for directory in (settings.work_directory, settings.spool_directory):
            Path(directory).mkdir(parents=True, exist_ok=True)
        dropin = node_root / "60-container-audit-log.conf"
        text = render_rsyslog_conf(settings, self.agent_port, LOOPBACK)
        if self.hop == "spool":
            text = spool_rsyslog_conf(text, self.root / "hop-spool")
        dropin.write_text(text)
        main_conf = node_root / "rsyslog.conf"
        main_conf.write_text(render_main_conf(settings, dropin_path=str(dropin)))
        return main_conf

    # --- daemons -------------------------------------------------------------------

    def start_moto(self) -> None:
        self.daemons["moto"].start()
        wait_until(lambda: http_ok(f"{self.endpoint}/moto-api/"), 60, "moto", interval=0.1)
        create_bucket(self.endpoint, self.bucket, REGION)

    def start_agent(self) -> None:
        agent = self.daemons["agent"]
        agent.start()
        url = f"http://{LOOPBACK}:{self.http_port}/api/v1/health"

        def healthy() -> bool:
            if not agent.running:
                raise RuntimeError(f"agent exited: {agent.output()[-800:]}")
            return http_ok(url)

        wait_until(healthy, 60, "agent health", interval=0.1)

    def start_rsyslogd(self) -> None:
        daemon = self.daemons["rsyslogd"]
        daemon.start()

        def listening() -> bool:
            if not daemon.running:
                raise RuntimeError(f"rsyslogd exited: {daemon.output()[-800:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((LOOPBACK, self.syslog_port), 0.5),
            ):
                return True
            return False

        wait_until(listening, 30, "rsyslogd to listen", interval=0.1)

    def agent_input_records(self) -> int:
        """Records the running agent's input took in since it started (its metrics)."""
        import urllib.request

        url = f"http://{LOOPBACK}:{self.http_port}/api/v1/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                metrics = json.loads(response.read())
        except OSError:
            return 0
        return sum(int(entry.get("records", 0)) for entry in metrics.get("input", {}).values())

    def kill(self, name: str, signum: int) -> int | None:
        """Stop one daemon with `signum` (by pid); its exit code (negative: the signal)."""
        timeout = self.grace + 30.0 if signum == signal.SIGTERM else 30.0
        code = self.daemons[name].signal(signum, timeout)
        self.exits.append((name, signum, code))
        return code

    def close(self) -> None:
        """Stop what still runs, by pid: rsyslogd, then the agent, then moto."""
        for name in ("rsyslogd", "agent", "moto"):
            daemon = self.daemons.get(name)
            if daemon is not None and daemon.running:
                daemon.signal(signal.SIGTERM, timeout=self.grace + 20.0)

    # --- the archive ---------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """Every record in the bucket (all objects, gunzipped JSON lines)."""
        client = s3_client(self.endpoint, REGION)
        found: list[dict[str, Any]] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for entry in page.get("Contents", []):
                body = client.get_object(Bucket=self.bucket, Key=entry["Key"])["Body"].read()
                if body[:2] == b"\x1f\x8b":
                    body = gzip.decompress(body)
                found += [json.loads(line) for line in body.decode().splitlines() if line]
        return found


@contextlib.contextmanager
def node_pipeline(root: Path, agent_binary: str, **options: Any) -> Iterator[NodePipeline]:
    """A prepared pipeline with moto, the agent and rsyslogd running; all stopped at exit."""
    pipeline = NodePipeline(root, agent_binary, **options)
    pipeline.prepare()
    try:
        pipeline.start_moto()
        pipeline.start_agent()
        pipeline.start_rsyslogd()
        yield pipeline
    finally:
        pipeline.close()
