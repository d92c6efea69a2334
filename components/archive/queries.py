"""The named queries over the archive table: written once, run by Athena and by DuckDB.

Pure: no Pulumi imports. The SQL is a portable subset both engines run unchanged (quoted
"date", string comparison of ISO 8601 times, BETWEEN, IN, LAG, ORDER BY): no engine-specific
function. Parameters are written `:name` here and become positional `?` placeholders, which
Athena takes as ExecutionParameters and DuckDB as prepared-statement parameters; `order`
says which value goes where.

Every query prunes by partition: its tag (`tag = :tag` for audit events, `:heartbeat_tag`
for heartbeats, both for the sequence check, since rsyslog numbers heartbeats with the
events) and `day BETWEEN :day_from AND :day_to`, the days derived from the time window
(`window_parameters`), so Athena lists only those tags' and days' prefixes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from components.archive.table import ArchiveTags

ParamType = Literal["string", "bigint", "time"]

_PARAM = re.compile(r":([a-z_]+)\b")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

# Every query's partitions and time window; tags and days are derived, never typed.
_DAYS = 'day BETWEEN :day_from AND :day_to\n  AND "date" >= :start AND "date" < :end'
WINDOW = f"tag = :tag\n  AND {_DAYS}"
HEARTBEAT_WINDOW = f"tag = :heartbeat_tag\n  AND {_DAYS}"
ALL_TAGS_WINDOW = f"tag IN (:tag, :heartbeat_tag)\n  AND {_DAYS}"
_WINDOWS = {
    "window": WINDOW,
    "heartbeat_window": HEARTBEAT_WINDOW,
    "all_tags_window": ALL_TAGS_WINDOW,
}
COMMAND_EVENTS = "event IN ('START', 'EXEC', 'SHELL') AND command IS NOT NULL"
COMMAND_COLUMNS = '"date", namespace, pod, container, node, uid, event, command, exit_code'
# An object is filed under the hour of its FIRST record; later records in it waited on the
# node up to the route's uploadTimeout (longer while S3 was unreachable).
DEFAULT_PARTITION_SLACK = timedelta(hours=6)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    question: str
    sql_template: str  # `{table}` and `:param` placeholders
    params: Mapping[str, ParamType]  # what the user gives, besides start and end

    def sql(self, table: str) -> str:
        """The portable SQL with positional `?` placeholders."""
        if not _IDENTIFIER.match(table):
            raise ValueError(f"table name {table!r} must be lowercase letters, digits, '_'")
        return _PARAM.sub("?", self.sql_template.format(table=table, **_WINDOWS))

    def order(self) -> list[str]:
        """Parameter names in placeholder order (a name may repeat)."""
        return _PARAM.findall(self.sql_template.format(table="t", **_WINDOWS))

    def description(self) -> str:
        names = ", ".join(self.order())
        return f"{self.question} Parameters, in order: {names}."


def _commands_where(condition: str) -> str:
    return (
        f"SELECT {COMMAND_COLUMNS}\nFROM {{table}}\nWHERE {{window}}\n"
        f'  AND {COMMAND_EVENTS}\n  AND {condition}\nORDER BY "date", pod'
    )


QUERIES: tuple[NamedQuery, ...] = (
    NamedQuery(
        "commands-in-pod",
        "Which commands ran in this pod in the time window?",
        _commands_where("namespace = :namespace AND pod = :pod"),
        {"namespace": "string", "pod": "string"},
    ),
    NamedQuery(
        "commands-in-namespace",
        "Which commands ran in this namespace in the time window?",
        _commands_where("namespace = :namespace"),
        {"namespace": "string"},
    ),
    NamedQuery(
        "commands-on-node",
        "Which commands ran on this node (as its agent saw them) in the time window?",
        _commands_where("node = :node"),
        {"node": "string"},
    ),
    NamedQuery(
        "shell-sessions",
        "Which interactive shells were opened, and what was typed in them?",
        'SELECT "date", namespace, pod, container, node, pid AS shell_pid, shell, uid,\n'
        "  command AS typed\n"
        "FROM {table}\nWHERE {window}\n  AND event = 'SHELL'\n"
        'ORDER BY namespace, pod, pid, "date"',
        {},
    ),
    NamedQuery(
        "commands-by-uid",
        "Which commands ran as this user id in the time window?",
        _commands_where("uid = :uid"),
        {"uid": "bigint"},
    ),
    NamedQuery(
        "failed-commands",
        "Which commands failed (non-zero exit) in the time window?",
        'SELECT "date", namespace, pod, container, node, uid, command, exit_code, duration_ms\n'
        "FROM {table}\nWHERE {window}\n  AND event = 'EXIT' AND exit_code <> 0\n"
        'ORDER BY "date", pod',
        {},
    ),
    NamedQuery(
        "run-events",
        "What did this service do in one demo run?",
        'SELECT "date", event, pod, container, node, uid, command, exit_code, message\n'
        "FROM {table}\nWHERE {window}\n  AND run_id = :run_id AND service = :service\n"
        'ORDER BY "date"',
        {"run_id": "string", "service": "string"},
    ),
    NamedQuery(
        "sequence-gaps",
        "Where are records missing: gaps in each node's record sequence?",
        "SELECT node, seq_instance, prev_seq + 1 AS first_missing, seq - 1 AS last_missing,\n"
        '  seq - prev_seq - 1 AS missing, prev_date AS after, "date" AS before\n'
        "FROM (\n"
        '  SELECT node, seq_instance, seq, "date",\n'
        "    LAG(seq) OVER (PARTITION BY node, seq_instance ORDER BY seq) AS prev_seq,\n"
        '    LAG("date") OVER (PARTITION BY node, seq_instance ORDER BY seq) AS prev_date\n'
        # Heartbeats take sequence numbers too: without them every one would look lost.
        "  FROM {table}\n  WHERE {all_tags_window}\n    AND seq IS NOT NULL\n) AS ordered\n"
        "WHERE seq - prev_seq > 1\nORDER BY node, seq_instance, first_missing",
        {},
    ),
    NamedQuery(
        "heartbeats",
        "Is every node's pipeline delivering: each node's newest heartbeat, its age in "
        "seconds at the window's end, and its seq_instance/seq (as verify --heartbeat)?",
        # The window first (a CTE), so its parameters lead as in every other query. Age by
        # date_diff over 'yyyy-MM-dd HH:mm:ss' text, a cast both engines read the same way
        # (`as_of` is the window's end in that form).
        "WITH beats AS (\n"
        '  SELECT COALESCE(node, host) AS node, seq_instance, seq, "date",\n'
        "    ROW_NUMBER() OVER (PARTITION BY COALESCE(node, host)\n"
        '      ORDER BY "date" DESC, seq DESC) AS newest_first,\n'
        "    COUNT(*) OVER (PARTITION BY COALESCE(node, host)) AS heartbeats\n"
        "  FROM {table}\n  WHERE {heartbeat_window}\n)\n"
        'SELECT node, "date" AS newest,\n'
        "  date_diff('second',\n"
        '    CAST(substr("date", 1, 10) || \' \' || substr("date", 12, 8) AS TIMESTAMP),\n'
        "    CAST(:as_of AS TIMESTAMP)) AS age_s,\n"
        "  seq_instance, seq, heartbeats\n"
        "FROM beats\nWHERE newest_first = 1\nORDER BY node",
        {},
    ),
)


def query_by_name(name: str) -> NamedQuery:
    for query in QUERIES:
        if query.name == name:
            return query
    known = ", ".join(q.name for q in QUERIES)
    raise KeyError(f"no query {name!r}; named queries: {known}")


def parse_time(text: str) -> datetime:
    """A window bound: ISO 8601 date or time, UTC unless it says otherwise."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"time {text!r} is not ISO 8601, e.g. 2026-11-30 or 2026-11-30T14:05:00Z"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def window_parameters(
    start: datetime, end: datetime, slack: timedelta = DEFAULT_PARTITION_SLACK
) -> dict[str, str]:
    """start/end as the archive's `date` text, and the day partitions that can hold them;
    `as_of`, the end as TIMESTAMP text, for ages."""
    if end <= start:
        raise ValueError(f"end {end:%Y-%m-%dT%H:%M:%SZ} must be after start")
    return {
        "start": f"{start:%Y-%m-%dT%H:%M:%S}",
        "end": f"{end:%Y-%m-%dT%H:%M:%S}",
        "as_of": f"{end:%Y-%m-%d %H:%M:%S}",
        "day_from": f"{start - slack:%Y/%m/%d}",
        "day_to": f"{end:%Y/%m/%d}",
    }


def tag_parameters(tags: ArchiveTags) -> dict[str, str]:
    """The `tag` partition values the queries select: audit events and heartbeats."""
    return {"tag": tags.events, "heartbeat_tag": tags.heartbeat}


def bind(query: NamedQuery, given: Mapping[str, str], window: Mapping[str, str]) -> list[object]:
    """The positional values of a query: the user's (typed) and the window's."""
    missing = sorted(set(query.params) - set(given))
    if missing:
        raise ValueError(f"query {query.name!r} needs {', '.join(missing)}")
    unknown = sorted(set(given) - set(query.params))
    if unknown:
        accepted = ", ".join(query.params) or "only start and end"
        raise ValueError(f"query {query.name!r} takes no {', '.join(unknown)}; it takes {accepted}")
    values: list[object] = []
    for name in query.order():
        if name in window:
            values.append(window[name])
        elif query.params[name] == "bigint":
            try:
                values.append(int(given[name]))
            except ValueError:
                raise ValueError(f"{name} {given[name]!r} must be an integer") from None
        else:
            values.append(given[name])
    return values


def athena_literal(value: object) -> str:
    """An Athena ExecutionParameter: SQL literal text (strings quoted, integers bare)."""
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
