"""`verify --heartbeat`: per node, the age of its newest heartbeat in the archive.

Every node's rsyslog emits a heartbeat (immark) at a fixed interval; the agent files it under
the heartbeat tag (`audit.heartbeat` beside `audit.syslog`), so this scan reads only those
objects. A node whose newest heartbeat is older than the bound fails the check: its rsyslog,
its agent or the upload path stopped delivering. Nodes are the ones seen since `--since`
(and any named with `--nodes`, which fail when never seen).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from components.agent.monitoring import heartbeat_tag
from components.monitoring.settings import HeartbeatSettings
from tooling.archive import (
    Archive,
    ArchiveError,
    Target,
    UnreadableObjectError,
    decode_body,
    hour_prefixes,
    parse_date,
)

EXIT_OK, EXIT_STALE = 0, 1


@dataclass
class NodeBeat:
    """What the archive holds of one node's heartbeats."""

    count: int = 0
    newest: datetime | None = None
    newest_record: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, when: datetime, record: dict[str, Any]) -> None:
        self.count += 1
        if self.newest is None or when > self.newest:
            self.newest = when
            self.newest_record = record


def heartbeat_target(target: Target) -> Target:
    return dataclasses.replace(target, tag=heartbeat_tag(target.tag))


def is_heartbeat(record: dict[str, Any], message: str) -> bool:
    return str(record.get("message", "")).strip() == message


def node_of(record: dict[str, Any]) -> str:
    # `node` is the agent's (downward API); `host` is what rsyslog put in the message.
    return str(record.get("node") or record.get("host") or "?")


def scan_heartbeats(
    archive: Archive, since: datetime, now: datetime, message: str
) -> tuple[dict[str, NodeBeat], list[str]]:
    """Node -> its heartbeats since `since`; and the keys that could not be read."""
    target = heartbeat_target(archive.target)
    beats: dict[str, NodeBeat] = {}
    unreadable: list[str] = []
    scoped = Archive(target, archive.client)
    for key, _stored in scoped.list_new(hour_prefixes(target, since, now), since):
        try:
            records = decode_body(scoped.read(key))
        except (UnreadableObjectError, ArchiveError):
            unreadable.append(key)
            continue
        for record in records:
            when = parse_date(record.get(target.layout.date_key))
            if when is not None and when >= since and is_heartbeat(record, message):
                beats.setdefault(node_of(record), NodeBeat()).add(when, record)
    return beats, unreadable


def report(
    beats: dict[str, NodeBeat],
    expected: Sequence[str],
    now: datetime,
    max_age_s: float,
    out: TextIO,
) -> int:
    """The per-node table; EXIT_STALE when a node is stale or missing, or none was seen."""
    nodes = sorted(set(beats) | set(expected))
    rows = [("node", "heartbeats", "newest", "age s", "seq_instance/seq", "status")]
    stale: list[str] = []
    for node in nodes:
        beat = beats.get(node)
        if beat is None or beat.newest is None:
            rows.append((node, "0", "-", "-", "-", "MISSING"))
            stale.append(node)
            continue
        age = (now - beat.newest).total_seconds()
        record = beat.newest_record
        identity = f"{record.get('seq_instance', '-')}/{record.get('seq', '-')}"
        status = "ok" if age <= max_age_s else "STALE"
        if status != "ok":
            stale.append(node)
        rows.append(
            (
                node,
                str(beat.count),
                f"{beat.newest:%Y-%m-%dT%H:%M:%SZ}",
                f"{age:.0f}",
                identity,
                status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)), file=out
        )
    if not nodes:
        print("heartbeat: FAILED: no heartbeat from any node in the archive", file=out)
        return EXIT_STALE
    if stale:
        print(
            f"heartbeat: FAILED: {', '.join(stale)} older than {max_age_s:.0f}s or missing",
            file=out,
        )
        return EXIT_STALE
    print(
        f"heartbeat: OK, {len(nodes)} node(s), every newest heartbeat within {max_age_s:.0f}s",
        file=out,
    )
    return EXIT_OK


def default_max_age(target: Target, interval_s: int) -> int:
    """A heartbeat waits up to the upload timeout on the node, plus two intervals and a minute."""
    return target.upload_timeout_s + 2 * interval_s + 60


def stack_heartbeat(stack: str | None) -> HeartbeatSettings:
    """The stack's heartbeat settings (defaults without a stack or a readable stack file)."""
    if stack is None:
        return HeartbeatSettings()
    from components.config import ConfigError, load_stack_config
    from tooling.engine import StackFileError, load_stack_file

    try:
        raw, _ = load_stack_file(stack)
        return load_stack_config(raw, stack).monitoring.heartbeat
    except (StackFileError, ConfigError):
        return HeartbeatSettings()


def check(
    archive: Archive,
    since: datetime,
    now: datetime,
    settings: HeartbeatSettings,
    max_age_s: float | None,
    nodes: Sequence[str],
    out: TextIO,
) -> int:
    """Scan, print the table and return the exit code."""
    bound = (
        max_age_s
        if max_age_s is not None
        else default_max_age(archive.target, settings.interval_seconds)
    )
    beats, unreadable = scan_heartbeats(archive, since, now, settings.message)
    print(
        f"heartbeat: s3://{archive.target.bucket}/{heartbeat_target(archive.target).tag_prefix} "
        f"since {since:%Y-%m-%dT%H:%M:%SZ}, bound {bound:.0f}s",
        file=out,
    )
    for key in unreadable:
        print(f"warning: skipped unreadable object {key}", file=out)
    return report(beats, nodes, now, bound, out)
