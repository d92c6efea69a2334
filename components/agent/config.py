"""The renderer of the agent's Fluent Bit 5.1 YAML config, and its deterministic text.

Pipeline: tail on node syslog's handoff files (numbered RFC 5424 lines) -> parse -> event
time (parser filter) -> record_modifier (cluster, node, environment) -> lua (audit fields)
-> grep rules -> filesystem buffer -> one output per route (components.agent.routes).

Pure: no Pulumi imports. `render_fluent_bit_config` builds the config as data; `to_yaml`
serializes it deterministically; `config_checksum` names a config text.
"""

import hashlib
from pathlib import PurePosixPath
from typing import Any

import yaml

from components.agent.audit_fields import lua_filter_entry
from components.agent.metrics import HANDOFF_INPUT
from components.agent.monitoring import add_monitoring
from components.agent.parsers import (
    event_time_filter,
    event_time_parsers,
    parser_specs,
    undefined_parsers,
)
from components.agent.routes import Properties, RenderError, on_off
from components.agent.settings import AgentSettings, PipelineContext
from components.node_syslog.rsyslog import HANDOFF_GLOB

HANDOFF_DB_FILE = "handoff.db"


def _service(settings: AgentSettings) -> dict[str, str]:
    storage = settings.storage
    health = settings.health_check
    return {
        "flush": str(settings.flush),
        "grace": str(settings.grace),
        "daemon": "off",
        "log_level": settings.log_level,
        "http_server": "on",
        # hostNetwork pod: 0.0.0.0 would publish health and metrics on every node interface.
        # The node's primary IP (downward API status.hostIP) is the pod IP the kubelet probes
        # and Prometheus scrapes; 127.0.0.1 would need a probe `host`, which baseline Pod
        # Security forbids.
        "http_listen": "${HOST_IP}",
        "http_port": str(settings.http_port),
        "health_check": "on",
        "hc_errors_count": str(health.errors_count),
        "hc_retry_failure_count": str(health.retry_failure_count),
        "hc_period": str(health.period),
        "hot_reload": "off",
        "storage.path": storage.path,
        "storage.sync": storage.sync,
        "storage.checksum": on_off(storage.checksum),
        "storage.metrics": "on",
        "storage.backlog.mem_limit": storage.backlog_mem_limit,
        # "on" crashed 5.1.1 with SIGSEGV on SIGTERM (in_storage_backlog's exit,
        # sb_remove_chunk_from_segregated_backlog), reproduced by tooling.faults. Off, the
        # chunks left at exit stay on disk and the next start sends them.
        "storage.backlog.flush_on_shutdown": "off",
        "storage.max_chunks_up": str(storage.max_chunks_up),
        "storage.delete_irrecoverable_chunks": "on",
    }


def _input(settings: AgentSettings, handoff_directory: str) -> Properties:
    """`tail` on node syslog's handoff files. Its offset database (beside the chunks, on
    the node's disk) records how far each file was read; an offset is stored only after
    the lines before it are in a chunk, so a restarted agent reads on from there: what a
    killed agent had not buffered is read again (duplicates), never skipped."""
    return {
        "name": "tail",
        "alias": HANDOFF_INPUT,
        "tag": settings.tag,
        "path": str(PurePosixPath(handoff_directory) / HANDOFF_GLOB),
        "db": handoff_db_path(settings),
        "db.sync": "normal",
        # Find a file's row by inode AND name: by inode alone, a new file that reuses the
        # inode of one deleted while the agent was down would resume at the old offset.
        "db.compare_filename": "true",
        # A file found without an offset (new, or its row lost) is read from its start.
        "read_from_head": "true",
        "read_newly_discovered_files_from_head": "true",
        # rsyslog starts a new file every minute: look for it every second.
        "refresh_interval": "1",
        "parser": settings.parser_name,
        "buffer_chunk_size": settings.buffer_chunk_size,
        "buffer_max_size": settings.buffer_max_size,
        # Never skip a line: the config check keeps rsyslog's longest below buffer_max_size.
        "skip_long_lines": "off",
        "storage.type": "filesystem",
    }


def handoff_db_path(settings: AgentSettings) -> str:
    """The tail offset database: with the chunks, on the node's disk (storage.path)."""
    return str(PurePosixPath(settings.storage.path) / HANDOFF_DB_FILE)


def _filters(settings: AgentSettings, context: PipelineContext) -> list[Properties]:
    filters: list[Properties] = [
        event_time_filter(settings.tag),
        {
            "name": "record_modifier",
            "alias": "pipeline-context",
            "match": settings.tag,
            "record": [
                f"cluster {context.cluster_name}",
                f"environment {context.environment}",
                "node ${NODE_NAME}",
            ],
        },
        # RFC 5424 structured data and pri as top-level fields (components.agent.audit_fields).
        lua_filter_entry(settings.tag),
    ]
    # One grep filter per rule: every include must match, any exclude drops the record.
    for index, rule in enumerate(settings.grep, start=1):
        filters.append(
            {
                "name": "grep",
                "alias": f"grep-{index}",
                "match": settings.tag,
                "regex" if rule.action == "include" else "exclude": f"{rule.key} {rule.regex}",
            }
        )
    return filters


def render_fluent_bit_config(settings: AgentSettings, context: PipelineContext) -> dict[str, Any]:
    """The whole Fluent Bit 5.1 YAML config as data. Raises RenderError when unrenderable."""
    problems = [
        p for route in settings.routes for p in route.check_environment(context.environment)
    ]
    if problems:
        raise RenderError("; ".join(problems))
    spec = parser_specs()[settings.parser_name]
    config: dict[str, Any] = {
        "service": _service(settings),
        "parsers": [spec.as_config(), *event_time_parsers(settings.rfc3164_time_offset)],
        "pipeline": {
            "inputs": [_input(settings, context.handoff_directory)],
            "filters": _filters(settings, context),
            "outputs": [route.output(settings.route_defaults) for route in settings.routes],
        },
    }
    if context.monitoring is not None:
        config = add_monitoring(config, context.monitoring, settings.tag)
    missing = undefined_parsers(config)
    if missing:
        raise RenderError(f"parsers used but not defined: {', '.join(missing)}")
    return config


_KEY_RANK = {"name": 0, "service": 1, "parsers": 2, "pipeline": 3, "inputs": 4, "filters": 5}


class _ConfigDumper(yaml.SafeDumper):
    """Keys in a fixed order (name first, then sections, then alphabetical); no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    items = sorted(data.items(), key=lambda item: (_KEY_RANK.get(item[0], 9), item[0]))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # Multi-line values (the inline Lua script) as literal blocks a reviewer can read.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_ConfigDumper.add_representer(dict, _represent_dict)
_ConfigDumper.add_representer(str, _represent_str)


def to_yaml(config: dict[str, Any]) -> str:
    """Deterministic YAML of a rendered config (same data, same text)."""
    return yaml.dump(
        config,
        Dumper=_ConfigDumper,
        default_flow_style=False,
        allow_unicode=True,
        width=100_000,
    )


def config_checksum(text: str) -> str:
    """sha256 hex of the config text, for the pod template's checksum annotation."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
