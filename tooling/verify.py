"""`make verify`: prove that the demo's audit events reached the S3 archive.

    python -m tooling.verify --stack dev
    python -m tooling.verify --bucket B --prefix audit/local/ --region us-east-1 \\
        --endpoint-url http://127.0.0.1:9000 --run-id local-demo --services service-1,service-2

Where to look comes from the flags (or AUDIT_BUCKET, AUDIT_PREFIX, AWS_REGION,
AWS_ENDPOINT_URL, AUDIT_RUN_ID, AUDIT_SERVICES), then from `pulumi stack output` when a
`pulumi` binary is on PATH, then from Pulumi.<stack>.yaml. How objects are named and what
they hold comes from the stack's S3 route (S3Route.layout), as the agent writes them.

Exit codes: 0 every expected service delivered within --timeout; 1 some did not;
2 bad input or an archive that cannot be read (one line, never a traceback).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TextIO

from pydantic import ValidationError

from components.render.demo import DemoSettings
from components.render.fluent_bit import AgentSettings
from components.render.fluent_bit_routes import S3ObjectLayout, S3Route, parse_duration
from demo.audit_events import SD_ID, parse_structured_data

EXIT_OK, EXIT_MISSING, EXIT_INPUT = 0, 1, 2
_MAX_HOURS = 24 * 8
_RELATIVE = re.compile(r"^(\d+)([smhd])$")


class VerifyError(Exception):
    """Input or archive problem, shown as one line."""


# --- where to look ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    bucket: str
    region: str
    endpoint_url: str | None
    layout: S3ObjectLayout
    tag: str
    run_id: str
    services: tuple[str, ...]
    upload_timeout_s: int
    # Records a service must have delivered, when the caller knows how many it sent.
    expected: Mapping[str, int] = field(default_factory=dict)

    @property
    def tag_prefix(self) -> str:
        return f"{self.layout.key_prefix}{self.tag}/"


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
            f"{key} {first['input']!r} is not valid for an S3 route: {first['msg']}"
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


# --- reading objects -------------------------------------------------------------------


class UnreadableObjectError(Exception):
    """An object whose body is not the agent's record format."""


def decode_body(body: bytes) -> list[dict[str, Any]]:
    """The JSON-lines records of an object body: gzip (one or more members) or plain text.

    Fluent Bit uploads plain text when compression fails, so the magic bytes decide.
    """
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)  # reads every concatenated member
        except (OSError, EOFError, zlib.error) as error:
            raise UnreadableObjectError(f"corrupt gzip ({error})") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableObjectError("neither gzip nor UTF-8 text") from None
    records: list[dict[str, Any]] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    if bad and not records:
        raise UnreadableObjectError(f"not JSON lines ({bad} unparsable line(s))")
    return records


def parse_date(value: Any) -> datetime | None:
    """The agent's ISO 8601 record time (json_date_format iso8601), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audit_params(record: Mapping[str, Any]) -> dict[str, str] | None:
    """The demo's SD element (run_id, service, ...) of a record, wherever the parser put it."""
    marker = "[" + SD_ID + " "
    for value in record.values():
        if isinstance(value, str) and marker in value:
            found = parse_structured_data(value).get(SD_ID)
            if found is not None:
                return found
    return None


# --- scanning --------------------------------------------------------------------------


@dataclass
class ServiceStats:
    records: int = 0
    first: datetime | None = None
    last: datetime | None = None
    latencies: list[float] = field(default_factory=list)

    def add(self, when: datetime | None, stored: datetime) -> None:
        self.records += 1
        if when is None:
            return
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)
        self.latencies.append((stored - when).total_seconds())


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass
class Scan:
    target: Target
    since: datetime
    stats: dict[str, ServiceStats] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    objects: int = 0
    size: int = 0
    records: int = 0
    other_runs: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)

    def missing(self, min_records: int) -> list[str]:
        """Services short of records: 'name' (none yet) or 'name (got/wanted records)'."""
        short = []
        for name in self.target.services:
            wanted = max(min_records, self.target.expected.get(name, 0))
            got = self.stats.get(name, ServiceStats()).records
            if got < wanted:
                short.append(name if got == 0 else f"{name} ({got}/{wanted} records)")
        return short

    def add_object(self, key: str, stored: datetime, body: bytes) -> None:
        self.seen.add(key)
        try:
            records = decode_body(body)
        except UnreadableObjectError as error:
            self.unreadable[key] = str(error)
            return
        self.objects += 1
        self.size += len(body)
        for record in records:
            self.records += 1
            params = audit_params(record)
            if params is None or params.get("run_id") != self.target.run_id:
                self.other_runs += 1
                continue
            service = params.get("service", "?")
            when = parse_date(record.get(self.target.layout.date_key))
            self.stats.setdefault(service, ServiceStats()).add(when, stored)


def hour_prefixes(target: Target, since: datetime, now: datetime) -> list[str]:
    """Key prefixes of every hour an object written since `since` can be filed under.

    The key time is the object's first record, which waited on the node up to the upload
    timeout (longer while S3 was unreachable): look back that far plus an hour.
    """
    start = since - timedelta(seconds=target.upload_timeout_s) - timedelta(hours=1)
    hour = start.replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour <= now:
        prefixes.append(target.layout.hour_prefix(target.tag, hour))
        hour += timedelta(hours=1)
        if len(prefixes) > _MAX_HOURS:
            raise VerifyError(f"--since {since:%Y-%m-%dT%H:%MZ} is too long ago (8 days at most)")
    return prefixes


class Archive:
    """The S3 calls verify makes, with S3 errors turned into one-line VerifyErrors."""

    def __init__(self, target: Target, client: Any = None) -> None:
        self.target = target
        self.client = client if client is not None else _client(target)

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"s3://{self.target.bucket}"
        try:
            return call()
        except NoCredentialsError:
            raise VerifyError(
                f"no AWS credentials to {what} {where}: set AWS_PROFILE or AWS_ACCESS_KEY_ID"
            ) from None
        except ClientError as error:
            raise VerifyError(_client_error(error, what, where)) from None
        except BotoCoreError as error:
            at = self.target.endpoint_url or "AWS"
            hint = " (pass --endpoint-url?)" if self.target.endpoint_url else ""
            raise VerifyError(f"cannot {what} {where} at {at}: {error}{hint}") from None

    def list_new(self, prefixes: Sequence[str], since: datetime) -> Iterator[tuple[str, datetime]]:
        for prefix in prefixes:
            pages: list[dict[str, Any]] = self._call("list", partial(self._pages, prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    stored = item["LastModified"]
                    if stored >= since and self.target.layout.parse_key(item["Key"]):
                        yield item["Key"], stored

    def _pages(self, prefix: str) -> list[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        return list(paginator.paginate(Bucket=self.target.bucket, Prefix=prefix))

    def read(self, key: str) -> bytes:
        response = self._call(
            "read", lambda: self.client.get_object(Bucket=self.target.bucket, Key=key)
        )
        body: bytes = self._call("read", response["Body"].read)
        return body

    def top_level(self) -> list[str]:
        """First-level prefixes (and whether the bucket has anything at all)."""
        page = self._call(
            "list",
            lambda: self.client.list_objects_v2(
                Bucket=self.target.bucket, Delimiter="/", MaxKeys=50
            ),
        )
        found = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        found += [c["Key"] for c in page.get("Contents", [])]
        return found

    def has_any(self, prefix: str) -> bool:
        page = self._call(
            "list",
            lambda: self.client.list_objects_v2(
                Bucket=self.target.bucket, Prefix=prefix, MaxKeys=1
            ),
        )
        return bool(page.get("KeyCount", 0))


def _client(target: Target) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"max_attempts": 3, "mode": "standard"},
        # An emulator (moto, MinIO) answers path-style requests only, like the agent uses.
        s3={"addressing_style": "path"} if target.endpoint_url else None,
    )
    return boto3.client(
        "s3", region_name=target.region, endpoint_url=target.endpoint_url, config=config
    )


def _client_error(error: Any, what: str, where: str) -> str:
    info = error.response.get("Error", {})
    code = str(info.get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchBucket", "404") or (code == "" and status == 404):
        return f"bucket {where} does not exist (check --bucket, --region and --endpoint-url)"
    if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
        return (
            f"access denied to {what} {where}: the credentials in use may not read the "
            "archive (it needs s3:ListBucket and s3:GetObject, and kms:Decrypt with KMS)"
        )
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
        return f"AWS rejected the credentials ({code}) trying to {what} {where}"
    if code == "NoSuchKey":
        return f"an object vanished while reading {where} (lifecycle expiry?)"
    return f"S3 error {code or status} trying to {what} {where}: {info.get('Message', '')}"


def scan_once(archive: Archive, scan: Scan, now: datetime) -> None:
    target = scan.target
    for key, stored in archive.list_new(hour_prefixes(target, scan.since, now), scan.since):
        if key in scan.seen:
            continue
        try:
            body = archive.read(key)
        except VerifyError as error:
            scan.seen.add(key)
            scan.unreadable[key] = str(error)
            continue
        scan.add_object(key, stored, body)


# --- report ----------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z" if value else "-"


def _seconds(values: Sequence[float], pct: float) -> str:
    return f"{percentile(values, pct):.1f}s" if values else "-"


def render_table(scan: Scan) -> str:
    rows = [("service", "records", "first event", "last event", "latency p50", "latency p99")]
    names = list(scan.target.services)
    names += sorted(s for s in scan.stats if s not in names)
    for name in names:
        stats = scan.stats.get(name, ServiceStats())
        rows.append(
            (
                name if name in scan.target.services else f"{name} (extra)",
                str(stats.records),
                _when(stats.first),
                _when(stats.last),
                _seconds(stats.latencies, 50),
                _seconds(stats.latencies, 99),
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
    target = resolve_target(args, outputs, defaults)
    since = parse_since(args.since, clock())
    timeout = args.timeout if args.timeout is not None else target.upload_timeout_s + 120
    archive = Archive(target, client)
    scan = Scan(target, since)
    print(
        f"verify: s3://{target.bucket}/{target.tag_prefix} run_id={target.run_id} "
        f"services={','.join(target.services)} since {_when(since)}",
        file=out,
    )
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        scan_once(archive, scan, clock())
        missing = scan.missing(args.min_records)
        remaining = deadline - time.monotonic()
        if not missing or remaining <= 0:
            break
        print(
            f"waiting for {', '.join(missing)}: {_summary(scan)}; {remaining:.0f}s left",
            file=err,
            flush=True,
        )
        time.sleep(min(max(args.interval, 0.1), remaining))
    out.write(render_table(scan))
    print(_summary(scan), file=out)
    for key, reason in sorted(scan.unreadable.items()):
        print(f"warning: skipped unreadable object {key}: {reason}", file=err)
    if missing:
        print(f"verify: FAILED after {timeout:.0f}s: {diagnose(archive, scan, missing)}", file=err)
        return EXIT_MISSING
    print(f"verify: OK, every service delivered to s3://{target.bucket}", file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return verify(args)
    except VerifyError as error:
        print(f"verify: {error}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return EXIT_MISSING


if __name__ == "__main__":
    sys.exit(main())
