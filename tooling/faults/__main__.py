"""`python -m tooling.faults`: the node-side fault table with the real daemons.

Streams `--events` distinct events at `--rate` per scenario (each on a fresh pipeline)
and prints lost / duplicates / instances / seq gaps as a Markdown table. `--hop spool`
measures the alternative hop (tooling.faults.spool_hop) instead of the rendered one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tooling.faults.count import table
from tooling.faults.pipeline import find_agent
from tooling.faults.scenarios import SCENARIOS, run_scenario


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.faults", description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--hop", choices=("tcp", "spool"), default="tcp")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument(
        "--node",
        type=json.loads,
        default={},
        help='nodeSyslog overrides, JSON: {"queueMode": "disk"}',
    )
    args = parser.parse_args(argv)
    agent = find_agent()
    if agent is None:
        print("no fluent-bit: put 5.1.x on PATH or set FLUENT_BIT", file=sys.stderr)
        return 2
    outcomes = []
    for name in args.scenario or list(SCENARIOS):
        with tempfile.TemporaryDirectory(prefix="faults-") as root:
            outcome = run_scenario(
                name,
                Path(root),
                agent,
                events=args.events,
                rate=args.rate,
                hop=args.hop,
                node_overrides=args.node,
            )
        print(f"faults: {outcome}", file=sys.stderr, flush=True)
        outcomes.append(outcome)
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
