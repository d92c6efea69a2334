"""The fault table: one scenario per row, each a function that does its fault to a running
node in the middle of a steady stream of distinct events; then what reached the archive.

    scenario | sent | distinct archived | lost | duplicates | verify

A run: start moto + proxy, the agent, rsyslogd; stream `rate` events/s for `stream_s`
seconds; at `fault_at_s` call the scenario's fault (it may block: an outage lasts as long
as it says); wait for the stream to end and the archive to settle (every event arrived
and nothing new for a while, or `drain_s` passed); count the archive by event number;
run `verify` on it; stop everything the run started.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tooling.faults.rig import NODE, Rig, RigError
from tooling.faults.stream import SERVICE, ArchiveCount, EventStream, run_id_now

Fault = Callable[[Rig], None]

# Agent log lines that say data was dropped or parked, and how often each appeared.
TELLTALES = {
    "will not retry": re.compile(r"will not retry"),
    "quarantined": re.compile(r"retry-exhausted chunk moved to quarantine"),
    "irrecoverable chunk discarded": re.compile(r"discarding irrecoverable chunk"),
    "S3 buffer full": re.compile(r"Buffer is full"),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    stream_s: float
    fault_at_s: float
    long: bool = False  # only in `make faults`, never in `make test`
    s3_overrides: tuple[tuple[str, str], ...] = ()
    outage_s: float = 0.0  # S3 unreachable this long: retries back off, allow for it


@dataclass
class Result:
    scenario: str
    sent: int
    distinct: int
    lost: int
    duplicates: int
    verdict: str
    seconds: float
    notes: list[str] = field(default_factory=list)


# --- faults: one function each ------------------------------------------------------------


def agent_sigkill(rig: Rig) -> None:
    """The agent dies at once (OOM kill, node pressure); the pod restarts it 10 s later."""
    rig.stop_agent(signal.SIGKILL)
    time.sleep(10)
    rig.start_agent()


def agent_sigterm(rig: Rig) -> None:
    """A clean pod stop (rollout): SIGTERM, the agent flushes within `grace`, restarts."""
    rig.stop_agent(signal.SIGTERM, timeout=60)
    rig.start_agent()


def rsyslogd_sigterm(rig: Rig) -> None:
    rig.stop_rsyslog(signal.SIGTERM)
    rig.start_rsyslog()


def rsyslogd_sigkill(rig: Rig) -> None:
    rig.stop_rsyslog(signal.SIGKILL)
    time.sleep(2)
    rig.start_rsyslog()


def both_sigkill(rig: Rig) -> None:
    """A node crash without a reboot: both daemons killed at once, then started again."""
    assert rig.agent is not None and rig.rsyslog is not None
    rig.agent.send_signal(signal.SIGKILL)
    rig.rsyslog.send_signal(signal.SIGKILL)
    rig.stop_agent(signal.SIGKILL)
    rig.stop_rsyslog(signal.SIGKILL)
    time.sleep(5)
    rig.start_agent()
    rig.start_rsyslog()


def s3_outage(seconds: float, mode: str) -> Fault:
    """S3 unreachable for `seconds`: the proxy refuses connections, or resets them."""

    def fault(rig: Rig) -> None:
        assert rig.proxy is not None
        rig.proxy.set_mode("refuse" if mode == "refuse" else "reset")
        try:
            time.sleep(seconds)
        finally:
            rig.proxy.set_mode("forward")
            rig.s3_back_at = time.monotonic()

    fault.__name__ = f"s3_{mode}_{seconds:.0f}s"
    return fault


def s3_outage_then_replay(seconds: float) -> Fault:
    """S3 refused for `seconds`; back, restart the agent (does it resend the quarantine? it
    does not), then `tooling.replay_quarantine` on the store_dir."""
    outage = s3_outage(seconds, "refuse")

    def fault(rig: Rig) -> None:
        from tooling.replay_quarantine import replay
        from tooling.verify import stack_defaults

        outage(rig)
        rig.stop_agent(signal.SIGTERM, timeout=60)
        rig.start_agent()
        time.sleep(3 * rig.upload_timeout_s)
        route = stack_defaults("local").route.resolved(rig.bucket, rig.stack.region, "audit/local/")
        replay(
            rig.root / "fluent-bit" / "s3", route.layout, rig.bucket, rig.s3(), False, sys.stderr
        )

    fault.__name__ = f"s3_refuse_{seconds:.0f}s_replay"
    return fault


def scenarios(outage_short_s: float = 60.0, outage_long_s: float = 600.0) -> list[Scenario]:
    """Every row of `make faults`, in order."""
    return [
        Scenario("agent SIGKILL, restarted 10 s later", agent_sigkill, 60, 20),
        Scenario("agent SIGTERM, restarted", agent_sigterm, 60, 20),
        Scenario("rsyslogd SIGTERM, restarted", rsyslogd_sigterm, 60, 20),
        Scenario("rsyslogd SIGKILL, restarted", rsyslogd_sigkill, 60, 20),
        Scenario("both SIGKILL at once, restarted", both_sigkill, 60, 20),
        Scenario(
            f"S3 refuses connections {outage_short_s:.0f} s",
            s3_outage(outage_short_s, "refuse"),
            outage_short_s + 30,
            15,
            outage_s=outage_short_s,
        ),
        Scenario(
            f"S3 resets connections {outage_short_s:.0f} s",
            s3_outage(outage_short_s, "reset"),
            outage_short_s + 30,
            15,
            outage_s=outage_short_s,
        ),
        Scenario(
            f"S3 refuses {outage_short_s:.0f} s, retry_limit no_limits (before #11)",
            s3_outage(outage_short_s, "refuse"),
            outage_short_s + 30,
            15,
            s3_overrides=(("retry_limit", "no_limits"),),
            outage_s=outage_short_s,
        ),
        Scenario(
            f"S3 refuses {outage_short_s:.0f} s, retry_limit no_limits, agent restarted, "
            "then replay_quarantine",
            s3_outage_then_replay(outage_short_s),
            outage_short_s + 60,
            15,
            s3_overrides=(("retry_limit", "no_limits"),),
            outage_s=outage_short_s,
        ),
        Scenario(
            f"S3 refuses connections {outage_long_s / 60:.0f} min",
            s3_outage(outage_long_s, "refuse"),
            outage_long_s + 30,
            15,
            long=True,
            outage_s=outage_long_s,
        ),
    ]


# --- a run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSettings:
    fluent_bit: str
    rsyslogd: str
    rate: float = 300.0
    upload_timeout_s: int = 5
    quiet_s: float = 15.0  # nothing new in the archive this long: settled


def drain_bound(scenario: Scenario, settings: RunSettings) -> float:
    """How long after the stream the archive may still grow: a few upload timeouts, plus the
    retry back-off after an outage (attempt n waits 2n s: ~2*sqrt(outage) at its end)."""
    backoff = 2 * math.sqrt(scenario.outage_s) + 12 if scenario.outage_s else 0
    return 4 * max(settings.upload_timeout_s, 6) + backoff + 60


def run_scenario(scenario: Scenario, settings: RunSettings, log: Callable[[str], None]) -> Result:
    started = time.monotonic()
    since = datetime.now(UTC) - timedelta(minutes=2)
    run_id = run_id_now(scenario.fault.__name__.replace("_", "-"))
    with (
        tempfile.TemporaryDirectory(prefix="audit-faults-") as temp,
        Rig(
            Path(temp),
            settings.fluent_bit,
            settings.rsyslogd,
            settings.upload_timeout_s,
            s3_overrides=dict(scenario.s3_overrides),
        ) as rig,
    ):
        rig.start_agent()
        rig.start_rsyslog()
        count = int(settings.rate * scenario.stream_s)
        stream = EventStream(rig.ports.syslog, run_id, count, settings.rate, NODE).start()
        time.sleep(scenario.fault_at_s)
        log(f"  {scenario.name}: fault at event {stream.sent}")
        notes: list[str] = []
        try:
            scenario.fault(rig)
        except (RigError, TimeoutError) as error:
            notes.append(f"fault failed: {error}")
        stream.join(timeout=scenario.stream_s + 180)
        if stream.error:
            notes.append(stream.error)
        archive = ArchiveCount(run_id)
        settle(rig, archive, stream.sent, drain_bound(scenario, settings), settings.quiet_s)
        metrics = rig.agent_metrics()
        shown = ("errors_total", "dropped_records_total", "retries_total", "retries_failed_total")
        notes.append(
            "agent counters since its last start: "
            + ", ".join(f"{name}={metrics.get(name, 0):.0f}" for name in shown)
        )
        verdict, lines = run_verify(rig, run_id, stream.sent, since, settings.upload_timeout_s)
        notes += [line for line in lines if "LOST" in line or "not delivered" in line]
        log_text = rig.agent_log()
        notes += [
            f"agent log: {name} x{len(pattern.findall(log_text))}"
            for name, pattern in TELLTALES.items()
            if pattern.search(log_text)
        ]
        if rig.s3_back_at is not None and archive.complete_at is not None:
            after = archive.complete_at - rig.s3_back_at
            notes.append(f"archive complete within {after:.0f} s of S3 coming back")
        if archive.records:
            notes.append(f"{archive.record_bytes / archive.records:.0f} bytes per record")
        if stream.resends:
            notes.append(f"sender reconnected {stream.resends}x")
    return Result(
        scenario=scenario.name,
        sent=stream.sent,
        distinct=archive.distinct,
        lost=archive.lost(stream.sent),
        duplicates=archive.duplicates(),
        verdict=verdict,
        seconds=time.monotonic() - started,
        notes=notes,
    )


def settle(rig: Rig, archive: ArchiveCount, sent: int, bound_s: float, quiet_s: float) -> None:
    """Poll the archive until every event is there and nothing new came for `quiet_s`
    (late duplicates), or `bound_s` passed."""
    client = rig.s3()
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        archive.refresh(client, rig.bucket)
        if archive.complete_at is None and archive.distinct >= sent:
            archive.complete_at = time.monotonic()
        quiet = time.monotonic() - archive.last_growth
        if archive.distinct >= sent and quiet >= quiet_s:
            return
        time.sleep(2)
    archive.refresh(client, rig.bucket)


def run_verify(
    rig: Rig, run_id: str, sent: int, since: datetime, in_flight_s: int
) -> tuple[str, list[str]]:
    """`verify` on the archive as it is: 'OK' or 'FAILED', and what it printed."""
    from tooling import verify

    args = verify._parser().parse_args(
        [
            "--stack", "local", "--no-pulumi", "--bucket", rig.bucket,
            "--region", rig.stack.region, "--endpoint-url", rig.moto_endpoint,
            "--run-id", run_id, "--services", f"{SERVICE}={sent}",
            "--since", since.isoformat(), "--timeout", "0",
            "--in-flight", str(in_flight_s), "--whole-instances",
        ]
    )  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    try:
        code = verify.verify(args, out=out, err=err, client=rig.s3())
    except verify.VerifyError as error:
        return f"error: {error}", []
    lines = (out.getvalue() + err.getvalue()).splitlines()
    return ("OK" if code == verify.EXIT_OK else "FAILED"), [line.strip() for line in lines]


# --- the table ----------------------------------------------------------------------------

HEADER = ("scenario", "sent", "distinct archived", "lost", "duplicates", "verify")


def render(results: list[Result]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "| " + " | ".join("---" for _ in HEADER) + " |"]
    for r in results:
        cells = (r.scenario, f"{r.sent:,}", f"{r.distinct:,}", f"{r.lost:,}", f"{r.duplicates:,}")
        lines.append("| " + " | ".join((*cells, r.verdict)) + " |")
    notes = [f"- {r.scenario} ({r.seconds:.0f} s): {'; '.join(r.notes)}" for r in results]
    return "\n".join([*lines, "", *notes]) + "\n"


def main_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tooling.faults.table", description=__doc__)
    parser.add_argument("--short", action="store_true", help="skip the long (10 min) outage")
    parser.add_argument("--only", help="run the scenarios whose name contains this text")
    parser.add_argument("--rate", type=float, default=300.0, help="events per second")
    parser.add_argument(
        "--upload-timeout", type=int, default=5, help="the S3 upload timeout in the rig (s)"
    )
    parser.add_argument("--outage", type=float, default=60.0, help="short outage (s)")
    parser.add_argument("--long-outage", type=float, default=600.0, help="long outage (s)")
    return parser.parse_args(argv)
