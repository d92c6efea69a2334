"""What every route shares: Fluent Bit sizes and times, names, and the TLS rule."""

import pytest
from pydantic import ValidationError

from components.agent.routes import (
    ForwardRoute,
    RouteDefaults,
    StdoutRoute,
    parse_duration,
    parse_size,
)

DEFAULTS = RouteDefaults(s3_store_base="/var/fluent-bit/s3", total_limit_size="2G")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64k", 64_000),
        ("30M", 30_000_000),
        ("1G", 10**9),
        ("5242880", 5_242_880),
        ("1.5MB", 1_500_000),
    ],
)
def test_sizes_are_decimal_like_fluent_bit(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["5 MiB", "1MiB", "", "M", "-1M"])
def test_sizes_fluent_bit_rejects_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="not a Fluent Bit size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("10m", 600), ("30s", 30), ("1h", 3600), ("60", 60)]
)
def test_durations(text: str, expected: int) -> None:
    assert parse_duration(text) == expected


def test_tls_off_is_refused_in_staging_and_prod() -> None:
    route = ForwardRoute.model_validate(
        {"type": "forward", "name": "agg", "host": "a", "tls": False}
    )
    assert route.output(DEFAULTS)["tls"] == "off"
    assert route.check_environment("dev") == []
    assert "tls is false" in route.check_environment("staging")[0]


@pytest.mark.parametrize("name", ["Archive", "-archive", "archive_1", "a" * 41])
def test_route_names_are_dns_like(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        StdoutRoute(name=name)
