"""tooling.completeness: ranges, gaps (lost, in flight, before the window), duplicates."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tooling.completeness import Ledger, Stream, event_identity, numbering, ranges, show_ranges

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def record(seq: Any, instance: Any = "i-1", node: str = "node-a", **extra: Any) -> dict[str, Any]:
    return {"date": "x", "message": f"m{seq}", "node": node, "seq_instance": instance, "seq": seq}


def ledger(seqs: list[int], ago: float = 600, instance: str = "i-1") -> Ledger:
    book = Ledger()
    for seq in seqs:
        book.add(record(seq, instance), NOW - timedelta(seconds=ago))
    return book


def test_ranges_and_their_text() -> None:
    assert ranges([5, 1, 2, 3, 3, 9, 10]) == [(1, 3), (5, 5), (9, 10)]
    assert show_ranges(ranges([1, 2, 3, 5])) == "1-3, 5"
    assert show_ranges(ranges(range(1, 30, 2))).endswith("+9 more")
    assert show_ranges([]) == "-"


def test_numbering_accepts_integer_and_digit_strings_only() -> None:
    assert numbering(record(7)) == (Stream("node-a", "i-1"), 7)
    assert numbering(record("7")) == (Stream("node-a", "i-1"), 7)
    for bad in (0, -1, "x", None, True, 1.5):
        assert numbering(record(bad)) is None
    assert numbering(record(1, instance="")) is None
    assert numbering({"message": "old archive"}) is None


def test_a_gap_older_than_the_allowance_is_lost() -> None:
    verdict = ledger([1, 2, 4, 5, 9]).verdict(NOW, in_flight_s=60, whole_instances=False)
    [report] = verdict.streams
    assert report.found == [(1, 2), (4, 5), (9, 9)]
    assert [(g.first, g.last) for g in report.gaps] == [(3, 3), (6, 8)]
    assert [g.size for _, g in verdict.lost] == [1, 3]
    assert not verdict.complete


def test_a_young_gap_may_be_in_flight() -> None:
    verdict = ledger([1, 2, 4], ago=10).verdict(NOW, in_flight_s=60, whole_instances=False)
    assert verdict.complete
    assert [(g.first, g.last) for _, g in verdict.in_flight] == [(3, 3)]


def test_duplicates_are_counted_not_gaps() -> None:
    verdict = ledger([1, 2, 2, 3, 3, 3]).verdict(NOW, 60, whole_instances=False)
    [report] = verdict.streams
    assert (report.records, report.events, report.duplicates) == (6, 3, 3)
    assert verdict.complete and report.gaps == []


def test_leading_gap_is_lost_only_for_whole_instances() -> None:
    book = ledger([5, 6])
    assert book.verdict(NOW, 60, whole_instances=False).complete
    assert [(g.first, g.last) for _, g in book.verdict(NOW, 60, False).outside] == [(1, 4)]
    assert not book.verdict(NOW, 60, whole_instances=True).complete


def test_instances_and_nodes_are_separate_streams() -> None:
    book = ledger([1, 2])
    for seq in (1, 2):  # a restarted counter starts again at 1: no gap, no duplicate
        book.add(record(seq, "i-2"), NOW)
        book.add(record(seq, "i-1", node="node-b"), NOW)
    verdict = book.verdict(NOW, 60, whole_instances=True)
    assert [str(r.stream) for r in verdict.streams] == ["node-a/i-1", "node-a/i-2", "node-b/i-1"]
    assert verdict.complete and verdict.duplicates == 0


def test_unnumbered_records_are_counted_never_gaps() -> None:
    book = Ledger()
    book.add({"message": "before numbering"}, NOW)
    book.add({"message": "before numbering, too"}, NOW)
    verdict = book.verdict(NOW, 60, whole_instances=True)
    assert verdict.unnumbered == 2 and verdict.streams == [] and verdict.complete


def test_event_identity_is_the_numbering_else_the_whole_record() -> None:
    assert event_identity(record(3)) == event_identity({**record(3), "message": "resent"})
    plain = {"date": "t", "message": "a"}
    assert event_identity(plain) == event_identity(dict(reversed(plain.items())))
    assert event_identity(plain) != event_identity({**plain, "message": "b"})
