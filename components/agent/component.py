"""FluentBitDaemonSet: the agent on every node, its config, identity and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.agent.config import (
    config_checksum,
    render_fluent_bit_config,
    to_yaml,
)
from components.agent.daemonset import (
    CONFIG_FILE,
    NAME,
    agent_daemonset_spec,
    agent_labels,
)
from components.agent.handoff_cleaner import SCRIPT_FILE as CLEANER_SCRIPT_FILE
from components.agent.handoff_cleaner import script_text as cleaner_script_text
from components.agent.monitoring import with_pod_monitoring
from components.agent.settings import AgentSettings, PipelineContext
from components.common.workload import ARTIFACT_ANNOTATION, as_input, selector_labels


@dataclass(frozen=True)
class FluentBitDaemonSetArgs:
    settings: AgentSettings
    context: PipelineContext
    region: str
    # The stack's audit bucket: S3 routes without a bucket of their own write here.
    audit_bucket: pulumi.Input[str]
    log_prefix: str
    provider: k8s.Provider
    # The archive's region when it differs from the cluster's (a cluster stack elsewhere).
    archive_region: str | None = None
    # The IRSA role; None runs without one (static keys from an optional Secret).
    role_arn: pulumi.Input[str] | None = None
    # False when the namespace exists already (shared with other tools).
    create_namespace: bool = True
    # prometheus.io/* annotations on the agent pods (no Prometheus Operator).
    pod_annotations: dict[str, str] = field(default_factory=dict)


def render_agent_config(
    settings: AgentSettings, context: PipelineContext, bucket: str, region: str, log_prefix: str
) -> str:
    resolved = settings.with_default_bucket(bucket, region, log_prefix)
    return to_yaml(render_fluent_bit_config(resolved, context))


class FluentBitDaemonSet(pulumi.ComponentResource):
    service_account: k8s.core.v1.ServiceAccount
    config_map: k8s.core.v1.ConfigMap
    daemon_set: k8s.apps.v1.DaemonSet
    metrics_service: k8s.core.v1.Service | None
    namespace_resource: k8s.core.v1.Namespace | None
    namespace: str
    config_text: pulumi.Output[str]
    config_checksum: pulumi.Output[str]

    def __init__(
        self, name: str, args: FluentBitDaemonSetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:agent:FluentBitDaemonSet", name, None, opts)
        settings = args.settings
        namespace = settings.namespace
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        metadata = {"namespace": namespace, "labels": agent_labels()}
        self.namespace_resource = None
        if args.create_namespace:
            self.namespace_resource = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={
                    "name": namespace,
                    "labels": {
                        "app.kubernetes.io/part-of": "container-audit-log",
                        # Node agents need hostNetwork and hostPath, which the baseline and
                        # restricted Pod Security levels forbid; the policy pack allow-lists
                        # exactly these agents instead.
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/warn": "baseline",
                    },
                },
                opts=child,
            )
            child = pulumi.ResourceOptions(
                parent=self, provider=args.provider, depends_on=[self.namespace_resource]
            )

        self.config_text = pulumi.Output.from_input(args.audit_bucket).apply(
            lambda bucket: render_agent_config(
                settings, args.context, bucket, args.archive_region or args.region, args.log_prefix
            )
        )
        self.config_checksum = self.config_text.apply(config_checksum)

        annotations = {"eks.amazonaws.com/role-arn": args.role_arn} if args.role_arn else {}
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={**metadata, "name": settings.service_account, "annotations": annotations},
            # The agent never calls the API server; IRSA brings its own projected token.
            automount_service_account_token=False,
            opts=child,
        )
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={
                **metadata,
                "name": f"{NAME}-config",
                "annotations": {ARTIFACT_ANNOTATION: "fluent-bit"},
            },
            data={CONFIG_FILE: self.config_text, CLEANER_SCRIPT_FILE: cleaner_script_text()},
            opts=child,
        )
        spec = self.config_checksum.apply(
            lambda checksum: with_pod_monitoring(
                agent_daemonset_spec(
                    settings,
                    f"{NAME}-config",
                    checksum,
                    args.role_arn is not None,
                    args.region,
                    args.context.handoff_directory,
                ),
                args.context.monitoring,
                args.pod_annotations,
            )
        )
        self.daemon_set = k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata={**metadata, "name": NAME},
            spec=as_input(spec),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[self.service_account, self.config_map],
            ),
        )
        self.metrics_service = None
        if settings.metrics_service or settings.service_monitor:
            self.metrics_service = self._metrics(name, settings, metadata, child)
        self.namespace = namespace
        self.register_outputs({"namespace": namespace, "configChecksum": self.config_checksum})

    def _metrics(
        self,
        name: str,
        settings: AgentSettings,
        metadata: dict[str, Any],
        child: pulumi.ResourceOptions,
    ) -> k8s.core.v1.Service:
        service = k8s.core.v1.Service(
            f"{name}-metrics",
            metadata={**metadata, "name": f"{NAME}-metrics"},
            spec={
                "type": "ClusterIP",
                "selector": selector_labels(NAME),
                "ports": [
                    {
                        "name": "http",
                        "port": settings.http_port,
                        "targetPort": "http",
                        "protocol": "TCP",
                    }
                ],
            },
            opts=child,
        )
        if settings.service_monitor:
            # Needs the Prometheus Operator CRDs in the cluster: off unless asked for.
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={**metadata, "name": NAME},
                spec={
                    "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
                    "endpoints": [
                        {"port": "http", "path": "/api/v2/metrics/prometheus", "interval": "30s"}
                    ],
                },
                opts=pulumi.ResourceOptions(
                    parent=self, provider=child.provider, depends_on=[service]
                ),
            )
        return service
