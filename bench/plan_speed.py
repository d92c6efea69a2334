"""Benchmark (not a test): how long the offline plan takes, and how it grows.

1. each stack alone and all stacks together (`tooling.plan --all`), as `make plan` runs
   them: a fresh interpreter, the program under mocks, the policy pack, the files written;
2. dev with 1, 10, 50 Fluent Bit routes (the stack's S3 archive plus forward, Loki,
   OpenSearch and CloudWatch Logs routes in turn);
3. dev with 1, 10, 50 demo services, when the stack config takes a `demo` section.

Variants are stack files generated in a temporary directory (`--stacks-dir`). Wall time
per case: the minimum and median of --repeat runs.

    .venv/bin/python -m bench.plan_speed [--repeat 3] [--sizes 1,10,50]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tooling.engine import REPO_ROOT, stack_names

PROJECT = "container-audit-log"
TARGET_ALL_S = 10.0
RUN_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Row:
    case: str
    resources: str
    times: tuple[float, ...]
    cpu: tuple[float, ...] = ()
    note: str = ""

    def cells(self) -> list[str]:
        if not self.times:
            return [self.case, self.resources, "-", "-", "-", self.note]
        best, median = min(self.times), statistics.median(self.times)
        cpu = statistics.median(self.cpu)
        return [self.case, self.resources, f"{best:.2f}", f"{median:.2f}", f"{cpu:.2f}", self.note]


@dataclass(frozen=True)
class Timing:
    times: tuple[float, ...]
    cpu: tuple[float, ...]
    counts: str
    error: str


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_plan(args: list[str], stacks_dir: Path, repeat: int) -> Timing:
    """Time `python -m tooling.plan ARGS`: wall and CPU seconds (the plan and its policy
    pack process), resource counts, or the error line of a plan that failed."""
    times: list[float] = []
    cpu: list[float] = []
    counts = ""
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="plan-speed-") as build:
            argv = [sys.executable, "-m", "tooling.plan", *args]
            argv += ["--stacks-dir", str(stacks_dir), "--build-dir", build]
            start, start_cpu = time.perf_counter(), _children_cpu()
            result = subprocess.run(
                argv,
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
                check=False,
            )
            elapsed, used = time.perf_counter() - start, _children_cpu() - start_cpu
        found = re.findall(r"^([\w-]+): (\d+) resources", result.stdout, flags=re.MULTILINE)
        if result.returncode == 2 or not found:  # 1 is a mandatory violation: still planned
            lines = result.stderr.strip().splitlines()
            return Timing((), (), "", lines[-1] if lines else f"exit {result.returncode}")
        times.append(elapsed)
        cpu.append(used)
        counts = "+".join(n for _, n in found)
    return Timing(tuple(times), tuple(cpu), counts, "")


def stack_document(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def extra_route(index: int, region: str) -> dict[str, Any]:
    name = f"route-{index}"
    kinds: list[dict[str, Any]] = [
        {"type": "forward", "host": f"aggregator-{index}.logging.svc.cluster.local"},
        {"type": "loki", "host": f"loki-{index}.logging.svc.cluster.local"},
        {"type": "opensearch", "host": f"search-{index}.example.internal", "index": "audit"},
        {"type": "cloudwatch_logs", "region": region, "logGroupName": f"/audit/route-{index}"},
    ]
    return {"name": name, **kinds[index % len(kinds)]}


def with_routes(document: dict[str, Any], count: int) -> dict[str, Any]:
    config = document["config"]
    agent = dict(config.get(f"{PROJECT}:agent") or {})
    region = config.get("aws:region", "eu-west-1")
    archive = next(r for r in agent["routes"] if r["type"] == "s3")
    agent["routes"] = [archive, *(extra_route(i, region) for i in range(1, count))]
    return {**document, "config": {**config, f"{PROJECT}:agent": agent}}


def with_demo(document: dict[str, Any], count: int) -> dict[str, Any]:
    services = [
        {"name": f"demo-{i}", "commands": [["id"], ["cat", "/etc/hostname"]]} for i in range(count)
    ]
    demo = {"enabled": True, "services": services}
    return {**document, "config": {**document["config"], f"{PROJECT}:demo": demo}}


def variant_rows(
    label: str,
    make: Callable[[dict[str, Any], int], dict[str, Any]],
    sizes: list[int],
    repeat: int,
) -> list[Row]:
    rows: list[Row] = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="plan-speed-stacks-") as folder:
            stacks = Path(folder)
            document = make(stack_document("dev"), size)
            (stacks / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
            timing = run_plan(["--stack", "dev"], stacks, repeat)
        rows.append(row(f"dev, {size} {label}", timing))
    return rows


def row(case: str, timing: Timing, verdict: str = "") -> Row:
    note = timing.error[:90] if timing.error else verdict
    return Row(case, timing.counts or "-", timing.times, timing.cpu, note)


def print_table(rows: list[Row]) -> None:
    header = ["case", "resources", "wall min s", "wall median s", "cpu s", "note"]
    table = [header, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--sizes", default="1,10,50", help="route and demo service counts")
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]

    # Other work on the machine stretches wall time; CPU seconds stay comparable.
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average at the start: {load}", flush=True)
    rows: list[Row] = []
    for stack in stack_names():
        rows.append(row(stack, run_plan(["--stack", stack], REPO_ROOT, args.repeat)))
    timing = run_plan(["--all"], REPO_ROOT, args.repeat)
    verdict = f"target <= {TARGET_ALL_S:.0f} s: " + (
        "met" if timing.times and min(timing.times) <= TARGET_ALL_S else "MISSED"
    )
    rows.append(row("all stacks (--all)", timing, verdict))
    rows += variant_rows("routes", with_routes, sizes, args.repeat)
    rows += variant_rows("demo services", with_demo, sizes, args.repeat)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
