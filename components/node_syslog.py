"""NodeSyslog: rsyslog on every node, forwarding container runtime logs to the agent.

Two deliveries of the same rendered config:
- `userdata`: EKS nodes this project creates install rsyslog at boot (the MIME document
  from `node_user_data` goes into ClusterAccess's launch template);
- `daemonset`: rsyslog runs as a container on every node of an existing cluster.
Either way the config is kept in a ConfigMap: in `daemonset` mode the pods mount it, in
`userdata` mode it is the in-cluster record of exactly what the nodes run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.render.rsyslog import (
    DROPIN_PATH,
    NodeSyslogSettings,
    render_main_conf,
    render_rsyslog_conf,
)
from components.render.rsyslog_monitoring import RsyslogMonitoring, render_monitoring_conf
from components.render.syslog_gate import TAINT_EFFECT, TAINT_KEY, node_config
from components.render.user_data import (
    NODE_CONFIG,
    UserDataPart,
    render_user_data,
    rsyslog_install_part,
)
from components.render.workload import (
    ARTIFACT_ANNOTATION,
    CONFIG_CHECKSUM_ANNOTATION,
    Manifest,
    as_input,
    container_security_context,
    data_checksum,
    host_path_volume,
    labels,
    pod_security_context,
    resources,
    selector_labels,
)

NAME = "node-syslog"
CONFIG_DIR = "/etc/rsyslog-audit"
MAIN_FILE = "rsyslog.conf"
DROPIN_FILE = PurePosixPath(DROPIN_PATH).name


def node_dropin(settings: NodeSyslogSettings, monitoring: RsyslogMonitoring | None) -> str:
    """The forwarding drop-in, with the heartbeat and counters appended when monitored."""
    dropin = render_rsyslog_conf(settings)
    return dropin + render_monitoring_conf(monitoring) if monitoring else dropin


def node_user_data(
    settings: NodeSyslogSettings, monitoring: RsyslogMonitoring | None = None
) -> str | None:
    """The EKS node user data, or None outside `userdata` mode: the node registers with the
    startup taint (NodeConfig), then installs rsyslog (shell part); the syslog-gate lifts
    the taint once rsyslog answers."""
    if settings.mode != "userdata":
        return None
    dropin = node_dropin(settings, monitoring)
    taint = f"{TAINT_KEY}=true:{TAINT_EFFECT}"
    return render_user_data(
        [UserDataPart(NODE_CONFIG, node_config()), rsyslog_install_part(dropin, settings, taint)]
    )


@dataclass(frozen=True)
class NodeSyslogArgs:
    settings: NodeSyslogSettings
    namespace: str
    provider: k8s.Provider
    depends_on: tuple[pulumi.Resource, ...] = ()
    monitoring: RsyslogMonitoring | None = None


def config_files(
    settings: NodeSyslogSettings, monitoring: RsyslogMonitoring | None = None
) -> dict[str, str]:
    """The files rsyslog reads: on the node (`userdata`) or in the pod (`daemonset`)."""
    dropin_path = DROPIN_PATH if settings.mode == "userdata" else f"{CONFIG_DIR}/{DROPIN_FILE}"
    return {
        MAIN_FILE: render_main_conf(settings, dropin_path=dropin_path),
        DROPIN_FILE: node_dropin(settings, monitoring),
    }


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


class NodeSyslog(pulumi.ComponentResource):
    config_map: k8s.core.v1.ConfigMap
    daemon_set: k8s.apps.v1.DaemonSet | None
    mode: str

    def __init__(
        self, name: str, args: NodeSyslogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:node:NodeSyslog", name, None, opts)
        settings = args.settings
        metadata: dict[str, Any] = {
            "namespace": args.namespace,
            "labels": labels(NAME, "node-syslog"),
        }
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=list(args.depends_on)
        )
        files = config_files(settings, args.monitoring)
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={
                **metadata,
                "name": f"{NAME}-config",
                "annotations": {ARTIFACT_ANNOTATION: "rsyslog"},
            },
            data=files,
            opts=child,
        )
        self.daemon_set = None
        if settings.mode == "daemonset":
            account = k8s.core.v1.ServiceAccount(
                f"{name}-sa",
                metadata={**metadata, "name": NAME},
                automount_service_account_token=False,
                opts=child,
            )
            checksum = data_checksum(files)
            self.daemon_set = k8s.apps.v1.DaemonSet(
                f"{name}-daemonset",
                metadata={**metadata, "name": NAME},
                spec=as_input(syslog_daemonset_spec(settings, f"{NAME}-config", checksum)),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[*args.depends_on, self.config_map, account],
                ),
            )
        self.mode = settings.mode
        self.register_outputs({"mode": settings.mode})
