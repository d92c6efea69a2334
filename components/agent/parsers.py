"""The agent's syslog parsers and the filter that gives each record its event time.

Pure: no Pulumi imports. `parser_specs` and `event_time_parsers` are what the renderer
writes under `parsers:`; `event_time_filter` is the parser filter that sets the record time
from the parsed `timestamp`; `undefined_parsers` checks a rendered config's references.
What these do to real messages is proven with the real agent
(tests/components/agent/test_parsing.py).
"""

from dataclasses import dataclass
from typing import Any

RFC5424_PARSER = "syslog-rfc5424"
RFC3164_PARSER = "syslog-rfc3164"
TIME_UNREADABLE_KEY = "time_unreadable"


@dataclass(frozen=True)
class ParserSpec:
    """One regex parser of the config. No time_key: the event-time filter sets the time."""

    name: str
    regex: str
    # `seq` becomes a JSON integer in the record (the parser's `types`).
    types: str | None = None

    def as_config(self) -> dict[str, str]:
        entry = {"name": self.name, "format": "regex", "regex": self.regex}
        if self.types is not None:
            entry["types"] = self.types
        return entry


# Node syslog numbers each record (components.node_syslog.numbering): "<seq>
# <seq_instance> " comes before the message. Optional, so un-numbered senders still parse.
_NUMBERING = r"(?:(?<seq>[0-9]{1,20}) (?<seq_instance>[0-9A-Za-z_.:-]{1,100}) )?"
_NUMBERING_TYPES = "seq:integer"
# RFC 5424 as rsyslog's RSYSLOG_SyslogProtocol23Format writes it. A line the parser does
# not match keeps only the raw line under `log` (tail; the syslog input dropped it), so
# every part is lenient: a malformed STRUCTURED-DATA falls into `message` rather than
# failing the line. A UTF-8 BOM that starts MSG (RFC 5424 6.4) is not part of the text,
# nor is the space rsyslog leaves at the start of a message it received as RFC 3164
# ("app[1]: text"). `(?m:.*)`: a message may hold line breaks (a sender's octet-counted
# frame delivers them; rsyslog escapes them), and Onigmo's `.` stops at one otherwise.
_RFC5424_REGEX = (
    r"^" + _NUMBERING + r"<(?<pri>[0-9]{1,3})>(?<version>[0-9]{1,2}) (?<timestamp>[^ ]+) "
    r"(?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[^ ]+) (?<msgid>[^ ]+) "
    r'(?:(?<extradata>-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: |$))?'
    r"(?:\xEF\xBB\xBF| )?(?<message>(?m:.*))$"
)
# RFC 3164 has neither year nor zone: the event-time filter adds the current year (UTC)
# and applies settings.rfc3164TimeOffset (UTC by default, as on EKS nodes).
_RFC3164_REGEX = (
    r"^" + _NUMBERING + r"<(?<pri>[0-9]{1,3})>"
    r"(?<timestamp>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) "
    r"(?<host>[^ ]+) (?:(?<ident>[^ :\[]+)(?:\[(?<pid>[0-9]+)\])?: )?(?<message>(?m:.*))$"
)


def parser_specs() -> dict[str, ParserSpec]:
    """Every parser the renderer can name, by name."""
    return {
        RFC5424_PARSER: ParserSpec(RFC5424_PARSER, _RFC5424_REGEX, _NUMBERING_TYPES),
        RFC3164_PARSER: ParserSpec(RFC3164_PARSER, _RFC3164_REGEX, _NUMBERING_TYPES),
    }


# The record time comes from the parsed `timestamp` by a parser filter that tries one parser
# per form. Fluent Bit's time_format takes one fixed form (its %L needs a fraction) and a
# parser whose time does not fit logs a warning and keeps the arrival time, so each regex
# below matches exactly the text its time_format reads. The last one matches anything else
# (nil "-", garbage): the arrival time stays and the record says so in `time_unreadable`.
# Measured (bench/agent_throughput.py): this costs ~0.3 CPU s per 100k records, where a Lua
# filter doing the same cost ~0.7 and cut ingest to a third (records cross into Lua tables).
_DATE_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
_ZONE = r"(?:Z|[+-][0-9]{2}:?[0-9]{2})"


def event_time_parsers(rfc3164_time_offset: str = "+0000") -> list[dict[str, str]]:
    """The parsers of the event-time filter, in the order it tries them."""
    return [
        {
            "name": "time-rfc3339-fraction",
            "format": "regex",
            "regex": rf"^(?<time>{_DATE_TIME}\.[0-9]+{_ZONE})$",
            "time_key": "time",
            "time_format": "%Y-%m-%dT%H:%M:%S.%L%z",
        },
        {
            "name": "time-rfc3339",
            "format": "regex",
            "regex": rf"^(?<time>{_DATE_TIME}{_ZONE})$",
            "time_key": "time",
            "time_format": "%Y-%m-%dT%H:%M:%S%z",
        },
        {
            # No year (Fluent Bit adds the current one, UTC) and no zone (stated here).
            "name": "time-rfc3164",
            "format": "regex",
            "regex": r"^(?<time>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2})$",
            "time_key": "time",
            "time_format": "%b %d %H:%M:%S",
            "time_offset": rfc3164_time_offset,
        },
        {
            "name": "time-unreadable",
            "format": "regex",
            "regex": rf"^(?<{TIME_UNREADABLE_KEY}>.*)$",
        },
    ]


def event_time_filter(match: str) -> dict[str, Any]:
    """The parser filter that sets each record's time from its `timestamp`."""
    return {
        "name": "parser",
        "alias": "event-time",
        "match": match,
        "key_name": "timestamp",
        "parser": [parser["name"] for parser in event_time_parsers()],
        "reserve_data": "on",
        "preserve_key": "on",
    }


_PARSER_REFERENCE_KEYS = ("parser", "regex_parser", "merge_parser")


def undefined_parsers(config: dict[str, Any]) -> list[str]:
    """Parsers named by an input or filter but not defined in the config's `parsers`.

    None is loaded implicitly and `fluent-bit --dry-run` does not notice a missing one.
    """
    defined = {str(entry.get("name")) for entry in config.get("parsers", [])}
    pipeline = config.get("pipeline", {})
    missing: set[str] = set()
    for section in ("inputs", "filters"):
        for plugin in pipeline.get(section, []):
            for key, value in plugin.items():
                if key.lower() not in _PARSER_REFERENCE_KEYS:
                    continue
                names = value if isinstance(value, list) else [value]
                missing.update(
                    f"{name} ({section[:-1]} {plugin.get('name')}, key {key})"
                    for name in map(str, names)
                    if name not in defined
                )
    return sorted(missing)
