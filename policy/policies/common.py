"""What every policy module shares: plain data from the engine's proxies, config, factories.

The engine hands policies read-only proxies that raise on values unknown during preview.
`plain` turns them into dicts and lists once, with `UNKNOWN` in place of unknown values, so
checks read the data freely and decide for themselves what an unknown means (usually: set,
but not inspectable, so not a violation).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    """A value the engine does not know yet (preview of a new resource's output)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Final = _Unknown()

ConfigSchema = dict[str, dict[str, Any]]


def _whole_numbers(value: Any) -> Any:
    # Config travels as a protobuf Struct, where every number is a float: 7 arrives as 7.0.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value


def plain(value: Any) -> Any:
    """Deep copy of engine props as dicts/lists, with UNKNOWN where the engine had no value.

    Whole floats become ints: the engine's Struct turns every number into a float.
    """
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return _whole_numbers(value)


def get(value: Any, *path: str | int) -> Any:
    """Walk dicts and lists; None where a key is missing, UNKNOWN where the walk hits one."""
    for key in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(key, str) and isinstance(value, dict):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def as_list(value: Any) -> list[Any]:
    """IAM and Kubernetes accept a scalar where a list is meant; treat both alike."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def is_set(value: Any) -> bool:
    """Present and not empty; an unknown value counts as set (it will be, after apply)."""
    return value is UNKNOWN or value not in (None, "", [], {})


def parse_json(value: Any) -> Any:
    """JSON documents (IAM, bucket policies) arrive as strings; None if absent or unreadable."""
    if value is UNKNOWN or isinstance(value, dict | list):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return None


def resolve_config(schema: ConfigSchema, given: Mapping[str, Any]) -> dict[str, Any]:
    """The policy's config with the schema defaults filled in, as the engine does."""
    resolved = {key: spec.get("default") for key, spec in schema.items()}
    resolved.update({key: value for key, value in given.items() if key in schema})
    return {key: _whole_numbers(value) for key, value in resolved.items()}


@dataclass(frozen=True)
class Resource:
    """One resource as a resource policy sees it."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]


@dataclass(frozen=True)
class StackResource(Resource):
    """One resource of the stack as a stack policy sees it (props are the outputs)."""

    parent: str | None
    dependencies: frozenset[str]
    property_dependencies: Mapping[str, frozenset[str]]

    def depends_on(self, other: StackResource, prop: str | None = None) -> bool:
        if prop is not None and self.property_dependencies.get(prop):
            return other.urn in self.property_dependencies[prop]
        return other.urn in self.dependencies


Report = Callable[[str], None]
StackReport = Callable[[str, str | None], None]
ResourceCheck = Callable[[Resource, Mapping[str, Any], Report], None]
StackCheck = Callable[[list[StackResource], Mapping[str, Any], StackReport], None]


def describe(what: str, fix: str) -> str:
    return f"{what} Fix: {fix}"


def resource_policy(
    *,
    name: str,
    what: str,
    fix: str,
    severity: Severity,
    enforcement: EnforcementLevel,
    types: Iterable[str],
    check: ResourceCheck,
    config: ConfigSchema | None = None,
) -> ResourceValidationPolicy:
    """A policy that runs `check` on every resource whose type token is in `types`."""
    wanted = frozenset(types)
    schema = config or {}

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        resource = Resource(args.resource_type, args.name, args.urn, plain(args.props))
        settings = resolve_config(schema, args.get_config())
        check(resource, settings, lambda message: report_violation(message, None))

    return ResourceValidationPolicy(
        name=name,
        description=describe(what, fix),
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=schema) if schema else None,
        severity=severity,
        remediation_steps=fix,
    )


def _stack_resource(resource: PolicyResource) -> StackResource:
    return StackResource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=plain(resource.props),
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies=frozenset(dep.urn for dep in resource.dependencies),
        property_dependencies={
            key: frozenset(dep.urn for dep in deps)
            for key, deps in resource.property_dependencies.items()
        },
    )


def stack_policy(
    *,
    name: str,
    what: str,
    fix: str,
    severity: Severity,
    enforcement: EnforcementLevel,
    check: StackCheck,
    config: ConfigSchema | None = None,
) -> StackValidationPolicy:
    """A policy that runs `check` once over every resource of the stack."""
    schema = config or {}

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [_stack_resource(resource) for resource in args.resources]
        settings = resolve_config(schema, args.get_config())
        check(resources, settings, report_violation)

    return StackValidationPolicy(
        name=name,
        description=describe(what, fix),
        validate=validate,
        enforcement_level=enforcement,
        config_schema=PolicyConfigSchema(properties=schema) if schema else None,
        severity=severity,
        remediation_steps=fix,
    )


def workload_ref_schema(description: str) -> dict[str, Any]:
    """Config schema of an allow-list of workloads named by namespace and name."""
    return {
        "type": "array",
        "description": description,
        "items": {
            "type": "object",
            "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}},
            "required": ["namespace", "name"],
        },
        "default": [],
    }
