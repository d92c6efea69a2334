"""Kubernetes policies: workloads run unprivileged, bounded, pinned and out of `default`.

Node agents (the Fluent Bit and rsyslog DaemonSets) legitimately need host paths and the
host network; they are named, by namespace and name, in this stack's policy config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import (
    UNKNOWN,
    Report,
    Resource,
    as_list,
    dicts,
    get,
    resource_policy,
    workload_ref_schema,
)
from .workloads import (
    NAMESPACED_TYPES,
    Container,
    allow_listed,
    containers,
    identity,
    workload_policy,
)


def _security_context(container: Container, key: str) -> Any:
    return get(container.spec, "securityContext", key)


def _no_privileged(container: Container, config: Mapping[str, Any], report: Report) -> None:
    if _security_context(container, "privileged") is True:
        report(f"{container.label} runs privileged")


def _no_escalation(container: Container, config: Mapping[str, Any], report: Report) -> None:
    value = _security_context(container, "allowPrivilegeEscalation")
    if value is not False and value is not UNKNOWN:
        report(f"{container.label} does not set securityContext.allowPrivilegeEscalation=false")


def _capability(name: Any) -> str:
    text = str(name).upper()
    return text.removeprefix("CAP_")


def _drop_all(container: Container, config: Mapping[str, Any], report: Report) -> None:
    capabilities = _security_context(container, "capabilities")
    if capabilities is UNKNOWN:
        return
    dropped = {_capability(c) for c in as_list(get(capabilities, "drop"))}
    if "ALL" not in dropped:
        report(f"{container.label} does not drop ALL capabilities")
    allowed = {_capability(c) for c in as_list(config["allowedCapabilities"])}
    added = [_capability(c) for c in as_list(get(capabilities, "add"))]
    extra = sorted(c for c in added if c not in allowed)
    if extra:
        report(f"{container.label} adds capabilities {extra}; allowed: {sorted(allowed)}")


def _read_only_root(container: Container, config: Mapping[str, Any], report: Report) -> None:
    value = _security_context(container, "readOnlyRootFilesystem")
    if value is not True and value is not UNKNOWN:
        report(f"{container.label} does not set securityContext.readOnlyRootFilesystem=true")


def _bounded(container: Container, config: Mapping[str, Any], report: Report) -> None:
    resources = container.spec.get("resources")
    if resources is UNKNOWN:
        return
    missing = [
        f"{kind}.{unit}"
        for kind in ("requests", "limits")
        for unit in ("cpu", "memory")
        if get(resources, kind, unit) in (None, "")
    ]
    if missing:
        report(f"{container.label} sets no resources {', '.join(missing)}")


def image_problem(image: Any, require_digest: bool) -> str | None:
    """Why an image reference is not pinned, or None if it is."""
    if image is UNKNOWN:
        return None
    if not isinstance(image, str) or not image:
        return "has no image"
    name, at, digest = image.partition("@")
    if at:
        well_formed = digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
        return None if well_formed else f"image '{image}' has a malformed digest"
    if require_digest:
        return f"image '{image}' is not pinned by digest (@sha256:...)"
    last_segment = name.rsplit("/", 1)[-1]
    tag = last_segment.partition(":")[2]
    if not tag:
        return f"image '{image}' has no tag (means 'latest')"
    if tag == "latest":
        return f"image '{image}' uses the moving tag 'latest'"
    return None


def _pinned(container: Container, config: Mapping[str, Any], report: Report) -> None:
    problem = image_problem(container.spec.get("image"), bool(config["requireDigest"]))
    if problem:
        report(f"{container.label}: {problem}")


def _no_host_namespaces(
    resource: Resource, spec: dict[str, Any], config: Mapping[str, Any], report: Report
) -> None:
    for key in ("hostPID", "hostIPC"):
        if spec.get(key) is True:
            report(f"the pod sets {key}=true")


def _host_access(
    resource: Resource, spec: dict[str, Any], config: Mapping[str, Any], report: Report
) -> None:
    if allow_listed(resource.props, as_list(config["nodeAgents"])):
        return
    uses = []
    if spec.get("hostNetwork") is True:
        uses.append("hostNetwork=true")
    uses += [
        f"hostPath volume '{v.get('name')}' ({get(v, 'hostPath', 'path')})"
        for v in dicts(spec.get("volumes"))
        if v.get("hostPath") is not None
    ]
    uses += [
        f"{c.label} hostPort {port.get('hostPort')}"
        for c in containers(spec)
        for port in dicts(c.spec.get("ports"))
        if port.get("hostPort") not in (None, 0)
    ]
    if uses:
        namespace, name = identity(resource.props)
        who = f"{namespace}/{name or resource.name}"
        report(f"{who} is not an allow-listed node agent but uses {'; '.join(uses)}")


def _no_token(
    resource: Resource, spec: dict[str, Any], config: Mapping[str, Any], report: Report
) -> None:
    value = spec.get("automountServiceAccountToken")
    if value is False or value is UNKNOWN:
        return
    if not allow_listed(resource.props, as_list(config["apiClients"])):
        namespace, name = identity(resource.props)
        who = f"{namespace}/{name or resource.name}"
        report(f"{who} mounts a service account token (automount is {value!r})")


def _not_default_namespace(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    if get(resource.props, "metadata", "namespace") is UNKNOWN:
        return
    namespace, name = identity(resource.props)
    if namespace == "default":
        kind = resource.props.get("kind", resource.type)
        report(f"{kind} {name or resource.name} is in the 'default' namespace")


def policies() -> list[Policy]:
    return [
        workload_policy(
            name="k8s-no-privileged",
            what="No container (init containers included) may run privileged.",
            fix="remove securityContext.privileged or set it to false; grant a single "
            "allow-listed capability instead if one is really needed.",
            severity=Severity.CRITICAL,
            container_check=_no_privileged,
        ),
        workload_policy(
            name="k8s-no-privilege-escalation",
            what="Containers must not be able to gain privileges (setuid binaries).",
            fix="set securityContext.allowPrivilegeEscalation=false on every container.",
            severity=Severity.HIGH,
            container_check=_no_escalation,
        ),
        workload_policy(
            name="k8s-drop-all-capabilities",
            what="Containers must drop ALL Linux capabilities and add back only allow-listed ones.",
            fix="set securityContext.capabilities.drop=['ALL'] and add only capabilities "
            "in allowedCapabilities of the stack's policy config.",
            severity=Severity.HIGH,
            container_check=_drop_all,
            config={
                "allowedCapabilities": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Capabilities a container may add back (e.g. NET_BIND_SERVICE).",
                }
            },
        ),
        workload_policy(
            name="k8s-read-only-root-filesystem",
            what="Container root filesystems must be read-only, so a compromised process "
            "cannot alter its binaries or config.",
            fix="set securityContext.readOnlyRootFilesystem=true and mount an emptyDir "
            "where the process must write.",
            severity=Severity.MEDIUM,
            container_check=_read_only_root,
        ),
        workload_policy(
            name="k8s-resources-bounded",
            what="Every container must request and limit cpu and memory, so a log burst "
            "cannot starve the node.",
            fix="set resources.requests and resources.limits, each with cpu and memory.",
            severity=Severity.MEDIUM,
            container_check=_bounded,
        ),
        workload_policy(
            name="k8s-image-pinned",
            what="Container images must be pinned: a tag other than 'latest', or a digest "
            "(digest required where requireDigest is set).",
            fix="use image 'repo/name:<version>' or 'repo/name@sha256:<digest>'.",
            severity=Severity.HIGH,
            container_check=_pinned,
            config={
                "requireDigest": {
                    "type": "boolean",
                    "default": False,
                    "description": "Accept only images pinned by @sha256 digest.",
                }
            },
        ),
        workload_policy(
            name="k8s-no-host-namespaces",
            what="Pods must not share the node's PID or IPC namespace.",
            fix="remove hostPID and hostIPC (or set them to false).",
            severity=Severity.CRITICAL,
            pod_check=_no_host_namespaces,
        ),
        workload_policy(
            name="k8s-host-access-allow-listed",
            what="Only allow-listed node agents may use hostNetwork, hostPath volumes or hostPort.",
            fix="remove the host access, or add the workload's namespace and name to "
            "nodeAgents in the stack's policy config if it is a node agent.",
            severity=Severity.HIGH,
            pod_check=_host_access,
            config={
                "nodeAgents": workload_ref_schema(
                    "Workloads (namespace, name) allowed host network, paths and ports."
                )
            },
        ),
        resource_policy(
            name="k8s-no-default-namespace",
            what="Namespaced objects must not live in the 'default' namespace (an unset "
            "namespace means the provider's default, usually 'default').",
            fix="set metadata.namespace to the component's own namespace.",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.MANDATORY,
            types=NAMESPACED_TYPES,
            check=_not_default_namespace,
        ),
        workload_policy(
            name="k8s-no-automount-service-account-token",
            what="Pods must not mount a Kubernetes API token unless they call the API.",
            fix="set automountServiceAccountToken=false in the pod spec, or add the workload "
            "to apiClients in the stack's policy config. (IRSA does not need the API token.)",
            severity=Severity.MEDIUM,
            pod_check=_no_token,
            config={
                "apiClients": workload_ref_schema(
                    "Workloads (namespace, name) that call the Kubernetes API."
                )
            },
        ),
    ]
