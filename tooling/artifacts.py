"""What the offline plan writes: the resource tree, the graph, and every reviewable artifact.

Everything here is a pure function of the recorded graph, written in a stable order with
sorted keys, so two plans of the same tree are byte-identical and `make diff` shows only
real changes.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from components.archive.table import render_ddl
from components.common.workload import ARTIFACT_ANNOTATION
from tooling.graph import RecordedResource, ResourceGraph

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sorted_resources(graph: ResourceGraph) -> list[RecordedResource]:
    return sorted(graph.resources, key=lambda r: r.urn)


def plan_tree(graph: ResourceGraph) -> str:
    """The resource tree, the way `pulumi preview` shows it, ending in `N resources`."""
    children: dict[str | None, list[RecordedResource]] = {}
    for resource in graph.resources:
        children.setdefault(resource.parent, []).append(resource)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.type, r.name))
    rows: list[tuple[str, str, str]] = []

    def walk(resource: RecordedResource, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└─ " if last else "├─ ")
        # `>` marks a read (StackReference), as `pulumi preview` shows `read`.
        op = ">" if resource.read else "+"
        rows.append((op, f"{prefix}{branch}{resource.type}", resource.name))
        kids = children.get(resource.urn, [])
        next_prefix = prefix if root else prefix + ("   " if last else "│  ")
        for index, kid in enumerate(kids):
            walk(kid, next_prefix, index == len(kids) - 1, False)

    for top in children.get(None, []):
        walk(top, "", True, True)
    width = max((len(t) for _, t, _ in rows), default=4) + 2
    lines = [f"Previewing update ({graph.stack}) [offline, under mocks]", ""]
    lines.append(f"     {'Type':<{width}}Name")
    lines += [f" {op}   {type_:<{width}}{name}" for op, type_, name in rows]
    count = graph.resource_count
    lines += ["", "Resources:", f"    + {count} to create", "", f"{count} resources"]
    return "\n".join(lines) + "\n"


def kubernetes_manifests(graph: ResourceGraph) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, manifest) for every Kubernetes object, as the provider would apply it."""
    for resource in sorted_resources(graph):
        inputs = resource.inputs
        if not resource.type.startswith("kubernetes:") or "kind" not in inputs:
            continue
        metadata = inputs.get("metadata") or {}
        name = (
            metadata.get("name")
            or resource.outputs.get("metadata", {}).get("name")
            or resource.name
        )
        namespace = metadata.get("namespace") or "cluster"
        manifest = {k: v for k, v in inputs.items() if not k.startswith("__")}
        manifest["metadata"] = {**metadata, "name": name}
        yield f"{inputs['kind'].lower()}-{_safe(namespace)}-{_safe(name)}.yaml", manifest


def aws_documents(graph: ResourceGraph) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name, document) for every IAM and bucket policy document in the graph."""
    fields = {
        "aws:iam/role:Role": ("assumeRolePolicy", "iam-role-{}-trust.json"),
        "aws:iam/rolePolicy:RolePolicy": ("policy", "iam-role-policy-{}.json"),
        "aws:s3/bucketPolicy:BucketPolicy": ("policy", "s3-bucket-policy-{}.json"),
        "aws:kms/key:Key": ("policy", "kms-key-policy-{}.json"),
        "aws:kms/keyPolicy:KeyPolicy": ("policy", "kms-key-policy-{}.json"),
    }
    for resource in sorted_resources(graph):
        if resource.type not in fields:
            continue
        key, pattern = fields[resource.type]
        text = resource.inputs.get(key)
        if isinstance(text, str) and text.strip():
            yield pattern.format(_safe(resource.name)), json.loads(text)


def daemon_configs(graph: ResourceGraph) -> Iterator[tuple[str, str]]:
    """(relative path, text) of daemon configs: annotated ConfigMaps and node user data."""
    for resource in sorted_resources(graph):
        inputs = resource.inputs
        if resource.type == "kubernetes:core/v1:ConfigMap":
            annotations = (inputs.get("metadata") or {}).get("annotations") or {}
            folder = annotations.get(ARTIFACT_ANNOTATION)
            if folder:
                for key, text in sorted((inputs.get("data") or {}).items()):
                    yield f"{_safe(folder)}/{_safe(key)}", text
        elif resource.type == "aws:ec2/launchTemplate:LaunchTemplate" and inputs.get("userData"):
            yield "rsyslog/user-data.mime", base64.b64decode(inputs["userData"]).decode()


def query_artifacts(graph: ResourceGraph) -> Iterator[tuple[str, str]]:
    """(relative path, text): each Glue table's DDL and each Athena named query's SQL."""
    for resource in sorted_resources(graph):
        inputs = resource.inputs
        if resource.type == "aws:glue/catalogTable:CatalogTable":
            name = f"{inputs['databaseName']}.{inputs['name']}"
            yield f"athena/table-{_safe(name)}.sql", render_ddl(inputs["databaseName"], inputs)
        elif resource.type == "aws:athena/namedQuery:NamedQuery":
            header = f"-- {inputs.get('description', '')}\n-- database: {inputs['database']}"
            yield f"athena/query-{_safe(inputs['name'])}.sql", f"{header}\n{inputs['query']}\n"


def destroy_text(graph: ResourceGraph) -> str:
    """What `pulumi destroy` of this stack would do: deleted, kept in the cloud, refused."""
    deleted, kept = graph.destroy_plan()
    protected = [r for r in deleted if r.protect]
    reads = [r for r in graph.resources if r.read]
    lines = [f"Destroying {graph.stack} [offline, under mocks]", ""]
    if protected:
        lines += [
            f"refused: {len(protected)} protected resources; `pulumi destroy` stops until "
            "they are unprotected (`pulumi state unprotect`)",
            "",
        ]
    lines += [
        f"delete  {r.type}  {r.name}{'  (protected)' if r.protect else ''}"
        for r in sorted(deleted, key=lambda r: r.urn)
    ]
    lines += [f"retain  {r.type}  {r.name}" for r in sorted(kept, key=lambda r: r.urn)]
    lines += [f"read    {r.type}  {r.name}  (another stack's: untouched)" for r in reads]
    lines += [
        "",
        f"{len(deleted)} to delete ({len(protected)} protected), {len(kept)} retained in the "
        f"cloud, {len(reads)} read from other stacks",
    ]
    return "\n".join(lines) + "\n"


def write_plan(graph: ResourceGraph, out_dir: Path) -> dict[str, int]:
    """Write build/<stack>/ afresh; return counts for the summary line."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "k8s").mkdir(parents=True)
    (out_dir / "aws").mkdir()
    _write(out_dir / "plan.txt", plan_tree(graph))
    _write(out_dir / "destroy.txt", destroy_text(graph))
    _write(out_dir / "resources.json", _canonical(graph).to_json())
    manifests = list(kubernetes_manifests(graph))
    for filename, manifest in manifests:
        _write(out_dir / "k8s" / filename, yaml.safe_dump(manifest, sort_keys=True))
    documents = list(aws_documents(graph))
    for filename, document in documents:
        _write(out_dir / "aws" / filename, json.dumps(document, indent=2, sort_keys=True) + "\n")
    configs = list(daemon_configs(graph)) + list(query_artifacts(graph))
    for relative, text in configs:
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, text)
    return {
        "resources": graph.resource_count,
        "manifests": len(manifests),
        "documents": len(documents),
        "configs": len(configs),
    }


def _canonical(graph: ResourceGraph) -> ResourceGraph:
    return ResourceGraph(
        stack=graph.stack,
        project=graph.project,
        resources=tuple(sorted_resources(graph)),
        stack_outputs=graph.stack_outputs,
    )


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part)
