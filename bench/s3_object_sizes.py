"""Benchmark (not a test): how much gzip shrinks the archive's records, measured by the real
agent, which is what S3 object and part sizes must be chosen from.

The demo's audit events (bench/audit_records.py) go through the dev stack's rendered agent
config (paths, ports, endpoint moved; S3 on a moto server); the agent logs the size of each
upload before and after compression ("Pre-compression chunk size is X, After compression,
chunk is Y bytes"), which this prints with the ratio.

    .venv/bin/python -m bench.s3_object_sizes [--events 150000]
"""

from __future__ import annotations

import argparse
import re
import socket
import tempfile
from pathlib import Path

from bench.audit_records import demo_events
from tests.agent_harness import AgentRunner, ingested, stack_agent_config
from tooling.agent import fluent_bit_binary
from tooling.localrun import start_moto, supervised
from tooling.loopback import LOOPBACK, wait_until

_SIZES = re.compile(r"Pre-compression chunk size is (\d+), After compression, chunk is (\d+) bytes")


def measure(events: int) -> list[tuple[int, int]]:
    """(uncompressed, compressed) bytes of every upload the agent made of `events` events."""
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as temp, supervised(Path(temp)) as sup:
        runner = AgentRunner(fluent_bit_binary(), start_moto(sup), Path(temp), sup)
        agent = runner.start(stack_agent_config("dev"), bucket=runner.new_bucket())
        with socket.create_connection((LOOPBACK, agent.ports.syslog), timeout=30) as conn:
            batch: list[bytes] = []
            for line in demo_events(events):
                batch.append(line.encode() + b"\n")
                if len(batch) == 5000:
                    conn.sendall(b"".join(batch))
                    batch.clear()
            conn.sendall(b"".join(batch))
        wait_until(lambda: ingested(agent) >= events, 300, "the agent to take in every event", 0.5)
        agent.stop()
        return [(int(a), int(b)) for a, b in _SIZES.findall(agent.log_text())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=150_000)
    args = parser.parse_args()
    uploads = measure(args.events)
    print(f"\nS3 uploads of {args.events:,} demo audit events (dev stack config, gzip)\n")
    print("| upload | JSON bytes | gzip bytes | ratio |")
    print("| --- | --- | --- | --- |")
    for number, (raw, packed) in enumerate(uploads, 1):
        print(f"| {number} | {raw:,} | {packed:,} | {raw / packed:.1f} |")
    raw = sum(r for r, _ in uploads)
    packed = sum(p for _, p in uploads)
    if packed:
        print(f"| all | {raw:,} | {packed:,} | {raw / packed:.1f} |")
        print(f"\nbytes per record: {raw / args.events:.0f} JSON, {packed / args.events:.1f} gzip")


if __name__ == "__main__":
    main()
