"""The agent's syslog parsers and the filter that gives each record its event time.

Pure: no Pulumi imports. `parser_specs` is what the renderer writes under `parsers:`;
`event_time_filter` is the Lua filter that sets the record time from the parsed
`timestamp`; `undefined_parsers` checks a rendered config's references. What these do to
real messages is proven with the real agent (tests/components/render/test_fluent_bit_parsing.py).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

RFC5424_PARSER = "syslog-rfc5424"
RFC3164_PARSER = "syslog-rfc3164"
TIME_UNREADABLE_KEY = "time_unreadable"
_EVENT_TIME_LUA = Path(__file__).with_name("lua") / "event_time.lua"


@dataclass(frozen=True)
class ParserSpec:
    """One regex parser of the config. No time_key: the event_time filter sets the time."""

    name: str
    regex: str

    def as_config(self) -> dict[str, str]:
        return {"name": self.name, "format": "regex", "regex": self.regex}


# RFC 5424 as rsyslog's RSYSLOG_SyslogProtocol23Format writes it. The syslog input DROPS a
# line its parser does not match (with a warning), so every part is lenient: a malformed
# STRUCTURED-DATA falls into `message` rather than failing the line. A UTF-8 BOM that
# starts MSG (RFC 5424 6.4) is not part of the text, nor is the space rsyslog leaves at the
# start of a message it received as RFC 3164 ("app[1]: text"). `(?m:.*)`: a message may hold line
# breaks (octet-counted framing delivers them), and Onigmo's `.` stops at one otherwise.
_RFC5424_REGEX = (
    r"^<(?<pri>[0-9]{1,3})>(?<version>[0-9]{1,2}) (?<timestamp>[^ ]+) "
    r"(?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[^ ]+) (?<msgid>[^ ]+) "
    r'(?:(?<extradata>-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: |$))?'
    r"(?:\xEF\xBB\xBF| )?(?<message>(?m:.*))$"
)
# RFC 3164 has neither year nor zone: the event_time filter adds the current year (UTC)
# and applies settings.rfc3164TimeOffset (UTC by default, as on EKS nodes).
_RFC3164_REGEX = (
    r"^<(?<pri>[0-9]{1,3})>"
    r"(?<timestamp>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) "
    r"(?<host>[^ ]+) (?:(?<ident>[^ :\[]+)(?:\[(?<pid>[0-9]+)\])?: )?(?<message>(?m:.*))$"
)


def parser_specs() -> dict[str, ParserSpec]:
    """Every parser the renderer can name, by name."""
    return {
        RFC5424_PARSER: ParserSpec(name=RFC5424_PARSER, regex=_RFC5424_REGEX),
        RFC3164_PARSER: ParserSpec(name=RFC3164_PARSER, regex=_RFC3164_REGEX),
    }


def offset_seconds(offset: str) -> int:
    """ "+0200" -> 7200, "-0530" -> -19800."""
    minutes = int(offset[1:3]) * 60 + int(offset[3:5])
    return (minutes if offset[0] == "+" else -minutes) * 60


def event_time_lua(rfc3164_time_offset: str = "+0000") -> str:
    """The Lua code of the event_time filter, with the RFC 3164 zone filled in."""
    code = _EVENT_TIME_LUA.read_text(encoding="utf-8")
    return code.replace("__RFC3164_OFFSET_SECONDS__", str(offset_seconds(rfc3164_time_offset)))


def event_time_filter(match: str, rfc3164_time_offset: str = "+0000") -> dict[str, Any]:
    """The Lua filter that sets each record's time from its `timestamp` (see event_time.lua)."""
    return {
        "name": "lua",
        "alias": "event-time",
        "match": match,
        "code": event_time_lua(rfc3164_time_offset),
        "call": "event_time",
        "time_as_table": "on",
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
