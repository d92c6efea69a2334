"""The node-syslog DaemonSet's pod spec (`daemonset` mode): rsyslog on every node of an
existing cluster, reading the config NodeSyslog keeps in a ConfigMap. Pure: no Pulumi imports."""

from __future__ import annotations

from components.common.workload import (
    CONFIG_CHECKSUM_ANNOTATION,
    Manifest,
    container_security_context,
    host_path_volume,
    labels,
    pod_security_context,
    resources,
    selector_labels,
)
from components.node_syslog.rsyslog import NodeSyslogSettings

NAME = "node-syslog"
CONFIG_DIR = "/etc/rsyslog-audit"
MAIN_FILE = "rsyslog.conf"


def syslog_daemonset_spec(settings: NodeSyslogSettings, config_map: str, checksum: str) -> Manifest:
    selector = selector_labels(NAME)
    mounts = settings.host_mounts()
    container: Manifest = {
        "name": "rsyslog",
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["rsyslogd"],
        "args": ["-n", "-f", f"{CONFIG_DIR}/{MAIN_FILE}", "-i", "/run/rsyslog/rsyslogd.pid"],
        "ports": [
            {"name": p.name, "containerPort": p.port, "protocol": p.protocol}
            for p in settings.container_ports()
        ],
        "resources": resources(
            {"cpu": settings.resources.cpu_request, "memory": settings.resources.memory_request},
            {"cpu": settings.resources.cpu_limit, "memory": settings.resources.memory_limit},
        ),
        "securityContext": _syslog_security_context(settings),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "run", "mountPath": "/run/rsyslog"},
            *({"name": m.name, "mountPath": m.mount_path, "readOnly": m.read_only} for m in mounts),
        ],
    }
    if settings.tcp:
        container["livenessProbe"] = {
            "tcpSocket": {"port": "syslog-tcp"},
            "periodSeconds": 20,
            "failureThreshold": 3,
        }
    return {
        "selector": {"matchLabels": selector},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": {
                "labels": labels(NAME, "node-syslog"),
                "annotations": {CONFIG_CHECKSUM_ANNOTATION: checksum},
            },
            "spec": {
                "serviceAccountName": NAME,
                "automountServiceAccountToken": False,
                # Containers send to $HOST_IP:514 and rsyslog forwards to the agent on the
                # node's 127.0.0.1: both ends live in the node's network namespace.
                "hostNetwork": True,
                "dnsPolicy": "ClusterFirstWithHostNet",
                "priorityClassName": "system-node-critical",
                # The queue is saved to disk on SIGTERM (queue.saveOnShutdown).
                "terminationGracePeriodSeconds": 30,
                "tolerations": [{"operator": "Exists"}],
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": [
                    {"name": "config", "configMap": {"name": config_map}},
                    {"name": "run", "emptyDir": {"sizeLimit": "1Mi"}},
                    *(host_path_volume(m.name, m.host_path, m.type) for m in mounts),
                ],
            },
        },
    }


def _syslog_security_context(settings: NodeSyslogSettings) -> Manifest:
    # Root, with two capabilities. Root: the queue and state directories are root-owned
    # hostPaths and the journal files are root:systemd-journal 0640 (owner read only
    # without DAC_OVERRIDE, which is dropped). NET_BIND_SERVICE: syslog's port 514 is
    # below 1024. SETPCAP: rsyslog built with libcap-ng (the official image) drops the
    # capabilities it does not use at start, bounding set included, and exits when it
    # cannot (capng_apply fails without SETPCAP). `global(libcapng.enable="off")` would
    # avoid that too, but rsyslog before 8.2310 refuses the parameter, so the config
    # would no longer be one text for every rsyslog it meets; SETPCAP changes nothing
    # for older builds. With no capability at all rsyslog skips dropping, so SETPCAP
    # comes only with NET_BIND_SERVICE. Nothing else: no privilege escalation,
    # read-only image.
    context = container_security_context(run_as_root=True)
    if settings.listen_port < 1024:
        context["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SETPCAP"]}
    return context
