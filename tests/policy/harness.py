"""Running the pack's policies in-process through pulumi_policy's public types.

Props go through `unknown_checking_proxy`, as the analyzer server wraps them, and every
policy of the pack runs, so a test sees exactly which policies fire.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policy.policies import all_policies
from tests.policy.compliant import urn
from tooling.graph import RecordedResource

Config = Mapping[str, Mapping[str, Any]]
Fired = dict[str, list[str]]
DELETE = object()


def changed(props: Mapping[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `props` with the value at `path` replaced (or removed, with DELETE)."""
    result = copy.deepcopy(dict(props))
    node: Any = result
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return result


def _options(parent: str | None = None, protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def analyze(
    type_token: str,
    props: Mapping[str, Any],
    config: Config | None = None,
    *,
    protect: bool = False,
) -> Fired:
    """Policy name -> messages, for every resource policy that fires on one resource."""
    fired: Fired = defaultdict(list)
    for policy in all_policies():
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        args = ResourceValidationArgs(
            resource_type=type_token,
            props=unknown_checking_proxy(dict(props)),
            urn=urn(type_token, "subject"),
            name="subject",
            opts=_options(protect=protect),
            provider=None,
            config=(config or {}).get(policy.name),
        )
        messages = fired[policy.name]

        def report(message: str, _urn: str | None, messages: list[str] = messages) -> None:
            messages.append(message)

        policy.validate(args, report)
    return {name: found for name, found in fired.items() if found}


def policy_resources(resources: list[RecordedResource]) -> list[PolicyResource]:
    """The stack as StackValidationArgs carries it: parents and dependencies linked."""
    built = {
        r.urn: PolicyResource(
            resource_type=r.type,
            props=unknown_checking_proxy({**r.inputs, **r.outputs}),
            urn=r.urn,
            name=r.name,
            opts=_options(r.parent),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in resources
    }
    for r in resources:
        built[r.urn].parent = built.get(r.parent) if r.parent else None
        built[r.urn].dependencies = [built[d] for d in r.dependencies if d in built]
    return list(built.values())


def analyze_stack(
    resources: list[RecordedResource], config: Config | None = None
) -> dict[str, list[tuple[str, str | None]]]:
    """Policy name -> (message, urn) for every stack policy that fires."""
    fired: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    stack = policy_resources(resources)
    for policy in all_policies():
        if not isinstance(policy, StackValidationPolicy):
            continue
        args = StackValidationArgs(stack, (config or {}).get(policy.name))
        found = fired[policy.name]

        def report(
            message: str, at: str | None, found: list[tuple[str, str | None]] = found
        ) -> None:
            found.append((message, at))

        policy.validate(args, report)
    return {name: found for name, found in fired.items() if found}
