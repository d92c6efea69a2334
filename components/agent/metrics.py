"""The agent's Prometheus series the alert rules and the dashboard are built on.

Every name here is one Fluent Bit 5.1.1 serves on `/api/v2/metrics/prometheus` (a test
runs the real agent and fails when one disappears), or one the agent's own rsyslog-stats
pipeline exports (components.render.rsyslog_stats), or one the handoff cleaner sidecar serves
(components.agent.handoff_cleaner_script, checked against its /metrics). Pure: no Pulumi
imports.
"""

from __future__ import annotations

# Built-in agent metrics (label `name`: the input's or output's alias).
INPUT_RECORDS = "fluentbit_input_records_total"
INPUT_PAUSED = "fluentbit_input_ingestion_paused"
INPUT_OVERLIMIT = "fluentbit_input_storage_overlimit"
INPUT_CHUNKS_DOWN = "fluentbit_input_storage_chunks_down"
OUTPUT_RECORDS = "fluentbit_output_proc_records_total"
OUTPUT_ERRORS = "fluentbit_output_errors_total"
OUTPUT_RETRIES = "fluentbit_output_retries_total"
OUTPUT_RETRIES_FAILED = "fluentbit_output_retries_failed_total"
OUTPUT_DROPPED = "fluentbit_output_dropped_records_total"
OUTPUT_CAPACITY = "fluentbit_output_chunk_available_capacity_percent"
# Label message_type: error, warn, info, ... The S3 plugin's upload timer reports failed
# uploads and retry-exhausted (quarantined) chunks only in the agent's log.
LOGGED_MESSAGES = "fluentbit_logger_logs_total"
UPTIME = "fluentbit_uptime"

BUILT_IN = (
    INPUT_RECORDS,
    INPUT_PAUSED,
    INPUT_OVERLIMIT,
    INPUT_CHUNKS_DOWN,
    OUTPUT_RECORDS,
    OUTPUT_ERRORS,
    OUTPUT_RETRIES,
    OUTPUT_RETRIES_FAILED,
    OUTPUT_DROPPED,
    OUTPUT_CAPACITY,
    LOGGED_MESSAGES,
    UPTIME,
)

# The alias of the agent's inputs, as their `name` label shows them.
HANDOFF_INPUT = "node-handoff"
HEARTBEAT_EMITTER = "heartbeat"

# Where the agent's prometheus_exporter output serves the rsyslog_* series.
EXPORTER_PATH = "/metrics"
EXPORTER_PORT_NAME = "metrics"

# rsyslog's queues (impstats), as the agent's rsyslog-stats pipeline exports it
# (components.agent.monitoring) on its exporter port; label `name`: the queue.
RSYSLOG_QUEUE_SIZE = "rsyslog_queue_size"
RSYSLOG_QUEUE_FULL = "rsyslog_queue_full"
# impstats' `failed` of each action (label `name`: the action's name): messages dropped.
RSYSLOG_ACTION_FAILED = "rsyslog_action_failed"

# The handoff cleaner's series (one per node, no labels but the scrape's).
HANDOFF_OLDEST_UNREAD = "audit_handoff_oldest_unread_seconds"
HANDOFF_UNREAD_BYTES = "audit_handoff_unread_bytes"
HANDOFF_FREE_BYTES = "audit_handoff_filesystem_free_bytes"
HANDOFF_SIZE_BYTES = "audit_handoff_filesystem_size_bytes"
HANDOFF_CLEANER_ERRORS = "audit_handoff_cleaner_errors_total"
HANDOFF_SERIES = (
    HANDOFF_OLDEST_UNREAD,
    HANDOFF_UNREAD_BYTES,
    HANDOFF_FREE_BYTES,
    HANDOFF_SIZE_BYTES,
    HANDOFF_CLEANER_ERRORS,
)
