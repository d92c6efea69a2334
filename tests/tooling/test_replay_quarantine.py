"""Replaying the S3 output's quarantine, with a file the real agent parked.

`data/s3-quarantine-chunk` is a file Fluent Bit 5.1.1 moved to its quarantine (the fault
rig with retry_limit 1 and S3 refusing connections; its page padding cut off): 12 fault
stream events of run `quarantine-fixture`, tag audit.syslog.
"""

from __future__ import annotations

import gzip
import json
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest

from tooling.archive import audit_params, decode_body
from tooling.replay_quarantine import EXIT_OK, main, read_chunk
from tooling.verify import stack_defaults

FIXTURE = Path(__file__).parent / "data" / "s3-quarantine-chunk"
REGION = "us-east-1"  # the local stack's


@pytest.fixture
def region() -> str:
    return REGION


def store_dir(tmp_path: Path, padded: bool) -> Path:
    """A route's store_dir as the agent leaves it: <store_dir>/<bucket>/quarantine/<file>."""
    quarantine = tmp_path / "audit-archive" / "audit-log-local" / "quarantine"
    quarantine.mkdir(parents=True)
    target = quarantine / "14882433041417774827-6550426572827939040"
    shutil.copy(FIXTURE, target)
    if padded:  # as on disk: chunkio pads files to the page size with zeros
        with target.open("ab") as handle:
            handle.write(b"\x00" * (36864 - FIXTURE.stat().st_size))
    (tmp_path / "audit-archive" / "audit-log-local" / "other-stream").mkdir()
    return tmp_path / "audit-archive"


def test_the_agents_chunk_file_is_read() -> None:
    parked = read_chunk(FIXTURE)
    assert parked.tag == "audit.syslog"
    records = [json.loads(line) for line in parked.body.splitlines()]
    assert [audit_params(r)["n"] for r in records] == [str(n) for n in range(1, 13)]  # type: ignore[index]


@pytest.mark.parametrize("padded", [True, False])
def test_replay_uploads_as_the_agent_would_and_only_once(
    s3: Any, endpoint: str, tmp_path: Path, padded: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"audit-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    directory = store_dir(tmp_path, padded)
    argv = ["--store-dir", str(directory), "--stack", "local", "--bucket", bucket]
    argv += ["--endpoint-url", endpoint]

    assert main([*argv, "--dry-run"]) == EXIT_OK
    assert "would upload" in capsys.readouterr().out
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    assert main(argv) == EXIT_OK
    [item] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    layout = stack_defaults("local").route.resolved(bucket, REGION, "audit/local/").layout
    fields = layout.parse_key(item["Key"])
    assert fields is not None and fields["tag"] == "audit.syslog", item["Key"]
    assert (fields["year"], fields["month"], fields["day"]) == ("2026", "11", "30")
    body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    assert gzip.decompress(body) == read_chunk(FIXTURE).body
    assert len(decode_body(body)) == 12
    assert not list(directory.rglob("quarantine/*")), "replayed files are removed"

    # A second replay (the same file parked again, e.g. restored from a backup) writes the
    # same key: still one object, no duplicate events.
    store_dir(tmp_path / "again", padded)
    assert main([*argv[:1], str(tmp_path / "again" / "audit-archive"), *argv[2:]]) == EXIT_OK
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_a_file_that_is_not_a_chunk_is_kept(tmp_path: Path, s3: Any, endpoint: str) -> None:
    quarantine = tmp_path / "b" / "quarantine"
    quarantine.mkdir(parents=True)
    (quarantine / "junk").write_bytes(b"not a chunk")
    argv = ["--store-dir", str(tmp_path), "--stack", "local", "--endpoint-url", endpoint]
    assert main(argv) == 1
    assert (quarantine / "junk").exists()
