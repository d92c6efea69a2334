"""The auditor's KMS use names the services' endpoints of the stack's partition."""

from __future__ import annotations

import pytest

from components.identity.auditor_iam import AuditorScope, auditor_policy


@pytest.mark.parametrize(
    ("partition", "region", "suffix"),
    [
        ("aws", "eu-west-1", "amazonaws.com"),
        ("aws-cn", "cn-north-1", "amazonaws.com.cn"),
        ("aws-us-gov", "us-gov-west-1", "amazonaws.com"),
    ],
)
def test_kms_via_service_follows_the_partition(partition: str, region: str, suffix: str) -> None:
    scope = AuditorScope(
        partition=partition,
        region=region,
        account_id="123456789012",
        workgroup="audit",
        database="audit",
        table="events",
        bucket_arn=f"arn:{partition}:s3:::archive",
        log_prefix="audit/",
        kms_key_arn=f"arn:{partition}:kms:{region}:123456789012:key/k",
    )
    via = {
        statement["Sid"]: statement["Condition"]["StringEquals"]["kms:ViaService"]
        for statement in auditor_policy(scope)["Statement"]
        if "kms:ViaService" in statement.get("Condition", {}).get("StringEquals", {})
    }
    assert set(via.values()) == {f"s3.{region}.{suffix}", f"athena.{region}.{suffix}"}
