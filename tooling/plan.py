"""`make plan`: the offline plan of a stack, written to build/<stack>/.

    python -m tooling.plan --stack dev        # one stack
    python -m tooling.plan --all              # every Pulumi.<stack>.yaml, archives first

A cluster stack's StackReference reads the outputs of its archive stack's plan: planned
earlier in the same run (--all), or planned first, in memory, for a single stack.

Exit codes: 0 planned, 1 a mandatory policy violation, 2 bad input (unknown stack,
invalid config). Errors are one line each, never a traceback (use --debug for one).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.archive.reference import ArchiveReferenceError
from components.common.names import PROJECT
from components.config import ConfigError
from tooling.artifacts import write_plan
from tooling.engine import (
    REPO_ROOT,
    StackFileError,
    load_stack_file,
    planning_order,
    run_stack,
    stack_names,
)
from tooling.policy_runner import (
    PolicyConfigError,
    PolicyPackError,
    PolicyReport,
    run_policy_pack,
)

EXIT_OK, EXIT_POLICY, EXIT_INPUT = 0, 1, 2
POLICY_CONFIG_DIR = REPO_ROOT / "policy" / "config"


@dataclass(frozen=True)
class PlanResult:
    stack: str
    out_dir: Path
    counts: dict[str, int]
    policy: PolicyReport
    outputs: Mapping[str, Any]


class PlanError(Exception):
    """A plan that cannot be made, with the one-line reason shown to the user."""


def plan_stack(
    stack: str,
    build_dir: Path,
    root: Path = REPO_ROOT,
    references: Mapping[str, Mapping[str, Any]] | None = None,
) -> PlanResult:
    known = stack_names(root)
    if stack not in known:
        raise PlanError(f"unknown stack {stack!r}; stacks: {', '.join(known)}")
    try:
        graph = run_stack(stack, root, references)
    except (ConfigError, StackFileError, ArchiveReferenceError) as error:
        raise PlanError(str(error)) from None
    config_path = policy_config_for(stack, root)
    try:
        report = run_policy_pack(graph, config_path)
    except (PolicyConfigError, PolicyPackError) as error:
        raise PlanError(_one_line(error)) from None
    out_dir = build_dir / stack
    counts = write_plan(graph, out_dir)
    (out_dir / "policy.txt").write_text(report.render(), encoding="utf-8")
    return PlanResult(
        stack=stack, out_dir=out_dir, counts=counts, policy=report, outputs=graph.stack_outputs
    )


def policy_config_for(stack: str, root: Path = REPO_ROOT) -> Path:
    """policy/config/<stack>.json, else the one of its kind and environment.

    A new cluster stack of an environment (prod-eu2) is held to that environment's rules
    (prod.json) without a file of its own; an archive stack to archive-<environment>.json.
    """
    own = POLICY_CONFIG_DIR / f"{stack}.json"
    if own.is_file():
        return own
    try:
        raw, _ = load_stack_file(stack, root)
    except StackFileError as error:
        raise PlanError(str(error)) from None
    environment = raw.get(f"{PROJECT}:environment", stack)
    kind = raw.get(f"{PROJECT}:stackKind")
    shared = POLICY_CONFIG_DIR / (
        f"archive-{environment}.json" if kind == "archive" else f"{environment}.json"
    )
    if shared.is_file():
        return shared
    raise PlanError(f"no policy config for stack {stack!r}: create {own}")


def summary(result: PlanResult) -> str:
    c = result.counts
    return (
        f"{result.stack}: {c['resources']} resources, {c['manifests']} Kubernetes manifests, "
        f"{c['documents']} policy documents, {c['configs']} daemon configs; policy: "
        f"{result.policy.summary()} -> {result.out_dir}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stack", default="dev", help="stack to plan (default: dev)")
    which.add_argument("--all", action="store_true", help="plan every stack")
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / "build")
    parser.add_argument(
        "--stacks-dir", type=Path, default=REPO_ROOT, help="where Pulumi.<stack>.yaml live"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--policy-config-path",
        action="store_true",
        help="print the policy config file of --stack (for `pulumi preview/up`) and exit",
    )
    parser.add_argument(
        "--order",
        action="store_true",
        help="print every stack in planning (and deploy) order, archives first, and exit",
    )
    args = parser.parse_args(argv)
    if args.policy_config_path:
        try:
            path = policy_config_for(args.stack, args.stacks_dir)
        except PlanError as error:
            print(f"plan {args.stack}: {error}", file=sys.stderr)
            return EXIT_INPUT
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)
        return EXIT_OK
    if args.order:
        print("\n".join(planning_order(stack_names(args.stacks_dir), args.stacks_dir)))
        return EXIT_OK
    try:
        stacks = planning_order(stack_names(args.stacks_dir), args.stacks_dir) if args.all else []
    except StackFileError as error:
        print(f"plan: {error}", file=sys.stderr)
        return EXIT_INPUT
    stacks = stacks or [args.stack]
    worst = EXIT_OK
    planned: dict[str, Mapping[str, Any]] = {}
    for stack in stacks:
        try:
            result = plan_stack(stack, args.build_dir, args.stacks_dir, planned)
            planned[stack] = result.outputs
        except PlanError as error:
            print(f"plan {stack}: {error}", file=sys.stderr)
            worst = max(worst, EXIT_INPUT)
            continue
        except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
            if args.debug:
                traceback.print_exc()
            print(f"plan {stack}: failed: {_one_line(error)} (rerun with --debug)", file=sys.stderr)
            worst = max(worst, EXIT_INPUT)
            continue
        print(summary(result))
        if result.policy.has_mandatory:
            for violation in result.policy.mandatory:
                print(f"plan {stack}: {violation.line().strip()}", file=sys.stderr)
            worst = max(worst, EXIT_POLICY)
    return worst


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
