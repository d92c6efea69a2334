"""DemoWorkloads: services that emit container runtime audit events to node syslog."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.common.workload import ARTIFACT_ANNOTATION, as_input, data_checksum
from components.demo.render import (
    ARTIFACT_FOLDER,
    CONFIG_MAP_NAME,
    DemoSettings,
    Transport,
    config_map_data,
    demo_labels,
    deployment_spec,
    namespace_labels,
)


@dataclass(frozen=True)
class DemoWorkloadsArgs:
    settings: DemoSettings
    # The marker in every event (DemoSettings.effective_run_id(stack)); verify looks for it.
    run_id: str
    provider: k8s.Provider
    # Where node syslog listens on every node (NodeSyslogSettings.listen_port) and how
    # to reach it: tcp unless the node takes only udp.
    syslog_port: int = 514
    syslog_transport: Transport = "tcp"


class DemoWorkloads(pulumi.ComponentResource):
    namespace_resource: k8s.core.v1.Namespace
    config_map: k8s.core.v1.ConfigMap
    deployments: dict[str, k8s.apps.v1.Deployment]
    namespace: str
    run_id: str
    service_names: list[str]

    def __init__(
        self, name: str, args: DemoWorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:demo:DemoWorkloads", name, None, opts)
        settings = args.settings
        namespace = settings.namespace
        self.namespace_resource = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": namespace, "labels": namespace_labels()},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[self.namespace_resource]
        )
        data = config_map_data(settings)
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata={
                "name": CONFIG_MAP_NAME,
                "namespace": namespace,
                "labels": demo_labels(CONFIG_MAP_NAME),
                # The plan writes these files to build/<stack>/demo/ for review.
                "annotations": {ARTIFACT_ANNOTATION: ARTIFACT_FOLDER},
            },
            data=data,
            opts=child,
        )
        checksum = data_checksum(data)
        self.deployments = {}
        for service in settings.services:
            spec = deployment_spec(
                settings,
                service,
                run_id=args.run_id,
                syslog_port=args.syslog_port,
                transport=args.syslog_transport,
                checksum=checksum,
            )
            self.deployments[service.name] = k8s.apps.v1.Deployment(
                f"{name}-{service.name}",
                metadata={
                    "name": service.name,
                    "namespace": namespace,
                    "labels": demo_labels(service.name),
                },
                spec=as_input(spec),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[self.namespace_resource, self.config_map],
                ),
            )
        self.namespace = namespace
        self.run_id = args.run_id
        self.service_names = settings.service_names
        self.register_outputs(
            {"namespace": namespace, "runId": args.run_id, "services": self.service_names}
        )
