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
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.workload import (
    ARTIFACT_ANNOTATION,
    as_input,
    data_checksum,
    labels,
)
from components.node_syslog.daemonset import NAME, syslog_daemonset_spec
from components.node_syslog.files import config_files
from components.node_syslog.monitoring import RsyslogMonitoring
from components.node_syslog.rsyslog import NodeSyslogSettings


@dataclass(frozen=True)
class NodeSyslogArgs:
    settings: NodeSyslogSettings
    namespace: str
    provider: k8s.Provider
    depends_on: tuple[pulumi.Resource, ...] = ()
    monitoring: RsyslogMonitoring | None = None


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
