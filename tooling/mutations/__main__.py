"""`make policy-report`: break every promise, show what the pack caught, and count.

python -m tooling.mutations               # the table and the counts; exit 1 on a miss
python -m tooling.mutations --promises    # the promise table of policy/README.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tooling.engine import stack_names
from tooling.mutations.catalog import MUTATIONS
from tooling.mutations.promises import PROMISES
from tooling.mutations.run import POLICY_CONFIG_DIR, Outcome, run_mutations

STACKS = ("dev", "staging", "prod", "local")


def level(stack: str, policy: str, config_dir: Path = POLICY_CONFIG_DIR) -> str:
    """The policy's enforcement level in a stack, as the engine resolves it from the file."""
    raw = json.loads((config_dir / f"{stack}.json").read_text(encoding="utf-8"))
    entry = raw.get(policy)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and "enforcementLevel" in entry:
        return str(entry["enforcementLevel"])
    return str(raw.get("all", "advisory"))


def promise_table(config_dir: Path = POLICY_CONFIG_DIR) -> str:
    """The markdown promise table: promise, its policies, level per stack, mutations."""
    mutations = {p.id: sum(1 for m in MUTATIONS if m.promise == p.id) for p in PROMISES}
    lines = [
        "| Promise | Policies | " + " | ".join(STACKS) + " | Mutations |",
        "| --- | --- | " + " | ".join("---" for _ in STACKS) + " | --- |",
    ]
    for promise in PROMISES:
        levels = [
            "/".join(sorted({level(stack, p, config_dir) for p in promise.policies}))
            for stack in STACKS
        ]
        policies = ", ".join(f"`{p}`" for p in promise.policies)
        lines.append(
            f"| **{promise.id}**: {promise.text} | {policies} | "
            + " | ".join(levels)
            + f" | {mutations[promise.id]} |"
        )
    return "\n".join(lines) + "\n"


def report(outcomes: Sequence[Outcome]) -> str:
    width = max(len(o.mutation.id) for o in outcomes)
    lines = [f"{'stack':<8} {'mutation':<{width}}  result  caught by"]
    for outcome in sorted(outcomes, key=lambda o: (o.mutation.promise, o.mutation.id)):
        m = outcome.mutation
        verdict = "ok" if outcome.as_named else "MISS"
        caught = ", ".join(sorted(outcome.caught)) or "(nothing)"
        line = f"{m.stack:<8} {m.id:<{width}}  {verdict:<6}  {caught}"
        if not outcome.as_named:
            line += f"  (expected: {', '.join(sorted(m.expected))})"
        lines.append(line)
    exact = sum(1 for o in outcomes if o.as_named)
    promised = {o.mutation.promise for o in outcomes}
    lines += [
        "",
        f"{len(promised)} promises, {len(outcomes)} mutations, {exact} caught by exactly "
        f"the policies they name, {len(outcomes) - exact} missed",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make policy-report", description=__doc__)
    parser.add_argument("--promises", action="store_true", help="print the promise table")
    args = parser.parse_args(argv)
    if args.promises:
        sys.stdout.write(promise_table())
        return 0
    known = set(stack_names())
    outcomes = run_mutations(m for m in MUTATIONS if m.stack in known)
    sys.stdout.write(report(outcomes))
    return 0 if all(o.as_named for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
