"""One scenario, one run: stream `rate` events/s, do the fault at `fault_at_s`, wait for
the stream to end and the archive to settle, count the archive by event and by record
number, and let `verify` judge it.

`run_on` works on a running rig (tests run several scenarios on one, one after the
other); `run_fresh` starts a rig of its own in a temp dir and stops it afterwards.
"""

from __future__ import annotations

import io
import math
import re
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tooling.faults.rig import NODE, Rig, RigError
from tooling.faults.scenarios import Scenario
from tooling.faults.stream import SERVICE, ArchiveCount, EventStream, run_id_now

# Agent log lines that say data was dropped or parked, and how often each appeared.
TELLTALES = {
    "will not retry": re.compile(r"will not retry"),
    "quarantined": re.compile(r"retry-exhausted chunk moved to quarantine"),
    "irrecoverable chunk discarded": re.compile(r"discarding irrecoverable chunk"),
    "S3 buffer full": re.compile(r"Buffer is full"),
}


@dataclass
class Result:
    """`lost` and `duplicates` count events; `seq_gaps` are records lost after node syslog
    numbered them; `instances` the node counters that delivered (a restarted rsyslogd
    numbers under a new one)."""

    scenario: str
    sent: int
    lost: int
    duplicates: int
    instances: int
    seq_gaps: int
    seq_duplicates: int
    unnumbered: int
    unclean_stops: int  # daemons stopped with SIGTERM that did not exit with 0
    verdict: str
    seconds: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    """How `run_fresh` builds its rig and paces its stream."""

    fluent_bit: str
    rsyslogd: str
    rate: float = 300.0
    upload_timeout_s: int = 5
    down_s: float = 5.0
    quiet_s: float = 15.0  # nothing new in the archive this long once done: settled
    grace: int | None = None  # the agent's `grace`; None: as rendered
    node_overrides: tuple[tuple[str, object], ...] = ()


def unclean_stops(exits: list[tuple[str, int, int]]) -> int:
    return sum(1 for _, signum, code in exits if signum == signal.SIGTERM and code != 0)


def backoff_s(outage_s: float) -> float:
    """The S3 output's wait after an outage: attempt n waits 2n s, ~2*sqrt(outage) at its
    end, plus a timer tick."""
    return 2 * math.sqrt(outage_s) + 12 if outage_s else 0.0


def run_on(
    rig: Rig,
    scenario: Scenario,
    events: int,
    rate: float,
    *,
    fault_at_s: float | None = None,
    quiet_s: float = 15.0,
    idle_s: float | None = None,
    bound_s: float | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Result:
    """`events` at `rate` into the running rig, the fault at `fault_at_s` (default: half
    way); settled when every event (or the marker) arrived and nothing new came for
    `quiet_s`; or when nothing new came for `idle_s` (default: a few upload timeouts more;
    the marker may be lost too); or after `bound_s`."""
    started = time.monotonic()
    since = datetime.now(UTC) - timedelta(minutes=2)
    exits_before = len(rig.exits)
    run_id = run_id_now(re.sub(r"[^a-z0-9]+", "-", scenario.name.lower())[:40])
    if scenario.sender == "relp" and rig.relp_port is None:
        raise RigError(f"{scenario.name}: streams over RELP, but the node has RELP off")
    port = rig.relp_port if scenario.sender == "relp" else rig.syslog_port
    assert port is not None
    stream = EventStream(port, run_id, events, rate, NODE, sender=scenario.sender).start()
    time.sleep(events / rate / 2 if fault_at_s is None else fault_at_s)
    log(f"  {scenario.name}: fault at event {stream.sent}")
    notes: list[str] = []
    try:
        scenario.fault(rig)
    except (RigError, TimeoutError) as error:
        notes.append(f"fault failed: {error}")
    stream.join(timeout=events / rate + 180)
    if stream.error:
        notes.append(stream.error)
    stream.marker()
    archive = ArchiveCount(run_id)
    if idle_s is None:
        # rsyslog retries the agent at most 10 s apart (components/node_syslog/rsyslog.py).
        idle_s = quiet_s + 3 * rig.upload_timeout_s + 10 + backoff_s(scenario.outage_s)
    bound = 60 + 2 * idle_s if bound_s is None else bound_s
    done_at = settle(rig, archive, stream.sent, (quiet_s, idle_s, bound))
    notes += _notes(rig, archive, done_at, stream.resends)
    if stream.relp_resent:
        notes.append(f"RELP: {stream.relp_resent} unacknowledged events sent again")
    verdict, lines = run_verify(rig, run_id, stream.sent, since)
    notes += [line for line in lines if "LOST" in line or "not delivered" in line]
    return Result(
        scenario=scenario.name,
        sent=stream.sent,
        lost=archive.lost(stream.sent),
        duplicates=archive.duplicates(),
        instances=archive.instances,
        seq_gaps=archive.seq_gaps(),
        seq_duplicates=archive.seq_duplicates(),
        unnumbered=archive.ledger.unnumbered,
        unclean_stops=unclean_stops(rig.exits[exits_before:]),
        verdict=verdict,
        seconds=time.monotonic() - started,
        notes=notes,
    )


def run_fresh(scenario: Scenario, settings: Settings, log: Callable[[str], None]) -> Result:
    """`scenario` on a rig of its own, configured by `settings`."""
    with (
        tempfile.TemporaryDirectory(prefix="audit-faults-") as temp,
        Rig(
            Path(temp),
            settings.fluent_bit,
            settings.rsyslogd,
            settings.upload_timeout_s,
            down_s=settings.down_s,
            grace=settings.grace,
            s3_overrides=dict(scenario.s3_overrides),
            node_overrides=dict(settings.node_overrides),
        ) as rig,
    ):
        rig.start("agent")
        rig.start("rsyslogd")
        events = int(settings.rate * scenario.stream_s)
        return run_on(
            rig,
            scenario,
            events,
            settings.rate,
            fault_at_s=scenario.fault_at_s,
            quiet_s=settings.quiet_s,
            log=log,
        )


def settle(rig: Rig, archive: ArchiveCount, sent: int, waits: tuple[float, float, float]) -> float:
    """Poll the archive until every event or the marker is there and nothing new came for
    `quiet` (late duplicates, the last upload), or nothing new came for `idle`, or `bound`
    passed. When it was done (monotonic; 0 if never)."""
    quiet_s, idle_s, bound_s = waits
    client = rig.s3()
    began = time.monotonic()
    done_at = 0.0
    while True:
        archive.refresh(client, rig.bucket)
        now = time.monotonic()
        if not done_at and (archive.marker_seen or archive.distinct >= sent):
            done_at = now
        still = now - max(done_at or began, archive.last_growth)
        if (done_at and still >= quiet_s) or still >= idle_s or now >= began + bound_s:
            return done_at
        time.sleep(min(2.0, max(0.25, quiet_s / 4)))


def _notes(rig: Rig, archive: ArchiveCount, done_at: float, resends: int) -> list[str]:
    metrics = rig.agent_metrics()
    shown = ("errors_total", "dropped_records_total", "retries_total", "retries_failed_total")
    notes = [
        "agent counters since its last start: "
        + ", ".join(f"{name}={metrics.get(name, 0):.0f}" for name in shown)
    ]
    log_text = rig.agent_log()
    notes += [
        f"agent log: {name} x{len(pattern.findall(log_text))}"
        for name, pattern in TELLTALES.items()
        if pattern.search(log_text)
    ]
    if rig.s3_back_at is not None and done_at:
        notes.append(f"archive complete within {done_at - rig.s3_back_at:.0f} s of S3 coming back")
    if archive.records:
        notes.append(f"{archive.record_bytes / archive.records:.0f} bytes per record")
    if resends:
        notes.append(f"sender reconnected {resends}x")
    notes.append(f"handoff files deleted by the cleaner so far: {rig.cleaner_deleted()}")
    return notes


def run_verify(rig: Rig, run_id: str, sent: int, since: datetime) -> tuple[str, list[str]]:
    """`verify` on the archive as it is: 'OK' or 'FAILED', and what it printed."""
    from tooling import verify

    args = verify._parser().parse_args(
        [
            "--stack", "local", "--no-pulumi", "--bucket", rig.bucket,
            "--region", rig.stack.region, "--endpoint-url", rig.moto_endpoint,
            "--run-id", run_id, "--services", f"{SERVICE}={sent}",
            "--since", since.isoformat(), "--timeout", "0",
            "--in-flight", str(rig.upload_timeout_s), "--whole-instances",
        ]
    )  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    try:
        code = verify.verify(args, out=out, err=err, client=rig.s3())
    except verify.VerifyError as error:
        return f"error: {error}", []
    lines = (out.getvalue() + err.getvalue()).splitlines()
    return ("OK" if code == verify.EXIT_OK else "FAILED"), [line.strip() for line in lines]
