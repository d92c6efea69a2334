"""`make query`: ask the archive a named question, on Athena or locally on DuckDB.

    python -m tooling.query --stack dev --query failed-commands --start 2026-11-30
    python -m tooling.query --stack local --query commands-in-pod --local ./archive \\
        --param namespace=demo --param pod=service-1-abc --start 2026-11-30T10:00
    python -m tooling.query --stack local --query run-events --local http://127.0.0.1:5000 \\
        --bucket audit-log-local --param run_id=local-demo --param service=service-1

Athena (no --local): the stack's workgroup and database (named in the stack file), the
query's SQL as stored in the named query, parameters as ExecutionParameters; the result is
printed as a table with the bytes scanned. Locally (--local DIR or an S3 endpoint URL): the
objects of the window's days (a directory mirroring the bucket's keys, e.g. from
`aws s3 sync s3://<bucket> DIR`, or the bucket at the endpoint) are read by DuckDB with the
table's columns, `day` and `hour` taken from each key as Athena's partition projection
does, and the SAME SQL runs on them. Only the tags the query names are read (audit events,
heartbeats or both), as Athena's `tag` partition prunes them.

Exit codes: 0 answered; 2 bad input or an engine error (one line).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from components.agent.routes import S3ObjectLayout
from components.archive.queries import (
    QUERIES,
    NamedQuery,
    athena_literal,
    bind,
    parse_time,
    query_by_name,
    tag_parameters,
    window_parameters,
)
from components.archive.table import (
    PARTITION_KEYS,
    ArchiveTags,
    archive_tags,
    record_columns,
)

EXIT_OK, EXIT_ERROR = 0, 2
_MAX_DAYS = 3660


class QueryError(Exception):
    """Bad input, or an engine that could not answer; one line."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    scanned_bytes: int | None = None


@dataclass(frozen=True)
class ArchiveObject:
    path: Path
    tag: str
    day: str
    hour: int


# --- the archive's objects, as Athena's partition projection sees them ---------------------


def days_between(day_from: str, day_to: str) -> list[str]:
    """Every yyyy/MM/dd partition value from day_from to day_to, inclusive."""
    first = datetime.strptime(day_from, "%Y/%m/%d")
    last = datetime.strptime(day_to, "%Y/%m/%d")
    count = (last - first).days + 1
    if count > _MAX_DAYS:
        raise QueryError(f"window of {count} days is too long (at most {_MAX_DAYS})")
    return [f"{first + timedelta(days=n):%Y/%m/%d}" for n in range(max(count, 0))]


def partition_of(layout: S3ObjectLayout, key: str) -> tuple[str, str, int] | None:
    """(tag, day, hour) of an object key of the layout, or None for a key the agent did not
    write."""
    parts = layout.parse_key(key)
    if parts is None:
        return None
    return parts["tag"], f"{parts['year']}/{parts['month']}/{parts['day']}", int(parts["hour"])


def directory_objects(
    root: Path, layout: S3ObjectLayout, tags: Sequence[str], days: Sequence[str]
) -> list[ArchiveObject]:
    """Objects under `root` (keys as relative paths) in the `tags` and `days` partitions."""
    if not root.is_dir():
        raise QueryError(f"--local {root}: not a directory")
    found = []
    for path in sorted(root.rglob(f"*{layout.suffix}")):
        partition = partition_of(layout, path.relative_to(root).as_posix())
        if partition is not None and partition[0] in tags and partition[1] in days:
            found.append(ArchiveObject(path, *partition))
    return found


def download_objects(
    client: Any,
    bucket: str,
    layout: S3ObjectLayout,
    tags: Sequence[str],
    days: Sequence[str],
    into: Path,
) -> list[ArchiveObject]:
    """The window's objects from the bucket (one listing per tag and day), saved under `into`."""
    found = []
    for tag, day in ((t, d) for t in tags for d in days):
        prefix = f"{layout.key_prefix}{tag}/{day}/"
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                partition = partition_of(layout, item["Key"])
                if partition is None:
                    continue
                path = into / item["Key"]
                path.parent.mkdir(parents=True, exist_ok=True)
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                path.write_bytes(body)
                found.append(ArchiveObject(path, *partition))
    return found


# --- engines ----------------------------------------------------------------------------


PARTITION_TYPES = {"string": "VARCHAR", "int": "INTEGER"}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_duckdb(connection: Any, table: str, objects: Sequence[ArchiveObject]) -> None:
    """`table` in DuckDB: the Glue table's columns read from `objects`, plus day and hour."""
    columns = record_columns()
    partitions = ", ".join(f"{c.name} {PARTITION_TYPES[c.type]}" for c in PARTITION_KEYS)
    connection.execute(f"CREATE TABLE archive_objects (filename VARCHAR, {partitions})")
    if not objects:
        typed = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in columns)
        connection.execute(f"CREATE TABLE {table} ({typed}, {partitions})")
        return
    connection.executemany(
        "INSERT INTO archive_objects VALUES (?, ?, ?, ?)",
        [(str(o.path), o.tag, o.day, o.hour) for o in objects],
    )
    files = "[" + ", ".join(_sql_text(str(o.path)) for o in objects) + "]"
    spec = (
        "{" + ", ".join(f"{_sql_text(c.name)}: {_sql_text(c.duckdb_type)}" for c in columns) + "}"
    )
    # Identifiers come from validated settings and paths are quoted; values are bound.
    statement = (
        f"CREATE TABLE {table} AS SELECT r.* EXCLUDE (filename), o.tag, o.day, o.hour "  # noqa: S608
        f"FROM read_json({files}, format = 'newline_delimited', columns = {spec}, "
        f"filename = true) AS r JOIN archive_objects AS o ON r.filename = o.filename"
    )
    connection.execute(statement)


def run_duckdb(
    query: NamedQuery, table: str, objects: Sequence[ArchiveObject], values: Sequence[object]
) -> Result:
    import duckdb

    connection = duckdb.connect(":memory:")
    try:
        load_duckdb(connection, table, objects)
        cursor = connection.execute(query.sql(table), list(values))
        names = [d[0] for d in cursor.description or []]
        return Result(names, [tuple(row) for row in cursor.fetchall()])
    except duckdb.Error as error:
        raise QueryError(f"DuckDB: {str(error).splitlines()[0]}") from None
    finally:
        connection.close()


_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


def run_athena(
    client: Any,
    query: NamedQuery,
    table: str,
    database: str,
    workgroup: str,
    values: Sequence[object],
    timeout: float = 600.0,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """Run the named query's SQL in the workgroup (its result location and cost guard)."""
    request: dict[str, Any] = {
        "QueryString": query.sql(table),
        "QueryExecutionContext": {"Database": database},
        "WorkGroup": workgroup,
    }
    if values:
        request["ExecutionParameters"] = [athena_literal(v) for v in values]
    execution_id = client.start_query_execution(**request)["QueryExecutionId"]
    waited = 0.0
    while True:
        execution = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        status = execution["Status"]
        if status["State"] in _DONE:
            break
        if waited >= timeout:
            client.stop_query_execution(QueryExecutionId=execution_id)
            raise QueryError(f"Athena query {execution_id} still running after {timeout:g}s")
        sleep(poll)
        waited += poll
    if status["State"] != "SUCCEEDED":
        reason = status.get("StateChangeReason", "no reason given")
        raise QueryError(f"Athena query {execution_id} {status['State']}: {reason}")
    columns: list[str] = []
    rows: list[tuple[Any, ...]] = []
    pages = client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id)
    for page in pages:
        result_rows = page["ResultSet"]["Rows"]
        if not columns:
            columns = [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            result_rows = result_rows[1:]  # the first row of the first page is the header
        rows += [tuple(d.get("VarCharValue") for d in row["Data"]) for row in result_rows]
    scanned = execution.get("Statistics", {}).get("DataScannedInBytes")
    return Result(columns, rows, scanned)


# --- output -------------------------------------------------------------------------------


def format_table(result: Result) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in result.rows]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    footer = f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''}"
    if result.scanned_bytes is not None:
        footer += f", {result.scanned_bytes} bytes scanned"
    return "\n".join(line.rstrip() for line in lines) + f"\n{footer})\n"


# --- CLI ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackQueryTarget:
    layout: S3ObjectLayout
    tags: ArchiveTags
    region: str
    bucket: str | None
    database: str
    table: str
    workgroup: str


def stack_target(stack: str) -> StackQueryTarget:
    from components.config import ConfigError, load_archive_config, load_stack_config
    from tooling.engine import StackFileError, load_stack_file, referenced_archive

    try:
        raw, _ = load_stack_file(stack)
        cfg = load_stack_config(raw, stack)
    except (StackFileError, ConfigError) as error:
        raise QueryError(str(error).replace("\n", "; ")) from None
    bucket_name, query = cfg.bucket.name, cfg.query
    database, workgroup = (
        query.database_name(cfg.environment),
        query.workgroup_name(cfg.environment),
    )
    archive = referenced_archive(stack)
    if archive is not None:
        # A cluster stack's table and workgroup are in its archive stack, one per cluster.
        try:
            archive_raw, _ = load_stack_file(archive)
            archive_cfg = load_archive_config(archive_raw, archive)
        except (StackFileError, ConfigError) as error:
            raise QueryError(str(error).replace("\n", "; ")) from None
        bucket_name = archive_cfg.bucket.name
        query = archive_cfg.query.for_cluster(stack, archive_cfg.environment)
        database, workgroup = query.database_name(""), query.workgroup_name("")
    bucket = bucket_name or "unset"
    region = cfg.archive_aws_region
    routes = cfg.agent.with_default_bucket(bucket, region, cfg.log_prefix).s3_routes
    if not routes:
        raise QueryError(f"stack {stack!r} has no S3 route: there is no archive to query")
    return StackQueryTarget(
        layout=routes[0].layout,
        tags=archive_tags(cfg.agent.tag),
        region=region,
        bucket=bucket_name,
        database=database,
        table=query.table,
        workgroup=workgroup,
    )


def parse_params(items: Sequence[str]) -> dict[str, str]:
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[a-z_]+", name):
            raise QueryError(f"--param {item!r} must be name=value, e.g. pod=service-1-abc")
        params[name] = value
    return params


def _s3_client(endpoint: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=30),
    )


def answer(args: argparse.Namespace, s3_client: Any = None, athena_client: Any = None) -> Result:
    query = query_by_name(args.query)
    target = stack_target(args.stack)
    end = parse_time(args.end) if args.end else datetime.now(UTC)
    start = parse_time(args.start) if args.start else end - timedelta(hours=24)
    window = {**window_parameters(start, end), **tag_parameters(target.tags)}
    values = bind(query, parse_params(args.param), window)
    # The tag partitions the query selects: only their objects are read.
    tags = [window[name] for name in ("tag", "heartbeat_tag") if name in query.order()]
    if not args.local:
        import boto3

        client = athena_client or boto3.client("athena", region_name=args.region or target.region)
        return run_athena(
            client, query, target.table, target.database, target.workgroup, values, args.timeout
        )
    days = days_between(window["day_from"], window["day_to"])
    if re.match(r"^https?://", args.local):
        bucket = args.bucket or target.bucket
        if bucket is None:
            raise QueryError(f"stack {args.stack!r} names no bucket: pass --bucket")
        client = s3_client or _s3_client(args.local, args.region or target.region)
        with tempfile.TemporaryDirectory(prefix="audit-query-") as temp:
            objects = download_objects(client, bucket, target.layout, tags, days, Path(temp))
            return run_duckdb(query, target.table, objects, values)
    objects = directory_objects(Path(args.local), target.layout, tags, days)
    return run_duckdb(query, target.table, objects, values)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.query", description=__doc__.splitlines()[0] if __doc__ else None
    )
    names = ", ".join(q.name for q in QUERIES)
    parser.add_argument("--stack", default="dev", help="stack whose archive to ask (default dev)")
    parser.add_argument("--query", required=True, help=f"one of: {names}")
    parser.add_argument("--param", action="append", default=[], help="name=value (repeatable)")
    parser.add_argument("--start", help="window start, ISO 8601 UTC (default: end - 24h)")
    parser.add_argument("--end", help="window end, ISO 8601 UTC (default: now)")
    parser.add_argument("--local", help="DuckDB on a directory or an S3 endpoint URL")
    parser.add_argument("--bucket", help="bucket at the --local endpoint (default: the stack's)")
    parser.add_argument("--region", help="AWS region (default: the stack's)")
    parser.add_argument("--timeout", type=float, default=600.0, help="Athena wait, seconds")
    return parser


def main(argv: Sequence[str] | None = None, out: Any = None) -> int:
    args = _parser().parse_args(argv)
    stream = out or sys.stdout
    try:
        result = answer(args)
    except (QueryError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) else str(error)
        print(f"query: {message}", file=sys.stderr)
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as error:  # one line, never a traceback
        print(f"query: {type(error).__name__}: {str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_ERROR
    stream.write(format_table(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
