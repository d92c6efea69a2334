"""Benchmark (not a test): the agent against its own ceiling, with one generator.

    (a) Fluent Bit with a minimal config: the same `tail` input on a handoff file -> the
        same parser -> S3 gzip (moto); memory buffers, no filters
    (b) the project's rendered agent config (the staging stack: S3 only), its handoff file
        written directly by the generator
    (c) the full chain: rsyslogd (rendered node config) writing the handoff files -> (b)

The same N demo audit events (bench/audit_records.py) go to each: for (a) and (b) the
generator appends them, in batches, to the current handoff file (as node syslog writes
it); for (c) it sends them to rsyslogd over one TCP connection, as fast as rsyslogd takes
them. Before the clock starts the current minute's handoff file exists and the agent has it
open (so the tail input's 1 s discovery of a new file is not counted; a run that crosses a
UTC minute still waits for it once, as a node does). Printed per case: ingest (records/s
from the first byte written or sent to the agent's input counting all N), end to end
(records/s until all N are in S3: the agent uploads by size while it runs and the rest
when it is stopped), the ratios to (a), p50 and p99 of the delay from a record's emission
to its object's LastModified, the agent's CPU seconds per 100k records and its peak RSS
(VmHWM). The input's count comes from the metrics endpoint, which moves in 1 s steps:
ingest times come out in whole seconds, so give it enough events. Then `--variants` takes
(b) apart: each filter, storage setting, the tail offset database's sync and the output in
turn, to show where its extra CPU goes.

    .venv/bin/python -m bench.agent_throughput [--events 200000] [--variants]

Everything is on 127.0.0.1; every wait is bounded; every process is stopped by pid.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import re
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.audit_records import demo_events
from components.agent.metrics import HANDOFF_INPUT
from components.agent.parsers import RFC5424_PARSER, parser_specs
from tests.agent_harness import AgentRunner, ingested, stack_agent_config, wait_flushed
from tests.rsyslog_harness import NodeLayout, RsyslogDaemon
from tooling.agent import fluent_bit_binary
from tooling.e2e import load_local_stack, remap_node_syslog
from tooling.localrun import RunningAgent, hand_off, handoff_file, start_moto, supervised
from tooling.loopback import LOOPBACK, free_port, wait_until

BATCH = 2000
CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") on Linux


@dataclass(frozen=True)
class Result:
    case: str
    ingest_rate: float
    end_to_end_rate: float
    p50_s: float
    p99_s: float
    cpu_per_100k_s: float
    peak_rss_mb: float


_MINIMAL_S3_KEYS = (
    "name", "match", "bucket", "region", "s3_key_format", "total_file_size", "upload_timeout",
    "use_put_object", "compression", "format", "json_date_key", "json_date_format", "store_dir",
)  # fmt: skip


def minimal_config(staging: dict[str, Any]) -> dict[str, Any]:
    """(a): the same tail input (offset database included) and parser, no filters, memory
    buffers, one gzip S3 output."""
    [s3] = [o for o in staging["pipeline"]["outputs"] if o["name"] == "s3"]
    [tail] = [i for i in staging["pipeline"]["inputs"] if i.get("alias") == HANDOFF_INPUT]
    return {
        "service": {
            "flush": "1",
            "log_level": "info",
            "http_server": "on",
            "http_listen": "127.0.0.1",
            "http_port": "2020",
            "health_check": "on",  # the harness waits for /api/v1/health
            # Moved under the run's temp dir; holds the tail offset database (no chunks).
            "storage.path": "buffer",
        },
        "parsers": [parser_specs()[RFC5424_PARSER].as_config()],
        "pipeline": {
            # Its path and db are moved to the run's handoff directory and storage.path.
            "inputs": [{k: v for k, v in tail.items() if k != "storage.type"}],
            "outputs": [{key: s3[key] for key in _MINIMAL_S3_KEYS}],
        },
    }


def _proc_stat(pid: int) -> tuple[float, float]:
    """(CPU seconds so far, peak RSS in MB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cpu, peak


def _send(port: int, lines: list[str]) -> list[float]:
    """Send every line to rsyslogd in batches; the wall time each batch left (one per
    BATCH lines)."""
    sent_at = []
    with socket.create_connection((LOOPBACK, port), timeout=60) as conn:
        for start in range(0, len(lines), BATCH):
            sent_at.append(time.time())
            conn.sendall("".join(f"{line}\n" for line in lines[start : start + BATCH]).encode())
    return sent_at


def _write(directory: Path, lines: list[str]) -> list[float]:
    """Append every line to the current handoff file in batches, as node syslog does; the
    wall time each batch was written (one per BATCH lines)."""
    written_at = []
    for start in range(0, len(lines), BATCH):
        written_at.append(time.time())
        hand_off(directory, lines[start : start + BATCH])
    return written_at


def _tail_ready(agent: RunningAgent) -> None:
    """Create the current handoff file and wait until the agent's tail input has it open."""
    path = handoff_file(agent.handoff)
    path.touch()

    def opened() -> bool:
        for fd in Path(f"/proc/{agent.pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # an fd closed since the listing
                if fd.readlink() == path:
                    return True
        return False

    wait_until(opened, 10, f"the agent to open {path.name}", interval=0.05)


def _delays(runner: AgentRunner, bucket: str, sent_at: list[float]) -> list[float]:
    """Per record: its object's LastModified minus the time its batch was sent."""
    client = runner.client()
    delays: list[float] = []
    for key, records in runner.objects(bucket).items():
        modified = client.head_object(Bucket=bucket, Key=key)["LastModified"].timestamp()
        for record in records:
            sequence = int(str(record["extradata"]).split('seq="', 1)[1].split('"', 1)[0])
            delays.append(modified - sent_at[sequence // BATCH])
    return delays


def _lines(count: int) -> list[str]:
    """The events, each with its sequence number in the SD element (for the delays)."""
    return [
        line.replace("[audit@32473 ", f'[audit@32473 seq="{index}" ', 1)
        for index, line in enumerate(demo_events(count))
    ]


_COLUMNS = ("ingest_rate", "end_to_end_rate", "p50_s", "p99_s", "cpu_per_100k_s", "peak_rss_mb")


def median_of(results: list[Result]) -> Result:
    """Each column's median over repeated runs of one case (a shared machine is noisy)."""
    return Result(
        results[0].case,
        *(statistics.median(getattr(r, name) for r in results) for name in _COLUMNS),
    )


def run_case(
    case: str,
    runner: AgentRunner,
    config: dict[str, Any],
    lines: list[str],
    via_rsyslog: Callable[[RunningAgent], int] | None = None,
    run: int = 0,
) -> Result:
    count = len(lines)
    bucket = runner.new_bucket()
    name = f"{re.sub(r'[^a-z0-9]+', '-', case.lower()).strip('-')}-{run}"
    agent = runner.start(config, bucket=bucket, name=name)
    port = via_rsyslog(agent) if via_rsyslog else None
    _tail_ready(agent)
    cpu_before, _ = _proc_stat(agent.pid)
    started = time.time()
    sent_at = _send(port, lines) if port else _write(agent.handoff, lines)
    wait_until(lambda: ingested(agent) >= count, 600, f"{case}: all records in", interval=0.05)
    ingest_s = time.time() - started
    wait_flushed(agent, count, 600)
    cpu_after, peak_rss = _proc_stat(agent.pid)
    if agent.stop() != 0:
        raise RuntimeError(f"{case}: the agent did not stop cleanly; log {agent.log_path}")
    end_to_end_s = time.time() - started
    delays = _delays(runner, bucket, sent_at)
    if len(delays) != count:
        raise RuntimeError(
            f"{case}: {len(delays)} of {count} records in S3; agent log {agent.log_path}"
        )
    quantiles = statistics.quantiles(delays, n=100)
    return Result(
        case,
        count / ingest_s,
        count / end_to_end_s,
        quantiles[49],
        quantiles[98],
        (cpu_after - cpu_before) / count * 100_000,
        peak_rss,
    )


def _rsyslog_in_front(root: Path) -> tuple[Callable[[RunningAgent], int], list[RsyslogDaemon]]:
    daemons: list[RsyslogDaemon] = []

    def start(agent: RunningAgent) -> int:
        """rsyslogd writing the handoff files `agent` reads; the port it listens on."""
        layout = NodeLayout(root / "node")
        settings = remap_node_syslog(
            load_local_stack().node_syslog, layout.root, free_port(), agent.handoff
        )
        for directory in (settings.work_directory, settings.spool_directory):
            Path(directory).mkdir(parents=True, exist_ok=True)
        layout.write(settings)
        daemon = RsyslogDaemon(layout)
        daemon.start()
        daemons.append(daemon)
        daemon.wait_listening(settings.listen_port)
        return settings.listen_port

    return start, daemons


def variants(staging: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """(b) with one thing taken out or changed at a time."""

    def without_filter(alias: str) -> dict[str, Any]:
        config = copy.deepcopy(staging)
        filters = config["pipeline"]["filters"]
        config["pipeline"]["filters"] = [f for f in filters if f.get("alias") != alias]
        return config

    def with_changes(section: str, **changes: str) -> dict[str, Any]:
        config = copy.deepcopy(staging)
        target = config["service"] if section == "service" else config["pipeline"][section][0]
        target.update({k.replace("__", "."): v for k, v in changes.items()})
        return config

    return {
        "(b) no event-time filter": without_filter("event-time"),
        "(b) no record_modifier": without_filter("pipeline-context"),
        "(b) no audit-fields lua": without_filter("audit-fields"),
        "(b) no heartbeat rewrite_tag": without_filter("heartbeat-tag"),
        "(b) input storage.type memory": with_changes("inputs", storage__type="memory"),
        "(b) storage.checksum off": with_changes("service", storage__checksum="off"),
        "(b) storage.metrics off": with_changes("service", storage__metrics="off"),
        "(b) tail db.sync off": with_changes("inputs", db__sync="off"),
        "(b) S3 without gzip": with_changes("outputs", compression="none"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--variants", action="store_true", help="also take (b) apart")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (medians shown)")
    args = parser.parse_args()
    lines = _lines(args.events)
    staging = stack_agent_config("staging")
    print(f"\nAgent throughput, {args.events:,} demo audit events, {datetime.now(UTC):%Y-%m-%d}\n")
    print(
        "| case | ingest rec/s | x (a) | end to end rec/s | x (a) | p50 s | p99 s "
        "| CPU s / 100k | peak RSS MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    base: list[Result] = []

    def show(result: Result) -> None:
        base[:] = base or [result]
        a = base[0]
        print(
            f"| {result.case} | {result.ingest_rate:,.0f} "
            f"| {result.ingest_rate / a.ingest_rate:.2f} "
            f"| {result.end_to_end_rate:,.0f} | {result.end_to_end_rate / a.end_to_end_rate:.2f} "
            f"| {result.p50_s:.2f} | {result.p99_s:.2f} | {result.cpu_per_100k_s:.2f} "
            f"| {result.peak_rss_mb:.0f} |",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="bench-agent-") as temp, supervised(Path(temp)) as sup:
        root = Path(temp)
        runner = AgentRunner(fluent_bit_binary(), start_moto(sup), root, sup)

        def repeated(
            case: str,
            config: dict[str, Any],
            front: Callable[[Path], tuple[Callable[[RunningAgent], int], list[RsyslogDaemon]]]
            | None = None,
        ) -> Result:
            results = []
            for run in range(args.repeat):
                in_front, daemons = front(root / f"{len(base)}-{run}") if front else (None, [])
                try:
                    results.append(run_case(case, runner, config, lines, in_front, run))
                finally:
                    for daemon in daemons:
                        daemon.stop()
            return median_of(results)

        show(repeated("(a) minimal", minimal_config(staging)))
        show(repeated("(b) rendered", staging))
        show(repeated("(c) rsyslog chain", staging, _rsyslog_in_front))
        if args.variants:
            for name, config in variants(staging).items():
                show(repeated(name, config))


if __name__ == "__main__":
    main()
