"""Typed settings of the cluster: EKS, its node group and who may administer it.

Pure models (no Pulumi imports): `config.py` builds them from the stack file, components
take them as arguments, tests build them directly.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.common.model import CamelModel

# Access entries take IAM roles and users (not STS session ARNs).
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}$")
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/\S+$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")


class NodeGroupSettings(CamelModel):
    instance_types: list[str] = Field(default_factory=lambda: ["m6i.large"], min_length=1)
    min_size: int = Field(default=2, ge=0)
    desired_size: int = Field(default=2, ge=0)
    max_size: int = Field(default=4, ge=1)
    disk_size_gib: int = Field(default=50, ge=20, le=16384)

    @model_validator(mode="after")
    def _sizes(self) -> NodeGroupSettings:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"nodeGroup sizes must satisfy minSize <= desiredSize <= maxSize, got "
                f"{self.min_size} <= {self.desired_size} <= {self.max_size}"
            )
        return self


def _check_principals(key: str, values: list[str]) -> list[str]:
    for arn in values:
        if not _PRINCIPAL_ARN.match(arn):
            raise ValueError(
                f"{key} entry {arn!r} is not an IAM role or user ARN "
                "(arn:aws:iam::<12-digit account>:role/<name>); an assumed-role session ARN "
                "(arn:aws:sts::...) is not accepted"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"{key} lists a principal twice")
    return values


class ClusterAccessSettings(CamelModel):
    """Who may use the Kubernetes API of a new EKS cluster (EKS access entries, API mode).

    Every principal gets AmazonEKSClusterAdminPolicy at cluster scope: the program creates
    Namespaces, a ClusterRole and its binding, which no narrower EKS access policy allows.
    """

    deploy_principal_arns: list[str] = Field(
        default_factory=list,
        description="Roles that run `pulumi up` (the CI deploy role): at least one.",
    )
    admin_principal_arns: list[str] = Field(
        default_factory=list, description="Roles of the people who operate the cluster."
    )
    creator_principal_arn: str | None = Field(
        default=None,
        description=(
            "The role that runs the first `pulumi up`: EKS gives it an admin entry itself "
            "(pulumi-eks sets bootstrapClusterCreatorAdminPermissions), so none is created "
            "for it here; a second entry would fail with ResourceInUseException."
        ),
    )

    @field_validator("deploy_principal_arns")
    @classmethod
    def _valid_deploy(cls, value: list[str]) -> list[str]:
        return _check_principals("access.deployPrincipalArns", value)

    @field_validator("admin_principal_arns")
    @classmethod
    def _valid_admin(cls, value: list[str]) -> list[str]:
        return _check_principals("access.adminPrincipalArns", value)

    @field_validator("creator_principal_arn")
    @classmethod
    def _valid_creator(cls, value: str | None) -> str | None:
        if value is not None:
            _check_principals("access.creatorPrincipalArn", [value])
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> ClusterAccessSettings:
        both = sorted(set(self.deploy_principal_arns) & set(self.admin_principal_arns))
        if both:
            raise ValueError(
                f"access: {both[0]!r} is both a deploy and an admin principal; list it once"
            )
        return self

    def entries(self) -> list[tuple[str, str]]:
        """(role of the principal, ARN) for every access entry this program creates: the
        creator's is EKS's own."""
        listed = [("deploy", arn) for arn in self.deploy_principal_arns] + [
            ("admin", arn) for arn in self.admin_principal_arns
        ]
        return [(kind, arn) for kind, arn in listed if arn != self.creator_principal_arn]


LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
_DEFAULT_LOG_TYPES: tuple[LogType, ...] = ("api", "audit", "authenticator")


class ClusterSettings(CamelModel):
    """Where the pipeline runs: a new EKS cluster, or an existing cluster by kubeconfig."""

    mode: Literal["eks", "existing"] = Field(
        description="eks: create the cluster; existing: deploy into one by kubeconfig."
    )
    name: str = Field(description="The EKS cluster name (or a label for an existing one).")
    # mode: eks
    version: str = Field(default="1.33", description="eks: Kubernetes minor version.")
    public_access_cidrs: list[str] = Field(
        default_factory=list,
        description="eks: who may reach the API server from outside the VPC; [] = private.",
    )
    vpc_id: str | None = Field(
        default=None, description="eks: unset = the default VPC (dev only; see README)."
    )
    subnet_ids: list[str] = Field(
        default_factory=list,
        description="eks: private subnets for nodes (with vpcId); required in staging and prod.",
    )
    access: ClusterAccessSettings = Field(
        default_factory=ClusterAccessSettings,
        description="eks: who may use the Kubernetes API (EKS access entries).",
    )
    node_group: NodeGroupSettings = NodeGroupSettings()
    enabled_log_types: list[LogType] = Field(default_factory=lambda: list(_DEFAULT_LOG_TYPES))
    # mode: existing
    kubeconfig_path: str | None = Field(
        default=None, description="existing: kubeconfig file (or the secret `kubeconfig` key)."
    )
    context: str | None = Field(default=None, description="existing: kubeconfig context.")
    oidc_provider_arn: str | None = Field(
        default=None, description="existing: IAM OIDC provider of the cluster, for IRSA."
    )
    oidc_provider_url: str | None = Field(
        default=None, description="existing: its issuer URL (https://oidc.eks...)."
    )
    irsa: bool = Field(
        default=True,
        description="existing: false runs the agent without an IAM role (static keys).",
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _CLUSTER_NAME.match(value):
            raise ValueError(
                f"cluster name {value!r} must be 1-100 letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("version")
    @classmethod
    def _valid_version(cls, value: str) -> str:
        if not re.fullmatch(r"1\.\d{2}", value):
            raise ValueError(f"version {value!r} must be a Kubernetes minor version like '1.33'")
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as error:
                raise ValueError(
                    f"publicAccessCidrs entry {cidr!r} is not a CIDR: {error}"
                ) from None
            if network.prefixlen == 0:
                raise ValueError(
                    f"publicAccessCidrs entry {cidr!r} opens the API server to the whole "
                    "internet; list your office/VPN ranges, or none for a private endpoint"
                )
        return value

    @field_validator("vpc_id")
    @classmethod
    def _valid_vpc(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"vpc-[0-9a-f]{8,17}", value):
            raise ValueError(f"vpcId {value!r} is not a VPC id such as 'vpc-0a1b2c3d4e5f67890'")
        return value

    @field_validator("subnet_ids")
    @classmethod
    def _valid_subnets(cls, value: list[str]) -> list[str]:
        for subnet in value:
            if not re.fullmatch(r"subnet-[0-9a-f]{8,17}", subnet):
                raise ValueError(
                    f"subnetIds entry {subnet!r} is not a subnet id such as "
                    "'subnet-0a1b2c3d4e5f67890'"
                )
        return value

    @field_validator("oidc_provider_arn")
    @classmethod
    def _valid_oidc_arn(cls, value: str | None) -> str | None:
        if value is not None and not _OIDC_PROVIDER_ARN.match(value):
            raise ValueError(
                f"oidcProviderArn {value!r} is not an IAM OIDC provider ARN "
                "(arn:aws:iam::<account>:oidc-provider/<issuer host and path>)"
            )
        return value

    @field_validator("oidc_provider_url")
    @classmethod
    def _valid_oidc_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError(f"oidcProviderUrl {value!r} must be the issuer URL (https://...)")
        return value

    @model_validator(mode="after")
    def _mode_fields(self) -> ClusterSettings:
        if self.mode == "eks":
            stray = [
                key
                for key, value in (
                    ("kubeconfigPath", self.kubeconfig_path),
                    ("context", self.context),
                    ("oidcProviderArn", self.oidc_provider_arn),
                    ("oidcProviderUrl", self.oidc_provider_url),
                )
                if value is not None
            ]
            if stray:
                raise ValueError(
                    f"{', '.join(stray)} only apply to mode 'existing'; mode 'eks' creates "
                    "the cluster and its OIDC provider"
                )
            if not self.irsa:
                raise ValueError("irsa: false only applies to mode 'existing'")
            if bool(self.vpc_id) != bool(self.subnet_ids):
                raise ValueError("vpcId and subnetIds go together: set both or neither")
            if not self.access.deploy_principal_arns:
                raise ValueError(
                    "access.deployPrincipalArns is empty: mode 'eks' needs the IAM role that "
                    "runs `pulumi up` (e.g. the CI deploy role), or only the creator could "
                    "use the cluster's API"
                )
        elif self.access != ClusterAccessSettings():
            raise ValueError(
                "access only applies to mode 'eks'; grant access to an existing cluster "
                "where it is managed"
            )
        elif self.irsa and not (self.oidc_provider_arn and self.oidc_provider_url):
            raise ValueError(
                "mode 'existing' with irsa: true needs oidcProviderArn and oidcProviderUrl "
                "(from `aws eks describe-cluster`), or irsa: false to run without an IAM role"
            )
        return self

    @property
    def oidc_issuer_host(self) -> str | None:
        """The issuer without scheme: the prefix of the `sub`/`aud` condition keys."""
        if self.oidc_provider_url is None:
            return None
        return self.oidc_provider_url.removeprefix("https://")
