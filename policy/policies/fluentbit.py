"""Reading the outputs of a Fluent Bit config carried in a ConfigMap (YAML or classic format)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .common import dicts, get

_SECTION = re.compile(r"^\s*\[(?P<name>[A-Za-z_]+)\]\s*$")
_ENTRY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.]+)\s+(?P<value>.+?)\s*$")


def _lower_keys(entry: dict[str, Any]) -> dict[str, Any]:
    # Fluent Bit property names are case-insensitive.
    return {str(k).lower(): v for k, v in entry.items()}


def _yaml_outputs(text: str) -> list[dict[str, Any]] | None:
    try:
        # The C loader where PyYAML has it: agent configs are read on every analysis.
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or "pipeline" not in document:
        return None
    return [_lower_keys(o) for o in dicts(get(document, "pipeline", "outputs"))]


def _classic_outputs(text: str) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        section = _SECTION.match(line)
        if section:
            current = {} if section.group("name").upper() == "OUTPUT" else None
            if current is not None:
                outputs.append(current)
            continue
        entry = _ENTRY.match(line)
        if entry and current is not None:
            current[entry.group("key").lower()] = entry.group("value")
    return outputs


def outputs(text: Any) -> list[dict[str, Any]]:
    """Every output section of one config file (keys lower-cased); [] if it is not a config."""
    if not isinstance(text, str):
        return []
    found = _yaml_outputs(text)
    return found if found is not None else _classic_outputs(text)


def s3_outputs(data: Any) -> list[dict[str, Any]]:
    """The S3 outputs of every config file in a ConfigMap's `data`."""
    if not isinstance(data, dict):
        return []
    return [
        output
        for text in data.values()
        for output in outputs(text)
        if str(output.get("name", "")).lower() == "s3"
    ]
