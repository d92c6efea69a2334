"""The parsers and the event-time filter as config: defined when named, and wired so the
agent sets times itself. What they make of real messages: test_fluent_bit_parsing.py
(the real agent)."""

from components.render.fluent_bit_parsers import (
    RFC3164_PARSER,
    RFC5424_PARSER,
    offset_seconds,
    undefined_parsers,
)
from tests.components.render.fluent_bit_samples import render, settings


def test_every_named_parser_is_defined() -> None:
    for fmt in ("rfc5424", "rfc3164"):
        config = render(settings(syslogFormat=fmt))
        assert undefined_parsers(config) == []
        assert config["pipeline"]["inputs"][0]["parser"] in {p["name"] for p in config["parsers"]}


def test_undefined_parser_is_reported() -> None:
    config = render(settings())
    config["pipeline"]["inputs"][0]["parser"] = "nope"
    assert undefined_parsers(config) == ["nope (input syslog, key parser)"]


def test_parsers_leave_the_time_to_the_event_time_filter() -> None:
    """A parser time_format fails (and logs) on every timestamp form but one; the filter
    reads them all, so the parsers keep `timestamp` as text and set no time."""
    for fmt, name in (("rfc5424", RFC5424_PARSER), ("rfc3164", RFC3164_PARSER)):
        config = render(settings(syslogFormat=fmt))
        (parser,) = config["parsers"]
        assert parser["name"] == name
        assert not {"time_key", "time_format", "time_keep"} & set(parser)
        assert "(?<timestamp>" in parser["regex"]
        first = config["pipeline"]["filters"][0]
        assert (first["name"], first["call"], first["time_as_table"]) == (
            "lua",
            "event_time",
            "on",
        )
        assert first["match"] == config["pipeline"]["inputs"][0]["tag"]


def test_the_rfc3164_zone_is_written_into_the_filter() -> None:
    config = render(settings(syslogFormat="rfc3164", rfc3164TimeOffset="-0530"))
    code = config["pipeline"]["filters"][0]["code"]
    assert "local RFC3164_OFFSET_SECONDS = -19800\n" in code
    assert "__RFC3164_OFFSET_SECONDS__" not in code
    assert (offset_seconds("+0200"), offset_seconds("+0000")) == (7200, 0)
