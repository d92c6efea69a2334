"""`make faults` = `python -m tooling.faults`: the fault table for the current configs,
with the real Fluent Bit, rsyslogd and moto (see tooling.faults.run), each scenario on a
rig of its own.

Exit 0 when no scenario with the configs as rendered lost an event; 1 otherwise; 2 when
fluent-bit or rsyslogd is missing. Rows that change a setting (to show what it did) and the
row that shows what a plain TCP sender loses only inform.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tooling.agent import find_fluent_bit
from tooling.faults.rig import find_rsyslogd
from tooling.faults.run import Result, Settings, run_fresh
from tooling.faults.scenarios import scenarios
from tooling.faults.table import render, row


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tooling.faults", description=__doc__)
    parser.add_argument("--short", action="store_true", help="leave out the long outage")
    parser.add_argument(
        "--only", action="append", help="the scenarios whose name contains this (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="print the scenario names")
    parser.add_argument("--rate", type=float, default=300.0, help="events per second")
    parser.add_argument("--upload-timeout", type=int, default=5, help="S3 upload timeout (s)")
    parser.add_argument("--down", type=float, default=5.0, help="a killed daemon's down time")
    parser.add_argument("--outage", type=float, default=60.0, help="short outage (s)")
    parser.add_argument("--long-outage", type=float, default=600.0, help="long outage (s)")
    parser.add_argument(
        "--node", type=json.loads, default={}, help='nodeSyslog overrides: {"queueSize": 500}'
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    chosen = [
        s
        for s in scenarios(args.outage, args.long_outage)
        if not (s.long and args.short) and (not args.only or any(o in s.name for o in args.only))
    ]
    if args.list:
        print("\n".join(s.name for s in chosen))
        return 0
    fluent_bit, rsyslogd = find_fluent_bit(), find_rsyslogd()
    if fluent_bit is None or rsyslogd is None:
        print(
            "faults: needs fluent-bit 5.1 (on PATH, FLUENT_BIT=/path, or "
            "../shared/fluent-bit/build.sh) and rsyslogd (apt-get install rsyslog)",
            file=sys.stderr,
        )
        return 2
    settings = Settings(
        fluent_bit,
        rsyslogd,
        args.rate,
        args.upload_timeout,
        args.down,
        node_overrides=tuple(args.node.items()),
    )
    results: list[Result] = []
    for scenario in chosen:
        print(f"faults: {scenario.name} ...", file=sys.stderr, flush=True)
        result = run_fresh(scenario, settings, lambda line: print(line, file=sys.stderr))
        results.append(result)
        print(row(result), file=sys.stderr, flush=True)
    print(
        f"fault table: {args.rate:.0f} events/s, S3 upload timeout {args.upload_timeout} s, "
        f"killed daemons down {args.down:.0f} s, fluent-bit {fluent_bit}"
    )
    print(render(results), end="")
    as_rendered = [
        r for r, s in zip(results, chosen, strict=True) if s.judged and not s.s3_overrides
    ]
    return 0 if all(r.lost == 0 and r.verdict == "OK" for r in as_rendered) else 1


if __name__ == "__main__":
    sys.exit(main())
