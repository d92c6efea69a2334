"""ClusterAccess under mocks: a hardened EKS cluster, or an existing one by kubeconfig."""

from __future__ import annotations

import base64
from typing import Any

from components.cluster.component import ClusterAccess, ClusterAccessArgs
from components.cluster.settings import ClusterSettings
from tests.conftest import run_component
from tooling.graph import ResourceGraph

DEPLOY = "arn:aws:iam::111122223333:role/ci-deploy"
ADMIN = "arn:aws:iam::111122223333:role/platform-admin"
NEW_ADMIN = "arn:aws:iam::444455556666:role/incident-responder"


def _graph(user_data: str | None = None, **settings: Any) -> ResourceGraph:
    if settings["mode"] == "eks":
        settings.setdefault("access", {"deploy_principal_arns": [DEPLOY]})
    args = ClusterAccessArgs(settings=ClusterSettings(**settings), node_user_data=user_data)
    return run_component(lambda: ClusterAccess("c", args))


def _grants(graph: ResourceGraph) -> dict[str, tuple[str, str]]:
    """principal ARN -> (access entry type, associated policy ARN or '')."""
    policies = {
        a.inputs["principalArn"]: a.inputs
        for a in graph.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    grants = {}
    for entry in graph.by_type("aws:eks/accessEntry:AccessEntry"):
        arn = entry.inputs["principalArn"]
        association = policies.get(arn)
        if association is not None:
            assert association["accessScope"] == {"type": "cluster"}
            assert association["clusterName"] == entry.inputs["clusterName"] == "audit"
        grants[arn] = (entry.inputs["type"], association["policyArn"] if association else "")
    return grants


def test_cluster_uses_access_entries_not_the_aws_auth_configmap() -> None:
    cluster = _graph(mode="eks", name="audit").one("eks:index:Cluster").inputs
    assert cluster["authenticationMode"] == "API"
    # pulumi-eks refuses instanceRoles in API mode; the node role gets an access entry.
    assert "instanceRoles" not in cluster and "roleMappings" not in cluster


def test_every_principal_in_config_gets_an_entry_and_the_node_role_its_own() -> None:
    admin_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    graph = _graph(
        mode="eks",
        name="audit",
        access={"deploy_principal_arns": [DEPLOY], "admin_principal_arns": [ADMIN, NEW_ADMIN]},
    )
    grants = _grants(graph)
    node_role_arn = graph.one("aws:iam/role:Role").outputs["arn"]
    assert grants == {
        DEPLOY: ("STANDARD", admin_policy),
        ADMIN: ("STANDARD", admin_policy),
        NEW_ADMIN: ("STANDARD", admin_policy),
        node_role_arn: ("EC2_LINUX", ""),
    }


def test_the_creator_keeps_the_entry_eks_made_and_gets_no_second_one() -> None:
    access = {
        "deploy_principal_arns": [DEPLOY],
        "admin_principal_arns": [ADMIN],
        "creator_principal_arn": DEPLOY,
    }
    grants = _grants(_graph(mode="eks", name="audit", access=access))
    assert DEPLOY not in grants and ADMIN in grants


def test_kubernetes_waits_for_the_grants_and_nodes_for_their_entry() -> None:
    graph = _graph(mode="eks", name="audit")
    provider = graph.one("pulumi:providers:kubernetes")
    [association] = graph.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association.urn in provider.dependencies
    entries = graph.by_type("aws:eks/accessEntry:AccessEntry")
    node_entry = next(e for e in entries if e.inputs["type"] == "EC2_LINUX")
    assert node_entry.urn in graph.one("eks:index:ManagedNodeGroup").dependencies


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
