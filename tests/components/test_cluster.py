"""ClusterAccess under mocks: a hardened EKS cluster, or an existing one by kubeconfig."""

from __future__ import annotations

import base64
from typing import Any

from components.cluster import ClusterAccess, ClusterAccessArgs
from components.settings import ClusterSettings
from tests.conftest import run_component
from tooling.graph import ResourceGraph


def _graph(user_data: str | None = None, **settings: Any) -> ResourceGraph:
    args = ClusterAccessArgs(settings=ClusterSettings(**settings), node_user_data=user_data)
    return run_component(lambda: ClusterAccess("c", args))


def test_eks_cluster_has_oidc_audit_logs_and_private_endpoint() -> None:
    cluster = _graph(mode="eks", name="audit").one("eks:index:Cluster").inputs
    assert cluster["createOidcProvider"] is True
    assert {"api", "audit"} <= set(cluster["enabledClusterLogTypes"])
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in cluster
    assert cluster["encryptionConfigKeyArn"].startswith("arn:aws:kms:")
    assert cluster["skipDefaultNodeGroup"] is True


def test_public_endpoint_only_for_the_configured_cidrs() -> None:
    cluster = (
        _graph(mode="eks", name="audit", public_access_cidrs=["198.51.100.0/24"])
        .one("eks:index:Cluster")
        .inputs
    )
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"] == ["198.51.100.0/24"]


def test_nodes_use_a_launch_template_with_imdsv2_and_the_given_user_data() -> None:
    graph = _graph(user_data="MIME-Version: 1.0\n", mode="eks", name="audit")
    template = graph.one("aws:ec2/launchTemplate:LaunchTemplate").inputs
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert base64.b64decode(template["userData"]).decode() == "MIME-Version: 1.0\n"
    group = graph.one("eks:index:ManagedNodeGroup").inputs
    assert group["launchTemplate"]["id"].startswith("lt-")
    assert group["operatingSystem"] == "AL2023"


def test_node_role_gets_only_the_worker_policies() -> None:
    attachments = _graph(mode="eks", name="audit").by_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )
    arns = sorted(a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments)
    assert arns == [
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
    ]


def test_kubernetes_provider_uses_the_new_cluster_kubeconfig() -> None:
    graph = _graph(mode="eks", name="audit")
    provider = graph.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == graph.one("eks:index:Cluster").outputs["kubeconfigJson"]


def test_existing_cluster_creates_nothing_but_a_provider() -> None:
    graph = _graph(
        mode="existing",
        name="kind",
        kubeconfig_path="/tmp/kubeconfig",
        context="kind-audit",
        irsa=False,
    )
    custom = [r.type for r in graph.resources if r.custom]
    assert custom == ["pulumi:providers:kubernetes"]
    provider = graph.one("pulumi:providers:kubernetes").inputs
    assert provider["kubeconfig"] == "/tmp/kubeconfig"
    assert provider["context"] == "kind-audit"


def test_existing_cluster_passes_the_oidc_provider_through() -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
    access: list[ClusterAccess] = []
    settings = ClusterSettings(
        mode="existing",
        name="ext",
        oidc_provider_arn=arn,
        oidc_provider_url="https://oidc.eks.us-east-1.amazonaws.com/id/X",
    )
    seen: dict[str, str] = {}

    def build() -> None:
        component = ClusterAccess("c", ClusterAccessArgs(settings=settings))
        access.append(component)
        assert component.oidc_provider_arn is not None
        component.oidc_provider_arn.apply(lambda v: seen.setdefault("arn", v))

    run_component(build)
    assert seen == {"arn": arn}
