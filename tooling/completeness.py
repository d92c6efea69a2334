"""Is the archive complete? Per node and counter instance: the sequence numbers found,
the missing ranges (gaps) and the duplicates.

Every record leaves the node numbered: `node`, `seq_instance` (a new value whenever the
node's counter restarts) and `seq` (1, 2, 3, ... per instance). A missing number is a
lost record, unless it is still on its way: a record reaches S3 within the upload timeout
of its time, so a gap younger than that is reported as possibly in flight, not as lost.
Duplicates are expected (delivery is at least once) and only counted. Records without the
fields (an archive written before numbering) are counted as unnumbered, never as gaps.

Pure: no S3, no clock of its own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

NODE_KEY, INSTANCE_KEY, SEQ_KEY = "node", "seq_instance", "seq"
_SHOWN_RANGES = 6


@dataclass(frozen=True, order=True)
class Stream:
    """One node's counter between two restarts."""

    node: str
    instance: str

    def __str__(self) -> str:
        return f"{self.node}/{self.instance}"


def numbering(record: Mapping[str, Any]) -> tuple[Stream, int] | None:
    """(stream, seq) of a numbered record; None when it carries no (usable) numbering."""
    seq, instance = record.get(SEQ_KEY), record.get(INSTANCE_KEY)
    if isinstance(seq, str) and seq.isdigit():
        seq = int(seq)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return None
    if not isinstance(instance, str | int) or isinstance(instance, bool) or instance == "":
        return None
    return Stream(str(record.get(NODE_KEY, "?")), str(instance)), seq


def event_identity(record: Mapping[str, Any]) -> Hashable:
    """What makes two records one event: its numbering, else its whole content.

    A record delivered twice is byte-for-byte the same record (same time, same fields);
    two events are never, since their times or texts differ.
    """
    numbered = numbering(record)
    if numbered is not None:
        return numbered
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def ranges(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted runs of consecutive numbers: [1, 2, 3, 5] -> [(1, 3), (5, 5)]."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def show_ranges(runs: Sequence[tuple[int, int]]) -> str:
    """'1-3, 5' (the first few, then '+N more')."""
    shown = [str(a) if a == b else f"{a}-{b}" for a, b in runs[:_SHOWN_RANGES]]
    more = len(runs) - _SHOWN_RANGES
    return ", ".join(shown) + (f", +{more} more" if more > 0 else "") if shown else "-"


@dataclass(frozen=True)
class Gap:
    first: int
    last: int
    # Seconds since the time of the first record found after the gap (the missing ones are
    # older); None when that record has no time.
    age_s: float | None
    # 1..k-1 before the first record found: outside the scanned window, or lost.
    leading: bool = False

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def text(self) -> str:
        span = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        return span + (f" ({self.age_s:.0f}s old)" if self.age_s is not None else "")


@dataclass
class StreamRecords:
    copies: Counter[int] = field(default_factory=Counter)
    times: dict[int, datetime] = field(default_factory=dict)

    def add(self, seq: int, when: datetime | None) -> None:
        self.copies[seq] += 1
        if when is not None:
            self.times.setdefault(seq, when)


@dataclass(frozen=True)
class StreamReport:
    stream: Stream
    records: int
    events: int
    found: list[tuple[int, int]]
    gaps: list[Gap]

    @property
    def duplicates(self) -> int:
        return self.records - self.events


@dataclass(frozen=True)
class Verdict:
    streams: list[StreamReport]
    unnumbered: int
    lost: list[tuple[Stream, Gap]]  # gaps older than the in-flight allowance
    in_flight: list[tuple[Stream, Gap]]  # gaps that may still arrive
    outside: list[tuple[Stream, Gap]]  # leading gaps not counted as lost

    @property
    def complete(self) -> bool:
        return not self.lost

    @property
    def duplicates(self) -> int:
        return sum(s.duplicates for s in self.streams)


@dataclass
class Ledger:
    """Every record seen, by stream and seq."""

    streams: dict[Stream, StreamRecords] = field(default_factory=dict)
    unnumbered: int = 0

    def add(self, record: Mapping[str, Any], when: datetime | None) -> None:
        numbered = numbering(record)
        if numbered is None:
            self.unnumbered += 1
            return
        stream, seq = numbered
        self.streams.setdefault(stream, StreamRecords()).add(seq, when)

    def verdict(self, now: datetime, in_flight_s: float, whole_instances: bool) -> Verdict:
        """Gaps older than `in_flight_s` are lost. `whole_instances`: every instance began
        inside the scanned window, so a missing 1..k-1 is lost too."""
        reports: list[StreamReport] = []
        lost: list[tuple[Stream, Gap]] = []
        in_flight: list[tuple[Stream, Gap]] = []
        outside: list[tuple[Stream, Gap]] = []
        for stream in sorted(self.streams):
            seen = self.streams[stream]
            found = ranges(seen.copies)
            gaps = []
            previous_end = 0
            for start, end in found:
                if start > previous_end + 1:
                    after = seen.times.get(start)
                    age = (now - after).total_seconds() if after is not None else None
                    gaps.append(Gap(previous_end + 1, start - 1, age, leading=previous_end == 0))
                previous_end = end
            for gap in gaps:
                if gap.leading and not whole_instances:
                    outside.append((stream, gap))
                elif gap.age_s is not None and gap.age_s < in_flight_s:
                    in_flight.append((stream, gap))
                else:
                    lost.append((stream, gap))
            reports.append(
                StreamReport(
                    stream=stream,
                    records=sum(seen.copies.values()),
                    events=len(seen.copies),
                    found=found,
                    gaps=gaps,
                )
            )
        return Verdict(reports, self.unnumbered, lost, in_flight, outside)


def render_verdict(verdict: Verdict, in_flight_s: float) -> str:
    """The per-stream table and what it means, for people."""
    lines = ["completeness per node and seq_instance:"]
    rows = [("node", "seq_instance", "events", "records", "duplicates", "found", "missing")]
    for report in verdict.streams:
        rows.append(
            (
                report.stream.node,
                report.stream.instance,
                str(report.events),
                str(report.records),
                str(report.duplicates),
                show_ranges(report.found),
                ", ".join(g.text() for g in report.gaps) or "-",
            )
        )
    if len(rows) > 1:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines += [
            "  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows
        ]
    else:
        lines.append("  no numbered records")
    if verdict.unnumbered:
        lines.append(
            f"  {verdict.unnumbered} record(s) carry no {SEQ_KEY}/{INSTANCE_KEY} (written before "
            "numbering): counted, not checked for gaps"
        )
    for stream, gap in verdict.outside:
        lines.append(
            f"  {stream}: {gap.text()} precede the first record found: older than the scanned "
            "window (--since), or lost; --whole-instances counts them as lost"
        )
    for stream, gap in verdict.in_flight:
        lines.append(
            f"  {stream}: {gap.text()} younger than the upload timeout ({in_flight_s:.0f}s): "
            "may still be in flight"
        )
    if verdict.duplicates:
        lines.append(
            f"  {verdict.duplicates} duplicate record(s): expected with at-least-once delivery; "
            "queries keep one record per (node, seq_instance, seq)"
        )
    if verdict.lost:
        missing = sum(gap.size for _, gap in verdict.lost)
        where = "; ".join(f"{stream} {gap.text()}" for stream, gap in verdict.lost[:_SHOWN_RANGES])
        lines.append(f"  LOST: {missing} record(s) in {len(verdict.lost)} gap(s): {where}")
    return "\n".join(lines) + "\n"
