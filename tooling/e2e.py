"""`make e2e`: the whole pipeline of the `local` stack on this machine, loopback only.

    demo script -> rsyslogd (rendered node config) -> fluent-bit (rendered agent config)
      -> moto S3 server -> tooling.verify, then tooling.verify --heartbeat

The node config carries the stack's monitoring additions (immark heartbeat, impstats) and
the agent's its heartbeat filter and stats input, as on a node; the heartbeat interval is
shortened (--heartbeat-interval) so heartbeats reach the archive within one run.

The configs are rendered in-process from Pulumi.local.yaml, then remapped: every path to
a temp dir, every port to a free 127.0.0.1 port, the S3 route to the moto endpoint.
Every process it starts is stopped, by pid, when it ends. Needs `fluent-bit` (5.1) and
`rsyslogd` on PATH; without fluent-bit it says so and exits 2.

Exit codes: 0 verified; 1 events did not reach S3; 2 missing tool or a step failed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from components.agent.config import render_fluent_bit_config
from components.agent.monitoring import STATS_INPUT
from components.agent.routes import parse_duration
from components.agent.settings import PipelineContext
from components.demo.render import DemoService, DemoSettings, demo_env, service_plan
from components.monitoring.settings import MonitoringSettings
from components.node_syslog.monitoring import RsyslogMonitoring, render_monitoring_conf
from components.node_syslog.rsyslog import NodeSyslogSettings, render_rsyslog_conf
from tooling.agent import AgentNotFoundError, fluent_bit_binary
from tooling.engine import REPO_ROOT
from tooling.localrun import (
    LocalRunError,
    RunningAgent,
    Supervisor,
    check_rsyslog_config,
    create_bucket,
    s3_client,
    start_agent,
    start_moto,
    write_node_rsyslog,
)
from tooling.loopback import LOOPBACK, free_port, wait_until

STACK = "local"
EXIT_OK, EXIT_MISSING, EXIT_FAILED = 0, 1, 2
DEMO_DIR = REPO_ROOT / "demo"
NODE = "e2e-node"
# The stacks' heartbeat is a minute apart; a run lasts about two, so beat more often here.
HEARTBEAT_INTERVAL_S = 10


class E2EError(LocalRunError):
    """A step that failed, as one line."""


# --- rendering and remapping (pure) ------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    syslog: int
    http: int
    s3: int


def free_ports() -> Ports:
    # free_port never hands out the same port twice in a process.
    return Ports(syslog=free_port(), http=free_port(), s3=free_port())


def handoff_directory(root: Path) -> Path:
    """Where a local run's node syslog writes the handoff files its agent reads."""
    return root / "handoff"


def remap_node_syslog(
    settings: NodeSyslogSettings,
    root: Path,
    port: int,
    handoff: Path,
    relp_port: int | None = None,
) -> NodeSyslogSettings:
    """The node's rsyslog settings with its paths under `root`, its handoff files in
    `handoff` and its listener on loopback.

    The journal input is off: this machine's journal is not the demo's. RELP listens on
    `relp_port` if the stack enables it; with no `relp_port` it is off (the caller sends
    over TCP only, and needs no imrelp: the rsyslog-relp package).
    """
    data = settings.model_dump(by_alias=True)
    relp = {**data["relp"], "enabled": bool(data["relp"]["enabled"] and relp_port)}
    if relp_port:
        relp["port"] = relp_port
    data.update(
        {
            "relp": relp,
            "listenAddress": LOOPBACK,
            "listenPort": port,
            "tcp": True,
            "journal": "none",
            "workDirectory": str(root / "work"),
            "spoolDirectory": str(root / "spool"),
            "handoffDirectory": str(handoff),
            "socketPath": str(root / "dev-log"),
            "localCopy": {**data["localCopy"], "path": str(root / "copy" / "audit.log")},
        }
    )
    return NodeSyslogSettings.model_validate(data)


@dataclass(frozen=True)
class LocalStack:
    """What the e2e run takes from Pulumi.local.yaml."""

    agent_config: dict[str, Any]
    # The same with the monitoring additions (heartbeat filter, rsyslog-stats input and
    # exporter), as on a node: what e2e runs. The fault rigs and benches keep the plain one.
    monitored_agent_config: dict[str, Any]
    node_syslog: NodeSyslogSettings
    demo: DemoSettings
    bucket: str
    region: str
    upload_timeout_s: int
    monitoring: MonitoringSettings


def load_local_stack(stack: str = STACK) -> LocalStack:
    from components.config import ConfigError, load_stack_config
    from tooling.engine import StackFileError, load_stack_file

    try:
        raw, _ = load_stack_file(stack)
        cfg = load_stack_config(raw, stack)
    except (StackFileError, ConfigError) as error:
        raise E2EError(str(error).replace("\n", "; ")) from None
    bucket = cfg.bucket.name or f"audit-log-{stack}"
    agent = cfg.agent.with_default_bucket(bucket, cfg.region, cfg.log_prefix)
    s3_routes = agent.s3_routes
    if not s3_routes:
        raise E2EError(f"stack {stack!r} has no S3 route: nothing to verify")
    context = PipelineContext(cluster_name=cfg.cluster.name, environment=cfg.environment)
    monitored = dataclasses.replace(context, monitoring=cfg.monitoring.agent())
    node_syslog = getattr(cfg, "node_syslog", None)
    demo = getattr(cfg, "demo", None)
    return LocalStack(
        agent_config=render_fluent_bit_config(agent, context),
        monitored_agent_config=render_fluent_bit_config(agent, monitored),
        node_syslog=node_syslog
        if isinstance(node_syslog, NodeSyslogSettings)
        else NodeSyslogSettings(),
        demo=demo if isinstance(demo, DemoSettings) else DemoSettings(),
        bucket=str(s3_routes[0].bucket),
        region=cfg.region,
        upload_timeout_s=max(parse_duration(r.upload_timeout) for r in s3_routes),
        monitoring=cfg.monitoring,
    )


def node_monitoring(
    stack: LocalStack, agent_config: Mapping[str, Any], heartbeat_interval_s: int
) -> RsyslogMonitoring:
    """The stack's rsyslog additions, sent to the running agent's (remapped) stats input, with
    the heartbeat every `heartbeat_interval_s` (none when the stack turns it off)."""
    wanted = stack.monitoring.rsyslog()
    inputs = agent_config["pipeline"]["inputs"]
    port = next(int(entry["port"]) for entry in inputs if entry.get("alias") == STATS_INPUT)
    interval = heartbeat_interval_s if wanted.heartbeat_interval_s is not None else None
    return dataclasses.replace(wanted, heartbeat_interval_s=interval, stats_port=port)


def demo_process_env(
    service: DemoService, run_id: str, syslog_port: int, namespace: str, scratch: Path
) -> dict[str, str]:
    """The container's environment (demo_env), with what the downward API would add."""
    env = demo_env(service, run_id, syslog_port, "tcp")
    env.update(
        {
            "HOST_IP": LOOPBACK,
            "NODE_NAME": NODE,
            "POD_NAME": f"{service.name}-e2e",
            "POD_NAMESPACE": namespace,
            "AUDIT_EVENTS_SCRIPT": str(DEMO_DIR / "audit_events.py"),
            "BASH_ENV": str(DEMO_DIR / "audit-shell.sh"),
            "ENV": str(DEMO_DIR / "audit-sh.sh"),
            "HOME": str(scratch),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
    )
    return env


# --- the run ---------------------------------------------------------------------------


def _start_agent(
    supervisor: Supervisor, binary: str, stack: LocalStack, root: Path, ports: Ports, endpoint: str
) -> RunningAgent:
    agent = start_agent(
        supervisor,
        binary,
        stack.monitored_agent_config,
        root,
        endpoint=endpoint,
        bucket=stack.bucket,
        region=stack.region,
        http_port=ports.http,
        handoff=handoff_directory(root),
        env={"NODE_NAME": NODE},
    )
    if agent.dropped:
        print(f"e2e: no server here for output(s) {', '.join(agent.dropped)}: left out", flush=True)
    return agent


def _start_rsyslog(
    supervisor: Supervisor,
    rsyslogd: str,
    stack: LocalStack,
    root: Path,
    ports: Ports,
    monitoring: RsyslogMonitoring | None = None,
) -> None:
    node_root = root / "rsyslog"
    settings = remap_node_syslog(
        stack.node_syslog, node_root, ports.syslog, handoff_directory(root)
    )
    main_conf = write_node_rsyslog(
        settings,
        node_root,
        render_rsyslog_conf(settings)
        + (render_monitoring_conf(monitoring, LOOPBACK) if monitoring else ""),
    )
    check_rsyslog_config(rsyslogd, main_conf)
    supervisor.start(
        "rsyslogd", [rsyslogd, "-n", "-f", str(main_conf), "-i", str(node_root / "rsyslogd.pid")]
    )

    def listening() -> bool:
        supervisor.check()
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, ports.syslog), 1):
            return True
        return False

    wait_until(listening, 15, "rsyslogd to listen", interval=0.1)


# Typed in one interactive bash session: the profile logs its start and each line.
SHELL_LINES = ("id -u", "ls / | head -n 3")


def run_demo(stack: LocalStack, run_id: str, syslog_port: int, root: Path) -> dict[str, int]:
    """Each service's plan once, then a bash session as service 1; events sent per service."""
    sent: dict[str, int] = {}
    scratch = root / "demo"
    scratch.mkdir(parents=True, exist_ok=True)
    for service in stack.demo.services:
        plan = scratch / f"{service.name}.json"
        plan.write_text(service_plan(service, iterations=1), encoding="utf-8")
        env = demo_process_env(service, run_id, syslog_port, stack.demo.namespace, scratch)
        done = subprocess.run(
            [sys.executable, str(DEMO_DIR / "audit_events.py"), "run", "--plan", str(plan)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise E2EError(f"demo {service.name} failed: {done.stderr.strip()[-300:]}")
        sent[service.name] = sum(1 for line in done.stdout.splitlines() if line.startswith("<"))
    first = stack.demo.services[0]
    shell = subprocess.run(
        ["bash", "--rcfile", str(DEMO_DIR / "audit-shell.sh"), "-i"],
        input="".join(f"{line}\n" for line in SHELL_LINES),
        env=demo_process_env(first, run_id, syslog_port, stack.demo.namespace, scratch),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if shell.returncode != 0:
        raise E2EError(f"demo shell session failed: {shell.stderr.strip()[-300:]}")
    sent[first.name] += 1 + len(SHELL_LINES)
    return sent


def run(args: argparse.Namespace) -> int:
    try:
        binary = args.fluent_bit or fluent_bit_binary()
    except AgentNotFoundError as error:
        print(f"e2e: {error}", file=sys.stderr)
        return EXIT_FAILED
    rsyslogd = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")
    if rsyslogd is None:
        print(
            "e2e: no rsyslogd on PATH: install rsyslog (apt-get install rsyslog)", file=sys.stderr
        )
        return EXIT_FAILED
    stack = load_local_stack(args.stack)
    ports = free_ports()
    run_id = f"e2e-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    since = datetime.now(UTC) - timedelta(seconds=5)
    with tempfile.TemporaryDirectory(prefix="audit-e2e-") as temp:
        root = Path(temp)
        supervisor = Supervisor(root, announce="e2e")
        try:
            endpoint = start_moto(supervisor, ports.s3)
            create_bucket(endpoint, stack.bucket, stack.region)
            agent = _start_agent(supervisor, binary, stack, root, ports, endpoint)
            monitoring = node_monitoring(stack, agent.config, args.heartbeat_interval)
            _start_rsyslog(supervisor, rsyslogd, stack, root, ports, monitoring)
            sent = run_demo(stack, run_id, ports.syslog, root)
            print(f"e2e: demo sent {sum(sent.values())} events with run_id={run_id}", flush=True)
            code = _verify(args, stack, endpoint, run_id, sent, since)
            if code == EXIT_OK and monitoring.heartbeat_interval_s is not None:
                code = _verify_heartbeat(args, stack, endpoint, since, monitoring)
            if code != EXIT_OK:
                for name in ("fluent-bit", "rsyslogd"):
                    print(f"e2e: {name} log: {supervisor.tail(name, 10)}", file=sys.stderr)
            print(f"e2e: {'passed' if code == EXIT_OK else 'FAILED'}", flush=True)
            return code
        finally:
            supervisor.stop_all()


def _verify(
    args: argparse.Namespace,
    stack: LocalStack,
    endpoint: str,
    run_id: str,
    sent: Mapping[str, int],
    since: datetime,
) -> int:
    """Every event the demo sent must be in S3: verify expects each service's count."""
    from tooling import verify

    timeout = args.timeout if args.timeout is not None else stack.upload_timeout_s + 90
    verify_args = verify._parser().parse_args(
        [
            "--stack",
            args.stack,
            "--no-pulumi",
            "--bucket",
            stack.bucket,
            "--region",
            stack.region,
            "--endpoint-url",
            endpoint,
            "--run-id",
            run_id,
            "--services",
            ",".join(f"{name}={count}" for name, count in sent.items()),
            "--since",
            since.isoformat(),
            "--timeout",
            str(timeout),
            "--interval",
            str(args.interval),
        ]
    )
    try:
        return verify.verify(verify_args, client=s3_client(endpoint, stack.region))
    except verify.VerifyError as error:
        print(f"e2e: verify: {error}", file=sys.stderr)
        return EXIT_FAILED


def _verify_heartbeat(
    args: argparse.Namespace,
    stack: LocalStack,
    endpoint: str,
    since: datetime,
    monitoring: RsyslogMonitoring,
) -> int:
    """`verify --heartbeat` until the node's heartbeat is in S3 (bounded), then its table.

    The bound is verify's default with this run's interval: upload timeout + 2 intervals + 60.
    """
    from tooling import verify

    interval = monitoring.heartbeat_interval_s or HEARTBEAT_INTERVAL_S
    max_age = stack.upload_timeout_s + 2 * interval + 60
    deadline = time.monotonic() + stack.upload_timeout_s + 2 * interval + 30
    client = s3_client(endpoint, stack.region)
    while True:
        # Parsed again each time: verify fills in run_id and services for a heartbeat check.
        verify_args = verify._parser().parse_args(
            [
                *("--stack", args.stack, "--no-pulumi", "--bucket", stack.bucket),
                *("--region", stack.region, "--endpoint-url", endpoint),
                *("--since", since.isoformat(), "--heartbeat", "--nodes", NODE),
                *("--max-age", str(max_age)),
            ]
        )
        out = io.StringIO()
        try:
            code = verify.verify(verify_args, out=out, client=client)
        except verify.VerifyError as error:
            print(f"e2e: verify --heartbeat: {error}", file=sys.stderr)
            return EXIT_FAILED
        if code == EXIT_OK or time.monotonic() >= deadline:
            print(out.getvalue(), end="", flush=True)
            return code
        time.sleep(args.interval)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.e2e", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--stack", default=STACK, help="stack whose config to run (default local)")
    parser.add_argument(
        "--fluent-bit", help="fluent-bit binary (default: $FLUENT_BIT, PATH, the pinned build)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds verify waits (default: upload timeout + 90 s)"
    )
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between S3 polls")
    parser.add_argument(
        "--heartbeat-interval",
        type=int,
        default=HEARTBEAT_INTERVAL_S,
        help=f"seconds between node heartbeats (default {HEARTBEAT_INTERVAL_S})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except (LocalRunError, TimeoutError) as error:
        print(f"e2e: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("e2e: interrupted", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
