"""verify's completeness check against a real S3 API (moto server on 127.0.0.1).

The archive is laid out as the agent writes it: keys from the dev stack's S3 route
(`<prefix><tag>/YYYY/MM/DD/HH/MMSS-<uuid>.jsonl.gz`, the time of the object's first
record), bodies gzip JSON lines, one record per line with the fields the agent adds
(`node`, and from the node's numbering `seq_instance` and `seq`).
"""

from __future__ import annotations

import gzip
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from components.agent.monitoring import heartbeat_tag
from demo.audit_events import SD_ID
from tooling.verify import EXIT_MISSING, EXIT_OK, main, stack_defaults

RUN = "run-seq"
REGION = "eu-west-1"  # the dev stack's region
PREFIX = "audit/dev/"  # the dev stack's logPrefix


def agent_record(seq: int | None, when: datetime, instance: str = "boot-1") -> dict[str, Any]:
    """One record as the agent writes it (json_lines, iso8601 `date` first)."""
    record: dict[str, Any] = {
        "date": f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond:06d}Z",
        "pri": "134",
        "host": "service-1-pod",
        "ident": "service-1",
        "pid": "7",
        "msgid": "EXEC",
        "extradata": f'[{SD_ID} run_id="{RUN}" service="service-1" node="node-a"]',
        "message": f"exec: step {seq if seq is not None else when.timestamp()}",
        "cluster": "audit-dev",
        "environment": "dev",
        "node": "node-a",
    }
    if seq is not None:
        record.update({"seq_instance": instance, "seq": seq})
    return record


def put_object(
    s3: Any, bucket: str, records: list[dict[str, Any]], tag: str = "audit.syslog"
) -> str:
    """One object, keyed and encoded like the agent's upload of these records."""
    layout = stack_defaults("dev").route.resolved(bucket, REGION, PREFIX).layout
    first = datetime.fromisoformat(records[0]["date"])
    key = first.strftime(
        layout.key_format.replace("$TAG", tag).replace("$UUID", secrets.token_hex(4))
    ).lstrip("/")
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body.encode()))
    return key


def stream(count: int, ago: float, instance: str = "boot-1") -> list[dict[str, Any]]:
    start = datetime.now(UTC) - timedelta(seconds=ago)
    return [
        agent_record(seq, start + timedelta(milliseconds=10 * seq), instance)
        for seq in range(1, count + 1)
    ]


def verify(endpoint: str, bucket: str, *extra: str) -> int:
    return main(
        [
            "--stack", "dev", "--no-pulumi", "--bucket", bucket, "--endpoint-url", endpoint,
            "--run-id", RUN, "--services", "service-1", "--since", "10m",
            "--timeout", "0", "--interval", "0.1", *extra,
        ]
    )  # fmt: skip


def test_a_record_deleted_from_the_archive_is_named(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    records = stream(300, ago=400)  # older than the dev route's 5 min upload timeout
    put_object(s3, bucket, records[:100])
    key = put_object(s3, bucket, records[100:])
    assert verify(endpoint, bucket) == EXIT_OK
    capsys.readouterr()

    # Delete record 150 from its object: rewrite the object without it.
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
    kept = [line for line in body.splitlines() if json.loads(line)["seq"] != 150]
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(("\n".join(kept) + "\n").encode()))

    assert verify(endpoint, bucket) == EXIT_MISSING
    captured = capsys.readouterr()
    [row] = [line.split(None, 5) for line in captured.out.splitlines() if "boot-1" in line][:1]
    # node, seq_instance, events, records, duplicates, found + missing
    assert row[:5] == ["node-a", "boot-1", "299", "299", "0"]
    assert row[5].startswith("1-149, 151-300  150 (")
    assert "verify: FAILED: 1 record(s) missing from the archive: node-a/boot-1 seq 150 (" in (
        captured.err
    )


def test_one_lost_and_one_twice_is_not_ok(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3 events sent: the second lost, the third delivered twice. 3 records, 2 events.
    first, _, third = stream(3, ago=400)
    put_object(s3, bucket, [first, third])
    put_object(s3, bucket, [third])
    assert verify(endpoint, bucket, "--services", "service-1=3") == EXIT_MISSING
    captured = capsys.readouterr()
    assert "service-1 (2/3 events)" in captured.err
    [row] = [line.split() for line in captured.out.splitlines() if line.startswith("service-1")]
    assert (row[1], row[-1]) == ("2", "1")  # 2 events, 1 duplicate record
    assert "1 duplicate record(s)" in captured.out
    # Without an expected count, the numbering alone names the loss.
    assert verify(endpoint, bucket) == EXIT_MISSING
    assert "seq 2 (" in capsys.readouterr().err


def test_duplicates_alone_are_reported_and_pass(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    records = stream(50, ago=400)
    put_object(s3, bucket, records)
    put_object(s3, bucket, records[40:])  # a re-upload after a retry
    assert verify(endpoint, bucket, "--services", "service-1=50") == EXIT_OK
    out = capsys.readouterr().out
    assert "10 duplicate record(s)" in out
    assert "verify: OK" in out


def test_a_young_gap_may_be_in_flight(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    records = stream(20, ago=5)
    put_object(s3, bucket, records[:10] + records[12:])
    assert verify(endpoint, bucket) == EXIT_OK
    out = capsys.readouterr().out
    assert "11-12 (5s old) younger than the upload timeout (300s): may still be in flight" in out
    # The same gap, judged against a 1 s allowance, is a loss.
    assert verify(endpoint, bucket, "--in-flight", "1") == EXIT_MISSING
    assert "seq 11-12" in capsys.readouterr().err


def test_records_without_numbering_are_unnumbered_not_gaps(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC) - timedelta(seconds=400)
    put_object(s3, bucket, [agent_record(None, now + timedelta(seconds=i)) for i in range(4)])
    assert verify(endpoint, bucket, "--whole-instances") == EXIT_OK
    out = capsys.readouterr().out
    assert "4 record(s) carry no seq/seq_instance" in out
    assert "no numbered records" in out


def test_missing_start_of_an_instance_counts_only_with_whole_instances(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    put_object(s3, bucket, stream(30, ago=400)[5:])
    assert verify(endpoint, bucket) == EXIT_OK
    assert "1-5 (" in capsys.readouterr().out
    assert verify(endpoint, bucket, "--whole-instances") == EXIT_MISSING
    assert "seq 1-5" in capsys.readouterr().err


def test_numbers_carried_by_heartbeats_are_not_gaps(
    endpoint: str, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The node numbers every record it forwards; the agent files its heartbeats under
    # their own tag. Seq 5 is a heartbeat: no gap while its object is there.
    records = stream(10, ago=400)
    put_object(s3, bucket, records[:4] + records[5:])
    beat = put_object(s3, bucket, [records[4]], tag=heartbeat_tag("audit.syslog"))
    assert verify(endpoint, bucket) == EXIT_OK
    assert "1-10" in capsys.readouterr().out
    s3.delete_object(Bucket=bucket, Key=beat)
    assert verify(endpoint, bucket) == EXIT_MISSING
    assert "seq 5 (" in capsys.readouterr().err
