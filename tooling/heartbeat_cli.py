"""The `--heartbeat` flags of `make verify` and the call into tooling.heartbeat."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TextIO

from tooling.archive import Archive, ArchiveError
from tooling.heartbeat import check, stack_heartbeat


class HeartbeatInputError(Exception):
    """A bad --nodes or --max-age value, or an archive that cannot be read; one line."""


def heartbeat_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("heartbeat (--heartbeat)")
    group.add_argument(
        "--heartbeat",
        action="store_true",
        help="report each node's newest heartbeat and fail when one is older than --max-age",
    )
    group.add_argument(
        "--max-age",
        type=float,
        help="seconds (default: upload timeout + 2 heartbeat intervals + 60)",
    )
    group.add_argument("--nodes", help="comma separated nodes that must have a heartbeat")


def run_heartbeat(
    args: argparse.Namespace, archive: Archive, since: datetime, now: datetime, out: TextIO
) -> int:
    if args.max_age is not None and args.max_age <= 0:
        raise HeartbeatInputError(f"--max-age {args.max_age} must be a positive number of seconds")
    nodes = [n.strip() for n in (args.nodes or "").split(",") if n.strip()]
    try:
        return check(archive, since, now, stack_heartbeat(args.stack), args.max_age, nodes, out)
    except ArchiveError as error:
        raise HeartbeatInputError(str(error)) from None
