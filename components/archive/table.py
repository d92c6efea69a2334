"""The table over the archive: its columns, partition projection and DDL, as data.

Pure: no Pulumi imports. Columns are what the agent writes (the parser's fields, the
pipeline context, the audit-fields Lua filter, the record time), JSON lines read with the
OpenX JSON SerDe. Partitions `tag`, `day` and `hour` come from the object keys through
Athena partition projection, derived from the S3 route's `s3_key_format` (one place: a key
format this module cannot project fails the plan instead of drifting from the table).

`tag` is an enum of the tags the agent files records under (`archive_tags`): the input's
(audit events) and the heartbeat's. One table over both, because both carry the same columns
and one sequence: rsyslog numbers heartbeats with the audit records, so a gap check must read
both, and every other query names its tag to keep pruning to its own prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from components.agent.audit_fields import (
    FACILITY_FIELD,
    PROMOTED,
    SD_ERROR_FIELD,
    SD_FIELD,
    SD_SOURCE_FIELD,
    SEVERITY_FIELD,
)
from components.agent.monitoring import heartbeat_tag
from components.agent.parsers import RFC5424_PARSER, TIME_UNREADABLE_KEY, parser_specs
from components.agent.routes import S3ObjectLayout
from components.agent.routes.base import DATE_KEY
from components.agent.settings import AgentSettings
from components.node_syslog.numbering import SEQ_FIELD, SEQ_INSTANCE_FIELD

SERDE = "org.openx.data.jsonserde.JsonSerDe"
INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

# Glue (Hive) type -> DuckDB type, for the local engine reading the same JSON lines.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "map<string,map<string,string>>": "MAP(VARCHAR, MAP(VARCHAR, VARCHAR))",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


# What the RFC 5424 parser's captures mean; a capture without an entry is still a column.
_PARSED = {
    "pri": "syslog PRI as sent (facility * 8 + severity)",
    "version": "syslog protocol version",
    "timestamp": "the sender's timestamp text",
    "host": "HOSTNAME of the sender (the pod name for container events)",
    "ident": "APP-NAME (the service for container events)",
    "pid": "PROCID of the sender (the shell's pid for SHELL events)",
    "msgid": "MSGID (START, EXEC, EXIT, SHELL, STOP for container events)",
    SD_SOURCE_FIELD: "STRUCTURED-DATA exactly as received ('-' when none)",
    "message": "MSG",
}


def parsed_fields() -> list[str]:
    """The record keys the agent's RFC 5424 parser writes: its captures (it keeps them all;
    the event-time filter reads `timestamp` without removing it)."""
    spec = parser_specs()[RFC5424_PARSER]
    return list(dict.fromkeys(re.findall(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", spec.regex)))


_NUMBERING = (SEQ_FIELD, SEQ_INSTANCE_FIELD)


def record_columns() -> tuple[Column, ...]:
    """Every top-level key the agent may write to an archive record, with its type."""
    context = (
        ("cluster", "cluster of the agent"),
        ("environment", "stack of the agent"),
        ("node", "node of the agent that received the event (set by the agent)"),
    )
    return (
        Column(DATE_KEY, "string", "record time, ISO 8601 UTC (microseconds, 'Z')"),
        *(
            Column(name, "string", _PARSED.get(name, "parsed from the syslog line"))
            for name in parsed_fields()
            if name not in _NUMBERING  # typed below
        ),
        Column(
            TIME_UNREADABLE_KEY,
            "string",
            "timestamp text the agent could not read (then the record time is the arrival time)",
        ),
        *(Column(name, "string", comment) for name, comment in context),
        Column(FACILITY_FIELD, "int", "syslog facility decoded from pri"),
        Column(SEVERITY_FIELD, "int", "syslog severity decoded from pri"),
        Column(SD_FIELD, "map<string,map<string,string>>", "every SD element: id -> params"),
        Column(SD_ERROR_FIELD, "string", "why the structured data could not be parsed"),
        *(Column(p.column, p.type, p.description) for p in PROMOTED),
        # Numbered by node syslog (components.node_syslog.numbering): +1 per record.
        Column(SEQ_FIELD, "bigint", "record sequence number of the sending instance"),
        Column(SEQ_INSTANCE_FIELD, "string", "instance whose sequence seq counts"),
    )


PARTITION_KEYS = (
    Column("tag", "string", "agent tag the object is filed under (events or heartbeats)"),
    Column("day", "string", "UTC day of the object's first record, yyyy/MM/dd"),
    Column("hour", "int", "UTC hour of the object's first record, 0-23"),
)

_STRFTIME_TO_JAVA = {"%Y": "yyyy", "%m": "MM", "%d": "dd"}
_KEY_FORMAT = re.compile(r"^/?(?P<base>[^%$]*)\$TAG/(?P<day>%Y/%m/%d)/%H/(?P<file>[^/]+)$")
_TAG = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ArchiveTags:
    """The tags the agent files archive objects under: the `tag` partition's values."""

    events: str
    heartbeat: str

    @property
    def values(self) -> tuple[str, str]:
        return (self.events, self.heartbeat)


def archive_tags(input_tag: str) -> ArchiveTags:
    """The input's tag and the heartbeat's (components.agent.monitoring re-tags them)."""
    tags = ArchiveTags(input_tag, heartbeat_tag(input_tag))
    for tag in tags.values:
        # An enum value and a key segment: no ',' (the enum separator) and no '/'.
        if not _TAG.match(tag):
            raise ValueError(f"tag {tag!r} cannot be projected: letters, digits, '_.-' only")
    return tags


@dataclass(frozen=True)
class Projection:
    """Where the table's objects are and how Athena projects their partitions."""

    location: str
    template: str
    day_format: str
    parameters: dict[str, str]


def projection(
    layout: S3ObjectLayout, bucket: str, tags: ArchiveTags, retention_days: int
) -> Projection:
    """Partition projection of one S3 route's objects, derived from its s3_key_format."""
    match = _KEY_FORMAT.match(layout.key_format)
    if match is None:
        raise ValueError(
            f"s3_key_format {layout.key_format!r} cannot be projected: the table expects "
            "'<prefix>/$TAG/%Y/%m/%d/%H/<file>'; change components.archive.table too"
        )
    base = match["base"]
    if base != layout.key_prefix:
        raise ValueError(
            f"s3_key_format {layout.key_format!r} does not put $TAG right after "
            f"{layout.key_prefix!r}: the table projects '<prefix>$TAG/...'"
        )
    day_format = re.sub(r"%[Ymd]", lambda m: _STRFTIME_TO_JAVA[m.group()], match["day"])
    template = f"s3://{bucket}/{base}${{tag}}/${{day}}/${{hour}}/"
    return Projection(
        location=f"s3://{bucket}/{base}",
        template=template,
        day_format=day_format,
        parameters={
            "projection.enabled": "true",
            "projection.tag.type": "enum",
            "projection.tag.values": ",".join(tags.values),
            "projection.day.type": "date",
            "projection.day.format": day_format,
            # Nothing older than the archive's retention exists: no wasted S3 listings.
            "projection.day.range": f"NOW-{retention_days}DAYS,NOW",
            "projection.day.interval": "1",
            "projection.day.interval.unit": "DAYS",
            "projection.hour.type": "integer",
            "projection.hour.range": "0,23",
            "projection.hour.digits": "2",
            "storage.location.template": template,
        },
    )


def table_args(name: str, description: str, where: Projection) -> dict[str, Any]:
    """Arguments of aws.glue.CatalogTable (besides database and parent), as plain data."""
    return {
        "name": name,
        "description": description,
        "table_type": "EXTERNAL_TABLE",
        "parameters": {
            "classification": "json",
            "compressionType": "gzip",
            "EXTERNAL": "TRUE",
            **where.parameters,
        },
        "partition_keys": [
            {"name": c.name, "type": c.type, "comment": c.comment} for c in PARTITION_KEYS
        ],
        "storage_descriptor": {
            "location": where.location,
            "input_format": INPUT_FORMAT,
            "output_format": OUTPUT_FORMAT,
            "compressed": True,
            "ser_de_info": {
                "name": "openx-json",
                "serialization_library": SERDE,
                # A record the agent wrote is valid JSON; anything else must fail loudly.
                # Keys keep their case: SD-IDs and param names in `sd` are case-sensitive
                # (RFC 5424), and every column name is lowercase already.
                "parameters": {"ignore.malformed.json": "false", "case.insensitive": "false"},
            },
            "columns": [
                {"name": c.name, "type": c.type, "comment": c.comment} for c in record_columns()
            ],
        },
    }


def _sql_text(value: str) -> str:
    # Athena DDL is HiveQL: string literals escape with a backslash, not a doubled quote.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_ddl(database: str, table: Any) -> str:
    """The CREATE EXTERNAL TABLE statement equivalent to a Glue table's (camelCase) inputs.

    For reviewers (the offline plan); the table itself is created from the same data.
    """
    storage = table["storageDescriptor"]
    serde = storage["serDeInfo"]
    width = max(len(c["name"]) for c in storage["columns"]) + 2

    def column(c: dict[str, str]) -> str:
        name = f"`{c['name']}`".ljust(width + 2)
        return f"  {name}{c['type']} COMMENT {_sql_text(c['comment'])}"

    def properties(values: dict[str, str]) -> str:
        return ",\n".join(f"  {_sql_text(k)} = {_sql_text(v)}" for k, v in sorted(values.items()))

    lines = [
        f"-- {table.get('description', '')}",
        f"CREATE EXTERNAL TABLE `{database}`.`{table['name']}` (",
        ",\n".join(column(c) for c in storage["columns"]),
        ")",
        "PARTITIONED BY (",
        ",\n".join(column(c) for c in table["partitionKeys"]),
        ")",
        f"ROW FORMAT SERDE {_sql_text(serde['serializationLibrary'])}",
        "WITH SERDEPROPERTIES (",
        properties(serde.get("parameters", {})),
        ")",
        f"STORED AS INPUTFORMAT {_sql_text(storage['inputFormat'])}",
        f"  OUTPUTFORMAT {_sql_text(storage['outputFormat'])}",
        f"LOCATION {_sql_text(storage['location'])}",
        "TBLPROPERTIES (",
        properties(table.get("parameters", {})),
        ");",
    ]
    return "\n".join(lines) + "\n"


def audit_route_layout(agent: AgentSettings, log_prefix: str) -> S3ObjectLayout:
    """The object layout of the S3 route that writes the stack's audit bucket."""
    for route in agent.s3_routes:
        if route.bucket is None:
            return route.model_copy(update={"key_prefix": log_prefix.strip("/")}).layout
    raise ValueError(
        "query.enabled needs an agent S3 route to the audit bucket (a route without 'bucket')"
    )
