"""The audit-fields Lua filter: its config entry, and what the REAL agent makes of lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components.agent.audit_fields import (
    PROMOTED,
    added_fields,
    audit_fields_script,
    check_no_collision,
    lua_filter_entry,
)
from components.archive.table import parsed_fields
from demo.audit_events import Identity, format_event
from tests.agent_records import records_for_lines
from tests.components.agent.fluent_bit_samples import render, settings

HEADER = "<109>1 2026-11-30T10:00:00.250Z web-1 web 42 EXIT"


def test_filter_runs_after_context_and_before_grep() -> None:
    agent = settings(grep=[{"action": "exclude", "key": "message", "regex": "^noise"}])
    names = [f["name"] for f in render(agent)["pipeline"]["filters"]]
    assert names == ["parser", "record_modifier", "lua", "grep"]  # parser: the event time
    entry = lua_filter_entry("audit.*")
    assert entry["call"] in entry["code"]
    assert "${" not in audit_fields_script()


def test_promoted_columns_do_not_collide_with_record_fields() -> None:
    [modifier] = [
        f for f in render(settings())["pipeline"]["filters"] if f["name"] == "record_modifier"
    ]
    context = {item.split(" ")[0] for item in modifier["record"]}
    check_no_collision(context | set(parsed_fields()))
    assert "node" in context and "node" not in added_fields()
    with pytest.raises(ValueError, match="uid"):
        check_no_collision({"uid"})
    assert len({p.column for p in PROMOTED}) == len(PROMOTED)


@pytest.fixture(scope="module")
def agent_records(
    fluent_bit: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    identity = Identity("run-7", "web", "web-1", "shop", "app", "pod-node")
    lines = [
        # Several elements, a repeated param, an element without params, escapes.
        f"{HEADER} "
        r'[audit@32473 run_id="run-7" node="pod-node" uid="1000" exit="2" '
        r'command="echo \"hi\" \\ x \] y C:\temp" duration_ms="15" event="EXIT"]'
        r'[origin ip="10.0.0.1" software="rsyslogd"][meta@32473 k="a" k="b" e=""][empty@32473]'
        " done",
        # Empty values: promoted as empty strings, or not at all where a number is due.
        f'{HEADER.replace(".250Z", ".500Z")} [audit@32473 command="" uid="" exit="x"] empty',
        # No structured data at all.
        "<14>1 2026-11-30T10:00:01.000Z web-1 web 42 - - no structured data",
        # Structured data the parser accepts but RFC 5424 does not (a param without value).
        "<14>1 2026-11-30T10:00:02.000Z web-1 web 42 - [odd one] malformed",
        # What the demo itself sends (its own escaping).
        format_event(
            identity,
            "SHELL",
            "typed",
            pid=9,
            uid=0,
            when=datetime(2026, 11, 30, 10, 0, 5, tzinfo=UTC),
            extra={"command": 'a "b" ]c\\', "event": "SHELL", "shell": "bash"},
        ),
    ]
    work = Path(tmp_path_factory.mktemp("agent"))
    return records_for_lines(fluent_bit, moto_endpoint, work, render(settings()), lines)


def test_every_element_and_param_unescaped(agent_records: list[dict[str, Any]]) -> None:
    record = agent_records[0]
    assert record["sd"] == {
        "audit@32473": {
            "run_id": "run-7",
            "node": "pod-node",
            "uid": "1000",
            "exit": "2",
            "command": 'echo "hi" \\ x ] y C:\\temp',
            "duration_ms": "15",
            "event": "EXIT",
        },
        "origin": {"ip": "10.0.0.1", "software": "rsyslogd"},
        "meta@32473": {"k": "a", "k#2": "b", "e": ""},
        "empty@32473": {},
    }
    assert record["extradata"].startswith("[audit@32473 run_id=")  # the raw text is kept


def test_audit_params_promoted_with_types_and_without_collision(
    agent_records: list[dict[str, Any]],
) -> None:
    record = agent_records[0]
    assert (record["run_id"], record["uid"], record["exit_code"], record["duration_ms"]) == (
        "run-7",
        1000,
        2,
        15,
    )
    assert record["command"] == 'echo "hi" \\ x ] y C:\\temp'
    assert (record["node"], record["pod_node"]) == ("agent-node", "pod-node")
    assert (record["facility"], record["severity"]) == (13, 5)


def test_empty_values(agent_records: list[dict[str, Any]]) -> None:
    record = agent_records[1]
    assert record["sd"] == {"audit@32473": {"command": "", "uid": "", "exit": "x"}}
    assert record["command"] == ""
    assert "uid" not in record and "exit_code" not in record


def test_no_structured_data(agent_records: list[dict[str, Any]]) -> None:
    record = agent_records[2]
    assert "sd" not in record and "sd_error" not in record
    assert (record["facility"], record["severity"]) == (1, 6)


def test_malformed_structured_data_is_reported_not_dropped(
    agent_records: list[dict[str, Any]],
) -> None:
    record = agent_records[3]
    assert "sd" not in record
    assert "SD-PARAM" in record["sd_error"]
    assert record["extradata"] == "[odd one]"


def test_demo_events_round_trip(agent_records: list[dict[str, Any]]) -> None:
    record = agent_records[4]
    assert record["command"] == 'a "b" ]c\\'
    assert (record["pod"], record["namespace"], record["container"]) == ("web-1", "shop", "app")
    assert (record["event"], record["shell"]) == ("SHELL", "bash")
    assert record["uid"] == 0
