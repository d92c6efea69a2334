"""One node on this machine, loopback only: rsyslogd and Fluent Bit with the `local`
stack's rendered configs, S3 served by moto behind the fault proxy.

    sender -> rsyslogd (node config) -> fluent-bit (agent config) -> FaultProxy -> moto

What the rig changes in the rendered configs, and nothing else: paths under a temp dir,
ports on 127.0.0.1, the S3 endpoint (the proxy), the S3 upload timeout (shortened so a
run takes a minute, not an hour: the retry timer scales with it), the agent's log level
(info: debug at thousands of records per second fills the disk of a shared machine) and
no stdout route (it copies every record into the agent's log). Every process the rig
starts is stopped by pid when it closes, SIGKILL after a bounded wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from components.render.fluent_bit_config import to_yaml
from components.render.rsyslog import render_main_conf, render_rsyslog_conf
from tooling.e2e import LocalStack, load_local_stack, remap_node_syslog
from tooling.faults.proxy import FaultProxy
from tooling.localrun import (
    DUMMY_AWS_ENV,
    AgentPorts,
    create_bucket,
    http_ok,
    remap_agent_config,
    s3_client,
)
from tooling.loopback import LOOPBACK, free_port, wait_until

NODE = "fault-node"
_OUTPUT_COUNTER = re.compile(
    r'^fluentbit_output_(?P<metric>[a-z_]+_total)\{name="(?P<plugin>[^"]+)"\} (?P<value>[0-9.e+]+)$'
)


class RigError(Exception):
    """A daemon would not start or stop; one line."""


def find_rsyslogd() -> str | None:
    return shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")


class Daemon:
    """One started process, its output in <root>/<name>.log (appended across restarts)."""

    def __init__(self, name: str, argv: list[str], root: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = root / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send_signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 45.0) -> int:
        """Send `signum`, wait up to `timeout`, then SIGKILL; the exit code (negative: signal)."""
        self.send_signal(signum)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()
        return int(self.process.returncode)

    def tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"


@dataclass(frozen=True)
class RigPorts:
    syslog: int
    agent: int
    http: int
    moto: int

    @classmethod
    def free(cls) -> RigPorts:
        return cls(syslog=free_port(), agent=free_port(), http=free_port(), moto=free_port())


class Rig:
    """The node and its S3; `with Rig(...) as rig:` starts moto and the proxy, the
    daemons start with start_agent() and start_rsyslog()."""

    def __init__(
        self,
        root: Path,
        fluent_bit: str,
        rsyslogd: str,
        upload_timeout_s: int,
        stack: LocalStack | None = None,
        s3_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.fluent_bit = fluent_bit
        self.rsyslogd = rsyslogd
        self.upload_timeout_s = upload_timeout_s
        # Keys of the S3 output to set differently, to show what a setting does (a row of
        # the fault table); empty for the configs as rendered.
        self.s3_overrides = dict(s3_overrides or {})
        self.stack = stack or load_local_stack()
        self.ports = RigPorts.free()
        self.agent: Daemon | None = None
        self.rsyslog: Daemon | None = None
        self._moto: Daemon | None = None
        self.proxy: FaultProxy | None = None
        self.s3_back_at: float | None = None  # monotonic time an S3 outage ended
        self.moto_endpoint = f"http://{LOOPBACK}:{self.ports.moto}"
        self._agent_config = root / "fluent-bit" / "fluent-bit.yaml"
        self._rsyslog_conf = root / "rsyslog" / "rsyslog.conf"

    # --- S3 ------------------------------------------------------------------------------

    def __enter__(self) -> Rig:
        try:
            self._start_moto()
            self.proxy = FaultProxy(self.ports.moto)
            self._write_agent_config()
            self._write_rsyslog_conf()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def bucket(self) -> str:
        return self.stack.bucket

    def s3(self) -> Any:
        """A client of moto itself, not through the proxy: the archive as it is."""
        return s3_client(self.moto_endpoint, self.stack.region)

    def _start_moto(self) -> None:
        argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.ports.moto)]
        self._moto = Daemon("moto", argv, self.root, dict(os.environ))
        wait_until(
            lambda: self._check(self._moto) and http_ok(f"{self.moto_endpoint}/moto-api/"),
            60,
            "moto server",
            interval=0.2,
        )
        create_bucket(self.moto_endpoint, self.bucket, self.stack.region)

    # --- the agent -----------------------------------------------------------------------

    def _write_agent_config(self) -> None:
        assert self.proxy is not None
        ports = AgentPorts(syslog=self.ports.agent, http=self.ports.http)
        endpoint = f"http://{LOOPBACK}:{self.proxy.port}"
        config, _ = remap_agent_config(
            self.stack.agent_config, self.root / "fluent-bit", ports, endpoint, self.bucket
        )
        outputs = [
            {**entry, "upload_timeout": f"{self.upload_timeout_s}s", **self.s3_overrides}
            for entry in config["pipeline"]["outputs"]
            if entry["name"] == "s3"
        ]
        config = {
            **config,
            "service": {**config["service"], "log_level": "info", "http_listen": LOOPBACK},
            "pipeline": {**config["pipeline"], "outputs": outputs},
        }
        self._agent_config.parent.mkdir(parents=True, exist_ok=True)
        self._agent_config.write_text(to_yaml(config), encoding="utf-8")

    def start_agent(self) -> None:
        env = {
            **os.environ,
            **DUMMY_AWS_ENV,
            "AWS_REGION": self.stack.region,
            "NODE_NAME": NODE,
            "HOST_IP": LOOPBACK,
        }
        argv = [self.fluent_bit, "-c", str(self._agent_config)]
        self.agent = Daemon("fluent-bit", argv, self.root, env)
        health = f"http://{LOOPBACK}:{self.ports.http}/api/v1/health"
        wait_until(
            lambda: self._check(self.agent) and http_ok(health), 60, "fluent-bit health endpoint"
        )

    def stop_agent(self, signum: int, timeout: float = 45.0) -> int:
        assert self.agent is not None
        return self.agent.stop(signum, timeout)

    # --- rsyslogd ------------------------------------------------------------------------

    def _write_rsyslog_conf(self) -> None:
        node_root = self.root / "rsyslog"
        settings = remap_node_syslog(self.stack.node_syslog, node_root, self.ports.syslog)
        for directory in (settings.work_directory, settings.spool_directory):
            Path(directory).mkdir(parents=True, exist_ok=True)
        dropin = node_root / "60-container-audit-log.conf"
        dropin.write_text(
            render_rsyslog_conf(settings, self.ports.agent, LOOPBACK), encoding="utf-8"
        )
        self._rsyslog_conf.write_text(
            render_main_conf(settings, dropin_path=str(dropin)), encoding="utf-8"
        )

    def start_rsyslog(self) -> None:
        pidfile = self.root / "rsyslog" / "rsyslogd.pid"
        pidfile.unlink(missing_ok=True)  # left by a killed rsyslogd; it refuses to start over it
        argv = [self.rsyslogd, "-n", "-f", str(self._rsyslog_conf), "-i", str(pidfile)]
        self.rsyslog = Daemon("rsyslogd", argv, self.root, dict(os.environ))

        def listening() -> bool:
            self._check(self.rsyslog)
            with (
                contextlib.suppress(OSError),
                socket.create_connection((LOOPBACK, self.ports.syslog), 1),
            ):
                return True
            return False

        wait_until(listening, 30, "rsyslogd to listen", interval=0.1)

    def stop_rsyslog(self, signum: int, timeout: float = 45.0) -> int:
        assert self.rsyslog is not None
        return self.rsyslog.stop(signum, timeout)

    # --- all -----------------------------------------------------------------------------

    @staticmethod
    def _check(daemon: Daemon | None) -> bool:
        if daemon is not None and not daemon.alive():
            raise RigError(
                f"{daemon.name} exited with {daemon.process.returncode}: {daemon.tail()}"
            )
        return True

    def agent_metrics(self) -> dict[str, float]:
        """The agent's Prometheus counters of its S3 output (empty if it does not answer)."""
        url = f"http://{LOOPBACK}:{self.ports.http}/api/v2/metrics/prometheus"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError):
            return {}
        aliases = self._s3_aliases()
        found: dict[str, float] = {}
        for line in text.splitlines():
            match = _OUTPUT_COUNTER.match(line)
            if match and match.group("plugin") in aliases:
                found[match.group("metric")] = float(match.group("value"))
        return found

    def _s3_aliases(self) -> set[str]:
        return {
            str(o.get("alias", "s3"))
            for o in self.stack.agent_config["pipeline"]["outputs"]
            if o["name"] == "s3"
        }

    def agent_log(self) -> str:
        path = self.root / "fluent-bit.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        """rsyslogd, then the agent, then moto: SIGTERM each, SIGKILL if it hangs."""
        for daemon in (self.rsyslog, self.agent, self._moto):
            if daemon is not None:
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    daemon.stop(signal.SIGTERM, timeout=20)
        if self.proxy is not None:
            self.proxy.close()
