"""What the real agent makes of syslog messages: the dev stack's rendered config (only its
paths, ports and S3 endpoint moved), messages written straight to its handoff files, records
read back from the S3 objects it writes. Field by field, and the record time (`date`) is
the time the message carries, whatever form it takes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from components.agent.audit_fields import FACILITY_FIELD, SEVERITY_FIELD, added_fields
from components.agent.config import render_fluent_bit_config
from components.agent.settings import AgentSettings, PipelineContext
from tests.agent_harness import AgentRunner, records_of, stack_agent_config

# What record_modifier adds on the dev stack, with the harness's NODE_NAME.
DEV_CONTEXT = {"cluster": "audit-log-dev", "environment": "dev", "node": "local-node"}
NOW = datetime.now(UTC)
# Event times an hour and more before "now": an arrival-time stamp cannot pass for them.
YEAR = NOW.year - 1


def _by_message(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records by message, as the parser and record_modifier make them. What the audit-fields
    filter adds after them is its own tests' subject; here only `pri`'s decoding is checked."""
    by_message = {}
    for record in records:
        pri = int(record["pri"])
        assert (record[FACILITY_FIELD], record[SEVERITY_FIELD]) == (pri // 8, pri % 8), record
        added = set(added_fields())
        by_message[str(record["message"])] = {k: v for k, v in record.items() if k not in added}
    return by_message


def _record(
    timestamp: str,
    message: str,
    date: str,
    *,
    pri: str = "134",
    pid: str = "4242",
    msgid: str = "EXEC",
    extradata: str = "-",
) -> dict[str, Any]:
    """The record a user expects for one of the RFC 5424 lines below."""
    return {
        "date": date,
        "pri": pri,
        "version": "1",
        "timestamp": timestamp,
        "host": "node-a",
        "ident": "audit-demo",
        "pid": pid,
        "msgid": msgid,
        "extradata": extradata,
        "message": message,
        **DEV_CONTEXT,
    }


SD_ESCAPED = r'[audit@32473 cmd="echo \]\"\\" run_id="r1"][meta@1 n="2"]'
LONG_TEXT = "x" * 100_000
RFC5424_CASES: list[tuple[str, dict[str, Any]]] = [
    (
        f"<134>1 {YEAR}-03-04T05:06:07.123456Z node-a audit-demo 4242 EXEC - with fraction",
        _record(
            f"{YEAR}-03-04T05:06:07.123456Z", "with fraction", f"{YEAR}-03-04T05:06:07.123456Z"
        ),
    ),
    (
        f"<134>1 {YEAR}-03-04T05:06:08.5+02:00 node-a audit-demo 4242 EXEC - fraction and offset",
        _record(
            f"{YEAR}-03-04T05:06:08.5+02:00",
            "fraction and offset",
            f"{YEAR}-03-04T03:06:08.500000Z",
        ),
    ),
    (
        f"<134>1 {YEAR}-03-04T05:06:09Z node-a audit-demo 4242 EXEC - no fraction",
        _record(f"{YEAR}-03-04T05:06:09Z", "no fraction", f"{YEAR}-03-04T05:06:09.000000Z"),
    ),
    (
        f"<134>1 {YEAR}-03-04T05:06:10-05:00 node-a audit-demo 4242 EXEC - no fraction, offset",
        _record(
            f"{YEAR}-03-04T05:06:10-05:00",
            "no fraction, offset",
            f"{YEAR}-03-04T10:06:10.000000Z",
        ),
    ),
    (
        f"<134>1 {YEAR}-03-04T05:06:11.000001Z node-a audit-demo - - {SD_ESCAPED} escaped SD",
        _record(
            f"{YEAR}-03-04T05:06:11.000001Z",
            "escaped SD",
            f"{YEAR}-03-04T05:06:11.000001Z",
            pid="-",
            msgid="-",
            extradata=SD_ESCAPED,
        ),
    ),
    (
        f"<134>1 {YEAR}-03-04T05:06:12Z node-a audit-demo 4242 EXEC - \ufeffafter a BOM",
        _record(f"{YEAR}-03-04T05:06:12Z", "after a BOM", f"{YEAR}-03-04T05:06:12.000000Z"),
    ),
    (
        f"<86>1 {YEAR}-03-04T05:06:13Z node-a audit-demo 4242 EXEC - line one#012line two",
        _record(
            f"{YEAR}-03-04T05:06:13Z",
            "line one#012line two",
            f"{YEAR}-03-04T05:06:13.000000Z",
            pri="86",
        ),
    ),
    (
        f"<134>1 {YEAR}-03-04T05:06:14Z node-a audit-demo 4242 EXEC - {LONG_TEXT}",
        _record(f"{YEAR}-03-04T05:06:14Z", LONG_TEXT, f"{YEAR}-03-04T05:06:14.000000Z"),
    ),
]


@pytest.fixture(scope="module")
def dev_config() -> dict[str, Any]:
    return stack_agent_config("dev")


def test_rfc5424_records_field_by_field(run_agent: AgentRunner, dev_config: dict[str, Any]) -> None:
    records = _by_message(records_of(run_agent, dev_config, [line for line, _ in RFC5424_CASES]))
    for _, expected in RFC5424_CASES:
        message = expected["message"]
        assert message in records, f"no record of {message[:40]!r}: {sorted(records)}"
        assert records[message] == expected, message[:40]
    assert len(records) == len(RFC5424_CASES)


def test_a_nil_timestamp_keeps_the_arrival_time_and_says_so(
    run_agent: AgentRunner, dev_config: dict[str, Any]
) -> None:
    before = datetime.now(UTC)
    lines = [
        "<134>1 - node-a audit-demo 4242 EXEC - nil timestamp",
        "<134>1 yesterday node-a audit-demo 4242 EXEC - unreadable timestamp",
        f"<134>1 {YEAR}-03-04T05:06:15Z node-a audit-demo 4242 EXEC - readable",
    ]
    records = _by_message(records_of(run_agent, dev_config, lines))
    after = datetime.now(UTC)
    for message, text in (("nil timestamp", "-"), ("unreadable timestamp", "yesterday")):
        record = records[message]
        assert record["time_unreadable"] == record["timestamp"] == text
        arrived = datetime.fromisoformat(record["date"].replace("Z", "+00:00"))
        assert before <= arrived <= after
    assert "time_unreadable" not in records["readable"]


def test_rfc3164_records_with_the_rfc3164_parser(run_agent: AgentRunner) -> None:
    """syslogFormat rfc3164: no year (the current one) and no zone (rfc3164TimeOffset)."""
    settings = AgentSettings.model_validate(
        {
            "syslogFormat": "rfc3164",
            "rfc3164TimeOffset": "+0200",
            "routes": [{"type": "s3", "name": "archive", "bucket": "b-1", "region": "eu-west-1"}],
        }
    )
    config = render_fluent_bit_config(settings, PipelineContext("c1", "dev"))
    lines = [
        "<38>Feb  5 17:32:18 node-a sshd[4242]: accepted publickey",
        "<13>Feb 15 07:08:09 node-a no ident here",
    ]
    records = _by_message(records_of(run_agent, config, lines))
    context = {"cluster": "c1", "environment": "dev", "node": "local-node"}
    assert records["accepted publickey"] == {
        "date": f"{NOW.year}-02-05T15:32:18.000000Z",
        "pri": "38",
        "timestamp": "Feb  5 17:32:18",
        "host": "node-a",
        "ident": "sshd",
        "pid": "4242",
        "message": "accepted publickey",
        **context,
    }
    assert records["no ident here"] == {
        "date": f"{NOW.year}-02-15T05:08:09.000000Z",
        "pri": "13",
        "timestamp": "Feb 15 07:08:09",
        "host": "node-a",
        "message": "no ident here",
        **context,
    }


def test_the_agent_log_stays_quiet_while_parsing(
    run_agent: AgentRunner, dev_config: dict[str, Any]
) -> None:
    """No parser warning per record: nothing about times or unmatched lines."""
    bucket = run_agent.new_bucket()
    agent = run_agent.start(dev_config, bucket=bucket)
    from tests.agent_harness import ingested
    from tooling.loopback import wait_until

    agent.hand_off([line for line, _ in RFC5424_CASES])
    wait_until(lambda: ingested(agent) >= len(RFC5424_CASES), 30, "records in", interval=0.1)
    noisy = [line.text for line in agent.log_lines("warn", "error")]
    assert noisy == [], agent.log_text()[-2000:]
