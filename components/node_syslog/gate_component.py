"""SyslogGate: lifts each node's startup taint once its node syslog answers.

`userdata` mode only: those nodes register tainted (see components/node_syslog/gate.py
for why a pod, not the node, removes the taint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.workload import as_input, data_checksum, labels
from components.node_syslog.gate import (
    NAME,
    SCRIPT_FILE,
    cluster_role_rules,
    daemonset_spec,
    event_role_rules,
    script_text,
)


@dataclass(frozen=True)
class SyslogGateArgs:
    namespace: str
    listen_port: int
    provider: k8s.Provider
    depends_on: tuple[pulumi.Resource, ...] = ()


class SyslogGate(pulumi.ComponentResource):
    daemon_set: k8s.apps.v1.DaemonSet

    def __init__(
        self, name: str, args: SyslogGateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:node:SyslogGate", name, None, opts)
        meta_labels = labels(NAME, "node-readiness")
        metadata: dict[str, Any] = {"namespace": args.namespace, "labels": meta_labels}
        child = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=list(args.depends_on)
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata={**metadata, "name": NAME}, opts=child
        )
        grants: list[pulumi.Resource] = [account]
        for suffix, rules in (("nodes", cluster_role_rules()), ("events", event_role_rules())):
            role_name = f"container-audit-log:{NAME}:{suffix}"
            role = k8s.rbac.v1.ClusterRole(
                f"{name}-{suffix}",
                metadata={"name": role_name, "labels": meta_labels},
                rules=rules,
                opts=child,
            )
            grants.append(
                k8s.rbac.v1.ClusterRoleBinding(
                    f"{name}-{suffix}-binding",
                    metadata={"name": role_name, "labels": meta_labels},
                    role_ref={
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": role_name,
                    },
                    subjects=[
                        {"kind": "ServiceAccount", "name": NAME, "namespace": args.namespace}
                    ],
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=args.provider, depends_on=[role]
                    ),
                )
            )
        files = {SCRIPT_FILE: script_text()}
        script = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata={**metadata, "name": f"{NAME}-script"},
            data=files,
            opts=child,
        )
        self.daemon_set = k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata={**metadata, "name": NAME},
            spec=as_input(daemonset_spec(f"{NAME}-script", args.listen_port, data_checksum(files))),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*args.depends_on, script, *grants],
            ),
        )
        self.register_outputs({"daemonSet": NAME})
