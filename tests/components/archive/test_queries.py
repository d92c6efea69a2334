"""Named queries: placeholders, parameters, windows and partition pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from components.archive.queries import (
    QUERIES,
    athena_literal,
    bind,
    parse_time,
    query_by_name,
    tag_parameters,
    window_parameters,
)
from components.archive.table import archive_tags

DAYS = window_parameters(
    datetime(2026, 11, 30, 2, tzinfo=UTC), datetime(2026, 11, 30, 5, tzinfo=UTC)
)
WINDOW = {**DAYS, **tag_parameters(archive_tags("audit.syslog"))}
TAGS = {
    "heartbeats": ["heartbeat_tag"],
    "sequence-gaps": ["tag", "heartbeat_tag"],  # rsyslog numbers both
}


def test_every_query_prunes_by_tag_and_day_first() -> None:
    for query in QUERIES:
        tags = TAGS.get(query.name, ["tag"])
        window = [*tags, "day_from", "day_to", "start", "end"]
        assert query.order()[: len(window)] == window, query.name
        assert ":" not in query.sql("audit_events").replace("::", "")
        assert query.sql("audit_events").count("?") == len(query.order())


def test_window_reaches_back_for_objects_filed_under_an_earlier_hour() -> None:
    assert DAYS == {
        "start": "2026-11-30T02:00:00",
        "end": "2026-11-30T05:00:00",
        "as_of": "2026-11-30 05:00:00",
        "day_from": "2026/11/29",
        "day_to": "2026/11/30",
    }
    with pytest.raises(ValueError, match="must be after start"):
        window_parameters(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_bind_types_and_orders_values() -> None:
    query = query_by_name("commands-by-uid")
    assert bind(query, {"uid": "1000"}, WINDOW) == [
        "audit.syslog",
        "2026/11/29",
        "2026/11/30",
        "2026-11-30T02:00:00",
        "2026-11-30T05:00:00",
        1000,
    ]
    with pytest.raises(ValueError, match="uid 'root' must be an integer"):
        bind(query, {"uid": "root"}, WINDOW)
    with pytest.raises(ValueError, match="needs uid"):
        bind(query, {}, WINDOW)
    with pytest.raises(ValueError, match="takes no pod"):
        bind(query, {"uid": "0", "pod": "x"}, WINDOW)


def test_unknown_query_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="failed-commands"):
        query_by_name("nope")


def test_athena_literals_and_times() -> None:
    assert athena_literal("it's") == "'it''s'"
    assert athena_literal(7) == "7"
    assert parse_time("2026-11-30") == datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_time("2026-11-30T10:00:00+01:00") == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert parse_time("2026-11-30T10:00Z") - timedelta(hours=10) == parse_time("2026-11-30")
    with pytest.raises(ValueError, match="not ISO 8601"):
        parse_time("yesterday")


@pytest.mark.parametrize("dialect", ["athena", "duckdb"])
def test_every_query_parses_in_both_dialects(dialect: str) -> None:
    import sqlglot
    from sqlglot import exp

    for query in QUERIES:
        tree = sqlglot.parse_one(query.sql("audit_events"), read=dialect)
        assert isinstance(tree, exp.Select), query.name
        placeholders = list(tree.find_all(exp.Placeholder))
        assert len(placeholders) == len(query.order()), query.name
        assert not list(tree.find_all(exp.Anonymous)), f"{query.name}: an engine-specific function"
