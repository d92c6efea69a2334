"""Running the demo script and shell profiles locally, as the containers run them."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components.demo.render import DemoService, service_plan
from tooling.e2e import DEMO_DIR, demo_process_env

SCRIPT = DEMO_DIR / "audit_events.py"
RUN_ID = "test-run-1"
SERVICE = DemoService(
    name="service-1",
    commands=[["id", "-u"], ["sh", "-c", "echo handled | wc -c"], ["no-such-command-x"]],
)


def env_for(port: int, transport: str = "tcp", scratch: Path | None = None) -> dict[str, str]:
    env = demo_process_env(SERVICE, RUN_ID, port, "audit-demo", scratch or Path("/tmp"))
    env["AUDIT_SYSLOG_TRANSPORT"] = transport
    return env


def run_plan(
    tmp_path: Path,
    port: int,
    transport: str = "tcp",
    service: DemoService = SERVICE,
    host: str = "127.0.0.1",
) -> subprocess.CompletedProcess[str]:
    """The entrypoint, one round of the plan; stdout has one line per event sent."""
    plan = tmp_path / f"{service.name}.json"
    plan.write_text(service_plan(service, iterations=1))
    return subprocess.run(
        [sys.executable, str(SCRIPT), "run", "--plan", str(plan), "--interval", "0"],
        env={**env_for(port, transport, tmp_path), "HOST_IP": host},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def sent_events(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("<")]


@dataclass
class UdpCollector:
    port: int
    frames: list[str] = field(default_factory=list)


@contextlib.contextmanager
def udp_collector(port: int = 0) -> Iterator[UdpCollector]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.1)
    collector = UdpCollector(sock.getsockname()[1])
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            collector.frames.append(data.decode())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(0.05)


def run_shell(
    argv: Sequence[str], port: int, tmp_path: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        input=stdin,
        env=env_for(port, scratch=tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
