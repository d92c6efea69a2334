"""The config reference (docs/config-reference.md), generated from the config models.

    python -m tooling.config_reference > docs/config-reference.md

A test compares the file with this output, so the reference cannot drift from the code.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.common.names import PROJECT
from components.config import ArchiveStackConfig, StackConfig

_HIDDEN = {"region"}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[1])}" if len(args) == 2 else "map"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("|", "\\|")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return f"{len(value)} item(s), see below"
    return f"`{json.dumps(value, default=str)}`"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def reference() -> str:
    lines = [
        "# Config reference",
        "",
        "Generated from the config models by `python -m tooling.config_reference`; "
        "do not edit by hand. Keys go under the `container-audit-log:` namespace in "
        "`Pulumi.<stack>.yaml` (plus `aws:region`).",
        "",
    ]
    seen: set[type[BaseModel]] = set()
    queue: list[tuple[str, type[BaseModel]]] = [
        (f"{PROJECT}:", StackConfig),
        (f"{PROJECT}:", ArchiveStackConfig),
    ]
    roots = {
        StackConfig: "Top-level keys (combined and cluster stacks)",
        ArchiveStackConfig: "Top-level keys of an archive stack (stackKind: archive)",
    }
    while queue:
        path, model = queue.pop(0)
        if model in seen:
            continue
        seen.add(model)
        root = model in roots
        title = roots[model] if root else f"`{path}` ({model.__name__})"
        lines += [f"## {title}", ""]
        doc = (model.__doc__ or "").strip().splitlines()
        if doc and not root:
            lines += [doc[0], ""]
        lines += ["| key | type | default | notes |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            if root and name in _HIDDEN:
                continue
            key = field.alias or name
            notes = (field.description or "").replace("|", "\\|").replace("\n", " ")
            type_name = _type_name(field.annotation)
            lines.append(f"| `{key}` | {type_name} | {_default(field)} | {notes} |")
            prefix = f"{path}{key}" if root else f"{path}.{key}"
            for nested in _models_in(field.annotation):
                label = (
                    prefix
                    if len(_models_in(field.annotation)) == 1
                    else f"{prefix} (type {nested.__name__})"
                )
                queue.append((label, nested))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference(), end="")
