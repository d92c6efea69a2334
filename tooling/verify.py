"""`make verify`: prove that the demo's audit events reached the S3 archive.

    python -m tooling.verify --stack dev
    python -m tooling.verify --bucket B --prefix audit/local/ --region us-east-1 \\
        --endpoint-url http://127.0.0.1:9000 --run-id local-demo --services service-1,service-2

Where to look comes from the flags (or AUDIT_BUCKET, AUDIT_PREFIX, AWS_REGION,
AWS_ENDPOINT_URL, AUDIT_RUN_ID, AUDIT_SERVICES), then from `pulumi stack output` when a
`pulumi` binary is on PATH, then from Pulumi.<stack>.yaml. How objects are named and what
they hold comes from the stack's S3 route (S3Route.layout), as the agent writes them.

Counts distinct events, not records: a record delivered twice is one event and one
duplicate. Checks completeness per node and seq_instance (tooling.completeness): the seq
ranges found, the gaps, the duplicates; a gap older than the upload timeout is a loss, a
younger one may still be in flight.

Exit codes: 0 every expected service delivered within --timeout and no gap older than the
upload timeout; 1 some did not, or records were lost; 2 bad input or an archive that cannot
be read (one line, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from pydantic import ValidationError

from components.agent.routes import S3Route, parse_duration
from components.agent.settings import AgentSettings
from components.demo.render import DemoSettings
from tooling.archive import (
    Archive,
    ArchiveError,
    Scan,
    ServiceStats,
    Target,
    parse_date,
    percentile,
    scan_once,
)
from tooling.completeness import Verdict, render_verdict
from tooling.heartbeat_cli import HeartbeatInputError, heartbeat_flags, run_heartbeat

EXIT_OK, EXIT_MISSING, EXIT_INPUT = 0, 1, 2
_RELATIVE = re.compile(r"^(\d+)([smhd])$")


class VerifyError(Exception):
    """Input or archive problem, shown as one line."""


# --- where to look ---------------------------------------------------------------------


@dataclass(frozen=True)
class StackDefaults:
    """What the stack file says, when there is one."""

    route: S3Route
    tag: str
    region: str | None = None
    log_prefix: str | None = None
    bucket: str | None = None
    run_id: str | None = None
    services: tuple[str, ...] = ()


def _default_tag() -> str:
    return str(AgentSettings.model_fields["tag"].default)


def stack_defaults(stack: str | None, route_name: str | None = None) -> StackDefaults:
    """The stack's S3 route, tag, region, prefix and demo settings from Pulumi.<stack>.yaml."""
    demo = DemoSettings()
    if stack is None:
        return StackDefaults(
            route=S3Route(name=route_name or "audit-archive"),
            tag=_default_tag(),
            services=tuple(demo.service_names),
        )
    from components.config import ConfigError, load_stack_config
    from tooling.engine import StackFileError, load_stack_file

    try:
        raw, _ = load_stack_file(stack)
        cfg = load_stack_config(raw, stack)
    except (StackFileError, ConfigError) as error:
        raise VerifyError(str(error).replace("\n", "; ")) from None
    routes = cfg.agent.s3_routes
    if route_name is not None:
        routes = [r for r in routes if r.name == route_name]
    if not routes:
        which = f"named {route_name!r} " if route_name else ""
        raise VerifyError(f"stack {stack!r} has no S3 route {which}in its agent routes")
    configured = getattr(cfg, "demo", None)
    if isinstance(configured, DemoSettings):
        demo = configured
    return StackDefaults(
        route=routes[0],
        tag=cfg.agent.tag,
        region=cfg.region,
        log_prefix=cfg.log_prefix,
        bucket=cfg.bucket.name,
        run_id=demo.effective_run_id(stack),
        services=tuple(demo.service_names),
    )


def pulumi_outputs(stack: str, runner: Callable[..., Any] = subprocess.run) -> dict[str, Any]:
    """`pulumi stack output --json` of `stack`; {} when no pulumi binary is on PATH."""
    if shutil.which("pulumi") is None:
        return {}
    try:
        done = runner(
            ["pulumi", "stack", "output", "--json", "--stack", stack],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise VerifyError(f"`pulumi stack output` failed: {error}; pass --bucket instead") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout or "").strip().splitlines()
        reason = last[-1] if last else f"exit {done.returncode}"
        raise VerifyError(f"`pulumi stack output --stack {stack}` failed: {reason}")
    try:
        outputs = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise VerifyError("`pulumi stack output --json` did not print JSON") from None
    return outputs if isinstance(outputs, dict) else {}


def _services(value: Any) -> dict[str, int]:
    """Service -> records expected: 'a,b' (at least one each) or 'a=13,b=8'."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return {}
    expected: dict[str, int] = {}
    for item in (str(i).strip() for i in items):
        name, _, count = item.partition("=")
        if not name:
            continue
        if count and not count.isdigit():
            raise VerifyError(f"--services entry {item!r}: the count after '=' must be a number")
        expected[name] = int(count) if count else 0
    return expected


def resolve_target(
    args: argparse.Namespace, outputs: Mapping[str, Any], defaults: StackDefaults
) -> Target:
    """Flags first, then stack outputs, then the stack file."""
    # A route with a bucket of its own does not write to the stack's audit bucket.
    bucket = args.bucket or defaults.route.bucket or outputs.get("bucketName") or defaults.bucket
    if not bucket:
        raise VerifyError(
            "no bucket: pass --bucket (or AUDIT_BUCKET), or run where `pulumi stack output` "
            "works for the stack"
        )
    region = args.region or outputs.get("region") or defaults.route.region or defaults.region
    if not region:
        raise VerifyError("no region: pass --region (or AWS_REGION)")
    run_id = args.run_id or outputs.get("demoRunId") or defaults.run_id
    if not run_id:
        raise VerifyError("no run id: pass --run-id (the demo's runId) or --stack")
    expected = _services(args.services) or _services(outputs.get("demoServices"))
    services = tuple(expected) or defaults.services
    if not services:
        raise VerifyError("no services to look for: pass --services service-1,service-2")
    log_prefix = outputs.get("logPrefix") or defaults.log_prefix or "audit/"
    try:
        data = defaults.route.resolved(str(bucket), str(region), str(log_prefix)).model_dump()
        if args.prefix is not None:
            data["key_prefix"] = args.prefix.strip("/") or None
        if args.bucket:
            data["bucket"] = args.bucket
        route = S3Route.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        names = {"bucket": "bucket", "key_prefix": "--prefix", "region": "region"}
        key = names.get(str(first["loc"][0]) if first["loc"] else "", "route setting")
        raise VerifyError(
            f"{key} {first['input']!r} is not valid for an S3 route: "
            f"{first['msg'].removeprefix('Value error, ')}"
        ) from None
    return Target(
        bucket=str(route.bucket),
        region=str(region),
        endpoint_url=args.endpoint_url or defaults.route.endpoint,
        layout=route.layout,
        tag=defaults.tag,
        run_id=str(run_id),
        services=services,
        upload_timeout_s=parse_duration(route.upload_timeout),
        expected=expected,
    )


# --- report ----------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z" if value else "-"


def _seconds(values: Sequence[float], pct: float) -> str:
    return f"{percentile(values, pct):.1f}s" if values else "-"


def render_table(scan: Scan) -> str:
    rows = [
        ("service", "events", "first event", "last event", "latency p50", "latency p99", "dups")
    ]
    names = list(scan.target.services)
    names += sorted(s for s in scan.stats if s not in names)
    for name in names:
        stats = scan.stats.get(name, ServiceStats())
        rows.append(
            (
                name if name in scan.target.services else f"{name} (extra)",
                str(stats.distinct),
                _when(stats.first),
                _when(stats.last),
                _seconds(stats.latencies, 50),
                _seconds(stats.latencies, 99),
                str(stats.duplicates),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i in (0, 2, 3) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _summary(scan: Scan) -> str:
    kib = scan.size / 1024
    return (
        f"{scan.objects} object(s), {kib:.1f} KiB, {scan.records} record(s) "
        f"({scan.other_runs} not of this run) since {_when(scan.since)}"
    )


def diagnose(archive: Archive, scan: Scan, missing: Sequence[str]) -> str:
    """Why nothing (or not everything) was found, in one line."""
    target = scan.target
    where = f"s3://{target.bucket}/{target.tag_prefix}"
    run = f"run_id={target.run_id}"
    unreadable = ""
    if scan.unreadable:
        key, reason = next(iter(sorted(scan.unreadable.items())))
        more = f" (+{len(scan.unreadable) - 1} more)" if len(scan.unreadable) > 1 else ""
        unreadable = f"; unreadable object {key}: {reason}{more}"
    if scan.objects == 0 and not scan.unreadable:
        if not archive.has_any(target.layout.key_prefix):
            present = archive.top_level()
            if not present:
                return f"s3://{target.bucket} is empty: the agent has delivered nothing yet"
            shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            return (
                f"no objects under s3://{target.bucket}/{target.layout.key_prefix} (wrong "
                f"--prefix?); the bucket has: {shown}"
            )
        return f"no objects under {where} written since {_when(scan.since)}"
    return f"not delivered with {run}: {', '.join(missing)} (in {where}){unreadable}"


# --- CLI -------------------------------------------------------------------------------


def parse_since(value: str, now: datetime) -> datetime:
    """'30m', '2h', '1d' ago, or an ISO 8601 time (UTC when it has no zone)."""
    match = _RELATIVE.fullmatch(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        return now - timedelta(seconds=seconds)
    parsed = parse_date(value.strip())
    if parsed is None:
        raise VerifyError(f"--since {value!r} is neither a duration like 30m nor an ISO 8601 time")
    return parsed


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m tooling.verify", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--stack", default=env("STACK"), help="stack whose config and outputs to use"
    )
    parser.add_argument("--route", help="S3 route name (default: the stack's first S3 route)")
    parser.add_argument("--bucket", default=env("AUDIT_BUCKET"))
    parser.add_argument("--prefix", default=env("AUDIT_PREFIX"), help="key prefix, e.g. audit/dev/")
    parser.add_argument("--region", default=env("AWS_REGION") or env("AWS_DEFAULT_REGION"))
    parser.add_argument(
        "--endpoint-url", default=env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL")
    )
    parser.add_argument("--run-id", default=env("AUDIT_RUN_ID"))
    parser.add_argument(
        "--services",
        default=env("AUDIT_SERVICES"),
        help="comma separated; name=N expects at least N records of that service",
    )
    parser.add_argument("--since", default="30m", help="30m, 2h, 1d ago or ISO 8601 (default 30m)")
    parser.add_argument(
        "--timeout", type=float, help="seconds to wait (default: the route's upload timeout + 2m)"
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls")
    parser.add_argument("--min-records", type=int, default=1, help="per service (default 1)")
    parser.add_argument("--no-pulumi", action="store_true", help="do not ask the pulumi CLI")
    parser.add_argument(
        "--in-flight",
        type=float,
        help="seconds a gap may still be in flight (default: the route's upload timeout)",
    )
    parser.add_argument(
        "--whole-instances",
        action="store_true",
        help="every seq_instance began inside --since: a missing 1..k-1 is lost too",
    )
    heartbeat_flags(parser)
    return parser


def verify(
    args: argparse.Namespace,
    out: TextIO | None = None,
    err: TextIO | None = None,
    client: Any = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Poll until every expected service has delivered or the timeout passes; report."""
    out = out or sys.stdout
    err = err or sys.stderr
    defaults = stack_defaults(args.stack, args.route)
    outputs = {} if args.no_pulumi or not args.stack else pulumi_outputs(args.stack)
    if args.heartbeat:
        # Heartbeats are per node, not per demo run: the run and services do not matter.
        args.run_id, args.services = args.run_id or "-", args.services or "-"
    target = resolve_target(args, outputs, defaults)
    since = parse_since(args.since, clock())
    if args.heartbeat:
        return run_heartbeat(args, Archive(target, client), since, clock(), out)
    timeout = args.timeout if args.timeout is not None else target.upload_timeout_s + 120
    archive = Archive(target, client)
    scan = Scan(target, since)
    print(
        f"verify: s3://{target.bucket}/{target.tag_prefix} run_id={target.run_id} "
        f"services={','.join(target.services)} since {_when(since)}",
        file=out,
    )
    try:
        return _watch(archive, scan, args, timeout, out, err, clock)
    except ArchiveError as error:
        # Callers (main, tooling.e2e) handle one error type: the one this module raises.
        raise VerifyError(str(error)) from None


def _watch(
    archive: Archive,
    scan: Scan,
    args: argparse.Namespace,
    timeout: float,
    out: TextIO,
    err: TextIO,
    clock: Callable[[], datetime],
) -> int:
    deadline = time.monotonic() + max(0.0, timeout)
    in_flight_s = args.in_flight if args.in_flight is not None else scan.target.upload_timeout_s
    while True:
        scan_once(archive, scan, clock())
        missing = scan.missing(args.min_records)
        verdict = scan.ledger.verdict(clock(), in_flight_s, args.whole_instances)
        remaining = deadline - time.monotonic()
        gaps = verdict.lost + verdict.in_flight
        if (not missing and not gaps) or remaining <= 0:
            break
        waiting = missing + [f"{len(gaps)} gap(s) in the numbering"] * bool(gaps)
        print(
            f"waiting for {', '.join(waiting)}: {_summary(scan)}; {remaining:.0f}s left",
            file=err,
            flush=True,
        )
        time.sleep(min(max(args.interval, 0.1), remaining))
    out.write(render_table(scan))
    print(_summary(scan), file=out)
    out.write(render_verdict(verdict, in_flight_s))
    for key, reason in sorted(scan.unreadable.items()):
        print(f"warning: skipped unreadable object {key}: {reason}", file=err)
    if missing:
        print(f"verify: FAILED after {timeout:.0f}s: {diagnose(archive, scan, missing)}", file=err)
        return EXIT_MISSING
    if not verdict.complete:
        print(f"verify: FAILED: {_lost(verdict)}", file=err)
        return EXIT_MISSING
    print(f"verify: OK, every service delivered to s3://{scan.target.bucket}", file=out)
    return EXIT_OK


def _lost(verdict: Verdict) -> str:
    first_stream, first_gap = verdict.lost[0]
    records = sum(gap.size for _, gap in verdict.lost)
    more = f" (+{len(verdict.lost) - 1} more gap(s))" if len(verdict.lost) > 1 else ""
    return (
        f"{records} record(s) missing from the archive: {first_stream} seq {first_gap.text()}{more}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return verify(args)
    except (VerifyError, HeartbeatInputError) as error:
        print(f"verify: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return EXIT_MISSING


if __name__ == "__main__":
    sys.exit(main())
