"""EKS policies, on the pulumi-eks `Cluster` component and on a plain `aws.eks.Cluster`.

The engine sees the component's inputs only. Both shapes are read into one view, so the
same rule holds whichever way the cluster is declared. Defaults (pulumi-eks and EKS alike):
a public endpoint open to 0.0.0.0/0, no control-plane logs, no secrets encryption, and no
OIDC provider (pulumi-eks: createOidcProvider; plain: a separate aws.iam.OpenIdConnectProvider).
Every default is unsafe here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import (
    UNKNOWN,
    Report,
    Resource,
    StackReport,
    StackResource,
    as_list,
    dicts,
    get,
    is_set,
    resource_policy,
    stack_policy,
)

COMPONENT_TYPE = "eks:index:Cluster"
PLAIN_TYPE = "aws:eks/cluster:Cluster"
CLUSTER_TYPES = (COMPONENT_TYPE, PLAIN_TYPE)
OIDC_PROVIDER_TYPE = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
_WORLD = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


@dataclass(frozen=True)
class ClusterView:
    """The settings these rules judge, whichever resource type declared the cluster."""

    public: Any  # endpointPublicAccess (unset: the default, public)
    private: Any
    cidrs: Any
    log_types: Any
    secrets_key: Any  # KMS key ARN that envelope-encrypts Secrets, or None


def _plain_secrets_key(props: dict[str, Any]) -> Any:
    config = props.get("encryptionConfig")
    if config is UNKNOWN:
        return UNKNOWN
    for entry in dicts(config):
        if "secrets" in as_list(entry.get("resources")) or entry.get("resources") is UNKNOWN:
            return get(entry, "provider", "keyArn")
    return None


def cluster_view(resource: Resource) -> ClusterView:
    props = resource.props
    if resource.type == PLAIN_TYPE:
        vpc = props.get("vpcConfig")
        return ClusterView(
            public=UNKNOWN if vpc is UNKNOWN else get(vpc, "endpointPublicAccess"),
            private=UNKNOWN if vpc is UNKNOWN else get(vpc, "endpointPrivateAccess"),
            cidrs=UNKNOWN if vpc is UNKNOWN else get(vpc, "publicAccessCidrs"),
            log_types=props.get("enabledClusterLogTypes"),
            secrets_key=_plain_secrets_key(props),
        )
    return ClusterView(
        public=props.get("endpointPublicAccess"),
        private=props.get("endpointPrivateAccess"),
        cidrs=props.get("publicAccessCidrs"),
        log_types=props.get("enabledClusterLogTypes"),
        secrets_key=props.get("encryptionConfigKeyArn"),
    )


def _has_sts_audience(provider: StackResource) -> bool:
    audiences = provider.props.get("clientIdLists")
    return audiences is UNKNOWN or "sts.amazonaws.com" in as_list(audiences)


def _check_oidc(
    resources: list[StackResource], config: Mapping[str, Any], report: StackReport
) -> None:
    providers = [r for r in resources if r.type == OIDC_PROVIDER_TYPE and _has_sts_audience(r)]
    for cluster in resources:
        if cluster.type == COMPONENT_TYPE:
            value = cluster.props.get("createOidcProvider")
            if value is not True and value is not UNKNOWN:
                report(
                    f"createOidcProvider is {value!r}; IRSA (and so the log shipper's role) "
                    "needs it",
                    cluster.urn,
                )
        elif cluster.type == PLAIN_TYPE and not any(p.depends_on(cluster) for p in providers):
            report(
                f"cluster '{cluster.name}' has no aws.iam.OpenIdConnectProvider (audience "
                "sts.amazonaws.com) built from its issuer, so pods cannot use IRSA",
                cluster.urn,
            )


def _check_logging(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    enabled = cluster_view(resource).log_types
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
    view = cluster_view(resource)
    public = True if view.public is None else view.public
    if public is False:
        if view.private not in (True, UNKNOWN):
            report("both endpoints are off: set endpointPrivateAccess=true")
        return
    if public is UNKNOWN:
        return
    cidrs = view.cidrs
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
    if not is_set(cluster_view(resource).secrets_key):
        where = (
            "encryptionConfig (resources ['secrets'], provider.keyArn)"
            if resource.type == PLAIN_TYPE
            else "encryptionConfigKeyArn"
        )
        report(f"{where} is not set, so Kubernetes Secrets are not KMS-encrypted")


def policies() -> list[Policy]:
    mandatory = EnforcementLevel.MANDATORY
    return [
        stack_policy(
            name="eks-oidc-provider",
            what="The EKS cluster must have its IAM OIDC provider, so pods get AWS "
            "credentials through IRSA instead of node roles or static keys.",
            fix="set createOidcProvider=true on eks.Cluster, or, for a plain aws.eks.Cluster, "
            "add an aws.iam.OpenIdConnectProvider from its issuer with client id "
            "sts.amazonaws.com.",
            severity=Severity.HIGH,
            enforcement=mandatory,
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
            "publicAccessCidrs to ranges inside allowedPublicCidrs of this stack's policy config "
            "(plain aws.eks.Cluster: the same keys under vpcConfig).",
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
