"""Archive stack settings: registered clusters, their prefixes and writer roles."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.archive.settings import (
    ArchiveSettings,
    RegisteredCluster,
    ReplicationSettings,
    referenced_stack,
)


def test_a_cluster_line_is_enough_for_the_same_account() -> None:
    cluster = RegisteredCluster(stack="prod-eu2")
    assert cluster.key_prefix == "audit/prod-eu2/"
    assert cluster.writer_role_name == "container-audit-log-writer-prod-eu2"
    assert cluster.writer_role_arn("111111111111", "aws") == (
        "arn:aws:iam::111111111111:role/container-audit-log-writer-prod-eu2"
    )


def test_another_account_by_account_or_by_role_arn() -> None:
    by_account = RegisteredCluster(stack="eu", account="222222222222", role_name="writer")
    assert by_account.writer_role_arn("111111111111", "aws-cn") == (
        "arn:aws-cn:iam::222222222222:role/writer"
    )
    by_arn = RegisteredCluster(stack="eu", role_arn="arn:aws:iam::333333333333:role/path/w")
    assert by_arn.writer_role_arn("111111111111", "aws") == "arn:aws:iam::333333333333:role/path/w"
    assert by_arn.writer_role_name == "w"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"stack": "prod", "prefix": "/audit/prod/"}, "must be S3-safe path segments"),
        ({"stack": "prod", "roleArn": "arn:aws:sts::1:assumed-role/x"}, "is not an IAM role ARN"),
        ({"stack": "prod", "account": "12345"}, "12-digit"),
        ({"stack": "prod has spaces"}, "must be a Pulumi stack name"),
    ],
)
def test_bad_registrations_say_what_is_accepted(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RegisteredCluster.model_validate(values)


def test_prefixes_may_not_nest() -> None:
    with pytest.raises(ValidationError, match="overlaps"):
        ArchiveSettings(
            clusters=[
                RegisteredCluster(stack="a", prefix="audit/a/"),
                RegisteredCluster(stack="b", prefix="audit/a/b/"),
            ]
        )


def test_replication_is_off_and_the_archive_protected_by_default() -> None:
    settings = ArchiveSettings()
    assert settings.protect is True
    assert settings.replication == ReplicationSettings()
    assert settings.replication.enabled is False


@pytest.mark.parametrize(
    ("reference", "stack"),
    [("archive-prod", "archive-prod"), ("acme/container-audit-log/archive-prod", "archive-prod")],
)
def test_a_reference_names_its_stack_last(reference: str, stack: str) -> None:
    assert referenced_stack(reference) == stack
