"""Finding the pod spec and containers inside any Kubernetes workload the engine registers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import ConfigSchema, Report, Resource, dicts, get, resource_policy

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)
DAEMONSET_TYPE = "kubernetes:apps/v1:DaemonSet"
CONFIGMAP_TYPE = "kubernetes:core/v1:ConfigMap"
NAMESPACED_TYPES = (
    *WORKLOAD_TYPES,
    CONFIGMAP_TYPE,
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
)

_CONTAINER_LISTS = (
    ("containers", "container"),
    ("initContainers", "init container"),
    ("ephemeralContainers", "ephemeral container"),
)


@dataclass(frozen=True)
class Container:
    label: str  # e.g. "init container 'fix-perms'", for messages
    spec: dict[str, Any]


def pod_spec(resource_type: str, props: dict[str, Any]) -> dict[str, Any]:
    spec = get(props, *POD_SPEC_PATHS.get(resource_type, ("?",)))
    return spec if isinstance(spec, dict) else {}


def containers(spec: dict[str, Any]) -> Iterator[Container]:
    for key, kind in _CONTAINER_LISTS:
        for index, container in enumerate(dicts(spec.get(key))):
            name = container.get("name")
            shown = f"'{name}'" if isinstance(name, str) else f"#{index}"
            yield Container(f"{kind} {shown}", container)


def identity(props: dict[str, Any]) -> tuple[str, str | None]:
    """(namespace, name) of a namespaced object; an unset namespace is the provider's default."""
    namespace = get(props, "metadata", "namespace")
    name = get(props, "metadata", "name")
    return (
        namespace if isinstance(namespace, str) and namespace else "default",
        name if isinstance(name, str) and name else None,
    )


def allow_listed(props: dict[str, Any], entries: list[Any]) -> bool:
    namespace, name = identity(props)
    return name is not None and any(
        isinstance(e, dict) and e.get("namespace") == namespace and e.get("name") == name
        for e in entries
    )


def mounted_configmaps(spec: dict[str, Any]) -> set[str]:
    """Names of the ConfigMaps a pod mounts as volumes (plain or projected)."""
    names = set()
    for volume in dicts(spec.get("volumes")):
        sources = [volume, *dicts(get(volume, "projected", "sources"))]
        for source in sources:
            name = get(source, "configMap", "name")
            if isinstance(name, str):
                names.add(name)
    return names


ContainerCheck = Callable[[Container, Mapping[str, Any], Report], None]
PodCheck = Callable[[Resource, dict[str, Any], Mapping[str, Any], Report], None]


def workload_policy(
    *,
    name: str,
    what: str,
    fix: str,
    severity: Severity,
    container_check: ContainerCheck | None = None,
    pod_check: PodCheck | None = None,
    config: ConfigSchema | None = None,
) -> Policy:
    """A mandatory policy over every workload: once per pod spec and/or once per container."""

    def check(resource: Resource, settings: Mapping[str, Any], report: Report) -> None:
        spec = pod_spec(resource.type, resource.props)
        if pod_check is not None:
            pod_check(resource, spec, settings, report)
        if container_check is not None:
            for container in containers(spec):
                container_check(container, settings, report)

    return resource_policy(
        name=name,
        what=what,
        fix=fix,
        severity=severity,
        enforcement=EnforcementLevel.MANDATORY,
        types=WORKLOAD_TYPES,
        check=check,
        config=config,
    )
