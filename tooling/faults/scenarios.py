"""The node-side fault scenarios: a steady stream of distinct events through rsyslogd ->
Fluent Bit -> moto S3, one fault in the middle, then count what the archive holds.

    outcome = run_scenario("agent-sigkill", root, agent_binary, events=2000, rate=400)

Each scenario is a function of the running pipeline (SCENARIOS); `run_scenario` starts the
pipeline, streams, applies the fault halfway, waits until every event arrived or nothing
new arrived for a while (bounded), stops everything by pid and returns the counts.
"""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tooling.faults.count import Outcome, count
from tooling.faults.load import SteadySender, event_index, send_marker
from tooling.faults.pipeline import NodePipeline, node_pipeline
from tooling.loopback import wait_until

# How long a daemon stays down before it is started again.
DOWN_SECONDS = 1.0
# Long enough for a backlog of a few thousand events to wait in rsyslog's queue.
CATCH_UP_DOWN_SECONDS = 4.0


def _restart(pipeline: NodePipeline, name: str, signum: int) -> None:
    pipeline.kill(name, signum)
    time.sleep(DOWN_SECONDS)
    if name == "agent":
        pipeline.start_agent()
    else:
        pipeline.start_rsyslogd()


def no_fault(pipeline: NodePipeline) -> None:
    del pipeline


def agent_sigkill(pipeline: NodePipeline) -> None:
    _restart(pipeline, "agent", signal.SIGKILL)


def agent_sigterm(pipeline: NodePipeline) -> None:
    _restart(pipeline, "agent", signal.SIGTERM)


def rsyslogd_sigterm(pipeline: NodePipeline) -> None:
    _restart(pipeline, "rsyslogd", signal.SIGTERM)


def rsyslogd_sigkill(pipeline: NodePipeline) -> None:
    _restart(pipeline, "rsyslogd", signal.SIGKILL)


def agent_sigkill_while_catching_up(pipeline: NodePipeline) -> None:
    """The agent is killed again while rsyslog sends it a backlog as fast as it reads:
    what is in flight between them is at its largest."""
    pipeline.kill("agent", signal.SIGKILL)
    time.sleep(CATCH_UP_DOWN_SECONDS)
    pipeline.start_agent()
    # Kill it once the backlog flows (a first batch arrived), not before rsyslog reconnects.
    wait_until(lambda: pipeline.agent_input_records() > 0, 30, "backlog reaching the agent")
    _restart(pipeline, "agent", signal.SIGKILL)


def rsyslogd_sigkill_while_agent_down(pipeline: NodePipeline) -> None:
    """rsyslogd is killed while it holds a backlog for a stopped agent (an OOM kill or a
    node crash during an agent outage): what waits in its memory queues is at its largest."""
    pipeline.kill("agent", signal.SIGKILL)  # at once: the stream goes on into the queue
    time.sleep(CATCH_UP_DOWN_SECONDS / 2)
    pipeline.kill("rsyslogd", signal.SIGKILL)
    pipeline.start_agent()
    pipeline.start_rsyslogd()


def both_sigkill(pipeline: NodePipeline) -> None:
    """A node crash without a reboot: both daemons killed at once, both started again."""
    pipeline.kill("rsyslogd", signal.SIGKILL)
    pipeline.kill("agent", signal.SIGKILL)
    time.sleep(DOWN_SECONDS)
    pipeline.start_agent()
    pipeline.start_rsyslogd()


SCENARIOS: dict[str, Callable[[NodePipeline], None]] = {
    "no fault": no_fault,
    "agent SIGKILL": agent_sigkill,
    "agent SIGKILL while catching up": agent_sigkill_while_catching_up,
    "agent SIGTERM": agent_sigterm,
    "rsyslogd SIGTERM": rsyslogd_sigterm,
    "rsyslogd SIGKILL": rsyslogd_sigkill,
    "both SIGKILL": both_sigkill,
    "rsyslogd SIGKILL while the agent is down": rsyslogd_sigkill_while_agent_down,
}


def _wait_for_archive(
    pipeline: NodePipeline, run: str, total: int, settle_seconds: float, deadline: float
) -> list[dict[str, Any]]:
    """Records of the bucket once every event is there, or once the marker (event `total`,
    sent after the stream) is, each plus `settle_seconds` for late duplicates and the last
    upload; or at `deadline`."""
    done_at: float | None = None
    while True:
        records = pipeline.records()
        now = time.monotonic()
        seen = {event_index(str(r.get("message", "")), run) for r in records} - {None}
        if done_at is None and (total in seen or len(seen) >= total):
            done_at = now
        if (done_at is not None and now - done_at >= settle_seconds) or now >= deadline:
            return records
        time.sleep(0.5)


def stream_with_fault(
    pipeline: NodePipeline,
    name: str,
    events: int = 2000,
    rate: float = 400.0,
    timeout: float = 90.0,
) -> Outcome:
    """On a running pipeline: stream `events` distinct events at `rate`, apply scenario
    `name` (a key of SCENARIOS) halfway, wait for the archive (bounded by `timeout`) and
    count this stream's records. Streams on one pipeline run one after the other."""
    fault = SCENARIOS[name]
    run = f"fault-{secrets.token_hex(4)}"
    started = time.monotonic()
    exits_before = len(pipeline.exits)
    sender = SteadySender(pipeline.syslog_port, run, events, rate)
    sender.start()
    time.sleep(events / rate / 2)
    fault(pipeline)
    sender.wait(timeout=max(10.0, timeout - (time.monotonic() - started)))
    send_marker(pipeline.syslog_port, run, events)
    upload = float(pipeline.upload_timeout.rstrip("s"))
    records = _wait_for_archive(
        pipeline, run, events, settle_seconds=upload / 2 + 0.5, deadline=started + timeout
    )
    return count(name, run, sender.sent, records, pipeline.exits[exits_before:])


def run_scenario(
    name: str,
    root: Path,
    agent_binary: str,
    events: int = 2000,
    rate: float = 400.0,
    timeout: float = 90.0,
    **pipeline_options: Any,
) -> Outcome:
    """Scenario `name` on a fresh pipeline under `root` (started and stopped here)."""
    with node_pipeline(root, agent_binary, **pipeline_options) as pipeline:
        return stream_with_fault(pipeline, name, events, rate, timeout)
