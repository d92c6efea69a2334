"""Check a rendered Fluent Bit config against the plugin schema of the pinned version.

The schema is the committed `fluent-bit-schema-5.1.1.json` beside this module: what
`fluent-bit -J` of 5.1.1 prints, cut down to the plugins the project renders
(RENDERED_PLUGINS), with names, types and defaults only, sorted. `make schema` regenerates
it from the binary (`python -m tooling.fluent_bit_schema --write`); a test compares it with
the binary when one is present. It does not list the `service` keys, the engine-wide output
keys or the parser keys, which are below.

`check_config` returns one readable problem per bad key or value; `dry_run` runs
`fluent-bit --dry-run -c FILE` (AgentNotFoundError without a binary).
"""

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from components.agent.parsers import undefined_parsers
from tooling.agent import PINNED_VERSION, AgentNotFoundError, fluent_bit_binary

SCHEMA_PATH = Path(__file__).with_name(f"fluent-bit-schema-{PINNED_VERSION}.json")
# Every plugin a rendered config may name (routes' `plugin`, the renderer's input and
# filters). A plugin outside this list is reported as unknown by check_config.
RENDERED_PLUGINS: dict[str, tuple[str, ...]] = {
    "inputs": ("tail", "tcp"),
    "filters": ("grep", "log_to_metrics", "lua", "parser", "record_modifier", "rewrite_tag"),
    "outputs": (
        "cloudwatch_logs",
        "forward",
        "loki",
        "opensearch",
        "prometheus_exporter",
        "s3",
        "stdout",
    ),
}

# Service keys of 5.1.1 (shared/fluent-bit/README.md), compared case-insensitively.
SERVICE_KEYS = frozenset(
    {
        "flush",
        "grace",
        "daemon",
        "log_file",
        "log_level",
        "parsers_file",
        "plugins_file",
        "streams_file",
        "http_server",
        "http_listen",
        "http_port",
        "health_check",
        "hc_errors_count",
        "hc_retry_failure_count",
        "hc_period",
        "hot_reload",
        "storage.path",
        "storage.sync",
        "storage.metrics",
        "storage.checksum",
        "storage.backlog.mem_limit",
        "storage.backlog.flush_on_shutdown",
        "storage.max_chunks_up",
        "storage.delete_irrecoverable_chunks",
        "storage.trim_files",
        "storage.keep.rejected",
        "storage.rejected.path",
        "coro_stack_size",
        "scheduler.cap",
        "scheduler.base",
        "flush.adaptive",
        "json.convert_nan_to_null",
        "security.fips_mode",
    }
)
SERVICE_KEY_PREFIXES = ("flush.adaptive.",)

# Keys the engine accepts on every plugin of a section beyond the plugin's own list.
ENGINE_KEYS: dict[str, frozenset[str]] = {
    "inputs": frozenset({"name", "processors"}),
    "filters": frozenset({"name"}),
    "outputs": frozenset({"name", "workers", "storage.total_limit_size", "processors"}),
}
ENGINE_KEY_TYPES = {"workers": "integer", "storage.total_limit_size": "size"}

# Keys of a `parsers:` entry that flb_parser.c reads.
PARSER_KEYS = frozenset(
    {
        "name",
        "format",
        "regex",
        "skip_empty_values",
        "time_key",
        "time_format",
        "time_keep",
        "time_strict",
        "time_system_timezone",
        "time_offset",
        "logfmt_no_bare_keys",
        "types",
        "decode_field",
        "decode_field_as",
    }
)
PARSER_FORMATS = frozenset({"regex", "json", "ltsv", "logfmt", "tskv"})

TOP_LEVEL_KEYS = frozenset(
    {
        "service",
        "parsers",
        "multiline_parsers",
        "pipeline",
        "env",
        "includes",
        "customs",
        "plugins",
        "upstream_servers",
    }
)
PIPELINE_SECTIONS = ("inputs", "filters", "outputs")

_BOOLEANS = frozenset({"true", "false", "on", "off", "yes", "no"})
_TYPE_PATTERNS = {
    "integer": r"-?\d+",
    "double": r"-?\d+(\.\d+)?",
    "size": r"\d+(\.\d+)?([KkMmGg][Bb]?)?",
    "time": r"\d+(\.\d+)?[smhdSMHD]?",
}
_SPACE_DELIMITED = re.compile(r"space delimited strings \(minimum (\d+)\)")


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """The committed plugin schema (never a binary's, never a file outside the repo)."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _slim_plugin(plugin: Mapping[str, Any]) -> dict[str, Any]:
    groups = {
        group: sorted(
            (
                {"name": p["name"], "type": p.get("type", "string"), "default": p.get("default")}
                for p in props
            ),
            key=lambda p: str(p["name"]),
        )
        for group, props in sorted(plugin.get("properties", {}).items())
    }
    return {"name": plugin["name"], "properties": groups}


def slim_schema(full: Mapping[str, Any]) -> dict[str, Any]:
    """What `fluent-bit -J` prints, cut down to RENDERED_PLUGINS: names, types, defaults."""
    slim: dict[str, Any] = {"fluent-bit": full["fluent-bit"]}
    for section, names in RENDERED_PLUGINS.items():
        by_name = {str(p["name"]): p for p in full.get(section, [])}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise ValueError(f"the binary has no {section[:-1]} plugin(s) {', '.join(missing)}")
        slim[section] = [_slim_plugin(by_name[name]) for name in sorted(names)]
    return slim


def schema_from_binary(binary: str) -> dict[str, Any]:
    """`BINARY -J`, cut down by slim_schema."""
    done = subprocess.run([binary, "-J"], capture_output=True, text=True, timeout=60, check=True)
    return slim_schema(json.loads(done.stdout))


def schema_text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def dry_run(
    config_path: Path, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`fluent-bit --dry-run -c FILE`; raises AgentNotFoundError when there is no binary."""
    binary = fluent_bit_binary()
    return subprocess.run(
        [binary, "--dry-run", "-c", str(config_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


class _PluginIndex:
    """Properties of one plugin: name -> type (lowercase), plus prefixed-string names."""

    def __init__(self, plugin: Mapping[str, Any]) -> None:
        self.types: dict[str, str] = {}
        self.prefixes: list[str] = []
        for group in plugin.get("properties", {}).values():
            for prop in group:
                name = str(prop["name"]).lower()
                if prop.get("type") == "prefixed string":
                    self.prefixes.append(name)
                self.types.setdefault(name, str(prop.get("type", "string")))

    def type_of(self, key: str) -> str | None:
        lowered = key.lower()
        if lowered in self.types:
            return self.types[lowered]
        if any(lowered.startswith(prefix) for prefix in self.prefixes):
            return "string"
        return None


def _index(schema: Mapping[str, Any]) -> dict[str, dict[str, _PluginIndex]]:
    return {
        section: {str(p["name"]).lower(): _PluginIndex(p) for p in schema.get(section, [])}
        for section in PIPELINE_SECTIONS
    }


def value_problem(prop_type: str, value: Any) -> str | None:
    """Why `value` does not fit a schema type, or None when it fits."""
    if isinstance(value, list):
        for item in value:
            problem = value_problem(prop_type, item)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        return f"is a mapping, expected {prop_type}"
    if isinstance(value, bool):
        return (
            None
            if prop_type in ("boolean", "string", "variant")
            else f"is a boolean, expected {prop_type}"
        )
    text = str(value)
    if "${" in text:
        return None  # expanded from the environment when the agent starts
    if prop_type == "boolean" and text.lower() not in _BOOLEANS:
        return f"{text!r} is not a boolean (on/off/true/false/yes/no)"
    pattern = _TYPE_PATTERNS.get(prop_type)
    if pattern and not re.fullmatch(pattern, text):
        return f"{text!r} is not a valid {prop_type}"
    spaced = _SPACE_DELIMITED.fullmatch(prop_type)
    if spaced and len(text.split()) < int(spaced.group(1)):
        return f"{text!r} needs at least {spaced.group(1)} space-separated values"
    if prop_type == "deprecated":
        return "is deprecated"
    return None


def _check_plugin(
    section: str, position: int, plugin: Any, index: dict[str, _PluginIndex]
) -> list[str]:
    if not isinstance(plugin, Mapping):
        return [f"{section}[{position}]: not a mapping"]
    name = plugin.get("name")
    if not name:
        return [f"{section}[{position}]: no 'name'"]
    where = f"{section}[{position}] ({name})"
    plugin_index = index.get(str(name).lower())
    if plugin_index is None:
        return [f"{where}: unknown {section[:-1]} plugin {name!r}"]
    problems = []
    for key, value in plugin.items():
        lowered = str(key).lower()
        if lowered in ENGINE_KEYS[section]:
            prop_type = ENGINE_KEY_TYPES.get(lowered)
        else:
            prop_type = plugin_index.type_of(str(key))
            if prop_type is None:
                problems.append(f"{where}: unknown property {key!r} for plugin {name!r}")
                continue
        problem = value_problem(prop_type, value) if prop_type else None
        if problem:
            problems.append(f"{where}: property {key!r} value {problem}")
    return problems


def _check_service(service: Any) -> list[str]:
    if not isinstance(service, Mapping):
        return ["service: not a mapping"]
    problems = []
    for key, value in service.items():
        lowered = str(key).lower()
        if lowered not in SERVICE_KEYS and not lowered.startswith(SERVICE_KEY_PREFIXES):
            problems.append(f"service: unknown key {key!r}")
        elif isinstance(value, list | dict):
            problems.append(f"service: key {key!r} must be a single value")
    return problems


def _check_parsers(parsers: Any) -> list[str]:
    if not isinstance(parsers, list):
        return ["parsers: not a list"]
    problems = []
    for position, parser in enumerate(parsers):
        where = (
            f"parsers[{position}] ({parser.get('name') if isinstance(parser, Mapping) else '?'})"
        )
        if not isinstance(parser, Mapping) or "name" not in parser or "format" not in parser:
            problems.append(f"{where}: needs 'name' and 'format'")
            continue
        problems += [f"{where}: unknown key {k!r}" for k in parser if k.lower() not in PARSER_KEYS]
        if str(parser["format"]).lower() not in PARSER_FORMATS:
            problems.append(
                f"{where}: format {parser['format']!r} is not one of {sorted(PARSER_FORMATS)}"
            )
        if str(parser["format"]).lower() == "regex" and "regex" not in parser:
            problems.append(f"{where}: format regex needs a 'regex'")
    return problems


def check_config(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every problem of a config (the dict of its YAML) against the plugin schema."""
    problems = [f"unknown top-level section {key!r}" for key in config if key not in TOP_LEVEL_KEYS]
    if "service" in config:
        problems += _check_service(config["service"])
    if "parsers" in config:
        problems += _check_parsers(config["parsers"])
    pipeline = config.get("pipeline")
    if not isinstance(pipeline, Mapping):
        return [*problems, "pipeline: missing or not a mapping"]
    problems += [f"pipeline: unknown section {k!r}" for k in pipeline if k not in PIPELINE_SECTIONS]
    index = _index(schema)
    for section in PIPELINE_SECTIONS:
        plugins = pipeline.get(section, [])
        if not isinstance(plugins, list):
            problems.append(f"pipeline.{section}: not a list")
            continue
        for position, plugin in enumerate(plugins):
            problems += _check_plugin(section, position, plugin, index[section])
    problems += [f"parser not defined: {missing}" for missing in undefined_parsers(dict(config))]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.fluent_bit_schema",
        description="Regenerate the committed plugin schema from the fluent-bit binary.",
    )
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_PATH.name}")
    args = parser.parse_args(argv)
    try:
        text = schema_text(schema_from_binary(fluent_bit_binary()))
    except (AgentNotFoundError, ValueError, subprocess.SubprocessError) as error:
        print(f"schema: {error}", file=sys.stderr)
        return 2
    if args.write:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"schema: wrote {SCHEMA_PATH}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
