"""ArchiveReplica: the replica's own key and provider, and another account's ownership."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.archive.replica import ArchiveReplica, ArchiveReplicaArgs
from components.archive.settings import BucketSettings, ReplicationSettings
from tests.conftest import run_component

ROLE = "arn:aws:iam::444444444444:role/replica-deployer"


def _replica(settings: ReplicationSettings) -> ArchiveReplica:
    versioning = aws.s3.BucketVersioning(
        "source-versioning",
        bucket="source",
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
    )
    return ArchiveReplica(
        "replica",
        ArchiveReplicaArgs(
            settings=settings,
            bucket=BucketSettings(),
            source_bucket_id="source",
            source_bucket_arn="arn:aws:s3:::source",
            source_key_arn="arn:aws:kms:eu-west-1:123456789012:key/source",
            source_region="eu-west-1",
            environment="test",
            source_versioning=versioning,
            protect=True,
        ),
        pulumi.ResourceOptions(),
    )


def test_a_replica_in_another_account_is_owned_there_and_deployed_with_its_role() -> None:
    settings = ReplicationSettings(
        enabled=True, region="eu-central-1", account="444444444444", provider_role_arn=ROLE
    )
    graph = run_component(lambda: _replica(settings))
    provider = graph.one("pulumi:providers:aws").inputs
    assert provider["region"] == "eu-central-1"
    # Provider inputs reach the engine as JSON text.
    assert json.loads(provider["assumeRoles"]) == [{"roleArn": ROLE}]
    [rule] = graph.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig").inputs["rules"]
    assert rule["destination"]["account"] == "444444444444"
    assert rule["destination"]["accessControlTranslation"] == {"owner": "Destination"}


def test_a_same_account_replica_changes_no_ownership() -> None:
    graph = run_component(lambda: _replica(ReplicationSettings(enabled=True, region="eu-west-2")))
    [rule] = graph.one("aws:s3/bucketReplicationConfig:BucketReplicationConfig").inputs["rules"]
    assert "account" not in rule["destination"]
    assert "accessControlTranslation" not in rule["destination"]
    key = next(r for r in graph.by_type("aws:kms/key:Key"))
    assert ":eu-west-2:" in key.outputs["arn"] and key.protect and key.retain_on_delete
