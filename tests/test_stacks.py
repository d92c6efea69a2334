"""Composition: every Pulumi.<stack>.yaml runs the whole program under mocks."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ALL_STACKS, ARCHIVE_STACKS, STACKS, stack_graph
from tooling.engine import load_stack_file, run_program

COMPONENTS = {
    "container-audit-log:cluster:ClusterAccess",
    "container-audit-log:agent:FluentBitDaemonSet",
}
AWS_STACKS = ["dev", "staging", "prod"]
# Cluster stacks whose archive is a stack of its own.
CLUSTER_STACKS = {"staging": "archive-staging", "prod": "archive-prod"}


def test_the_environments_exist_as_archive_cluster_and_combined_stacks() -> None:
    assert set(STACKS) == {"dev", "staging", "prod", "local"}
    assert set(ARCHIVE_STACKS) == {"archive-staging", "archive-prod"}
    assert set(ALL_STACKS) == set(STACKS) | set(ARCHIVE_STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_composes_the_pipeline(stack: str) -> None:
    graph = stack_graph(stack)
    types = {r.type for r in graph.resources}
    assert types >= COMPONENTS
    archive = "container-audit-log:storage:AuditLogBucket"
    assert (archive in types) == (stack == "dev")
    assert ("container-audit-log:storage:ArchiveReference" in types) == (stack in CLUSTER_STACKS)
    assert graph.stack_outputs["bucketName"]
    assert graph.stack_outputs["logPrefix"].startswith("audit/")


@pytest.mark.parametrize("stack", ARCHIVE_STACKS)
def test_archive_stack_holds_the_archive_and_no_cluster(stack: str) -> None:
    types = {r.type for r in stack_graph(stack).resources}
    assert "container-audit-log:storage:AuditLogBucket" in types
    assert not types & COMPONENTS
    assert not any(t.startswith("kubernetes:") or t.startswith("eks:") for t in types)


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_resource_hangs_under_a_component_or_the_stack(stack: str) -> None:
    graph = stack_graph(stack)
    urns = {r.urn for r in graph.resources}
    for resource in graph.resources:
        if resource.type != "pulumi:pulumi:Stack":
            assert resource.parent in urns, resource.urn


def test_prod_archive_and_its_replica_have_object_lock_and_rotating_kms_keys() -> None:
    graph = stack_graph("archive-prod")
    archive = graph.one("container-audit-log:storage:AuditLogBucket")
    [bucket] = [b for b in graph.children_of(archive.urn) if b.name == "audit-log-bucket"]
    [replica] = [
        b for b in graph.by_type("aws:s3/bucket:Bucket") if b.name == "audit-log-replica-bucket"
    ]
    assert (
        bucket.inputs["objectLockEnabled"] is True and replica.inputs["objectLockEnabled"] is True
    )
    locks = graph.by_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert [lock.inputs["rule"]["defaultRetention"]["mode"] for lock in locks] == ["COMPLIANCE"] * 2
    keys = graph.by_type("aws:kms/key:Key")
    assert keys and all(k.inputs["enableKeyRotation"] is True for k in keys)


def test_prod_api_server_is_private() -> None:
    cluster = stack_graph("prod").one("eks:index:Cluster").inputs
    assert cluster["endpointPublicAccess"] is False


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_agent_role_writes_only_to_the_stack_prefix(stack: str) -> None:
    graph = stack_graph(stack)
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    bucket_arn = graph.stack_outputs["bucketArn"]
    prefix = graph.stack_outputs["logPrefix"]
    write = next(s for s in policy["Statement"] if s["Action"] == ["s3:PutObject"])
    assert write["Resource"] == [f"{bucket_arn}/{prefix}*"]


def test_local_creates_no_aws_resource_at_all() -> None:
    # `pulumi preview --stack local` must need no AWS account: its archive is S3-compatible.
    graph = stack_graph("local")
    assert [r.urn for r in graph.resources if r.type.startswith("aws:")] == []
    assert graph.stack_outputs["agentRoleArn"] is None
    assert graph.stack_outputs["bucketArn"] is None
    assert graph.stack_outputs["bucketName"] == "audit-log-local"


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_iam_documents_have_no_wildcard_action_or_resource(stack: str) -> None:
    graph = stack_graph(stack)
    for resource in graph.by_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(resource.inputs["policy"])["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            resources = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            assert not any(a == "*" or a.endswith(":*") for a in actions)
            assert "*" not in resources


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_a_stack_in_another_partition_uses_its_arns_endpoints_and_principals(
    region: str, partition: str, suffix: str
) -> None:
    raw, _ = load_stack_file("dev")
    # The stack file's principals are in the aws partition; the config refuses them elsewhere.
    moved = {key: value.replace("arn:aws:", f"arn:{partition}:") for key, value in raw.items()}
    graph = run_program("dev", {**moved, "aws:region": region})
    role_policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    resources = [r for s in role_policy["Statement"] for r in s["Resource"]]
    assert resources and all(r.startswith(f"arn:{partition}:") for r in resources)
    [kms] = [s for s in role_policy["Statement"] if "Condition" in s]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == f"s3.{region}.{suffix}"
    for policy in graph.by_type("aws:s3/bucketPolicy:BucketPolicy"):  # archive and its logs
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            targets = statement["Resource"]
            for target in targets if isinstance(targets, list) else [targets]:
                assert target.startswith(f"arn:{partition}:s3:::")
    node_trust = next(
        json.loads(r.inputs["assumeRolePolicy"])
        for r in graph.by_type("aws:iam/role:Role")
        if "ec2" in r.inputs["assumeRolePolicy"]
    )
    expected = "ec2.amazonaws.com.cn" if partition == "aws-cn" else "ec2.amazonaws.com"
    assert node_trust["Statement"][0]["Principal"] == {"Service": expected}


def test_a_stack_without_aws_routes_gets_no_agent_role() -> None:
    raw, _ = load_stack_file("dev")
    routes = json.dumps({"routes": [{"type": "stdout", "name": "console"}]})
    overrides = {
        "container-audit-log:agent": routes,
        "container-audit-log:query": '{"enabled": false}',
    }
    graph = run_program("dev", {**raw, **overrides})
    assert [r.inputs.get("description") for r in graph.by_type("aws:iam/role:Role")] == [None]
    assert graph.stack_outputs["agentRoleArn"] is None
