"""Pieces of Kubernetes pod specs, as data, shared by every workload this project ships.

Each returns the camelCase dict the API server takes, so the same value feeds Pulumi,
the offline plan and the schema validation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

PART_OF = "container-audit-log"
# ConfigMaps carrying this annotation hold daemon config: the offline plan also writes each
# data key to build/<stack>/<annotation value>/<key>, where reviewers look for it.
ARTIFACT_ANNOTATION = "container-audit-log/artifact"
# On a pod template: the hash of the config it mounts, so a new config rolls the pods.
CONFIG_CHECKSUM_ANNOTATION = "checksum/config"
Manifest = dict[str, Any]


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector_labels(name: str) -> dict[str, str]:
    """The labels a workload selects its pods by (a subset of `labels`, never changed)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": PART_OF}


def container_security_context(run_as_root: bool = False, uid: int = 65532) -> Manifest:
    """No privilege, no capabilities, no writes to the image: the baseline of every container."""
    context: Manifest = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    if run_as_root:
        context.update({"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": False})
    else:
        context.update({"runAsUser": uid, "runAsGroup": uid, "runAsNonRoot": True})
    return context


def pod_security_context() -> Manifest:
    return {"seccompProfile": {"type": "RuntimeDefault"}}


def downward_env(fields: Mapping[str, str]) -> list[Manifest]:
    """Env vars from the downward API (NODE_NAME <- spec.nodeName, ...)."""
    return [
        {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}
        for name, path in sorted(fields.items())
    ]


def host_path_volume(name: str, path: str, kind: str = "DirectoryOrCreate") -> Manifest:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def resources(requests: Mapping[str, str | None], limits: Mapping[str, str | None]) -> Manifest:
    return {
        "requests": {k: v for k, v in requests.items() if v is not None},
        "limits": {k: v for k, v in limits.items() if v is not None},
    }


def volume_name(path: str) -> str:
    """A valid volume name derived from a node path: /var/fluent-bit/s3 -> var-fluent-bit-s3."""
    cleaned = "".join(c if c.isalnum() else "-" for c in path.lower()).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned[:63].rstrip("-") or "root"


def data_checksum(data: Mapping[str, str]) -> str:
    """sha256 of ConfigMap data; on a pod template, so new config rolls the pods."""
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode("utf-8")).hexdigest()


def as_input(value: Any) -> Any:
    """A camelCase dict (or an Output of one) passed where Pulumi takes any input type.

    Pulumi accepts plain dicts for every input class at run time; mypy cannot see that.
    """
    return value
