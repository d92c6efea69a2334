"""The forward route: acknowledged delivery and a shared key read from a Secret."""

import pytest
from pydantic import ValidationError

from components.agent.routes import ForwardRoute, RouteDefaults

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


def test_forward_shared_key_is_read_from_the_environment_never_inline() -> None:
    route = ForwardRoute.model_validate(
        {
            "type": "forward",
            "name": "aggregator",
            "host": "agg.example.com",
            "sharedKeySecret": {"name": "forward-key", "key": "shared"},
        }
    )
    out = route.output(DEFAULTS)
    assert out["shared_key"] == "${FLB_AGGREGATOR_SHARED_KEY}"
    assert out["self_hostname"] == "${NODE_NAME}"
    assert out["require_ack_response"] == "on"
    assert out["tls"] == "on"
    assert route.secret_env()["FLB_AGGREGATOR_SHARED_KEY"].name == "forward-key"


def test_forward_shared_key_value_is_not_a_config_field() -> None:
    with pytest.raises(ValidationError, match="sharedKey"):
        ForwardRoute.model_validate(
            {"type": "forward", "name": "agg", "host": "agg", "sharedKey": "s3cret"}
        )
