"""What a fault run delivered: lost and duplicated events, and what the record numbers
(seq per seq_instance) show. Pure: records in, counts out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from signal import SIGTERM
from typing import Any

from components.render.rsyslog_numbering import SEQ_FIELD, SEQ_INSTANCE_FIELD
from tooling.faults.load import event_index


@dataclass(frozen=True)
class Outcome:
    """One run: `sent` distinct events, how many never reached the archive (`lost`) and how
    many extra copies did (`duplicates`). `seq_gaps` are numbers missing inside the range
    each instance delivered: records lost after node syslog numbered them."""

    scenario: str
    sent: int
    delivered: int
    lost: int
    duplicates: int
    instances: int
    seq_gaps: int
    seq_duplicates: int
    unnumbered: int
    # Daemons stopped with SIGTERM that did not exit cleanly (code != 0).
    unclean_stops: int = 0

    def row(self) -> list[str]:
        return [
            self.scenario,
            f"{self.sent:,}",
            f"{self.lost:,}",
            f"{self.duplicates:,}",
            f"{self.instances}",
            f"{self.seq_gaps:,}",
        ]


HEADER = ["scenario", "sent", "lost", "duplicates", "instances", "seq gaps"]


def count(
    scenario: str,
    run: str,
    sent: int,
    records: Iterable[Mapping[str, Any]],
    exits: Iterable[tuple[str, int, int | None]] = (),
) -> Outcome:
    """Counts over the records of `run` (other streams' records are left out)."""
    events: Counter[int] = Counter()
    numbers: dict[str, Counter[int]] = {}
    unnumbered = 0
    for record in records:
        index = event_index(str(record.get("message", "")), run)
        if index is None or index >= sent:
            continue  # another stream's record, or the marker sent after the stream
        events[index] += 1
        seq, instance = record.get(SEQ_FIELD), record.get(SEQ_INSTANCE_FIELD)
        if not isinstance(seq, int) or not isinstance(instance, str):
            unnumbered += 1
            continue
        numbers.setdefault(instance, Counter())[seq] += 1
    # Inside each instance's range in this stream; a loss at the very end of an instance
    # (its last records) is no gap: nothing numbered after it arrived.
    gaps = sum(max(seen) - min(seen) + 1 - len(seen) for seen in numbers.values())
    return Outcome(
        scenario=scenario,
        sent=sent,
        delivered=len(events),
        lost=sent - len(events),
        duplicates=sum(events.values()) - len(events),
        instances=len(numbers),
        seq_gaps=gaps,
        seq_duplicates=sum(sum(c.values()) - len(c) for c in numbers.values()),
        unnumbered=unnumbered,
        unclean_stops=sum(1 for _, signum, code in exits if signum == SIGTERM and code != 0),
    )


def table(outcomes: Iterable[Outcome]) -> str:
    """A Markdown table of outcomes."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    lines += ["| " + " | ".join(o.row()) + " |" for o in outcomes]
    return "\n".join(lines)
