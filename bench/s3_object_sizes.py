"""Benchmark (not a test): how much gzip shrinks the archive's records, measured by the real
agent, which is what S3 object and part sizes must be chosen from.

The demo's audit events (bench/audit_records.py) go through the dev stack's rendered agent
config (paths, ports, endpoint moved; S3 on a moto server), written into its handoff files
as node syslog writes them; each object the agent wrote is read back: its size in S3
(gzip) and unpacked (JSON lines), and the ratio.

    .venv/bin/python -m bench.s3_object_sizes [--events 150000]
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
from pathlib import Path

from bench.audit_records import demo_events
from tests.agent_harness import AgentRunner, stack_agent_config, wait_flushed
from tooling.agent import fluent_bit_binary
from tooling.localrun import start_moto, supervised


def measure(events: int) -> list[tuple[int, int]]:
    """(JSON bytes, gzip bytes) of every object the agent wrote of `events` events."""
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as temp, supervised(Path(temp)) as sup:
        runner = AgentRunner(fluent_bit_binary(), start_moto(sup), Path(temp), sup)
        bucket = runner.new_bucket()
        agent = runner.start(stack_agent_config("dev"), bucket=bucket)
        batch: list[str] = []
        for line in demo_events(events):
            batch.append(line)
            if len(batch) == 5000:
                agent.hand_off(batch)
                batch.clear()
        agent.hand_off(batch)
        wait_flushed(agent, events, 600)
        if agent.stop() != 0:
            raise RuntimeError(f"the agent did not stop cleanly: {agent.log_path}")
        client = runner.client()
        sizes = []
        for key in sorted(runner.keys(bucket)):
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            sizes.append((len(gzip.decompress(body)), len(body)))
        return sizes


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
