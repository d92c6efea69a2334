"""The agent's syslog parsers: their config entries, and the same regexes run in Python.

Pure: no Pulumi imports. `parser_specs` is what the renderer writes under `parsers:`;
`parse_with` and `parse_time` apply those parsers in Python the way Fluent Bit does, for the
verify tool and end-to-end tests; `undefined_parsers` checks a rendered config's references.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from components.render.routes import on_off

RFC5424_PARSER = "syslog-rfc5424"
RFC3164_PARSER = "syslog-rfc3164"


@dataclass(frozen=True)
class ParserSpec:
    """One regex parser of the config; the same regex also runs in Python (parse_with)."""

    name: str
    regex: str
    time_key: str
    time_format: str
    time_keep: bool
    time_offset: str | None = None
    types: str | None = None

    def as_config(self) -> dict[str, str]:
        entry = {
            "name": self.name,
            "format": "regex",
            "regex": self.regex,
            "time_key": self.time_key,
            "time_format": self.time_format,
            "time_keep": on_off(self.time_keep),
        }
        if self.time_offset is not None:
            entry["time_offset"] = self.time_offset
        if self.types is not None:
            entry["types"] = self.types
        return entry


# RFC 5424 as rsyslog's RSYSLOG_SyslogProtocol23Format writes it. The timestamp is captured
# twice: `time` feeds the record time, `timestamp` (a lookahead) keeps the sender's text.
# Fluent Bit's %L needs a fraction; rsyslog prints none when the source had none
# ("...T12:00:00Z"), and then Fluent Bit drops `time` and stamps the ingest time, so
# `timestamp` is what keeps the original. A malformed STRUCTURED-DATA falls into `message`
# rather than failing the line: the syslog input DROPS lines its parser does not match.
# Node syslog numbers each record (components.render.rsyslog_numbering): "<seq>
# <seq_instance> " comes before the message. Optional, so un-numbered senders still parse.
_NUMBERING = r"(?:(?<seq>[0-9]{1,20}) (?<seq_instance>[0-9A-Za-z_.:-]{1,100}) )?"
# `seq` becomes a JSON integer in the record (the parser's `types`).
_NUMBERING_TYPES = "seq:integer"
_RFC5424_REGEX = (
    r"^" + _NUMBERING + r"<(?<pri>[0-9]{1,3})>(?<version>[0-9]{1,2}) "
    r"(?=(?<timestamp>[^ ]+))(?<time>[^ ]+) "
    r"(?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[^ ]+) (?<msgid>[^ ]+) "
    r'(?:(?<extradata>-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: |$))?'
    r"(?<message>.*)$"
)
# RFC 3164 has neither year nor zone: Fluent Bit adds the current year (UTC) and we state
# the zone with time_offset (settings.rfc3164TimeOffset, UTC by default as on EKS nodes).
_RFC3164_REGEX = (
    r"^" + _NUMBERING + r"<(?<pri>[0-9]{1,3})>"
    r"(?<timestamp>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) "
    r"(?<host>[^ ]+) (?:(?<ident>[^ :\[]+)(?:\[(?<pid>[0-9]+)\])?: )?(?<message>.*)$"
)


def parser_specs(rfc3164_time_offset: str = "+0000") -> dict[str, ParserSpec]:
    """Every parser the renderer can name, by name."""
    return {
        RFC5424_PARSER: ParserSpec(
            name=RFC5424_PARSER,
            regex=_RFC5424_REGEX,
            time_key="time",
            time_format="%Y-%m-%dT%H:%M:%S.%L%z",
            time_keep=False,
            types=_NUMBERING_TYPES,
        ),
        RFC3164_PARSER: ParserSpec(
            name=RFC3164_PARSER,
            regex=_RFC3164_REGEX,
            time_key="timestamp",
            time_format="%b %d %H:%M:%S",
            time_keep=True,
            time_offset=rfc3164_time_offset,
            types=_NUMBERING_TYPES,
        ),
    }


def onigmo_to_python(regex: str) -> str:
    """Onigmo (Ruby syntax) named groups `(?<name>` as Python's `(?P<name>`."""
    return re.sub(r"\(\?<(?![=!])", "(?P<", regex)


def parse_with(parser_name: str, line: str) -> dict[str, str] | None:
    """The record Fluent Bit's regex parser makes of `line`, or None when the line is dropped.

    Like Fluent Bit: empty captures are skipped (skip_empty_values) and the time key is
    removed unless the parser keeps it. The record time itself: `parse_time`.
    """
    spec = parser_specs()[parser_name]
    match = re.search(onigmo_to_python(spec.regex), line)
    if match is None:
        return None
    return {
        key: value
        for key, value in match.groupdict().items()
        if value and (spec.time_keep or key != spec.time_key)
    }


def parse_time(
    parser_name: str, value: str, now: datetime | None = None, rfc3164_time_offset: str = "+0000"
) -> datetime | None:
    """The record time Fluent Bit derives from a time string, or None (ingest time is used)."""
    spec = parser_specs(rfc3164_time_offset)[parser_name]
    if parser_name == RFC5424_PARSER:
        match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)\.(\d{1,9})(Z|[+-]\d\d:?\d\d)", value)
        if match is None:
            return None
        head, fraction, zone = match.groups()
        text = f"{head}.{fraction[:6].ljust(6, '0')}{'+0000' if zone == 'Z' else zone}"
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    year = (now or datetime.now(UTC)).astimezone(UTC).year
    try:
        naive = datetime.strptime(f"{year} {' '.join(value.split())}", "%Y %b %d %H:%M:%S")
    except ValueError:
        return None
    offset = spec.time_offset or "+0000"
    minutes = int(offset[1:3]) * 60 + int(offset[-2:])
    delta = timedelta(minutes=minutes if offset[0] == "+" else -minutes)
    return (naive - delta).replace(tzinfo=UTC)


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
