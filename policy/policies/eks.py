"""EKS policies on the pulumi-eks `Cluster` component (the engine sees its inputs only).

pulumi-eks defaults: endpointPublicAccess true with publicAccessCidrs ['0.0.0.0/0'],
no control-plane logs, no OIDC provider, no secrets encryption. Every default is unsafe here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import UNKNOWN, Report, Resource, as_list, is_set, resource_policy

CLUSTER_TYPES = ("eks:index:Cluster",)
_WORLD = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _check_oidc(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    value = resource.props.get("createOidcProvider")
    if value is not True and value is not UNKNOWN:
        report(f"createOidcProvider is {value!r}; IRSA (and so the log shipper's role) needs it")


def _check_logging(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    enabled = resource.props.get("enabledClusterLogTypes")
    if enabled is UNKNOWN:
        return
    missing = [t for t in as_list(config["requiredLogTypes"]) if t not in as_list(enabled)]
    if missing:
        report(f"enabledClusterLogTypes lacks {missing}")


def _network(text: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def _cidr_allowed(cidr: Any, allowed: list[Any], allow_world: bool) -> bool:
    network = _network(cidr)
    if network is None:
        return False
    if network in _WORLD:
        return allow_world
    for entry in allowed:
        permitted = _network(entry)
        same_family = permitted is not None and network.version == permitted.version
        if same_family and network.subnet_of(permitted):  # type: ignore[arg-type]
            return True
    return False


def _check_public_endpoint(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    public = resource.props.get("endpointPublicAccess", True)
    if public is False:
        if resource.props.get("endpointPrivateAccess") not in (True, UNKNOWN):
            report("both endpoints are off: set endpointPrivateAccess=true")
        return
    if public is UNKNOWN:
        return
    cidrs = resource.props.get("publicAccessCidrs")
    if cidrs is UNKNOWN:
        return
    if not cidrs:
        report("the public endpoint is on with no publicAccessCidrs, i.e. open to 0.0.0.0/0")
        return
    allowed = as_list(config["allowedPublicCidrs"])
    for cidr in as_list(cidrs):
        if cidr is not UNKNOWN and not _cidr_allowed(cidr, allowed, config["allowWorldOpen"]):
            report(f"publicAccessCidrs has {cidr}, which is not within {allowed}")


def _check_secrets_encryption(
    resource: Resource, config: Mapping[str, Any], report: Report
) -> None:
    if not is_set(resource.props.get("encryptionConfigKeyArn")):
        report("encryptionConfigKeyArn is not set, so Kubernetes Secrets are not KMS-encrypted")


def policies() -> list[Policy]:
    mandatory = EnforcementLevel.MANDATORY
    return [
        resource_policy(
            name="eks-oidc-provider",
            what="The EKS cluster must create its IAM OIDC provider, so pods get AWS "
            "credentials through IRSA instead of node roles or static keys.",
            fix="set createOidcProvider=true on eks.Cluster.",
            severity=Severity.HIGH,
            enforcement=mandatory,
            types=CLUSTER_TYPES,
            check=_check_oidc,
        ),
        resource_policy(
            name="eks-control-plane-logging",
            what="The EKS control plane must send its audit and API server logs to "
            "CloudWatch Logs.",
            fix="set enabledClusterLogTypes to include every required type "
            "(default: 'api', 'audit').",
            severity=Severity.MEDIUM,
            enforcement=mandatory,
            types=CLUSTER_TYPES,
            check=_check_logging,
            config={
                "requiredLogTypes": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
                    },
                    "default": ["api", "audit"],
                    "description": "Control-plane log types that must be enabled.",
                }
            },
        ),
        resource_policy(
            name="eks-public-endpoint-restricted",
            what="The EKS API endpoint must be private, or public only to the configured CIDRs.",
            fix="set endpointPublicAccess=false (with endpointPrivateAccess=true), or set "
            "publicAccessCidrs to ranges inside allowedPublicCidrs of this stack's policy config.",
            severity=Severity.HIGH,
            enforcement=mandatory,
            types=CLUSTER_TYPES,
            check=_check_public_endpoint,
            config={
                "allowedPublicCidrs": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "CIDRs the public endpoint may be opened to.",
                },
                "allowWorldOpen": {
                    "type": "boolean",
                    "default": False,
                    "description": "Accept 0.0.0.0/0 (or ::/0) in publicAccessCidrs.",
                },
            },
        ),
        resource_policy(
            name="eks-secrets-encryption",
            what="Kubernetes Secrets must be envelope-encrypted with a KMS key.",
            fix="set encryptionConfigKeyArn on eks.Cluster to a KMS key ARN with rotation on.",
            severity=Severity.HIGH,
            enforcement=mandatory,
            types=CLUSTER_TYPES,
            check=_check_secrets_encryption,
        ),
    ]
