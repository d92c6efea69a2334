"""Composition: every Pulumi.<stack>.yaml runs the whole program under mocks."""

from __future__ import annotations

import json

import pytest

from tests.conftest import STACKS, stack_graph

COMPONENTS = {
    "container-audit-log:cluster:ClusterAccess",
    "container-audit-log:storage:AuditLogBucket",
}


def test_the_four_environments_exist() -> None:
    assert set(STACKS) == {"dev", "staging", "prod", "local"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_composes_the_pipeline(stack: str) -> None:
    graph = stack_graph(stack)
    types = {r.type for r in graph.resources}
    assert types >= COMPONENTS
    assert graph.stack_outputs["bucketName"]
    assert graph.stack_outputs["logPrefix"].startswith("audit/")


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_hangs_under_a_component_or_the_stack(stack: str) -> None:
    graph = stack_graph(stack)
    urns = {r.urn for r in graph.resources}
    for resource in graph.resources:
        if resource.type != "pulumi:pulumi:Stack":
            assert resource.parent in urns, resource.urn


def test_prod_has_object_lock_and_a_rotating_kms_key() -> None:
    graph = stack_graph("prod")
    archive = graph.one("container-audit-log:storage:AuditLogBucket")
    [bucket] = [b for b in graph.children_of(archive.urn) if b.name == "audit-log-bucket"]
    assert bucket.inputs["objectLockEnabled"] is True
    lock = graph.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock.inputs["rule"]["defaultRetention"]["mode"] == "COMPLIANCE"
    keys = graph.by_type("aws:kms/key:Key")
    assert keys and all(k.inputs["enableKeyRotation"] is True for k in keys)


def test_prod_api_server_is_private() -> None:
    cluster = stack_graph("prod").one("eks:index:Cluster").inputs
    assert cluster["endpointPublicAccess"] is False


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_agent_role_writes_only_to_the_stack_prefix(stack: str) -> None:
    graph = stack_graph(stack)
    policy = json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    bucket_arn = graph.stack_outputs["bucketArn"]
    prefix = graph.stack_outputs["logPrefix"]
    write = next(s for s in policy["Statement"] if s["Action"] == ["s3:PutObject"])
    assert write["Resource"] == [f"{bucket_arn}/{prefix}*"]


def test_local_runs_without_irsa_or_kms() -> None:
    graph = stack_graph("local")
    assert graph.by_type("aws:iam/role:Role") == []
    assert graph.by_type("aws:kms/key:Key") == []
    assert graph.stack_outputs["agentRoleArn"] is None


@pytest.mark.parametrize("stack", STACKS)
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
