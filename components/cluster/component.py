"""ClusterAccess: where the pipeline runs, a new EKS cluster or an existing one.

Either way it exposes the same three things the rest of the program needs: a Kubernetes
provider, the OIDC provider (ARN + issuer URL) for IRSA, and the cluster name.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components.cluster.settings import ClusterSettings
from components.common.kms import rotating_key
from components.common.partition import partition_named

# The Kubernetes half of `pulumi up` creates Namespaces, a ClusterRole and its binding:
# cluster-scoped writes that AmazonEKSAdminPolicy/EditPolicy do not allow.
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"

# AWS-managed policies every EKS worker node needs; nothing broader.
_NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)


@dataclass(frozen=True)
class ClusterAccessArgs:
    settings: ClusterSettings
    partition: str = "aws"
    # mode existing: the kubeconfig text (a secret), else settings.kubeconfig_path is read.
    kubeconfig: pulumi.Input[str] | None = None
    # mode eks: a MIME multipart document EKS merges into the node group's own user data.
    node_user_data: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class ClusterAccess(pulumi.ComponentResource):
    provider: k8s.Provider
    cluster_name: pulumi.Output[str]
    # None when the stack runs without IRSA (mode existing, irsa: false).
    oidc_provider_arn: pulumi.Output[str] | None
    oidc_provider_url: pulumi.Output[str] | None
    # mode eks only
    cluster: eks.Cluster | None
    node_group: eks.ManagedNodeGroup | None
    launch_template: aws.ec2.LaunchTemplate | None
    access_entries: list[aws.eks.AccessEntry]

    def __init__(
        self, name: str, args: ClusterAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("container-audit-log:cluster:ClusterAccess", name, None, opts)
        settings = args.settings
        self.cluster = None
        self.node_group = None
        self.launch_template = None
        self.access_entries = []
        self.cluster_name = pulumi.Output.from_input(settings.name)
        if settings.mode == "eks":
            self._create_eks(name, args)
        else:
            self._use_existing(name, args)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "oidcProviderArn": self.oidc_provider_arn,
                "oidcProviderUrl": self.oidc_provider_url,
            }
        )

    def _create_eks(self, name: str, args: ClusterAccessArgs) -> None:
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        tags = {**args.tags, "purpose": "container-audit-log"}

        secrets_key = rotating_key(
            f"{name}-secrets-key",
            f"Envelope encryption of Kubernetes secrets in {settings.name}",
            tags,
            child,
        )
        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Service": partition_named(args.partition).service_principal("ec2")
                            },
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                sort_keys=True,
            ),
            tags=tags,
            opts=child,
        )
        for policy in _NODE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=node_role.name,
                policy_arn=f"arn:{args.partition}:iam::aws:policy/{policy}",
                opts=child,
            )

        public = bool(settings.public_access_cidrs)
        self.cluster = eks.Cluster(
            name,
            name=settings.name,
            version=settings.version,
            vpc_id=settings.vpc_id,
            private_subnet_ids=settings.subnet_ids or None,
            endpoint_private_access=True,
            # No CIDRs configured: the API server is reachable from inside the VPC only.
            endpoint_public_access=public,
            public_access_cidrs=settings.public_access_cidrs if public else None,
            create_oidc_provider=True,
            enabled_cluster_log_types=list(settings.enabled_log_types),
            encryption_config_key_arn=secrets_key.arn,
            skip_default_node_group=True,
            # Access entries only: no aws-auth ConfigMap written through the Kubernetes API
            # (CONFIG_MAP mode), so any principal listed in config can manage the cluster.
            authentication_mode=eks.AuthenticationMode.API,
            tags=tags,
            opts=child,
        )
        grants = self._access_entries(name, args, tags)
        node_entry = aws.eks.AccessEntry(
            f"{name}-access-nodes",
            cluster_name=settings.name,
            principal_arn=node_role.arn,
            # EC2_LINUX: the node identity (system:nodes); no access policy may be attached.
            type="EC2_LINUX",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
        )
        self.access_entries.append(node_entry)

        group = settings.node_group
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            description="Worker nodes of the audit-log cluster: IMDSv2 only, encrypted disks",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop: pods on the pod network cannot reach the node's credentials.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=group.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            user_data=(
                base64.b64encode(args.node_user_data.encode()).decode()
                if args.node_user_data
                else None
            ),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags=tags)
            ],
            tags=tags,
            opts=child,
        )
        self.node_group = eks.ManagedNodeGroup(
            f"{name}-nodes",
            cluster=self.cluster,
            node_role=node_role,
            operating_system=eks.OperatingSystem.AL2023,
            instance_types=list(group.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=group.min_size,
                desired_size=group.desired_size,
                max_size=group.max_size,
            ),
            # EKS merges this template's MIME user data with its own nodeadm bootstrap.
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id,
                version=self.launch_template.latest_version.apply(str),
            ),
            labels={"container-audit-log/node": "true"},
            tags=tags,
            # Nodes join only once their role may authenticate.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[node_entry]),
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.cluster.kubeconfig_json,
            # Kubernetes resources wait until the deploy principals may create them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_provider_url = self.cluster.oidc_provider_url

    def _access_entries(
        self, name: str, args: ClusterAccessArgs, tags: Mapping[str, str]
    ) -> list[pulumi.Resource]:
        """A STANDARD access entry and a cluster-scoped admin policy association per
        principal in config (the creator's entry is EKS's own)."""
        assert self.cluster is not None
        cluster_name = args.settings.name
        grants: list[pulumi.Resource] = [self.cluster]
        for _kind, arn in args.settings.access.entries():
            # Named by account and role, so reordering the config replaces nothing.
            label = f"{name}-access-{arn.split(':')[4]}-{arn.rsplit('/', 1)[1]}"
            entry = aws.eks.AccessEntry(
                label,
                cluster_name=cluster_name,
                principal_arn=arn,
                type="STANDARD",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster]),
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{label}-policy",
                cluster_name=cluster_name,
                principal_arn=arn,
                policy_arn=f"arn:{args.partition}:eks::aws:cluster-access-policy/"
                f"{CLUSTER_ADMIN_POLICY}",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )
            self.access_entries.append(entry)
            grants.append(association)
        return grants

    def _use_existing(self, name: str, args: ClusterAccessArgs) -> None:
        settings = args.settings
        # The provider takes kubeconfig text or a path; neither falls back to $KUBECONFIG.
        kubeconfig: pulumi.Input[str] | None = (
            pulumi.Output.secret(args.kubeconfig)
            if args.kubeconfig is not None
            else settings.kubeconfig_path
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            context=settings.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if settings.irsa:
            self.oidc_provider_arn = pulumi.Output.from_input(settings.oidc_provider_arn or "")
            self.oidc_provider_url = pulumi.Output.from_input(settings.oidc_provider_url or "")
        else:
            self.oidc_provider_arn = None
            self.oidc_provider_url = None
