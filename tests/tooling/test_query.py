"""tooling.query: the Athena calls' shapes (botocore's own model), DuckDB on gzip JSON lines
in a directory (sequence gaps, multi-member gzip, partition pruning), one-line errors."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from components.agent.routes import S3Route
from components.archive.queries import query_by_name
from tooling import query

LAYOUT = S3Route(name="archive", key_prefix="audit/local").layout
TAG = "audit.syslog"
HEARTBEAT_TAG = "audit.heartbeat"


def _write(
    root: Path,
    hour_key: str,
    records: Sequence[dict[str, Any]],
    members: int = 1,
    tag: str = TAG,
) -> None:
    path = root / f"audit/local/{tag}/{hour_key}-AbCd1234.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) + "\n" for r in records]
    size = max(1, -(-len(lines) // members))
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
    path.write_bytes(b"".join(gzip.compress("".join(c).encode()) for c in chunks))


def _record(seq: int, node: str, when: str, **extra: Any) -> dict[str, Any]:
    return {"date": when, "node": node, "seq": seq, "seq_instance": f"{node}-1", **extra}


def _args(root: Path, name: str, *more: str) -> Any:
    return query._parser().parse_args(
        ["--stack", "local", "--query", name, "--local", str(root), *more]
    )


def test_sequence_gaps_on_duckdb(tmp_path: Path) -> None:
    # Node a: 1-3, 6-7 in two objects (the second in two gzip members); node b: no gap.
    _write(
        tmp_path,
        "2026/11/30/10/0000",
        [_record(s, "a", f"2026-11-30T10:00:0{s}Z") for s in (1, 2, 3)],
    )
    _write(
        tmp_path,
        "2026/11/30/11/0000",
        [_record(s, "a", f"2026-11-30T11:00:0{s}Z") for s in (6, 7)]
        + [_record(s, "b", f"2026-11-30T11:00:0{s}Z") for s in (1, 2, 3)],
        members=2,
    )
    args = _args(
        tmp_path, "sequence-gaps", "--start", "2026-11-30T09:00", "--end", "2026-11-30T12:00"
    )
    result = query.answer(args)
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert [(r["node"], r["first_missing"], r["last_missing"], r["missing"]) for r in rows] == [
        ("a", 4, 5, 2)
    ]


def test_objects_outside_the_window_days_are_not_read(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2026/11/30/10/0000",
        [_record(1, "a", "2026-11-30T10:00:00Z", event="EXIT", exit_code=1, command="x")],
    )
    # A corrupt object on another day: reading it would fail the query.
    other = tmp_path / f"audit/local/{TAG}/2026/11/01/10/0000-XyZ12345.jsonl.gz"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"\x1f\x8bnot gzip")
    args = _args(tmp_path, "failed-commands", "--start", "2026-11-30", "--end", "2026-12-01")
    assert [row[6] for row in query.answer(args).rows] == ["x"]
    objects = query.directory_objects(tmp_path, LAYOUT, [TAG], ["2026/11/01"])
    assert [(o.tag, o.day, o.hour) for o in objects] == [(TAG, "2026/11/01", 10)]
    assert query.directory_objects(tmp_path, LAYOUT, [HEARTBEAT_TAG], ["2026/11/01"]) == []


def _beat(seq: int, node: str, when: str) -> dict[str, Any]:
    return _record(seq, node, when, message="container-audit-log heartbeat")


def test_heartbeats_and_gaps_across_both_tags(tmp_path: Path) -> None:
    # Node a: events 1, 2, 4 and heartbeats 3, 5 (rsyslog numbers both); node b: beats only.
    _write(
        tmp_path,
        "2026/11/30/10/0000",
        [_record(s, "a", f"2026-11-30T10:00:0{s}.5Z") for s in (1, 2, 4)],
    )
    _write(
        tmp_path,
        "2026/11/30/10/0000",
        [_beat(3, "a", "2026-11-30T10:00:03.250000Z"), _beat(5, "a", "2026-11-30T10:00:05.9Z")]
        + [_beat(s, "b", f"2026-11-30T09:5{s}:00Z") for s in (1, 2)],
        tag=HEARTBEAT_TAG,
    )
    window = ("--start", "2026-11-30T09:00", "--end", "2026-11-30T10:01:00")
    result = query.answer(_args(tmp_path, "heartbeats", *window))
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert rows == [
        {
            "node": "a",
            "newest": "2026-11-30T10:00:05.9Z",
            "age_s": 55,  # whole seconds from 10:00:05 to the window's end
            "seq_instance": "a-1",
            "seq": 5,
            "heartbeats": 2,
        },
        {
            "node": "b",
            "newest": "2026-11-30T09:52:00Z",
            "age_s": 9 * 60,
            "seq_instance": "b-1",
            "seq": 2,
            "heartbeats": 2,
        },
    ]
    # The heartbeats' seq fill node a's sequence: no gap, though 3 and 5 are not events.
    assert query.answer(_args(tmp_path, "sequence-gaps", *window)).rows == []
    # Event queries read only the events' tag (a corrupt heartbeat object does not matter).
    (tmp_path / f"audit/local/{HEARTBEAT_TAG}/2026/11/30/10/0000-AbCd1234.jsonl.gz").write_bytes(
        b"\x1f\x8bnot gzip"
    )
    assert (
        query.answer(_args(tmp_path, "commands-on-node", *window, "--param", "node=a")).rows == []
    )
    with pytest.raises(query.QueryError):
        query.answer(_args(tmp_path, "heartbeats", *window))


def _athena() -> Any:
    # Stubbed: no request leaves the process, so any key will do.
    keys = {"aws_access_key_id": "stub", "aws_secret_access_key": "stub"}
    return boto3.client("athena", region_name="eu-west-1", **keys)


def test_athena_calls_have_the_api_shapes() -> None:
    client = _athena()
    named = query_by_name("commands-by-uid")
    values: list[object] = [
        "audit.syslog",
        "2026/11/29",
        "2026/11/30",
        "2026-11-30T00:00:00",
        "2026-11-30T05:00:00",
        0,
    ]
    with Stubber(client) as stub:
        stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q-1"},
            {
                "QueryString": named.sql("audit_events"),
                "QueryExecutionContext": {"Database": "container_audit_dev"},
                "WorkGroup": "container-audit-dev",
                "ExecutionParameters": [
                    "'audit.syslog'",
                    "'2026/11/29'",
                    "'2026/11/30'",
                    "'2026-11-30T00:00:00'",
                    "'2026-11-30T05:00:00'",
                    "0",
                ],
            },
        )
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "RUNNING"}}},
            {"QueryExecutionId": "q-1"},
        )
        stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "Status": {"State": "SUCCEEDED"},
                    "Statistics": {"DataScannedInBytes": 1234},
                }
            },
            {"QueryExecutionId": "q-1"},
        )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "ResultSetMetadata": {
                        "ColumnInfo": [
                            {"Name": "pod", "Type": "varchar"},
                            {"Name": "command", "Type": "varchar"},
                        ]
                    },
                    "Rows": [
                        {"Data": [{"VarCharValue": "pod"}, {"VarCharValue": "command"}]},
                        {"Data": [{"VarCharValue": "web-1"}, {"VarCharValue": "id -u"}]},
                    ],
                }
            },
            {"QueryExecutionId": "q-1"},
        )
        result = query.run_athena(
            client,
            named,
            "audit_events",
            "container_audit_dev",
            "container-audit-dev",
            values,
            sleep=lambda _: None,
        )
    assert result == query.Result(["pod", "command"], [("web-1", "id -u")], 1234)
    assert "1234 bytes scanned" in query.format_table(result)


def test_athena_failure_is_one_line_with_the_reason() -> None:
    client = _athena()
    reason = "Query exhausted resources: bytes scanned limit exceeded"
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": reason}}},
        )
        with pytest.raises(query.QueryError, match="q-2 FAILED: Query exhausted"):
            query.run_athena(
                client, query_by_name("failed-commands"), "t", "d", "w", [], sleep=lambda _: None
            )


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert query.main(["--stack", "local", "--query", "nope", "--local", str(tmp_path)], out) == 2
    assert (
        query.main(
            [
                "--stack",
                "local",
                "--query",
                "commands-by-uid",
                "--local",
                str(tmp_path),
                "--param",
                "uid=x",
            ],
            out,
        )
        == 2
    )
    assert (
        query.main(
            ["--stack", "local", "--query", "shell-sessions", "--local", str(tmp_path / "none")],
            out,
        )
        == 2
    )
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("query: ") for line in lines)
    assert (
        "no query 'nope'" in lines[0]
        and "must be an integer" in lines[1]
        and "not a directory" in lines[2]
    )


@pytest.mark.parametrize(
    ("cluster", "archive"), [("staging", "archive-staging"), ("prod", "archive-prod")]
)
def test_a_cluster_stack_queries_the_table_its_archive_stack_made_for_it(
    cluster: str, archive: str
) -> None:
    from tests.conftest import stack_graph

    target = query.stack_target(cluster)
    graph = stack_graph(archive)
    workgroups = {r.inputs["name"] for r in graph.by_type("aws:athena/workgroup:Workgroup")}
    databases = {
        r.inputs["name"] for r in graph.by_type("aws:glue/catalogDatabase:CatalogDatabase")
    }
    assert target.workgroup in workgroups and target.database in databases
    assert target.layout.key_prefix == f"audit/{cluster}/"
