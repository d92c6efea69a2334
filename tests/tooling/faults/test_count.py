"""Counting a fault run: events lost and repeated, and gaps in the record numbers."""

from __future__ import annotations

import signal
from typing import Any

from tooling.faults.run import Result, unclean_stops
from tooling.faults.stream import MARKER, ArchiveCount, event
from tooling.faults.table import render

RUN = "faults-count-test"


def _record(
    n: int, seq: int | None, instance: str = "inst-a", run: str = RUN, service: str = "fault-stream"
) -> dict[str, Any]:
    record: dict[str, Any] = {"message": event(run, n, "node-1", service), "node": "node-1"}
    if seq is not None:
        record.update({"seq": seq, "seq_instance": instance})
    return record


def test_lost_duplicated_and_gaps_are_counted_per_instance() -> None:
    archive = ArchiveCount(RUN)
    archive.add([_record(1, 11), _record(2, 12), _record(2, 12), _record(4, 14)])
    archive.add([_record(5, 1, "inst-b"), _record(6, 2, "inst-b")])
    assert (archive.distinct, archive.lost(6), archive.duplicates()) == (5, 1, 1)
    assert archive.instances == 2
    # seq 13 of inst-a; not 1-10 (numbered before this run on a shared rig)
    assert archive.seq_gaps() == 1
    assert archive.seq_duplicates() == 1


def test_other_runs_the_marker_and_unnumbered_records_are_told_apart() -> None:
    archive = ArchiveCount(RUN)
    other = _record(1, 9, run="faults-other-run")
    archive.add([other, _record(1, None), _record(2, 5), _record(0, 6, service=MARKER)])
    assert (archive.distinct, archive.lost(2), archive.ledger.unnumbered) == (2, 0, 1)
    assert archive.marker_seen, "the marker is not an event"
    assert (archive.seq_gaps(), archive.instances) == (0, 1)


def test_a_sigterm_stop_that_crashed_is_counted() -> None:
    exits = [("agent", signal.SIGTERM, -11), ("agent", signal.SIGKILL, -9), ("rsyslogd", 15, 0)]
    assert unclean_stops(exits) == 1


def test_table_has_one_row_per_result_and_its_notes() -> None:
    result = Result("agent SIGKILL", 1000, 2, 0, 1, 2, 0, 0, 0, "FAILED", 61.0, ["a note"])
    lines = render([result]).splitlines()
    assert lines[2] == "| agent SIGKILL | 1,000 | 2 | 0 | 2 | 1 | FAILED |"
    assert lines[-1] == "- agent SIGKILL (61 s): a note"
