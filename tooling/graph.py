"""The recorded resource graph: what the offline engine saw the program register.

This is the offline equivalent of a `pulumi preview`: every resource with its URN, type,
parent, dependencies and inputs exactly as the engine receives them (camelCase names).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The root every program registers; not a resource `pulumi preview` counts.
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class RecordedResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: tuple[str, ...]
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    # Resource options the engine acts on at destroy time.
    protect: bool = False
    retain_on_delete: bool = False
    # A read of something another stack owns (a StackReference): never created or deleted.
    read: bool = False


@dataclass(frozen=True)
class ResourceGraph:
    stack: str
    project: str
    resources: tuple[RecordedResource, ...]
    stack_outputs: dict[str, Any]

    @property
    def resource_count(self) -> int:
        """Resources as `pulumi preview` counts them: all but the stack itself."""
        return sum(1 for r in self.resources if r.type != STACK_TYPE)

    def destroy_plan(self) -> tuple[list[RecordedResource], list[RecordedResource]]:
        """What `pulumi destroy` would delete, and what it would leave in the cloud.

        Reads (StackReferences) are another stack's: never deleted. Resources with
        retain_on_delete leave the stack but stay in the cloud. (Protected resources make
        destroy refuse until unprotected; they are listed with what would be deleted.)
        """
        deleted = [
            r
            for r in self.resources
            if r.type != STACK_TYPE and not r.read and not r.retain_on_delete
        ]
        kept = [r for r in self.resources if r.retain_on_delete and not r.read]
        return deleted, kept

    def by_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> RecordedResource:
        found = self.by_type(type_token)
        if len(found) != 1:
            raise LookupError(f"expected exactly one {type_token}, found {len(found)}")
        return found[0]

    def children_of(self, urn: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == urn]

    def to_json(self) -> str:
        payload = {
            "project": self.project,
            "stack": self.stack,
            "resources": [asdict(r) for r in self.resources],
            "outputs": self.stack_outputs,
        }
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ResourceGraph:
        payload = json.loads(text)
        resources = tuple(
            RecordedResource(**{**r, "dependencies": tuple(r["dependencies"])})
            for r in payload["resources"]
        )
        return cls(
            stack=payload["stack"],
            project=payload["project"],
            resources=resources,
            stack_outputs=payload["outputs"],
        )

    @classmethod
    def load(cls, path: Path) -> ResourceGraph:
        return cls.from_json(path.read_text(encoding="utf-8"))
