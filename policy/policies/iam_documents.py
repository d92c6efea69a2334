"""Reading IAM policy documents (identity, trust and bucket policies) as data."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from .common import as_list, dicts, parse_json

_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<rest>.+)$")


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a policy document given as JSON text or a dict."""
    parsed = parse_json(document)
    if not isinstance(parsed, dict):
        return []
    return dicts(parsed.get("Statement"))


def effect(statement: dict[str, Any]) -> str:
    value = statement.get("Effect")
    return value if isinstance(value, str) else ""


def is_allow(statement: dict[str, Any]) -> bool:
    return effect(statement) == "Allow"


def actions(statement: dict[str, Any]) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def resources(statement: dict[str, Any]) -> list[str]:
    return [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]


def action_matches(pattern: str, action: str) -> bool:
    """IAM action patterns are case-insensitive globs (`s3:Put*`, `*`)."""
    return fnmatchcase(action.lower(), pattern.lower())


def allows_action(statement: dict[str, Any], action: str) -> bool:
    return is_allow(statement) and any(action_matches(p, action) for p in actions(statement))


def principals(statement: dict[str, Any], kind: str) -> list[str]:
    """Principal values of one kind (AWS, Service, Federated); `"*"` counts for every kind."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [p for p in as_list(principal.get(kind)) if isinstance(p, str)]
    return []


def conditions(statement: dict[str, Any], operator: str) -> dict[str, Any]:
    """The condition block of one operator (e.g. StringEquals), keys as written."""
    block = statement.get("Condition")
    if not isinstance(block, dict):
        return {}
    for key, value in block.items():
        if key.lower() == operator.lower() and isinstance(value, dict):
            return value
    return {}


def condition_values(statement: dict[str, Any], operator: str, key: str) -> list[Any] | None:
    """Values of `operator` / `key` (key compared case-insensitively); None if not present."""
    for name, value in conditions(statement, operator).items():
        if name.lower() == key.lower():
            return as_list(value)
    return None


def s3_object_pattern_covers(pattern: str, bucket: str | None) -> bool:
    """Whether a Resource pattern grants object access in `bucket` (any bucket if None)."""
    match = _S3_ARN.match(pattern)
    if match is None:
        return pattern == "*"
    bucket_part, slash, _key = match.group("rest").partition("/")
    if not slash:
        return False
    return bucket is None or fnmatchcase(bucket, bucket_part)
