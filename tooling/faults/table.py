"""The fault table as Markdown: one row per run, then each run's notes."""

from __future__ import annotations

from collections.abc import Iterable

from tooling.faults.run import Result

HEADER = ("scenario", "sent", "lost", "duplicates", "seq gaps", "instances", "verify")


def row(r: Result) -> str:
    cells = (r.scenario, f"{r.sent:,}", f"{r.lost:,}", f"{r.duplicates:,}", f"{r.seq_gaps:,}")
    return "| " + " | ".join((*cells, str(r.instances), r.verdict)) + " |"


def render(results: Iterable[Result]) -> str:
    results = list(results)
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    lines += [row(r) for r in results]
    notes = [f"- {r.scenario} ({r.seconds:.0f} s): {'; '.join(r.notes)}" for r in results]
    return "\n".join([*lines, "", *notes]) + "\n"
