"""The Loki route: labels, TLS and labels Loki would not take."""

import pytest
from pydantic import ValidationError

from components.agent.routes import LokiRoute, RouteDefaults

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


def test_loki_output_labels_and_tls() -> None:
    route = LokiRoute.model_validate(
        {"type": "loki", "name": "loki", "host": "loki.example.com", "labels": {"team": "sec"}}
    )
    out = route.output(DEFAULTS)
    assert out["labels"] == "team=sec"
    assert out["label_keys"] == "$cluster, $environment"
    assert out["tls"] == "on"
    assert out["port"] == "3100"


def test_loki_label_with_spaces_is_rejected() -> None:
    with pytest.raises(ValidationError, match="label 'team'='a b'"):
        LokiRoute.model_validate(
            {"type": "loki", "name": "loki", "host": "loki", "labels": {"team": "a b"}}
        )
