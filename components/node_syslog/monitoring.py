"""What node rsyslog adds for operating the pipeline: a heartbeat and its own counters.

- Heartbeat: `immark` injects one message per interval into the forwarding ruleset, so it
  takes the same path as every audit record (queue -> agent -> every route) and carries the
  same fields (node, time, and the sequence identity rsyslog gives each record).
- Counters: `impstats` emits its queue and action counters as JSON every interval to a
  ruleset of their own, sent straight to the agent's stats input on loopback (no disk
  queue: a stale counter is worth nothing, and when the agent is down its own alert
  fires). The agent turns them into the `rsyslog_queue_*` series.

Appended to the forwarding drop-in (components.node_syslog.rsyslog). Pure: no Pulumi imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.node_syslog.rsyslog import RULESET, Param, rs_object, rs_ruleset

STATS_RULESET = "container_audit_stats"
STATS_TEMPLATE = "container_audit_stats_json"


@dataclass(frozen=True)
class RsyslogMonitoring:
    """What the monitoring section asks of node rsyslog."""

    # None: no heartbeat.
    heartbeat_interval_s: int | None
    heartbeat_message: str
    stats_interval_s: int
    # The agent's loopback TCP input for the counters (one JSON object per line).
    stats_port: int

    def __post_init__(self) -> None:
        if not 1 <= self.stats_port <= 65535:
            raise ValueError(f"stats port {self.stats_port} is outside 1-65535")


def render_monitoring_conf(monitoring: RsyslogMonitoring, agent_host: str = "127.0.0.1") -> str:
    """RainerScript blocks to append to the forwarding drop-in."""
    blocks: list[str] = []
    if monitoring.heartbeat_interval_s is not None:
        blocks.append(
            rs_object(
                "module",
                {
                    "load": "immark",
                    "interval": monitoring.heartbeat_interval_s,
                    "markMessageText": monitoring.heartbeat_message,
                    # Through rsyslog's own queue into the forwarding ruleset, like any record.
                    "use.syslogCall": False,
                    "ruleset": RULESET,
                },
            )
        )
    blocks.append(
        # The JSON object alone; omfwd's traditional TCP framing ends each with a newline.
        rs_object("template", {"name": STATS_TEMPLATE, "type": "string", "string": "%msg%"})
    )
    stats_action: dict[str, Param] = {
        "type": "omfwd",
        "name": "container_audit_stats_to_agent",
        "target": agent_host,
        "port": monitoring.stats_port,
        "protocol": "tcp",
        "template": STATS_TEMPLATE,
        # Counters are sent again next interval: never queue them on disk, never block.
        "queue.type": "FixedArray",
        "queue.size": 1000,
        # Full (the agent is down): drop the counters at once, never stall impstats.
        "queue.timeoutEnqueue": 0,
        "action.resumeRetryCount": -1,
    }
    blocks.append(rs_ruleset(STATS_RULESET, [stats_action]))
    blocks.append(
        rs_object(
            "module",
            {
                "load": "impstats",
                "interval": monitoring.stats_interval_s,
                "format": "json",
                "log.syslog": True,
                "resetCounters": False,
                "ruleset": STATS_RULESET,
            },
        )
    )
    return "\n# container-audit-log: heartbeat and counters.\n" + "\n\n".join(blocks) + "\n"
