"""A node of a stack on loopback, for the monitoring checks: moto behind a TCP proxy that can
make S3 unreachable, the real Fluent Bit and the real rsyslogd with the stack's rendered
configs and monitoring additions (heartbeat, rsyslog counters), paths and ports moved.

Used by the metric-name test and by `make e2e-alerts` (tooling.alert_check). Every daemon
is started by the rig and stopped by pid; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import selectors
import shutil
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from components.agent.config import render_fluent_bit_config
from components.agent.metrics import EXPORTER_PATH
from components.agent.monitoring import EXPORTER_OUTPUT, STATS_INPUT
from components.agent.routes import parse_duration
from components.agent.settings import METRICS_PATH, PipelineContext
from components.monitoring.settings import MonitoringSettings
from components.node_syslog.monitoring import RsyslogMonitoring, render_monitoring_conf
from components.node_syslog.rsyslog import render_rsyslog_conf
from tooling.agent import find_fluent_bit
from tooling.e2e import remap_node_syslog
from tooling.localrun import (
    LocalRunError,
    RunningAgent,
    Supervisor,
    check_rsyslog_config,
    create_bucket,
    start_agent,
    start_cleaner,
    start_moto,
    write_node_rsyslog,
)
from tooling.loopback import LOOPBACK, free_port

NODE = "rig-node"


__all__ = ["MonitoringRig", "TcpProxy", "find_fluent_bit", "find_rsyslogd", "scrape"]


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


def _port_of(entries: list[dict[str, Any]], alias: str) -> int:
    return int(next(e["port"] for e in entries if e.get("alias") == alias))


def scrape(url: str) -> str:
    """The metrics text at `url`; "" while nothing listens there yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL
            text: str = response.read().decode("utf-8", "replace")
            return text
    except (urllib.error.URLError, OSError):
        return ""


class MonitoringRig:
    """One node of `stack` (moto behind a proxy, agent, rsyslogd) under `root`."""

    def __init__(
        self, stack: str, root: Path, monitoring: MonitoringSettings | None = None
    ) -> None:
        from components.config import load_stack_config
        from tooling.engine import load_stack_file

        raw, _ = load_stack_file(stack)
        self.cfg = load_stack_config(raw, stack)
        self.monitoring = monitoring or self.cfg.monitoring
        self.root = root
        self.bucket = self.cfg.bucket.name or f"audit-log-{stack}"
        self.agent_settings = self.cfg.agent.with_default_bucket(
            self.bucket, self.cfg.region, self.cfg.log_prefix
        )
        self.supervisor = Supervisor(root, announce="rig")
        self.proxy_port, self.moto_port = free_port(), free_port()
        self.moto_endpoint = f"http://{LOOPBACK}:{self.moto_port}"
        self.proxy = TcpProxy(self.proxy_port, self.moto_port)
        self.agent: RunningAgent | None = None
        self.cleaner_metrics_url = ""  # set by start()
        self.upload_timeout_s = max(
            parse_duration(r.upload_timeout) for r in self.agent_settings.s3_routes
        )

    @property
    def endpoint(self) -> str:
        """What the agent uploads to: the proxy in front of moto."""
        return f"http://{LOOPBACK}:{self.proxy_port}"

    def _running(self) -> RunningAgent:
        if self.agent is None:
            raise LocalRunError("the rig's agent is not running")
        return self.agent

    @property
    def http_port(self) -> int:
        return self._running().http_port

    @property
    def stats_port(self) -> int:
        return _port_of(self._running().config["pipeline"]["inputs"], STATS_INPUT)

    @property
    def exporter_port(self) -> int:
        return _port_of(self._running().config["pipeline"]["outputs"], EXPORTER_OUTPUT)

    @property
    def agent_metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}{METRICS_PATH}"

    @property
    def exporter_url(self) -> str:
        return f"http://{LOOPBACK}:{self.exporter_port}{EXPORTER_PATH}"

    def start(self, agent: str, rsyslogd: str | None) -> None:
        start_moto(self.supervisor, self.moto_port)
        create_bucket(self.moto_endpoint, self.bucket, self.cfg.region)
        self.proxy.restore()
        context = PipelineContext(
            self.cfg.cluster.name, self.cfg.environment, monitoring=self.monitoring.agent()
        )
        self.agent = start_agent(
            self.supervisor,
            agent,
            render_fluent_bit_config(self.agent_settings, context),
            self.root,
            endpoint=self.endpoint,
            bucket=self.bucket,
            region=self.cfg.region,
            env={"NODE_NAME": NODE},
        )
        # As in the pod: the handoff cleaner beside the agent, serving its own metrics.
        self.cleaner_metrics_url = start_cleaner(self.supervisor, self.agent)
        if rsyslogd is not None:
            self._start_rsyslog(rsyslogd)

    def _start_rsyslog(self, rsyslogd: str) -> None:
        node = self.root / "rsyslog"
        agent = self._running()
        settings = remap_node_syslog(self.cfg.node_syslog, node, free_port(), agent.handoff)
        wanted = self.monitoring.rsyslog()
        monitoring = RsyslogMonitoring(
            heartbeat_interval_s=wanted.heartbeat_interval_s,
            heartbeat_message=wanted.heartbeat_message,
            stats_interval_s=wanted.stats_interval_s,
            stats_port=self.stats_port,
        )
        main_conf = write_node_rsyslog(
            settings,
            node,
            render_rsyslog_conf(settings) + render_monitoring_conf(monitoring, LOOPBACK),
        )
        check_rsyslog_config(rsyslogd, main_conf)
        self.supervisor.start(
            "rsyslogd", [rsyslogd, "-n", "-f", str(main_conf), "-i", str(node / "rsyslogd.pid")]
        )

    def stop_rsyslog(self) -> None:
        """Stop only rsyslogd (its heartbeat stops), by the pid the rig started it with."""
        self.supervisor.stop("rsyslogd")

    def stop(self) -> None:
        self.proxy.cut()
        self.supervisor.stop_all()
