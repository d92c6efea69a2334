"""The parsers and the event-time filter as config: defined when named, and wired so the
agent sets times itself. What they make of real messages: test_fluent_bit_parsing.py
(the real agent)."""

from components.agent.parsers import (
    RFC3164_PARSER,
    RFC5424_PARSER,
    undefined_parsers,
)
from tests.components.agent.fluent_bit_samples import render, settings


def test_every_named_parser_is_defined() -> None:
    for fmt in ("rfc5424", "rfc3164"):
        config = render(settings(syslogFormat=fmt))
        assert undefined_parsers(config) == []
        assert config["pipeline"]["inputs"][0]["parser"] in {p["name"] for p in config["parsers"]}


def test_undefined_parser_is_reported() -> None:
    config = render(settings())
    config["pipeline"]["inputs"][0]["parser"] = "nope"
    assert undefined_parsers(config) == ["nope (input tail, key parser)"]


def test_parsers_leave_the_time_to_the_event_time_filter() -> None:
    """The syslog parser keeps `timestamp` as text; the first filter reads every form."""
    for fmt, name in (("rfc5424", RFC5424_PARSER), ("rfc3164", RFC3164_PARSER)):
        config = render(settings(syslogFormat=fmt))
        parser = config["parsers"][0]
        assert parser["name"] == name
        assert not {"time_key", "time_format", "time_keep"} & set(parser)
        assert "(?<timestamp>" in parser["regex"]
        first = config["pipeline"]["filters"][0]
        assert (first["name"], first["key_name"], first["reserve_data"], first["preserve_key"]) == (
            "parser",
            "timestamp",
            "on",
            "on",
        )
        assert first["match"] == config["pipeline"]["inputs"][0]["tag"]
        # Tried in order; the catch-all that marks an unreadable time comes last.
        assert first["parser"][-1] == "time-unreadable"
        assert undefined_parsers(config) == []


def test_the_rfc3164_zone_is_stated_on_its_time_parser() -> None:
    config = render(settings(syslogFormat="rfc3164", rfc3164TimeOffset="-0530"))
    [parser] = [p for p in config["parsers"] if p["name"] == "time-rfc3164"]
    assert parser["time_offset"] == "-0530"
    assert "%Y" not in parser["time_format"]
