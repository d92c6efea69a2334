"""Read what the agent wrote to the S3 archive: list, fetch, decode and tally records.

How objects are named and what they hold comes from the S3 route's layout
(S3Route.layout), as the agent writes them. Every S3 failure becomes an ArchiveError
whose message is one line, fit to show a user as is.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import zlib
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from components.agent.routes import S3ObjectLayout
from demo.audit_events import SD_ID, parse_structured_data
from tooling.completeness import Ledger, event_identity

_MAX_HOURS = 24 * 8


class ArchiveError(Exception):
    """The archive cannot be listed or read, or cannot be scanned that far back; one line."""


@dataclass(frozen=True)
class Target:
    """Where the agent's objects are, how they are named, and what to count in them."""

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
    """A service's records, counted as distinct events: a record delivered twice (at least
    once delivery) is one event, so a lost event and a duplicate never cancel out."""

    records: int = 0
    events: set[Hashable] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    latencies: list[float] = field(default_factory=list)

    @property
    def distinct(self) -> int:
        return len(self.events)

    @property
    def duplicates(self) -> int:
        return self.records - self.distinct

    def add(self, identity: Hashable, when: datetime | None, stored: datetime) -> None:
        self.records += 1
        if identity in self.events:
            return
        self.events.add(identity)
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
    # Every record of every run: the node's numbering covers all it forwarded.
    ledger: Ledger = field(default_factory=Ledger)

    def missing(self, min_records: int) -> list[str]:
        """Services short of events: 'name' (none yet) or 'name (got/wanted events)'."""
        short = []
        for name in self.target.services:
            wanted = max(min_records, self.target.expected.get(name, 0))
            got = self.stats.get(name, ServiceStats()).distinct
            if got < wanted:
                short.append(name if got == 0 else f"{name} ({got}/{wanted} events)")
        return short

    def add_object(
        self, key: str, stored: datetime, body: bytes, numbering_only: bool = False
    ) -> None:
        """Tally an object's records; `numbering_only`: an object of another tag of the same
        nodes (the heartbeat), whose records share the nodes' numbering but no service."""
        self.seen.add(key)
        try:
            records = decode_body(body)
        except UnreadableObjectError as error:
            self.unreadable[key] = str(error)
            return
        if numbering_only:
            for record in records:
                when = parse_date(record.get(self.target.layout.date_key))
                self.ledger.add(record, when or stored)
            return
        self.objects += 1
        self.size += len(body)
        for record in records:
            self.records += 1
            when = parse_date(record.get(self.target.layout.date_key))
            self.ledger.add(record, when or stored)
            params = audit_params(record)
            if params is None or params.get("run_id") != self.target.run_id:
                self.other_runs += 1
                continue
            service = params.get("service", "?")
            stats = self.stats.setdefault(service, ServiceStats())
            stats.add(event_identity(record), when, stored)


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
            raise ArchiveError(f"--since {since:%Y-%m-%dT%H:%MZ} is too long ago (8 days at most)")
    return prefixes


class Archive:
    """The S3 calls a scan makes, with S3 errors turned into one-line ArchiveErrors."""

    def __init__(self, target: Target, client: Any = None) -> None:
        self.target = target
        self.client = client if client is not None else _client(target)

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"s3://{self.target.bucket}"
        try:
            return call()
        except NoCredentialsError:
            raise ArchiveError(
                f"no AWS credentials to {what} {where}: set AWS_PROFILE or AWS_ACCESS_KEY_ID"
            ) from None
        except ClientError as error:
            raise ArchiveError(_client_error(error, what, where)) from None
        except BotoCoreError as error:
            at = self.target.endpoint_url or "AWS"
            hint = " (pass --endpoint-url?)" if self.target.endpoint_url else ""
            raise ArchiveError(f"cannot {what} {where} at {at}: {error}{hint}") from None

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

    def tags(self) -> list[str]:
        """The tags that have objects under the layout's key prefix."""
        prefix = self.target.layout.key_prefix
        page = self._call(
            "list",
            lambda: self.client.list_objects_v2(
                Bucket=self.target.bucket, Prefix=prefix, Delimiter="/", MaxKeys=100
            ),
        )
        return [p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])]

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
    """Read the objects not read yet: the target's tag, then every other tag under the
    prefix (heartbeats) for the numbering, since a node numbers every record it forwards."""
    target = scan.target
    others = [tag for tag in archive.tags() if tag != target.tag]
    for tag in [target.tag, *others]:
        tagged = dataclasses.replace(target, tag=tag)
        for key, stored in archive.list_new(hour_prefixes(tagged, scan.since, now), scan.since):
            if key in scan.seen:
                continue
            try:
                body = archive.read(key)
            except ArchiveError as error:
                scan.seen.add(key)
                scan.unreadable[key] = str(error)
                continue
            scan.add_object(key, stored, body, numbering_only=tag != target.tag)
