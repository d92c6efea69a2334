"""What the agent adds for operating the pipeline: heartbeats made countable, and rsyslog's
queue counters made scrapeable.

- Heartbeats (rsyslog's immark, components.node_syslog.monitoring) are re-tagged
  `<input tag prefix>.heartbeat` by a rewrite_tag filter whose emitter is named
  `heartbeat`: every route matching `audit.*` still archives them (under a key prefix of
  their own, cheap for `verify --heartbeat` to scan), and the agent's
  `fluentbit_input_records_total{name="heartbeat"}` counts them per node.
- rsyslog's impstats JSON arrives on a loopback TCP input; log_to_metrics turns the queue
  objects into `rsyslog_queue_size` and `rsyslog_queue_full` gauges and the actions'
  `failed` counters (messages rsyslog dropped, e.g. a handoff write on a full disk) into
  `rsyslog_action_failed`, served by a
  prometheus_exporter output on `${HOST_IP}:<exporterPort>` (the built-in endpoint serves
  only the agent's own metrics).

Pure: no Pulumi imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.agent import metrics as m

STATS_TAG = "rsyslog.stats"
STATS_METRICS_TAG = "rsyslog.metrics"
STATS_INPUT = "rsyslog-stats"
# impstats' `origin` of the objects the gauges read.
QUEUES = r"^core\.queue$"
ACTIONS = r"^core\.action$"
EXPORTER_OUTPUT = "rsyslog-metrics"


@dataclass(frozen=True)
class AgentMonitoring:
    """What the monitoring section asks of the agent."""

    # None: no heartbeat filter.
    heartbeat_message: str | None
    stats_port: int
    exporter_port: int


def heartbeat_tag(input_tag: str) -> str:
    """`audit.syslog` -> `audit.heartbeat`: beside the input's tag, so `audit.*` routes match."""
    head, _, _ = input_tag.rpartition(".")
    return f"{head}.heartbeat" if head else "heartbeat"


def heartbeat_filter(message: str, input_tag: str) -> dict[str, Any]:
    # rewrite_tag's rule is space separated: the message's spaces become \s in the regex.
    pattern = "^" + message.replace(" ", r"\s") + "$"
    return {
        "name": "rewrite_tag",
        "alias": "heartbeat-tag",
        "match": input_tag,
        "rule": f"$message {pattern} {heartbeat_tag(input_tag)} false",
        "emitter_name": m.HEARTBEAT_EMITTER,
        "emitter_storage.type": "filesystem",
    }


def _stats_gauge(
    metric: str, origin: str, field: str, description: str, last: bool
) -> dict[str, Any]:
    """One impstats counter of every object whose origin matches `origin` (QUEUES,
    ACTIONS) as a gauge labelled with the object's name."""
    namespace, subsystem, name = metric.split("_", 2)
    gauge: dict[str, Any] = {
        "name": "log_to_metrics",
        "alias": f"rsyslog-{subsystem}-{name}",
        "match": STATS_TAG,
        "regex": f"origin {origin}",
        "metric_mode": "gauge",
        "metric_namespace": namespace,
        "metric_subsystem": subsystem,
        "metric_name": name,
        "metric_description": description,
        "value_field": field,
        "label_field": "name",
        "tag": STATS_METRICS_TAG,
    }
    if last:
        # The counters are metrics now; the JSON objects themselves go nowhere.
        gauge["discard_logs"] = "true"
    return gauge


def stats_input(monitoring: AgentMonitoring) -> dict[str, Any]:
    return {
        "name": "tcp",
        "alias": STATS_INPUT,
        "listen": "127.0.0.1",
        "port": str(monitoring.stats_port),
        "format": "json",
        "tag": STATS_TAG,
    }


def stats_filters() -> list[dict[str, Any]]:
    return [
        _stats_gauge(m.RSYSLOG_QUEUE_SIZE, QUEUES, "size", "Messages in an rsyslog queue.", False),
        _stats_gauge(
            m.RSYSLOG_ACTION_FAILED,
            ACTIONS,
            "failed",
            "Messages an rsyslog action failed to process and dropped (cumulative).",
            False,
        ),
        _stats_gauge(
            m.RSYSLOG_QUEUE_FULL,
            QUEUES,
            "full",
            "Times an rsyslog queue was full (cumulative).",
            True,
        ),
    ]


def exporter_output(monitoring: AgentMonitoring) -> dict[str, Any]:
    return {
        "name": "prometheus_exporter",
        "alias": EXPORTER_OUTPUT,
        "match": STATS_METRICS_TAG,
        # Like the HTTP server: the node's primary IP, not every interface.
        "host": "${HOST_IP}",
        "port": str(monitoring.exporter_port),
    }


def add_monitoring(
    config: dict[str, Any], monitoring: AgentMonitoring, input_tag: str
) -> dict[str, Any]:
    """The rendered agent config with the heartbeat filter and the stats pipeline added.

    The heartbeat filter goes after the filters that enrich every record (cluster, node,
    environment, parsed fields), so heartbeats carry the same fields, and before any grep
    rule, which must not drop heartbeats.
    """
    pipeline = config["pipeline"]
    filters = list(pipeline.get("filters", []))
    if monitoring.heartbeat_message is not None:
        greps = [i for i, f in enumerate(filters) if f.get("name") == "grep"]
        at = greps[0] if greps else len(filters)
        filters.insert(at, heartbeat_filter(monitoring.heartbeat_message, input_tag))
    return {
        **config,
        "pipeline": {
            **pipeline,
            "inputs": [*pipeline["inputs"], stats_input(monitoring)],
            "filters": [*filters, *stats_filters()],
            "outputs": [*pipeline["outputs"], exporter_output(monitoring)],
        },
    }


def with_pod_monitoring(
    spec: dict[str, Any], monitoring: AgentMonitoring | None, annotations: dict[str, str]
) -> dict[str, Any]:
    """The agent DaemonSet spec with the exporter's container port and scrape annotations."""
    if monitoring is None and not annotations:
        return spec
    template = spec["template"]
    pod = template["spec"]
    containers = [dict(c) for c in pod["containers"]]
    if monitoring is not None:
        containers[0]["ports"] = [
            *containers[0].get("ports", []),
            {
                "name": m.EXPORTER_PORT_NAME,
                "containerPort": monitoring.exporter_port,
                "protocol": "TCP",
            },
        ]
    metadata = dict(template.get("metadata", {}))
    metadata["annotations"] = {**metadata.get("annotations", {}), **annotations}
    return {
        **spec,
        "template": {**template, "metadata": metadata, "spec": {**pod, "containers": containers}},
    }
