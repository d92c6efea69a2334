"""Every fault of the fault table: one function each, done to a running rig in the middle
of a steady stream of distinct events. `scenarios()` is the table's rows, in order.

A daemon killed with SIGKILL (a crash) stays down `rig.down_s` before it is started again,
as a pod restarts after a delay; one stopped with SIGTERM (a rollout) is started at once.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tooling.faults.proxy import Mode
from tooling.faults.rig import Rig
from tooling.loopback import wait_until

Fault = Callable[[Rig], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    stream_s: float = 40.0  # in `make faults`; tests choose their own length
    fault_at_s: float = 15.0
    long: bool = False  # only in `make faults`, never in `make test`
    s3_overrides: tuple[tuple[str, str], ...] = ()  # rows that show what a setting did
    outage_s: float = 0.0  # S3 unreachable this long: retries back off, allow for it
    # How the stream reaches node syslog: plain TCP (what the kernel took counts as sent)
    # or RELP (acknowledged once numbered and written; the unacknowledged are resent).
    sender: Literal["tcp", "relp"] = "tcp"
    # False: the row shows what something loses; `make faults` does not fail on it.
    judged: bool = True


def no_fault(rig: Rig) -> None:
    del rig


def agent_sigkill(rig: Rig) -> None:
    """The agent dies at once (OOM kill, node pressure)."""
    rig.restart("agent", signal.SIGKILL)


def agent_sigkill_while_catching_up(rig: Rig) -> None:
    """Killed again while rsyslog sends it the backlog of the first outage as fast as it
    reads: what is in flight between them is at its largest."""
    rig.kill("agent")
    time.sleep(max(4.0, rig.down_s))  # a backlog of seconds of events waits in rsyslog
    rig.start("agent")
    # Kill it once the backlog flows (a first batch arrived), not before rsyslog reconnects.
    wait_until(lambda: rig.agent_input_records() > 0, 30, "backlog reaching the agent")
    rig.restart("agent", signal.SIGKILL)


def agent_sigterm(rig: Rig) -> None:
    """A clean pod stop (rollout): the agent flushes within `grace` and exits."""
    rig.restart("agent", signal.SIGTERM)


def rsyslogd_sigterm(rig: Rig) -> None:
    rig.restart("rsyslogd", signal.SIGTERM)


def rsyslogd_sigkill(rig: Rig) -> None:
    rig.restart("rsyslogd", signal.SIGKILL)


def both_sigkill(rig: Rig) -> None:
    """A node crash without a reboot: both daemons killed at once, then started again."""
    rig.kill("rsyslogd", "agent")
    time.sleep(rig.down_s)
    rig.start("agent")
    rig.start("rsyslogd")


def rsyslogd_sigkill_while_agent_down(rig: Rig) -> None:
    """rsyslogd is killed while it holds a backlog for a stopped agent (an OOM kill or a
    node crash during an agent outage): what waits in its queue is at its largest."""
    rig.kill("agent")  # at once: the stream goes on into rsyslog's queue
    time.sleep(max(4.0, rig.down_s) / 2)
    rig.kill("rsyslogd")
    rig.start("agent")
    rig.start("rsyslogd")


def s3_outage(seconds: float, mode: Mode) -> Fault:
    """S3 unreachable for `seconds`: the proxy refuses connections, or resets them."""

    def fault(rig: Rig) -> None:
        assert rig.proxy is not None
        rig.proxy.set_mode(mode)
        try:
            time.sleep(seconds)
        finally:
            rig.proxy.set_mode("forward")
            rig.s3_back_at = time.monotonic()

    return fault


def s3_outage_then_replay(seconds: float) -> Fault:
    """S3 refused for `seconds`; back, restart the agent (does it resend the quarantine? it
    does not), then `tooling.replay_quarantine` on the store_dir."""
    outage = s3_outage(seconds, "refuse")

    def fault(rig: Rig) -> None:
        from tooling.replay_quarantine import replay
        from tooling.verify import stack_defaults

        outage(rig)
        rig.restart("agent", signal.SIGTERM)
        time.sleep(3 * rig.upload_timeout_s)
        route = stack_defaults("local").route.resolved(rig.bucket, rig.stack.region, "audit/local/")
        store_dir = rig.root / "fluent-bit" / "s3"
        replay(store_dir, route.layout, rig.bucket, rig.s3(), False, sys.stderr)

    return fault


def scenarios(outage_s: float = 60.0, long_outage_s: float = 600.0) -> list[Scenario]:
    """Every row of `make faults`, in order."""

    def outage(name: str, fault: Fault, after_s: float = 30, no_limits: bool = False) -> Scenario:
        overrides = (("retry_limit", "no_limits"),) if no_limits else ()
        return Scenario(name, fault, outage_s + after_s, 15.0, False, overrides, outage_s)

    short = f"{outage_s:.0f} s"
    return [
        Scenario("no fault", no_fault),
        Scenario("agent SIGKILL, restarted", agent_sigkill),
        Scenario("agent SIGKILL again while it catches up", agent_sigkill_while_catching_up),
        Scenario("agent SIGTERM, restarted", agent_sigterm),
        # The rows that stop rsyslogd stream over RELP: plain TCP loses what rsyslogd had
        # taken but not numbered (the TCP row shows how much).
        Scenario("rsyslogd SIGTERM, restarted", rsyslogd_sigterm, sender="relp"),
        Scenario("rsyslogd SIGKILL, restarted", rsyslogd_sigkill, sender="relp"),
        Scenario("rsyslogd SIGKILL, restarted (TCP sender)", rsyslogd_sigkill, judged=False),
        Scenario("both SIGKILL at once, restarted", both_sigkill, sender="relp"),
        Scenario(
            "rsyslogd SIGKILL while the agent is down",
            rsyslogd_sigkill_while_agent_down,
            sender="relp",
        ),
        outage(f"S3 refuses connections {short}", s3_outage(outage_s, "refuse")),
        outage(f"S3 resets connections {short}", s3_outage(outage_s, "reset")),
        outage(
            f"S3 refuses {short}, retry_limit no_limits (before #11)",
            s3_outage(outage_s, "refuse"),
            no_limits=True,
        ),
        outage(
            f"S3 refuses {short}, retry_limit no_limits, agent restarted, then replay_quarantine",
            s3_outage_then_replay(outage_s),
            after_s=60,
            no_limits=True,
        ),
        Scenario(
            f"S3 refuses connections {long_outage_s / 60:.0f} min",
            s3_outage(long_outage_s, "refuse"),
            stream_s=long_outage_s + 30,
            long=True,
            outage_s=long_outage_s,
        ),
    ]


def by_name(name: str) -> Scenario:
    """The scenario called exactly `name` (with the default outage lengths)."""
    (found,) = [s for s in scenarios() if s.name == name]
    return found
