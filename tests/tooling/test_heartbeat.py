"""`verify --heartbeat` against a real S3 API (moto server on 127.0.0.1).

Heartbeat objects are filed the way the dev stack's S3 route names them (its layout), under
the heartbeat tag, as gzip JSON lines with the fields the agent writes.
"""

from __future__ import annotations

import gzip
import io
import json
import secrets
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

from components.config import load_stack_config
from tooling.engine import load_stack_file
from tooling.verify import EXIT_INPUT, EXIT_MISSING, EXIT_OK, main

REGION = "eu-west-1"


def put_heartbeats(
    s3: Any, bucket: str, node: str, times: list[datetime], seq0: int = 1, message: str = ""
) -> None:
    """One object of heartbeat records of `node`, keyed like the dev stack's S3 route."""
    raw, _ = load_stack_file("dev")
    cfg = load_stack_config(raw, "dev")
    route = cfg.agent.with_default_bucket(bucket, REGION, cfg.log_prefix).s3_routes[0]
    layout = route.layout
    first = times[0]
    key = (
        layout.hour_prefix("audit.heartbeat", first)
        + f"{first:%M%S}-{secrets.token_hex(8)}{layout.suffix}"
    )
    assert layout.parse_key(key), key
    lines = [
        json.dumps(
            {
                "date": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "host": node,
                "ident": "rsyslogd",
                "message": message or cfg.monitoring.heartbeat.message,
                "node": node,
                "cluster": "audit-log-dev",
                "environment": "dev",
                "seq": seq0 + i,
                "seq_instance": f"{node}-boot-1",
            }
        )
        for i, when in enumerate(times)
    ]
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress("\n".join(lines).encode()))


def run(bucket: str, endpoint: str, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    argv = [
        "--stack", "dev", "--no-pulumi", "--bucket", bucket, "--endpoint-url", endpoint,
        "--region", REGION, "--heartbeat", "--since", "1h", *extra,
    ]  # fmt: skip
    with redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def minutes_ago(*minutes: float) -> list[datetime]:
    now = datetime.now(UTC)
    return [now - timedelta(minutes=m) for m in minutes]


def test_fresh_heartbeats_of_every_node_pass(s3: Any, bucket: str, endpoint: str) -> None:
    put_heartbeats(s3, bucket, "node-a", minutes_ago(3, 2, 1))
    put_heartbeats(s3, bucket, "node-b", minutes_ago(2.5, 1.5))
    code, out = run(bucket, endpoint)
    assert code == EXIT_OK, out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("node-")}
    assert lines["node-a"][1] == "3" and lines["node-a"][-1] == "ok"
    assert lines["node-a"][-2] == "node-a-boot-1/3"  # the newest heartbeat's sequence identity
    assert 50 <= float(lines["node-a"][3]) <= 120  # age of the newest (1 minute)
    assert lines["node-b"][1] == "2"


def test_a_node_whose_heartbeat_stopped_fails(s3: Any, bucket: str, endpoint: str) -> None:
    put_heartbeats(s3, bucket, "node-a", minutes_ago(2, 1))
    put_heartbeats(s3, bucket, "node-b", minutes_ago(40, 39, 38))  # stopped 38 minutes ago
    code, out = run(bucket, endpoint, "--max-age", "600")
    assert code == EXIT_MISSING, out
    stale = [line for line in out.splitlines() if line.startswith("node-b")]
    assert stale and stale[0].split()[-1] == "STALE"
    assert "FAILED: node-b older than 600s" in out


def test_a_named_node_without_heartbeat_fails(s3: Any, bucket: str, endpoint: str) -> None:
    put_heartbeats(s3, bucket, "node-a", minutes_ago(1))
    code, out = run(bucket, endpoint, "--nodes", "node-a,node-c")
    assert code == EXIT_MISSING, out
    assert any(line.startswith("node-c") and "MISSING" in line for line in out.splitlines())


def test_an_empty_archive_fails(bucket: str, endpoint: str) -> None:
    code, out = run(bucket, endpoint)
    assert code == EXIT_MISSING
    assert "no heartbeat from any node" in out


def test_audit_records_are_not_heartbeats(s3: Any, bucket: str, endpoint: str) -> None:
    """Only the heartbeat message counts, even under the heartbeat prefix."""
    put_heartbeats(s3, bucket, "node-a", minutes_ago(1))
    put_heartbeats(s3, bucket, "node-b", minutes_ago(1), message="container-audit-log heartbeat?")
    code, out = run(bucket, endpoint, "--nodes", "node-a")
    assert code == EXIT_OK, out
    assert not any(line.startswith("node-b") for line in out.splitlines())


def test_a_bad_max_age_is_one_line(bucket: str, endpoint: str, capsys: Any) -> None:
    code, _ = run(bucket, endpoint, "--max-age", "0")
    assert code == EXIT_INPUT
    assert capsys.readouterr().err.strip().count("\n") == 0
