"""One node on this machine, loopback only: rsyslogd and Fluent Bit with the `local`
stack's rendered configs, S3 served by moto behind the fault proxy.

    sender (TCP or RELP) -> rsyslogd (node config) -> handoff files
           -> fluent-bit (agent config) -> FaultProxy -> moto

What the rig changes in the rendered configs, and nothing else: paths under `root`, ports
(TCP and, when the stack enables it, RELP) on 127.0.0.1, the S3 endpoint (the proxy), the
S3 upload timeout (shortened so a run takes a minute, not an hour: the retry timer scales
with it), the agent's log level (info: debug at thousands of records per second fills the
disk of a shared machine) and no stdout route (it copies every record into the agent's
log). Options change more, to measure what
a setting does: `grace`, `s3_overrides`, `node_overrides`.

Each daemon can be stopped with any signal (by pid) and started again on the same state
(queue files, handoff files, buffers); `close()` stops what still runs, SIGKILL after a
bounded wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal

from components.agent.config import to_yaml
from components.node_syslog.rsyslog import NodeSyslogSettings, render_rsyslog_conf
from tooling.e2e import load_local_stack, remap_node_syslog
from tooling.faults.proxy import FaultProxy
from tooling.localrun import (
    DUMMY_AWS_ENV,
    cleaner_process,
    create_bucket,
    http_ok,
    remap_agent_config,
    s3_client,
    tail_db,
    write_node_rsyslog,
)
from tooling.loopback import LOOPBACK, free_port, wait_until
from tooling.relp import INSTALL_HINT, imrelp_module

NODE = "fault-node"
CLEANER_SETTLE_S = 5
DaemonName = Literal["agent", "rsyslogd"]
_OUTPUT_COUNTER = re.compile(
    r'^fluentbit_output_(?P<metric>[a-z_]+_total)\{name="(?P<plugin>[^"]+)"\} (?P<value>[0-9.e+]+)$'
)


class RigError(Exception):
    """A daemon would not start; one line."""


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

    def alive(self) -> bool:
        return self.process.poll() is None

    def send_signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        """The exit code (negative: the signal), SIGKILL past `timeout`."""
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


class Rig:
    """The node and its S3. `with Rig(...) as rig:` starts moto and the proxy and writes
    the configs; `start("agent")`, `start("rsyslogd")` start the daemons."""

    def __init__(
        self,
        root: Path,
        fluent_bit: str,
        rsyslogd: str,
        upload_timeout_s: int,
        *,
        down_s: float = 5.0,
        grace: int | None = None,
        s3_overrides: Mapping[str, str] | None = None,
        node_overrides: Mapping[str, object] | None = None,
    ) -> None:
        self.root = root
        self.fluent_bit, self.rsyslogd = fluent_bit, rsyslogd
        self.upload_timeout_s = upload_timeout_s
        self.down_s = down_s  # how long a fault keeps a daemon down before restarting it
        self.grace = grace  # the agent's `grace`; None: as rendered
        self.s3_overrides = dict(s3_overrides or {})
        self.node_overrides = dict(node_overrides or {})
        self.stack = load_local_stack()
        self.bucket = self.stack.bucket
        self.syslog_port, self.http_port, moto_port = (free_port() for _ in range(3))
        # RELP (if the stack enables it): senders that are acknowledged (tooling.relp).
        self.relp_port = free_port() if self._node_syslog().relp.enabled else None
        self.handoff = root / "handoff"  # node syslog writes, the agent reads
        self.moto_endpoint = f"http://{LOOPBACK}:{moto_port}"
        self.daemons: dict[str, Daemon] = {}
        # Every stop by a fault: (daemon, signal, exit code); a negative code is a crash.
        self.exits: list[tuple[str, int, int]] = []
        self.s3_back_at: float | None = None  # monotonic time an S3 outage ended
        self.proxy: FaultProxy | None = None
        self._argv: dict[str, list[str]] = {}

    def __enter__(self) -> Rig:
        try:
            moto_port = self.moto_endpoint.rsplit(":", 1)[1]
            argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", moto_port]
            self.daemons["moto"] = Daemon("moto", argv, self.root, dict(os.environ))
            wait_until(
                lambda: self._check("moto") and http_ok(f"{self.moto_endpoint}/moto-api/"),
                60,
                "moto server",
                interval=0.2,
            )
            if self.relp_port is not None and imrelp_module() is None:
                raise RigError(f"the node enables RELP, but imrelp is missing: {INSTALL_HINT}")
            create_bucket(self.moto_endpoint, self.bucket, self.stack.region)
            self.proxy = FaultProxy(int(moto_port))
            self._argv["agent"] = [self.fluent_bit, "-c", str(self._write_agent_config())]
            self._start_cleaner()
            pidfile = self.root / "rsyslog" / "rsyslogd.pid"
            conf = self._write_rsyslog_conf()
            self._argv["rsyslogd"] = [self.rsyslogd, "-n", "-f", str(conf), "-i", str(pidfile)]
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def s3(self) -> Any:
        """A client of moto itself, not through the proxy: the archive as it is."""
        return s3_client(self.moto_endpoint, self.stack.region)

    # --- configs -----------------------------------------------------------------------

    def _write_agent_config(self) -> Path:
        assert self.proxy is not None
        agent_root = self.root / "fluent-bit"
        endpoint = f"http://{LOOPBACK}:{self.proxy.port}"
        config, _ = remap_agent_config(
            self.stack.agent_config, agent_root, self.http_port, endpoint, self.bucket, self.handoff
        )
        self._agent_db = tail_db(config)
        service = {**config["service"], "log_level": "info", "http_listen": LOOPBACK}
        if self.grace is not None:
            service["grace"] = str(self.grace)
        outputs = [
            {**entry, "upload_timeout": f"{self.upload_timeout_s}s", **self.s3_overrides}
            for entry in config["pipeline"]["outputs"]
            if entry["name"] == "s3"
        ]
        config = {
            **config,
            "service": service,
            "pipeline": {**config["pipeline"], "outputs": outputs},
        }
        agent_root.mkdir(parents=True, exist_ok=True)
        path = agent_root / "fluent-bit.yaml"
        path.write_text(to_yaml(config), encoding="utf-8")
        return path

    def _node_syslog(self) -> NodeSyslogSettings:
        return NodeSyslogSettings.model_validate(
            {**self.stack.node_syslog.model_dump(by_alias=True), **self.node_overrides}
        )

    def _write_rsyslog_conf(self) -> Path:
        node_root = self.root / "rsyslog"
        settings = remap_node_syslog(
            self._node_syslog(), node_root, self.syslog_port, self.handoff, self.relp_port
        )
        return write_node_rsyslog(settings, node_root, render_rsyslog_conf(settings))

    # --- daemons -----------------------------------------------------------------------

    def _start_cleaner(self) -> None:
        """The pod's handoff cleaner, running throughout (a sidecar outlives the agent
        container's crashes): it deletes read files while the faults happen. A short settle
        time so it deletes within a run; the rendered 120 s only adds safety margin."""
        argv, env = cleaner_process(
            self.handoff, self._agent_db, interval_s=1, settle_s=CLEANER_SETTLE_S, metrics_port=0
        )
        self.handoff.mkdir(parents=True, exist_ok=True)
        self.daemons["cleaner"] = Daemon("cleaner", argv, self.root, env)

    def cleaner_deleted(self) -> int:
        """Handoff files the cleaner deleted so far (its log: one line per file)."""
        path = self.root / "cleaner.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text.count('"event": "deleted"')

    def start(self, name: DaemonName) -> None:
        """Start `name` on the state it left and wait until it serves."""
        if name in self.daemons and self.daemons[name].alive():
            raise RigError(f"{name} already running")
        env = dict(os.environ)
        if name == "agent":
            env |= {
                **DUMMY_AWS_ENV,
                "AWS_REGION": self.stack.region,
                "NODE_NAME": NODE,
                "HOST_IP": LOOPBACK,
            }
        else:  # a killed rsyslogd leaves its pid file, and refuses to start over it
            Path(self._argv["rsyslogd"][-1]).unlink(missing_ok=True)
        self.daemons[name] = Daemon(name, self._argv[name], self.root, env)
        health = f"http://{LOOPBACK}:{self.http_port}/api/v1/health"

        def ready() -> bool:
            self._check(name)
            if name == "agent":
                return http_ok(health)
            ports = [self.syslog_port, *([self.relp_port] if self.relp_port else [])]
            return all(self._listens(port) for port in ports)

        wait_until(ready, 60, f"{name} to serve", interval=0.1)

    def kill(self, *names: DaemonName, signum: int = signal.SIGKILL) -> None:
        """Send `signum` to each of `names` at once (by pid), then wait for each exit (a
        SIGTERM'd agent gets `grace` and more)."""
        for name in names:
            self.daemons[name].send_signal(signum)
        timeout = (self.grace or 30) + 30.0 if signum == signal.SIGTERM else 30.0
        for name in names:
            self.exits.append((name, signum, self.daemons[name].wait(timeout)))

    def restart(self, name: DaemonName, signum: int) -> None:
        self.kill(name, signum=signum)
        if signum == signal.SIGKILL:
            # SIGKILL is a crash: the restart comes after a while (a pod's restart delay).
            time.sleep(self.down_s)
        self.start(name)

    @staticmethod
    def _listens(port: int) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
            return True
        return False

    def _check(self, name: str) -> bool:
        daemon = self.daemons.get(name)
        if daemon is not None and not daemon.alive():
            raise RigError(f"{name} exited with {daemon.process.returncode}: {daemon.tail()}")
        return True

    # --- what the agent says -----------------------------------------------------------

    def agent_input_records(self) -> int:
        """Records the running agent's inputs took in since it started (its metrics)."""
        try:
            url = f"http://{LOOPBACK}:{self.http_port}/api/v1/metrics"
            with urllib.request.urlopen(url, timeout=2) as response:
                metrics = json.loads(response.read())
        except OSError:
            return 0
        return sum(int(entry.get("records", 0)) for entry in metrics.get("input", {}).values())

    def agent_metrics(self) -> dict[str, float]:
        """The agent's Prometheus counters of its S3 output (empty if it does not answer)."""
        url = f"http://{LOOPBACK}:{self.http_port}/api/v2/metrics/prometheus"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode("utf-8", "replace")
        except OSError:
            return {}
        aliases = {
            str(o.get("alias", "s3"))
            for o in self.stack.agent_config["pipeline"]["outputs"]
            if o["name"] == "s3"
        }
        found: dict[str, float] = {}
        for line in text.splitlines():
            match = _OUTPUT_COUNTER.match(line)
            if match and match["plugin"] in aliases:
                found[match["metric"]] = float(match["value"])
        return found

    def agent_log(self) -> str:
        path = self.root / "agent.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        """rsyslogd, then the agent, then moto: SIGTERM each, SIGKILL if it hangs."""
        for name in ("rsyslogd", "agent", "cleaner", "moto"):
            daemon = self.daemons.get(name)
            if daemon is not None and daemon.alive():
                daemon.send_signal(signal.SIGTERM)
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    daemon.wait(timeout=(self.grace or 30) + 5.0)
        if self.proxy is not None:
            self.proxy.close()
