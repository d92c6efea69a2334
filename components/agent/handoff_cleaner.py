"""The handoff-cleaner sidecar of the agent pod: deletes the node's handoff files the agent's
`tail` input has read to the end (`handoff_cleaner_script.py`, shipped as text in a
ConfigMap and run by the gate's pinned python image). Pure: no Pulumi imports.

It reads the tail input's offset database read-only and unlinks files in the handoff
hostPath, so it mounts both volumes the agent mounts, at the same paths: the database stores
each file under the path the agent's tail `path` glob produced, and the cleaner compares it
with `<HANDOFF_DIR>/<name>`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from components.common.workload import (
    Manifest,
    container_security_context,
    downward_env,
    resources,
)
from components.node_syslog.gate import IMAGE

NAME = "handoff-cleaner"
SCRIPT_FILE = "handoff_cleaner.py"
SCRIPT_SOURCE = Path(__file__).with_name("handoff_cleaner_script.py")
SCRIPT_MOUNT = "/opt/handoff-cleaner"
SCRIPT_VOLUME = "handoff-cleaner-script"
METRICS_PORT_NAME = "cleaner-metrics"
METRICS_PATH = "/metrics"  # what the script serves
INTERVAL_SECONDS = 10
# rsyslog writes by processing time; two minutes past a file's minute (and its mtime), it
# writes that file no more, barring a clock step back.
SETTLE_SECONDS = 120

__all__ = ["IMAGE", "NAME", "SCRIPT_FILE", "container_spec", "script_text"]


def script_text() -> str:
    return SCRIPT_SOURCE.read_text(encoding="utf-8")


def _covering_mount(path: str, volume_mounts: Sequence[Manifest]) -> Manifest | None:
    """The mount holding `path` (the deepest mountPath that is it or one of its parents)."""
    best: Manifest | None = None
    for mount in volume_mounts:
        root = posixpath.normpath(str(mount["mountPath"]))
        if (path == root or path.startswith(root.rstrip("/") + "/")) and (
            best is None or len(root) > len(posixpath.normpath(str(best["mountPath"])))
        ):
            best = mount
    return best


def container_spec(
    handoff_dir_mount: str,
    tail_db: str,
    metrics_port: int,
    volume_mounts: Sequence[Manifest],
) -> Manifest:
    """The sidecar container.

    `handoff_dir_mount`: the handoff directory as the agent's tail `path` names it.
    `tail_db`: the tail input's `db`. `volume_mounts`: the mounts holding both, read-write,
    as in the agent container. `metrics_port`: on the node's network (the agent pod uses
    hostNetwork), so not the agent's http_port. The script's ConfigMap comes from a volume
    named SCRIPT_VOLUME, which the pod spec must define.
    """
    handoff_dir = posixpath.normpath(handoff_dir_mount)
    database = posixpath.normpath(tail_db)
    for path, what in ((handoff_dir, "the handoff directory"), (database, "the tail database")):
        if not path.startswith("/"):
            raise ValueError(f"{what} must be an absolute path, not {path!r}")
        mount = _covering_mount(path, volume_mounts)
        if mount is None:
            raise ValueError(f"no volume mount holds {what} {path}")
        # Deleting files needs a writable directory; so does reading the WAL-mode database
        # once the agent stopped cleanly (SQLite must create its -shm file to read it).
        if mount.get("readOnly"):
            raise ValueError(f"{what} {path} must be mounted read-write (mount {mount['name']})")
    if not 0 < metrics_port < 65536:
        raise ValueError(f"metrics_port must be a TCP port 1-65535, not {metrics_port}")
    return {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", f"{SCRIPT_MOUNT}/{SCRIPT_FILE}"],
        "env": [
            {"name": "HANDOFF_DIR", "value": handoff_dir},
            {"name": "TAIL_DB", "value": database},
            {"name": "INTERVAL_SECONDS", "value": str(INTERVAL_SECONDS)},
            {"name": "SETTLE_SECONDS", "value": str(SETTLE_SECONDS)},
            {"name": "METRICS_PORT", "value": str(metrics_port)},
            # The agent pod is on the host network: like the agent's own HTTP server, bind
            # the node IP only (0.0.0.0 would publish it on every node interface).
            *downward_env({"HOST_IP": "status.hostIP"}),
            {"name": "METRICS_ADDRESS", "value": "$(HOST_IP)"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        ],
        "ports": [{"name": METRICS_PORT_NAME, "containerPort": metrics_port, "protocol": "TCP"}],
        "resources": resources({"cpu": "5m", "memory": "24Mi"}, {"cpu": "100m", "memory": "64Mi"}),
        # The agent's privileges for these volumes, no more: root without any capability.
        # rsyslog (root) creates the handoff files root:root 0644 in a hostPath directory the
        # kubelet creates root:root 0755; unlinking needs write permission on that directory,
        # which only its owner, root, has. With ALL capabilities dropped (no DAC_OVERRIDE,
        # no CHOWN, no FOWNER) this root can write only root-owned, owner-writable places.
        "securityContext": container_security_context(run_as_root=True),
        "volumeMounts": [
            {"name": SCRIPT_VOLUME, "mountPath": SCRIPT_MOUNT, "readOnly": True},
            *(dict(mount) for mount in volume_mounts),
        ],
    }
