"""The OpenSearch route: TLS, SigV4 or basic auth, and inconsistent auth."""

from typing import Any

import pytest
from pydantic import ValidationError

from components.agent.routes import OpenSearchRoute, RouteDefaults

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


def test_opensearch_output_uses_tls_and_sigv4() -> None:
    route = OpenSearchRoute.model_validate(
        {
            "type": "opensearch",
            "name": "search",
            "host": "vpc-audit.eu-west-1.es.amazonaws.com",
            "awsAuth": True,
            "awsRegion": "eu-west-1",
            "domainArn": "arn:aws:es:eu-west-1:123456789012:domain/audit",
        }
    )
    out = route.output(DEFAULTS)
    assert out["name"] == "opensearch"
    assert out["port"] == "443"
    assert (out["tls"], out["tls.verify"], out["tls.verify_hostname"]) == ("on", "on", "on")
    assert (out["aws_auth"], out["aws_region"]) == ("on", "eu-west-1")
    assert out["suppress_type_name"] == "on"
    assert out["retry_limit"] == "10"
    assert out["storage.total_limit_size"] == "2G"


def test_opensearch_password_comes_from_a_secret_env_var() -> None:
    route = OpenSearchRoute.model_validate(
        {
            "type": "opensearch",
            "name": "search",
            "host": "search.example.com",
            "httpUser": "writer",
            "httpPasswordSecret": {"name": "search-creds", "key": "password"},
        }
    )
    out = route.output(DEFAULTS)
    env_reference = "${FLB_SEARCH_HTTP_PASSWORD}"
    assert out["http_passwd"] == env_reference
    assert route.secret_env()["FLB_SEARCH_HTTP_PASSWORD"].key == "password"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"awsAuth": True}, "awsAuth is true but awsRegion"),
        ({"awsAuth": True, "awsRegion": "eu-west-1", "tls": False}, "awsAuth needs tls"),
        ({"httpUser": "writer"}, "httpUser and httpPasswordSecret"),
    ],
)
def test_opensearch_inconsistent_auth_is_rejected(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OpenSearchRoute.model_validate(
            {"type": "opensearch", "name": "search", "host": "search.example.com", **extra}
        )
