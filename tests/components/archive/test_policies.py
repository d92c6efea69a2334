"""A shared archive, judged with IAM's evaluation rules (policy/policies/iam_eval.py).

An archive in account 111111111111 with two registered clusters: `prod` in the same account
(the default: no role ARN in config) and `prod-eu2` in account 222222222222 (by account).
Each writer may put objects under its own prefix only, even when its own identity policy
would allow more; nobody else may put objects at all; the key gives data keys to the
writers only through S3, for this bucket only.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.agent.settings import AgentSettings
from components.archive.policies import (
    Writer,
    archive_key_policy,
    bucket_policy_document,
    resolve_writers,
    writer_bucket_statements,
)
from components.archive.settings import BucketSettings, ObjectLockSettings, RegisteredCluster
from components.common.partition import partition_of
from components.identity.iam import AuditArchive, agent_policy_for_stack
from policy.policies.iam_eval import Evaluation, Request, evaluate

ARCHIVE_ACCOUNT, OTHER_ACCOUNT, STRANGER_ACCOUNT = "111111111111", "222222222222", "333333333333"
REGION = "eu-west-1"
PARTITION = partition_of(REGION)
BUCKET = "audit-archive-shared"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY_ARN = f"arn:aws:kms:{REGION}:{ARCHIVE_ACCOUNT}:key/0000-archive"
CLUSTERS = [
    RegisteredCluster(stack="prod"),
    RegisteredCluster(stack="prod-eu2", account=OTHER_ACCOUNT),
]
WRITERS = resolve_writers(CLUSTERS, ARCHIVE_ACCOUNT, "aws")
SETTINGS = BucketSettings(
    object_lock=ObjectLockSettings(enabled=True, mode="COMPLIANCE", retention_days=30)
)
BUCKET_POLICY = bucket_policy_document(
    BUCKET_ARN, KEY_ARN, SETTINGS, writer_bucket_statements(BUCKET_ARN, WRITERS, "aws")
)
KEY_POLICY = archive_key_policy(PARTITION, ARCHIVE_ACCOUNT, REGION, BUCKET_ARN, WRITERS)
S3_ENDPOINT = f"s3.{REGION}.amazonaws.com"
ANYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}],
}


def _writer(stack: str) -> Writer:
    return next(w for w in WRITERS if w.stack == stack)


def _own_identity_policy(writer: Writer) -> dict[str, Any]:
    """The writer role's policy as its cluster stack plans it (agent_policy_for_stack)."""
    archive = AuditArchive(BUCKET, BUCKET_ARN, writer.prefix, KEY_ARN)
    oidc = f"arn:aws:iam::{writer.account}:oidc-provider/oidc.eks.{REGION}.amazonaws.com/id/X"
    return agent_policy_for_stack(AgentSettings(), archive, PARTITION, REGION, oidc)


def _put(principal: str, key: str, identity: dict[str, Any]) -> Evaluation:
    account = principal.split(":")[4]
    request = Request(
        action="s3:PutObject",
        resource=f"{BUCKET_ARN}/{key}",
        principal=principal,
        account=account,
        context={
            "aws:SecureTransport": True,
            "aws:PrincipalArn": principal,
            "aws:PrincipalAccount": account,
        },
    )
    return evaluate(request, [identity], BUCKET_POLICY, same_account=account == ARCHIVE_ACCOUNT)


def _data_key(principal: str, identity: dict[str, Any], via: str | None, context: str) -> str:
    account = principal.split(":")[4]
    keys: dict[str, Any] = {
        "aws:PrincipalArn": principal,
        "kms:EncryptionContext:aws:s3:arn": context,
    }
    if via is not None:
        keys["kms:ViaService"] = via
    request = Request("kms:GenerateDataKey", KEY_ARN, principal, account, keys)
    # Every statement of the key policy names an account (`:root`): in KMS that delegates to
    # the account's IAM policies, which must allow too, in the key's account as across
    # accounts. So both sides must allow: same_account=False models exactly that.
    return evaluate(request, [identity], KEY_POLICY, same_account=False).decision


def test_same_account_is_the_default_and_cross_account_is_one_field() -> None:
    assert _writer("prod").role_arn == (
        f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/container-audit-log-writer-prod"
    )
    assert _writer("prod-eu2").role_arn == (
        f"arn:aws:iam::{OTHER_ACCOUNT}:role/container-audit-log-writer-prod-eu2"
    )
    assert [w.prefix for w in WRITERS] == ["audit/prod/", "audit/prod-eu2/"]


@pytest.mark.parametrize("stack", ["prod", "prod-eu2"])
def test_each_registered_writer_can_write_its_prefix(stack: str) -> None:
    writer = _writer(stack)
    key = f"{writer.prefix}audit.syslog/2026/11/30/01/0000-x.jsonl.gz"
    decision = _put(writer.role_arn, key, _own_identity_policy(writer))
    assert decision.decision == "allow", decision


@pytest.mark.parametrize("stack", ["prod", "prod-eu2"])
@pytest.mark.parametrize("identity", ["own", "anything"])
def test_a_writer_can_write_nothing_outside_its_prefix(stack: str, identity: str) -> None:
    writer = _writer(stack)
    policy = _own_identity_policy(writer) if identity == "own" else ANYTHING
    other = next(w for w in WRITERS if w is not writer)
    for key in (f"{other.prefix}forged.gz", "audit/elsewhere.gz", "top-level.gz"):
        assert _put(writer.role_arn, key, policy).decision != "allow", key
    # Even a writer allowed everything by its own account is stopped by the bucket policy.
    if identity == "anything":
        assert _put(writer.role_arn, f"{other.prefix}x.gz", policy).decision == "explicit-deny"


@pytest.mark.parametrize(
    "principal",
    [
        # an administrator of the archive's own account
        f"arn:aws:iam::{ARCHIVE_ACCOUNT}:role/platform-admin",
        # a role of a registered cluster's account that is not its writer
        f"arn:aws:iam::{OTHER_ACCOUNT}:role/some-other-workload",
        # a writer role name in an account that registered nothing
        f"arn:aws:iam::{STRANGER_ACCOUNT}:role/container-audit-log-writer-prod",
    ],
)
def test_nobody_else_can_write(principal: str) -> None:
    for prefix in ("audit/prod/", "audit/prod-eu2/", ""):
        decision = _put(principal, f"{prefix}x.gz", ANYTHING)
        assert decision.decision == "explicit-deny", (principal, prefix, decision)
        assert "DenyUnregisteredWriters" in decision.statements


def test_anonymous_cannot_write() -> None:
    request = Request("s3:PutObject", f"{BUCKET_ARN}/audit/prod/x.gz", context={})
    assert evaluate(request, [], BUCKET_POLICY, same_account=False).decision == "explicit-deny"


@pytest.mark.parametrize("stack", ["prod", "prod-eu2"])
def test_each_writer_gets_data_keys_only_through_s3_for_this_bucket(stack: str) -> None:
    writer = _writer(stack)
    identity = _own_identity_policy(writer)
    assert _data_key(writer.role_arn, identity, S3_ENDPOINT, BUCKET_ARN) == "allow"
    # Not by calling KMS directly, not through S3 for another bucket.
    assert _data_key(writer.role_arn, identity, None, BUCKET_ARN) != "allow"
    assert _data_key(writer.role_arn, identity, S3_ENDPOINT, "arn:aws:s3:::other") != "allow"


def test_another_accounts_role_gets_no_data_key() -> None:
    stranger = f"arn:aws:iam::{OTHER_ACCOUNT}:role/some-other-workload"
    assert _data_key(stranger, ANYTHING, S3_ENDPOINT, BUCKET_ARN) != "allow"


def test_roles_are_named_through_their_account_so_the_archive_can_go_first() -> None:
    # S3 and KMS refuse a policy whose Principal is a role that does not exist yet; the
    # archive is deployed before the cluster stacks create their writer roles.
    for document in (BUCKET_POLICY, KEY_POLICY):
        for statement in document["Statement"]:
            principal = statement["Principal"]
            if principal != "*":
                assert principal["AWS"].endswith(":root"), statement


def test_a_combined_archive_grants_no_writer_statements() -> None:
    assert writer_bucket_statements(BUCKET_ARN, [], "aws") == []
