"""A node of a stack on loopback, for the monitoring checks: moto behind a TCP proxy that can
make S3 unreachable, the real Fluent Bit and the real rsyslogd with the stack's rendered
configs and monitoring additions (heartbeat, rsyslog counters), paths and ports moved.

Used by the metric-name test and by `make e2e-alerts` (tooling.alert_check). Every daemon
is started by the rig and stopped by pid; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.render.agent_metrics import EXPORTER_PATH
from components.render.agent_monitoring import EXPORTER_OUTPUT, STATS_INPUT
from components.render.fluent_bit import METRICS_PATH, PipelineContext
from components.render.fluent_bit_config import render_fluent_bit_config, to_yaml
from components.render.monitoring import MonitoringSettings
from components.render.routes import parse_duration
from components.render.rsyslog import render_main_conf, render_rsyslog_conf
from components.render.rsyslog_monitoring import render_monitoring_conf
from tooling.e2e import (
    DUMMY_AWS_ENV,
    E2EError,
    Ports,
    Supervisor,
    create_bucket,
    http_ok,
    remap_agent_config,
    remap_node_syslog,
)
from tooling.loopback import LOOPBACK, free_port, wait_until

AGENT_CANDIDATES = ("/opt/fluent-bit-5.1.1/bin/fluent-bit", "/opt/fluent-bit/bin/fluent-bit")
NODE = "rig-node"


def find_fluent_bit() -> str | None:
    """FLUENT_BIT, then `fluent-bit` on PATH, then the build script's install paths."""
    explicit = os.environ.get("FLUENT_BIT")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    found = shutil.which("fluent-bit")
    if found:
        return found
    return next((c for c in AGENT_CANDIDATES if Path(c).is_file()), None)


def find_rsyslogd() -> str | None:
    return shutil.which("rsyslogd") or (
        "/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").is_file() else None
    )


class TcpProxy:
    """127.0.0.1:listen -> 127.0.0.1:target. `cut()` closes the listener and every
    connection (S3 unreachable: connections refused); `restore()` listens again."""

    def __init__(self, listen: int, target: int) -> None:
        self.listen, self.target = listen, target
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def restore(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOOPBACK, self.listen))
        server.listen(64)
        server.settimeout(0.2)
        self._stop.clear()
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        self._stop.set()
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection((LOOPBACK, self.target), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            for conn in (a, b):
                with contextlib.suppress(OSError):
                    conn.close()


@dataclass
class RigPorts:
    agent: Ports = field(default_factory=lambda: Ports(free_port(), free_port(), free_port(), 0))
    moto: int = field(default_factory=free_port)
    proxy: int = field(default_factory=free_port)
    stats: int = field(default_factory=free_port)
    exporter: int = field(default_factory=free_port)

    @property
    def agent_metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.agent.http}{METRICS_PATH}"

    @property
    def exporter_url(self) -> str:
        return f"http://{LOOPBACK}:{self.exporter}{EXPORTER_PATH}"


def remap_monitoring(
    rendered: dict[str, Any], config: dict[str, Any], ports: RigPorts
) -> dict[str, Any]:
    """The monitoring input and output moved to their own loopback ports (the agent remap
    put every input on one port and kept only the s3 and stdout outputs)."""
    pipeline = config["pipeline"]
    inputs = [
        {**i, "port": str(ports.stats)} if i.get("alias") == STATS_INPUT else i
        for i in pipeline["inputs"]
    ]
    outputs = [o for o in pipeline["outputs"] if o.get("alias") != EXPORTER_OUTPUT] + [
        {**o, "host": LOOPBACK, "port": str(ports.exporter)}
        for o in rendered["pipeline"]["outputs"]
        if o.get("alias") == EXPORTER_OUTPUT
    ]
    return {**config, "pipeline": {**pipeline, "inputs": inputs, "outputs": outputs}}


def scrape(url: str) -> str:
    """The metrics text at `url`; "" while nothing listens there yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL
            text: str = response.read().decode("utf-8", "replace")
            return text
    except (urllib.error.URLError, OSError):
        return ""


class MonitoringRig:
    """One node of `stack` (moto, proxy, agent, rsyslogd) under `root`."""

    def __init__(self, stack: str, root: Path, monitoring: MonitoringSettings | None = None):
        from components.config import load_stack_config
        from tooling.engine import load_stack_file

        raw, _ = load_stack_file(stack)
        self.cfg = load_stack_config(raw, stack)
        self.monitoring = monitoring or self.cfg.monitoring
        self.root = root
        self.ports = RigPorts()
        self.bucket = self.cfg.bucket.name or f"audit-log-{stack}"
        self.agent_settings = self.cfg.agent.with_default_bucket(
            self.bucket, self.cfg.region, self.cfg.log_prefix
        )
        self.supervisor = Supervisor(root)
        self.proxy = TcpProxy(self.ports.proxy, self.ports.moto)
        self.upload_timeout_s = max(
            parse_duration(r.upload_timeout) for r in self.agent_settings.s3_routes
        )

    @property
    def endpoint(self) -> str:
        """What the agent uploads to: the proxy."""
        return f"http://{LOOPBACK}:{self.ports.proxy}"

    @property
    def moto_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.moto}"

    def start(self, agent: str, rsyslogd: str | None) -> None:
        self.supervisor.start(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.ports.moto)],
        )
        wait_until(lambda: http_ok(f"{self.moto_endpoint}/moto-api/"), 30, "moto", interval=0.1)
        create_bucket(self.moto_endpoint, self.bucket, self.cfg.region)
        self.proxy.restore()
        self._start_agent(agent)
        if rsyslogd is not None:
            self._start_rsyslog(rsyslogd)

    def _start_agent(self, binary: str) -> None:
        context = PipelineContext(
            self.cfg.cluster.name, self.cfg.environment, monitoring=self.monitoring.agent()
        )
        rendered = render_fluent_bit_config(self.agent_settings, context)
        config, _dropped = remap_agent_config(
            rendered, self.root / "fluent-bit", self.ports.agent, self.endpoint, self.bucket
        )
        config = remap_monitoring(rendered, config, self.ports)
        path = self.root / "fluent-bit.yaml"
        path.write_text(to_yaml(config), encoding="utf-8")
        env = {
            **os.environ,
            **DUMMY_AWS_ENV,
            "AWS_REGION": self.cfg.region,
            "NODE_NAME": NODE,
            "HOST_IP": LOOPBACK,
        }
        self.supervisor.start("fluent-bit", [binary, "-c", str(path)], env)

        def healthy() -> bool:
            self.supervisor.check()
            return http_ok(f"http://{LOOPBACK}:{self.ports.agent.http}/api/v1/health")

        wait_until(healthy, 30, "fluent-bit health endpoint", interval=0.1)

    def _start_rsyslog(self, rsyslogd: str) -> None:
        node = self.root / "rsyslog"
        settings = remap_node_syslog(self.cfg.node_syslog, node, self.ports.agent.syslog)
        for directory in (settings.work_directory, settings.spool_directory):
            Path(directory).mkdir(parents=True, exist_ok=True)
        monitoring = self.monitoring.rsyslog()
        monitoring = type(monitoring)(
            heartbeat_interval_s=monitoring.heartbeat_interval_s,
            heartbeat_message=monitoring.heartbeat_message,
            stats_interval_s=monitoring.stats_interval_s,
            stats_port=self.ports.stats,
        )
        dropin = node / "60-container-audit-log.conf"
        dropin.write_text(
            render_rsyslog_conf(settings, self.ports.agent.agent, LOOPBACK)
            + render_monitoring_conf(monitoring, LOOPBACK),
            encoding="utf-8",
        )
        main_conf = node / "rsyslog.conf"
        main_conf.write_text(render_main_conf(settings, dropin_path=str(dropin)), encoding="utf-8")
        check = subprocess.run(
            [rsyslogd, "-N1", "-f", str(main_conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if check.returncode != 0:
            raise E2EError(f"rsyslogd rejects the rendered config: {check.stderr.strip()[-300:]}")
        self.rsyslog_pid = self.supervisor.start(
            "rsyslogd", [rsyslogd, "-n", "-f", str(main_conf), "-i", str(node / "rsyslogd.pid")]
        )

    def stop_rsyslog(self) -> None:
        """Stop only rsyslogd (its heartbeat stops), by the pid the rig started it with."""
        for index, (name, process, log) in enumerate(self.supervisor.started):
            if name == "rsyslogd":
                process.terminate()
                process.wait(timeout=30)
                log.close()
                del self.supervisor.started[index]
                return

    def stop(self) -> None:
        self.proxy.cut()
        self.supervisor.stop_all()
