"""S3 objects exactly as the agent writes them, built from a RENDERED agent config.

Fluent Bit's syslog input parses each line with the config's parser (here: the same regex
through `parse_with`), record_modifier adds the config's `record` entries, and the s3
output (format json_lines, json_date_key, json_date_format iso8601) writes one JSON object
per line with the record time first, under `s3_key_format` with $TAG, $UUID and the UTC
time of the object's first record substituted, gzip-compressed when `compression` is set.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from components.render.fluent_bit_parsers import RFC5424_PARSER, parse_time, parse_with


def fluent_bit_date(when: datetime) -> str:
    """json_date_format iso8601: seconds, then '.%06u' microseconds and 'Z' (flb_pack.c)."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}Z"


def random_uuid() -> str:
    """$UUID: 8 random alphanumerics."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


def expand_env(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), value)


@dataclass(frozen=True)
class AgentS3Output:
    """One s3 output of a rendered config, and the pipeline in front of it."""

    bucket: str
    key_format: str
    date_key: str
    gzip: bool
    tag: str
    added: dict[str, str]  # record_modifier entries

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> AgentS3Output:
        values = os.environ if env is None else env
        pipeline = config["pipeline"]
        [syslog_input] = pipeline["inputs"]
        assert syslog_input["parser"] == RFC5424_PARSER
        [output] = [o for o in pipeline["outputs"] if o["name"] == "s3"]
        assert output["format"] == "json_lines" and output["json_date_format"] == "iso8601"
        added: dict[str, str] = {}
        for entry in pipeline.get("filters", []):
            if entry["name"] == "record_modifier":
                for item in entry["record"]:
                    key, _, value = item.partition(" ")
                    added[key] = expand_env(value, values)
        return cls(
            bucket=output["bucket"],
            key_format=output["s3_key_format"],
            date_key=output["json_date_key"],
            gzip=output.get("compression") == "gzip",
            tag=syslog_input["tag"],
            added=added,
        )

    def record(self, line: str, received: datetime) -> tuple[datetime, dict[str, Any]] | None:
        """(record time, JSON record) of one syslog line; None when the parser drops it."""
        fields = parse_with(RFC5424_PARSER, line)
        if fields is None:
            return None
        match = re.match(r"^<\d+>\d+ (\S+) ", line)
        when = (parse_time(RFC5424_PARSER, match.group(1)) if match else None) or received
        return when, {self.date_key: fluent_bit_date(when), **fields, **self.added}

    def key(self, first: datetime, uuid: str | None = None) -> str:
        key = self.key_format.replace("$TAG", self.tag).replace("$UUID", uuid or random_uuid())
        return first.astimezone(UTC).strftime(key).lstrip("/")

    def body(self, records: Iterable[Mapping[str, Any]], members: int = 1) -> bytes:
        """json_lines; with gzip, split into `members` concatenated gzip members."""
        lines = [json.dumps(r, separators=(",", ":")) + "\n" for r in records]
        if not self.gzip:
            return "".join(lines).encode()
        size = max(1, -(-len(lines) // members))
        parts = [lines[i : i + size] for i in range(0, len(lines), size)] or [[]]
        return b"".join(gzip.compress("".join(part).encode()) for part in parts)

    def put(
        self, client: Any, timed: list[tuple[datetime, dict[str, Any]]], members: int = 1
    ) -> str:
        """Upload records (with their times) as one object; returns its key."""
        key = self.key(min(when for when, _ in timed))
        client.put_object(
            Bucket=self.bucket, Key=key, Body=self.body([r for _, r in timed], members)
        )
        return key
