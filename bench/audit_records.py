"""Realistic audit events for the benchmarks: what the demo workloads log (demo/audit_events.py
format_event), from several pods of both demo services on several nodes, EXEC and EXIT of
their default commands, with pids, durations, exit codes and times that move on."""

from __future__ import annotations

import random
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from components.demo.render import DemoSettings
from demo.audit_events import EXEC, EXIT, Identity, format_event

NODES = ("ip-10-0-1-23.eu-west-1.compute.internal", "ip-10-0-2-57.eu-west-1.compute.internal")


def demo_events(count: int, run_id: str = "bench-run", seed: int = 7) -> Iterator[str]:
    """`count` RFC 5424 lines as the demo writes them (the first one an hour ago)."""
    rng = random.Random(seed)
    services = DemoSettings(enabled=True).services
    pods = [
        (service, Identity(run_id, service.name, f"{service.name}-{rng.getrandbits(40):010x}-"
                           f"{rng.getrandbits(20):05x}", "audit-demo", service.name, node))
        for service in services
        for node in NODES
        for _ in range(3)
    ]  # fmt: skip
    when = datetime.now(UTC) - timedelta(hours=1)
    pid = 1000
    emitted = 0
    while True:
        for service, identity in pods:
            for argv in service.commands:
                line = shlex.join(argv)
                pid += rng.randint(1, 40)
                when += timedelta(microseconds=rng.randint(200, 50_000))
                yield format_event(
                    identity, EXEC, f"exec: {line}", pid=pid, uid=10001,
                    extra={"command": line}, when=when,
                )  # fmt: skip
                code = 0 if rng.random() < 0.97 else 1
                duration = rng.randint(2, 900)
                when += timedelta(milliseconds=duration)
                yield format_event(
                    identity, EXIT, f"exit {code} after {duration} ms: {line}", pid=pid + 1,
                    uid=10001, extra={"command": line, "exit": str(code),
                                      "duration_ms": str(duration)}, when=when,
                )  # fmt: skip
                emitted += 2
                if emitted >= count:
                    return
