"""Nodes that are ready before pods: the startup taint and the syslog-gate that lifts it.

In `userdata` mode every node registers with `TAINT_KEY:NoSchedule` (a nodeadm NodeConfig
part of the user data), so no pod without a toleration for it (the demo, any workload
that logs to node syslog) lands on a node whose rsyslog is not listening yet. The
installer cannot lift the taint itself: the NodeRestriction admission plugin stops a
kubelet from changing its own Node's taints. The `syslog-gate` DaemonSet does: one small
pod per node that tolerates the taint, connects to `$HOST_IP:<listenPort>` as workloads
will, and removes the taint when rsyslog answers (`gate_script.py`). Its RBAC is
get/patch on nodes plus creating Events, nothing else. Pure: no Pulumi imports.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from components.common.workload import (
    Manifest,
    container_security_context,
    downward_env,
    labels,
    pod_security_context,
    resources,
    selector_labels,
)

NAME = "syslog-gate"
TAINT_KEY = "container-audit-log/syslog-not-ready"
TAINT_EFFECT = "NoSchedule"
SCRIPT_FILE = "syslog_gate.py"
SCRIPT_SOURCE = Path(__file__).with_name("gate_script.py")
# The standard library is all the gate needs; the demo's image, pinned by digest (the gate
# runs in prod, whose policy requires digests). The multi-platform index digest Docker Hub
# served for this tag on 2026-08-29, as pinned independently by several public projects.
# Re-check on an upgrade: docker buildx imagetools inspect python:<tag>
IMAGE = (
    "python:3.12.11-slim-bookworm"
    "@sha256:519591d6871b7bc437060736b9f7456b8731f1499a57e22e6c285135ae657bf7"
)
# How long rsyslog may take (package install included) before the node says why not.
GRACE_SECONDS = 600
_MOUNT = "/opt/syslog-gate"


def register_taint_flag() -> str:
    return f"--register-with-taints={TAINT_KEY}=true:{TAINT_EFFECT}"


def node_config() -> str:
    """The nodeadm NodeConfig part: kubelet registers the node already tainted. nodeadm
    merges it with the NodeConfig EKS puts in a managed node group's user data."""
    document = {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"kubelet": {"flags": [register_taint_flag()]}},
    }
    return "---\n" + yaml.safe_dump(document, sort_keys=False)


def script_text() -> str:
    return SCRIPT_SOURCE.read_text(encoding="utf-8")


def cluster_role_rules() -> list[Manifest]:
    """Read a node's taints and patch them away. RBAC cannot scope this to the pod's own
    node; the patch the gate sends only removes its one taint, guarded by a `test` op."""
    return [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]


def event_role_rules() -> list[Manifest]:
    """Create Events (a Node's go to the `default` namespace; bound cluster-wide, since a
    RoleBinding there would be an object in `default`, which the policy pack refuses)."""
    return [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]


def daemonset_spec(config_map: str, listen_port: int, checksum: str) -> Manifest:
    selector = selector_labels(NAME)
    container: Manifest = {
        "name": "gate",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python3", f"{_MOUNT}/{SCRIPT_FILE}"],
        "env": [
            *downward_env({"NODE_NAME": "spec.nodeName", "HOST_IP": "status.hostIP"}),
            {"name": "PORT", "value": str(listen_port)},
            {"name": "TAINT_KEY", "value": TAINT_KEY},
            {"name": "GRACE_SECONDS", "value": str(GRACE_SECONDS)},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
        ],
        "resources": resources({"cpu": "5m", "memory": "24Mi"}, {"cpu": "100m", "memory": "64Mi"}),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "script", "mountPath": _MOUNT, "readOnly": True}],
    }
    return {
        "selector": {"matchLabels": selector},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%"}},
        "template": {
            "metadata": {
                "labels": labels(NAME, "node-readiness"),
                "annotations": {"checksum/config": checksum},
            },
            "spec": {
                "serviceAccountName": NAME,
                # It calls the API: get/patch its node, create an Event.
                "automountServiceAccountToken": True,
                # On the pod network, like the workloads whose path to $HOST_IP it checks.
                "hostNetwork": False,
                "priorityClassName": "system-node-critical",
                "terminationGracePeriodSeconds": 5,
                # Only its own taint: on a node that is not ready otherwise it has no work.
                "tolerations": [{"key": TAINT_KEY, "operator": "Exists", "effect": TAINT_EFFECT}],
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": [
                    {"name": "script", "configMap": {"name": config_map, "defaultMode": 0o444}}
                ],
            },
        },
    }
