"""The Fluent Bit DaemonSet's spec, as data, from the agent settings."""

from __future__ import annotations

from typing import Any

from components.agent import handoff_cleaner
from components.agent.config import handoff_db_path
from components.agent.settings import (
    DOWNWARD_API_ENV,
    HEALTH_PATH,
    UPTIME_PATH,
    AgentSettings,
)
from components.common.workload import (
    CONFIG_CHECKSUM_ANNOTATION,
    Manifest,
    container_security_context,
    data_checksum,
    downward_env,
    host_path_volume,
    labels,
    pod_security_context,
    resources,
    selector_labels,
    volume_name,
)
from components.node_syslog.rsyslog import HANDOFF_VOLUME

CONFIG_DIR = "/fluent-bit/etc/conf"
CONFIG_FILE = "fluent-bit.yaml"
NAME = "fluent-bit"
# Without IRSA (local stacks) the S3 route takes static keys from this optional Secret.
STATIC_CREDENTIALS_SECRET = "fluent-bit-aws-credentials"  # noqa: S105 - a Secret name
CLEANER_CHECKSUM_ANNOTATION = "checksum/handoff-cleaner"


def agent_labels() -> dict[str, str]:
    return labels(NAME, "agent")


def agent_daemonset_spec(
    settings: AgentSettings,
    config_map: str,
    config_checksum: str,
    irsa: bool,
    region: str,
    handoff_directory: str,
) -> Manifest:
    selector = selector_labels(NAME)
    return {
        "selector": {"matchLabels": selector},
        "updateStrategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": settings.max_unavailable},
        },
        "template": {
            "metadata": {
                "labels": agent_labels(),
                # A new config (or cleaner) changes a hash, and so rolls every agent.
                "annotations": {
                    CONFIG_CHECKSUM_ANNOTATION: config_checksum,
                    CLEANER_CHECKSUM_ANNOTATION: data_checksum(
                        {handoff_cleaner.SCRIPT_FILE: handoff_cleaner.script_text()}
                    ),
                },
            },
            "spec": _pod_spec(settings, config_map, irsa, region, handoff_directory),
        },
    }


def _pod_spec(
    settings: AgentSettings, config_map: str, irsa: bool, region: str, handoff_directory: str
) -> Manifest:
    host_paths = settings.host_paths
    volumes: list[Manifest] = [
        {"name": "config", "configMap": {"name": config_map}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        *(host_path_volume(volume_name(path), path) for path in host_paths),
        host_path_volume(HANDOFF_VOLUME, handoff_directory),
    ]
    mounts: list[Manifest] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a private emptyDir
        *({"name": volume_name(path), "mountPath": path} for path in host_paths),
        # The agent only reads node syslog's handoff files (its offsets are in storage.path).
        {"name": HANDOFF_VOLUME, "mountPath": handoff_directory, "readOnly": True},
    ]
    volumes.append(
        {
            "name": handoff_cleaner.SCRIPT_VOLUME,
            "configMap": {
                "name": config_map,
                "items": [
                    {"key": handoff_cleaner.SCRIPT_FILE, "path": handoff_cleaner.SCRIPT_FILE}
                ],
            },
        }
    )
    # The cleaner deletes what the agent's offsets say it read: it needs both, writable.
    cleaner = handoff_cleaner.container_spec(
        handoff_directory,
        handoff_db_path(settings),
        settings.cleaner_metrics_port,
        [
            {"name": HANDOFF_VOLUME, "mountPath": handoff_directory},
            {"name": volume_name(settings.storage.path), "mountPath": settings.storage.path},
        ],
    )
    env: list[Manifest] = [
        *downward_env(DOWNWARD_API_ENV),
        {"name": "AWS_REGION", "value": region},
        *(
            {
                "name": variable,
                "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}},
            }
            for variable, ref in sorted(settings.secret_env().items())
        ),
    ]
    container: Manifest = {
        "name": NAME,
        "image": settings.image_ref,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/fluent-bit/bin/fluent-bit"],
        "args": ["--config", f"{CONFIG_DIR}/{CONFIG_FILE}"],
        "env": env,
        "ports": [{"name": "http", "containerPort": settings.http_port, "protocol": "TCP"}],
        # Alive is "the process answers"; ready is "every output is healthy".
        "livenessProbe": _probe(UPTIME_PATH, period=10, failures=3),
        "readinessProbe": _probe(HEALTH_PATH, period=10, failures=3),
        "resources": resources(
            settings.resources.requests.model_dump(), settings.resources.limits.model_dump()
        ),
        # Root, but with no capability at all: the kubelet creates the hostPath buffer
        # directories as root:root 0755, and only their owner can write them. Dropping ALL
        # removes DAC override, so this root cannot touch any other host file it mounts.
        "securityContext": container_security_context(run_as_root=True),
        "volumeMounts": mounts,
    }
    if not irsa:
        container["envFrom"] = [
            {"secretRef": {"name": STATIC_CREDENTIALS_SECRET, "optional": True}}
        ]
    spec: Manifest = {
        "serviceAccountName": settings.service_account,
        # The agent never calls the API server (no kubernetes filter: syslog records carry
        # their pod identity themselves); IRSA brings its own projected token.
        "automountServiceAccountToken": False,
        # rsyslog on the node sends its counters to 127.0.0.1 (the rsyslog-stats input), and
        # health and metrics are served on the node's IP: the pod shares the node's network.
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "priorityClassName": settings.priority_class_name or "system-node-critical",
        "terminationGracePeriodSeconds": settings.termination_grace_period_seconds,
        "securityContext": pod_security_context(),
        "containers": [container, cleaner],
        "volumes": volumes,
    }
    if settings.tolerate_all_taints:
        spec["tolerations"] = [{"operator": "Exists"}]
    if settings.node_selector:
        spec["nodeSelector"] = dict(settings.node_selector)
    return spec


def _probe(path: str, period: int, failures: int) -> Manifest:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 5,
    }
    return probe
