"""Upload what Fluent Bit's S3 output parked in its quarantine, then remove it.

    python -m tooling.replay_quarantine --store-dir /var/fluent-bit/s3/audit-archive --stack prod
    python -m tooling.replay_quarantine --store-dir DIR --stack local --bucket B \\
        --endpoint-url http://127.0.0.1:9000 --dry-run

Fluent Bit 5.1.1 moves a file whose upload failed more than `retry_limit` times to
`<store_dir>/<bucket>/quarantine/` and never uploads it again, not even after a restart.
The rendered `retry_limit` keeps that from happening (see the README, S3 outages); this is
for nodes that ran an older config (`no_limits`, capped to 5 by the plugin) through an
outage. Run it on the node (or in a pod with the store_dir hostPath mounted).

Each quarantined file is a chunkio file: a 24-byte header (content length at offset 10,
metadata length at 22, both big-endian), the metadata (the tag), then the records as JSON
lines, as the output formats them. Each becomes one object, keyed and encoded as the agent
would have written it (the route's layout, the time of its first record). The key's
unique part is taken from the content, so running the replay twice writes the same key:
no duplicate events. A file is deleted only after S3 holds its object (same size).
Never move a file inside store_dir instead: the agent uploads every other folder there
at its next start.

Exit codes: 0 every file replayed (or none found); 1 some could not be; 2 bad input.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components.agent.routes import S3ObjectLayout

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
QUARANTINE = "quarantine"
_HEADER = 24
_MAGIC = b"\xc1\x00"


class ChunkError(Exception):
    """Not a chunk file of the S3 output; one line."""


@dataclass(frozen=True)
class ParkedFile:
    path: Path
    tag: str
    body: bytes  # JSON lines

    def first_time(self) -> datetime:
        """The object's key time: its first record's `date`, as the agent does."""
        for line in self.body.splitlines():
            try:
                value = json.loads(line).get("date")
                when = datetime.fromisoformat(str(value))
            except (ValueError, AttributeError):
                continue
            return when if when.tzinfo else when.replace(tzinfo=UTC)
        raise ChunkError(f"{self.path}: no record with a readable 'date'")


def read_chunk(path: Path) -> ParkedFile:
    data = path.read_bytes()
    if len(data) < _HEADER or data[:2] != _MAGIC:
        raise ChunkError(f"{path}: not a Fluent Bit chunk file (no c1 00 header)")
    meta_len = int.from_bytes(data[22:24], "big")
    content_len = int.from_bytes(data[10:14], "big")
    start = _HEADER + meta_len
    # chunkio files are page-padded with zeros; an old header without a length: infer it.
    end = start + content_len if content_len else len(data.rstrip(b"\x00"))
    if end > len(data):
        raise ChunkError(f"{path}: header says {content_len} bytes, the file has fewer")
    tag = data[_HEADER:start].decode("utf-8", "replace")
    return ParkedFile(path=path, tag=tag, body=data[start:end])


def parked_files(store_dir: Path) -> list[Path]:
    """Every file in a `quarantine` folder under the route's store_dir."""
    return sorted(
        p for q in store_dir.rglob(QUARANTINE) if q.is_dir() for p in q.iterdir() if p.is_file()
    )


def object_for(parked: ParkedFile, layout: S3ObjectLayout) -> tuple[str, bytes]:
    """(key, body) of the object the agent would have uploaded."""
    unique = hashlib.sha256(parked.body).hexdigest()[:8]
    key_format = layout.key_format.replace("$TAG", parked.tag).replace("$UUID", unique)
    key = parked.first_time().astimezone(UTC).strftime(key_format).lstrip("/")
    body = gzip.compress(parked.body, mtime=0) if layout.compression == "gzip" else parked.body
    return key, body


def replay(
    store_dir: Path, layout: S3ObjectLayout, bucket: str, client: Any, dry_run: bool, out: Any
) -> int:
    failed = 0
    files = parked_files(store_dir)
    if not files:
        print(f"replay: nothing in {store_dir}/**/{QUARANTINE}/", file=out)
        return EXIT_OK
    for path in files:
        try:
            parked = read_chunk(path)
            key, body = object_for(parked, layout)
        except (ChunkError, OSError) as error:
            print(f"replay: skipped {error}", file=out)
            failed += 1
            continue
        records = parked.body.count(b"\n")
        if dry_run:
            print(f"replay: would upload {path.name}: {records} records -> {key}", file=out)
            continue
        try:
            md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
            client.put_object(Bucket=bucket, Key=key, Body=body, ContentMD5=md5)
            stored = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        except Exception as error:  # noqa: BLE001 - any S3 failure: keep the file, go on
            print(f"replay: {path.name} kept, upload failed: {error}", file=out)
            failed += 1
            continue
        if stored != len(body):
            print(f"replay: {path.name} kept: S3 holds {stored} bytes, sent {len(body)}", file=out)
            failed += 1
            continue
        path.unlink()
        print(f"replay: {path.name}: {records} records -> s3://{bucket}/{key}", file=out)
    return EXIT_FAILED if failed else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.replay_quarantine",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--store-dir", required=True, type=Path, help="the route's store_dir")
    parser.add_argument("--stack", required=True, help="stack whose S3 route wrote the files")
    parser.add_argument("--route", help="S3 route name (default: the stack's first)")
    parser.add_argument("--bucket", help="default: the route's, else the stack's audit bucket")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--dry-run", action="store_true", help="say what would be uploaded")
    return parser


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    from tooling.verify import VerifyError, stack_defaults

    args = _parser().parse_args(argv)
    try:
        defaults = stack_defaults(args.stack, args.route)
    except VerifyError as error:
        print(f"replay: {error}", file=sys.stderr)
        return EXIT_INPUT
    bucket = args.bucket or defaults.route.bucket or defaults.bucket
    region = args.region or defaults.route.region or defaults.region
    if not bucket or not region:
        print("replay: no bucket or region: pass --bucket and --region", file=sys.stderr)
        return EXIT_INPUT
    if not args.store_dir.is_dir():
        print(f"replay: --store-dir {args.store_dir} is not a directory", file=sys.stderr)
        return EXIT_INPUT
    route = defaults.route.resolved(bucket, region, defaults.log_prefix or "audit/")
    if client is None:
        import boto3
        from botocore.config import Config

        style = {"addressing_style": "path"} if args.endpoint_url else None
        client = boto3.client(
            "s3", region_name=region, endpoint_url=args.endpoint_url, config=Config(s3=style)
        )
    return replay(args.store_dir, route.layout, bucket, client, args.dry_run, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
