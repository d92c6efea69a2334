"""The syslog parsers: defined when named, and the records and times they make of lines."""

import re
from datetime import UTC, datetime

from components.render.fluent_bit_parsers import (
    RFC3164_PARSER,
    RFC5424_PARSER,
    onigmo_to_python,
    parse_time,
    parse_with,
    undefined_parsers,
)
from tests.components.render.fluent_bit_samples import render, settings

# Samples from RFC 5424 section 6.5 and RFC 3164 section 5.4, plus what rsyslog writes.
RFC5424_SU = (
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
    "'su root' failed for lonvick on /dev/pts/8"
)
RFC5424_DONUTS = (
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
    "%% It's time to make the do-nuts."
)
RFC5424_SD = (
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 "
    'iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] '
    "An application event log entry"
)
RFC5424_RSYSLOG = (
    "<86>1 2025-03-09T07:05:42.123456+00:00 ip-10-0-1-23 audit-demo 4242 - - "
    " exec: /bin/sh -c 'cat /etc/shadow' uid=0"
)
RFC3164_SU = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
RFC3164_BFG = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"


def test_every_named_parser_is_defined() -> None:
    for fmt in ("rfc5424", "rfc3164"):
        config = render(settings(syslogFormat=fmt))
        assert undefined_parsers(config) == []
        assert config["pipeline"]["inputs"][0]["parser"] in {p["name"] for p in config["parsers"]}


def test_undefined_parser_is_reported() -> None:
    config = render(settings())
    config["pipeline"]["inputs"][0]["parser"] = "nope"
    assert undefined_parsers(config) == ["nope (input syslog, key parser)"]


def test_rfc5424_parser_regex_compiles_in_python() -> None:
    parser = render(settings())["parsers"][0]
    pattern = re.compile(onigmo_to_python(parser["regex"]))
    assert {"pri", "timestamp", "time", "host", "ident", "message"} <= set(pattern.groupindex)
    assert parser["time_format"] == "%Y-%m-%dT%H:%M:%S.%L%z"


def test_rfc5424_sample_lines() -> None:
    su = parse_with(RFC5424_PARSER, RFC5424_SU)
    assert su == {
        "pri": "34",
        "version": "1",
        "timestamp": "2003-10-11T22:14:15.003Z",
        "host": "mymachine.example.com",
        "ident": "su",
        "pid": "-",
        "msgid": "ID47",
        "extradata": "-",
        "message": "'su root' failed for lonvick on /dev/pts/8",
    }
    donuts = parse_with(RFC5424_PARSER, RFC5424_DONUTS)
    assert donuts is not None
    assert (donuts["host"], donuts["pid"], donuts["message"]) == (
        "192.0.2.1",
        "8710",
        "%% It's time to make the do-nuts.",
    )


def test_rfc5424_structured_data_and_rsyslog_lines() -> None:
    sd = parse_with(RFC5424_PARSER, RFC5424_SD)
    assert sd is not None
    assert sd["extradata"].endswith('[examplePriority@32473 class="high"]')
    assert sd["message"] == "An application event log entry"
    rsyslog = parse_with(RFC5424_PARSER, RFC5424_RSYSLOG)
    assert rsyslog is not None
    assert rsyslog["ident"] == "audit-demo"
    assert rsyslog["message"] == " exec: /bin/sh -c 'cat /etc/shadow' uid=0"


def test_rfc5424_malformed_structured_data_is_kept_not_dropped() -> None:
    line = "<13>1 2025-01-01T00:00:00.1Z host app - - [broken sd without end"
    parsed = parse_with(RFC5424_PARSER, line)
    assert parsed is not None
    assert "extradata" not in parsed
    assert parsed["message"] == "[broken sd without end"


def test_rfc5424_parser_rejects_non_syslog_lines() -> None:
    assert parse_with(RFC5424_PARSER, "hello world") is None
    assert parse_with(RFC5424_PARSER, RFC3164_SU) is None


def test_rfc5424_time_handles_fractions_and_offsets() -> None:
    assert parse_time(RFC5424_PARSER, "2003-10-11T22:14:15.003Z") == datetime(
        2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC
    )
    assert parse_time(RFC5424_PARSER, "2003-08-24T05:14:15.000003-07:00") == datetime(
        2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC
    )
    # Fluent Bit's %L needs a fraction: the record then gets the ingest time.
    assert parse_time(RFC5424_PARSER, "2003-10-11T22:14:15Z") is None


def test_rfc3164_sample_lines_and_time() -> None:
    su = parse_with(RFC3164_PARSER, RFC3164_SU)
    assert su == {
        "pri": "34",
        "timestamp": "Oct 11 22:14:15",
        "host": "mymachine",
        "ident": "su",
        "message": "'su root' failed for lonvick on /dev/pts/8",
    }
    bfg = parse_with(RFC3164_PARSER, RFC3164_BFG)
    assert bfg == {
        "pri": "13",
        "timestamp": "Feb  5 17:32:18",
        "host": "10.0.0.99",
        "message": "Use the BFG!",
    }
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_time(RFC3164_PARSER, "Feb  5 17:32:18", now=now) == datetime(
        2025, 2, 5, 17, 32, 18, tzinfo=UTC
    )
    assert parse_time(
        RFC3164_PARSER, "Feb  5 17:32:18", now=now, rfc3164_time_offset="+0200"
    ) == datetime(2025, 2, 5, 15, 32, 18, tzinfo=UTC)


def test_rfc3164_parser_states_the_zone() -> None:
    (parser,) = render(settings(syslogFormat="rfc3164", rfc3164TimeOffset="-0500"))["parsers"]
    assert parser["name"] == RFC3164_PARSER
    assert parser["time_offset"] == "-0500"
    assert "%Y" not in parser["time_format"]
