"""Counting a fault run: events lost and repeated, and gaps in the record numbers."""

from __future__ import annotations

import signal
from typing import Any

from tooling.faults.count import count, table
from tooling.faults.load import event_line

RUN = "fault-0a1b2c3d"


def _record(index: int, seq: int | None, instance: str | None = "inst-a") -> dict[str, Any]:
    line = event_line(RUN, index)
    record: dict[str, Any] = {"message": line.rsplit(" - ", 1)[1].strip()}
    if seq is not None:
        record.update({"seq": seq, "seq_instance": instance})
    return record


def test_lost_duplicated_and_gaps_are_counted_per_instance() -> None:
    records = [_record(0, 1), _record(1, 2), _record(1, 2), _record(3, 4)]
    records += [_record(4, 1, "inst-b"), _record(5, 2, "inst-b")]
    outcome = count("x", RUN, sent=6, records=records)
    assert (outcome.delivered, outcome.lost, outcome.duplicates) == (5, 1, 1)
    assert outcome.instances == 2
    assert outcome.seq_gaps == 1  # seq 3 of inst-a
    assert outcome.seq_duplicates == 1


def test_records_of_other_runs_and_unnumbered_ones_are_told_apart() -> None:
    other = {"message": "fault-ffffffff e0", "seq": 9, "seq_instance": "inst-a"}
    outcome = count("x", RUN, sent=2, records=[other, _record(0, None), _record(1, 5)])
    assert (outcome.delivered, outcome.lost, outcome.unnumbered) == (2, 0, 1)
    assert outcome.seq_gaps == 0


def test_a_sigterm_stop_that_crashed_is_counted() -> None:
    exits = [("agent", signal.SIGTERM, -11), ("agent", signal.SIGKILL, -9), ("rsyslogd", 15, 0)]
    assert count("x", RUN, 0, [], exits).unclean_stops == 1


def test_table_has_one_row_per_outcome() -> None:
    text = table([count("agent SIGKILL", RUN, 1, [_record(0, 1)])])
    assert text.splitlines()[2].startswith("| agent SIGKILL | 1 | 0 | 0 | 1 | 0 |")
