"""The CloudWatch Logs route: one stream per node, no group creation by default."""

import pytest
from pydantic import ValidationError

from components.agent.routes import CloudWatchLogsRoute, RouteDefaults

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


def test_cloudwatch_output_has_one_stream_per_node_and_does_not_create_groups() -> None:
    route = CloudWatchLogsRoute.model_validate(
        {"type": "cloudwatch_logs", "name": "cw", "region": "us-east-1", "logGroupName": "/audit"}
    )
    out = route.output(DEFAULTS)
    assert out["name"] == "cloudwatch_logs"
    assert out["log_group_name"] == "/audit"
    assert out["log_stream_prefix"] == "audit-${NODE_NAME}."
    assert out["auto_create_group"] == "off"


def test_cloudwatch_retention_without_auto_create_is_rejected() -> None:
    with pytest.raises(ValidationError, match="logRetentionDays=30"):
        CloudWatchLogsRoute.model_validate(
            {
                "type": "cloudwatch_logs",
                "name": "cw",
                "region": "us-east-1",
                "logGroupName": "/audit",
                "logRetentionDays": 30,
            }
        )
