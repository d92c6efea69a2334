"""Pod security beyond the basics: seccomp, root, and which host paths a node agent may touch.

These read the *effective* setting of each container: a container's securityContext
overrides its pod's, and a setting left unset falls back to what the image or the runtime
does (root, no seccomp), which is what the checks assume.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Policy, Severity

from .common import UNKNOWN, Report, Resource, as_list, dicts, get
from .workloads import Container, containers, identity, workload_policy

_SAFE_SECCOMP = ("RuntimeDefault", "Localhost")
# Sockets that hand over the node: whoever can talk to the runtime can start privileged
# containers. /var/run is a symlink to /run on every current distribution.
RUNTIME_SOCKETS = (
    "/run/containerd/containerd.sock",
    "/run/docker.sock",
    "/run/crio/crio.sock",
    "/run/cri-dockerd.sock",
    "/run/dockershim.sock",
    "/run/k3s/containerd/containerd.sock",
    "/run/podman/podman.sock",
)


def _effective(spec: dict[str, Any], container: Container, key: str) -> Any:
    own = get(container.spec, "securityContext", key)
    return own if own is not None else get(spec, "securityContext", key)


def _seccomp(
    resource: Resource, spec: dict[str, Any], config: Mapping[str, Any], report: Report
) -> None:
    for container in containers(spec):
        profile = _effective(spec, container, "seccompProfile")
        kind = get(profile, "type")
        if profile is UNKNOWN or kind is UNKNOWN:
            continue
        if kind not in _SAFE_SECCOMP:
            shown = "no seccomp profile (Unconfined)" if kind is None else f"seccomp {kind!r}"
            report(f"{container.label} runs with {shown}; accepted: {list(_SAFE_SECCOMP)}")


def _root_allowed(resource: Resource, entries: list[Any]) -> bool:
    namespace, name = identity(resource.props)
    return any(
        isinstance(e, dict)
        and e.get("namespace") == namespace
        and e.get("name") == name
        and str(e.get("reason") or "").strip()
        for e in entries
    )


def _non_root(
    resource: Resource, spec: dict[str, Any], config: Mapping[str, Any], report: Report
) -> None:
    if _root_allowed(resource, as_list(config["rootAllowed"])):
        return
    for container in containers(spec):
        user = _effective(spec, container, "runAsUser")
        non_root = _effective(spec, container, "runAsNonRoot")
        if UNKNOWN in (user, non_root):
            continue
        if user == 0:
            report(f"{container.label} runs as root (runAsUser 0)")
        elif user is None and non_root is not True:
            report(
                f"{container.label} sets neither runAsUser nor runAsNonRoot=true, so it runs "
                "as whatever user the image names (often root)"
            )


def normalize(path: str) -> str:
    clean = posixpath.normpath("/" + path.strip())
    clean = "/" + clean.lstrip("/")
    if clean == "/var/run" or clean.startswith("/var/run/"):
        clean = clean[len("/var") :]
    return clean


def _within(path: str, root: str) -> bool:
    return path == root or root == "/" or path.startswith(root.rstrip("/") + "/")


def forbidden_reason(path: str) -> str | None:
    """Why no workload may mount this host path at all, or None."""
    if path == "/":
        return "is the node's root filesystem"
    for socket in RUNTIME_SOCKETS:
        if _within(socket, path):
            return f"exposes the container runtime socket {socket}"
    return None


def _allowed_entries(resource: Resource, entries: list[Any]) -> list[dict[str, Any]]:
    namespace, name = identity(resource.props)
    return [
        e
        for e in entries
        if isinstance(e, dict)
        and e.get("namespace") == namespace
        and e.get("name") == name
        and isinstance(e.get("path"), str)
    ]


def _mounts_of(spec: dict[str, Any], volume: str) -> list[tuple[Container, dict[str, Any]]]:
    return [
        (container, mount)
        for container in containers(spec)
        for mount in dicts(container.spec.get("volumeMounts"))
        if mount.get("name") == volume
    ]


def _host_paths(
    resource: Resource, spec: dict[str, Any], config: Mapping[str, Any], report: Report
) -> None:
    entries = _allowed_entries(resource, as_list(config["allowed"]))
    namespace, name = identity(resource.props)
    who = f"{namespace}/{name or resource.name}"
    for volume in dicts(spec.get("volumes")):
        raw = get(volume, "hostPath", "path")
        if raw is None or raw is UNKNOWN or not isinstance(raw, str):
            continue
        path = normalize(raw)
        reason = forbidden_reason(path)
        if reason is not None:
            report(f"{who} mounts host path {raw}, which {reason}; never allowed")
            continue
        granted = [e for e in entries if _within(path, normalize(e["path"]))]
        if not granted:
            report(f"{who} mounts host path {raw}, which is not allow-listed for it")
            continue
        writable = any(e.get("writable") is True for e in granted)
        for container, mount in _mounts_of(spec, str(volume.get("name"))):
            if not writable and mount.get("readOnly") is not True:
                report(
                    f"{who}: {container.label} mounts host path {raw} writable; it is "
                    "allow-listed read-only"
                )


def policies() -> list[Policy]:
    return [
        workload_policy(
            name="k8s-seccomp-profile",
            what="Every container runs under a seccomp profile (RuntimeDefault or Localhost).",
            fix="set securityContext.seccompProfile.type='RuntimeDefault' in the pod spec "
            "(or on each container); never 'Unconfined'.",
            severity=Severity.HIGH,
            pod_check=_seccomp,
        ),
        workload_policy(
            name="k8s-run-as-non-root",
            what="Containers run as a non-root user, unless the workload is allow-listed "
            "with a reason.",
            fix="set securityContext.runAsNonRoot=true and a non-zero runAsUser, or add the "
            "workload (namespace, name, reason) to rootAllowed of the stack's policy config.",
            severity=Severity.HIGH,
            pod_check=_non_root,
            config={
                "rootAllowed": {
                    "type": "array",
                    "description": "Workloads that must run as root, each with the reason.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "namespace": {"type": "string"},
                            "name": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                        "required": ["namespace", "name", "reason"],
                    },
                    "default": [],
                }
            },
        ),
        workload_policy(
            name="k8s-host-paths-allow-listed",
            what="Host paths are allow-listed per workload and per path, read-only unless "
            "the path is the workload's own buffer; '/' and container runtime sockets are "
            "never allowed.",
            fix="mount only the allow-listed paths, readOnly=true unless the entry is "
            "writable, or add {namespace, name, path, writable} to allowed in the stack's "
            "policy config.",
            severity=Severity.CRITICAL,
            pod_check=_host_paths,
            config={
                "allowed": {
                    "type": "array",
                    "description": "Host paths (and everything under them) a workload may "
                    "mount; writable only where writable is true.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "namespace": {"type": "string"},
                            "name": {"type": "string"},
                            "path": {"type": "string"},
                            "writable": {"type": "boolean"},
                        },
                        "required": ["namespace", "name", "path"],
                    },
                    "default": [],
                }
            },
        ),
    ]
