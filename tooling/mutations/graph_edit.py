"""Editing a copy of a recorded resource graph: the raw material of a mutation test.

A stack policy sees a resource's outputs laid over its inputs, and the mocks echo some
inputs (Kubernetes metadata) into the outputs; an edit therefore changes a property in
both places, so resource and stack policies see the same broken value.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tooling.graph import RecordedResource, ResourceGraph

Path = tuple[str | int, ...]
Document = dict[str, Any]


class EditError(LookupError):
    """A mutation does not fit the graph it is applied to (a resource or key is missing)."""


class GraphEdit:
    """A deep copy of a graph whose resources can be changed, added and removed."""

    def __init__(self, graph: ResourceGraph) -> None:
        self._graph = graph
        self.resources: list[RecordedResource] = [copy.deepcopy(r) for r in graph.resources]

    def result(self) -> ResourceGraph:
        return replace(self._graph, resources=tuple(self.resources))

    # --- finding ------------------------------------------------------------------------

    def find(self, type_token: str, name: str | None = None) -> RecordedResource:
        found = [
            r for r in self.resources if r.type == type_token and (name is None or r.name == name)
        ]
        if len(found) != 1:
            raise EditError(f"expected one {type_token} {name or ''}, found {len(found)}")
        return found[0]

    # --- changing -----------------------------------------------------------------------

    def set(self, resource: RecordedResource, path: Path, value: Any) -> None:
        """Set inputs[path] (and outputs[path] where the outputs carry that property)."""
        _assign(resource.inputs, path, value)
        if path[0] in resource.outputs:
            _assign(resource.outputs, path, copy.deepcopy(value))

    def delete(self, resource: RecordedResource, path: Path) -> None:
        for props in (resource.inputs, resource.outputs):
            parent = _walk(props, path[:-1], create=False)
            if isinstance(parent, dict):
                parent.pop(path[-1], None)

    def get(self, resource: RecordedResource, path: Path) -> Any:
        merged = {**resource.inputs, **resource.outputs}
        return _walk(merged, path, create=False)

    def edit_document(
        self, resource: RecordedResource, key: str, change: Callable[[Document], None]
    ) -> None:
        """Change a JSON document property (IAM, bucket and key policies) as data."""
        text = self.get(resource, (key,))
        document = json.loads(text) if isinstance(text, str) else {"Version": "2012-10-17"}
        change(document)
        self.set(resource, (key,), json.dumps(document, sort_keys=True))

    def remove(self, resource: RecordedResource) -> None:
        self.resources = [r for r in self.resources if r.urn != resource.urn]

    def add(self, resource: RecordedResource) -> None:
        self.resources.append(resource)

    def replace_resource(self, old: RecordedResource, new: RecordedResource) -> None:
        self.resources = [new if r.urn == old.urn else r for r in self.resources]


def _walk(node: Any, path: Path, *, create: bool) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                if create:
                    raise EditError(f"no item {key} in {node!r:.80}")
                return None
            node = node[key]
        else:
            if not isinstance(node, dict):
                if create:
                    raise EditError(f"no key {key!r} in {node!r:.80}")
                return None
            if key not in node:
                if not create:
                    return None
                node[key] = {}
            node = node[key]
    return node


def _assign(props: dict[str, Any], path: Path, value: Any) -> None:
    parent = _walk(props, path[:-1], create=True)
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(parent, list):
            raise EditError(f"cannot index {parent!r:.80} with {last}")
        if last == len(parent):
            parent.append(value)
        else:
            parent[last] = value
    else:
        parent[last] = value
