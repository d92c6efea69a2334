"""`make faults` (python -m tooling.faults.table): the fault table for the current configs
(see tooling.faults.suite).

Exit 0 when no scenario with the configs as rendered lost an event; 1 otherwise; 2 when
fluent-bit or rsyslogd is missing. Rows that change a setting (to show what it did) only
inform.
"""

from __future__ import annotations

import sys

from tooling.agent import find_fluent_bit
from tooling.faults.rig import find_rsyslogd
from tooling.faults.suite import Result, RunSettings, main_args, render, run_scenario, scenarios


def main(argv: list[str] | None = None) -> int:
    args = main_args(argv)
    fluent_bit, rsyslogd = find_fluent_bit(), find_rsyslogd()
    if fluent_bit is None or rsyslogd is None:
        print(
            "faults: needs fluent-bit 5.1 (on PATH, FLUENT_BIT=/path, or "
            "../shared/fluent-bit/build.sh) and rsyslogd (apt-get install rsyslog)",
            file=sys.stderr,
        )
        return 2
    settings = RunSettings(fluent_bit, rsyslogd, args.rate, args.upload_timeout)
    chosen = [
        s
        for s in scenarios(args.outage, args.long_outage)
        if (not s.long or not args.short) and (not args.only or args.only in s.name)
    ]
    results: list[Result] = []
    for scenario in chosen:
        print(f"faults: {scenario.name} ...", file=sys.stderr, flush=True)
        result = run_scenario(scenario, settings, lambda line: print(line, file=sys.stderr))
        results.append(result)
        print(render([result]).splitlines()[2], file=sys.stderr, flush=True)
    print(
        f"fault table: {args.rate:.0f} events/s, S3 upload timeout {args.upload_timeout} s, "
        f"fluent-bit {fluent_bit}"
    )
    print(render(results), end="")
    as_rendered = [r for r, s in zip(results, chosen, strict=True) if not s.s3_overrides]
    return 0 if all(r.lost == 0 and r.verdict == "OK" for r in as_rendered) else 1


if __name__ == "__main__":
    sys.exit(main())
