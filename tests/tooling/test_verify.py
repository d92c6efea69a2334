"""tooling.verify against a real S3 API (moto server over HTTP on 127.0.0.1).

Objects are written by the real agent: the dev stack's rendered config with the test's
bucket, the demo's events written to its handoff files, uploaded as it stops.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.audit_events import Identity, format_event
from tests.agent_harness import AgentRunner, records_of, stack_agent_config
from tooling.localrun import supervised
from tooling.verify import EXIT_INPUT, EXIT_MISSING, EXIT_OK, main

RUN = "run-4711"
REGION = "eu-west-1"  # the dev stack's region


Upload = Callable[[str, list[str]], None]


@pytest.fixture
def upload(fluent_bit: str, endpoint: str, tmp_path: Path) -> Iterator[Upload]:
    """upload(bucket, lines): the real agent (dev stack config) archives `lines` in `bucket`."""
    with supervised(tmp_path / "agents") as supervisor:
        runner = AgentRunner(fluent_bit, endpoint, tmp_path / "agents", supervisor)
        config = stack_agent_config("dev")

        def archive(bucket: str, lines: list[str]) -> None:
            records = records_of(runner, config, lines, bucket=bucket)
            assert len(records) == len(lines), "the agent must keep every demo event"

        yield archive


def object_key(when: datetime) -> str:
    """A key where the dev stack's agent would write an object whose first record is `when`."""
    [output] = [o for o in stack_agent_config("dev")["pipeline"]["outputs"] if o["name"] == "s3"]
    key_format = output["s3_key_format"].replace("$TAG", "audit.syslog").replace("$UUID", "x1")
    return when.astimezone(UTC).strftime(key_format).lstrip("/")


def events(service: str, count: int, ago: float, run_id: str = RUN) -> list[str]:
    """`count` demo events of `service`, the first `ago` seconds ago, one second apart."""
    identity = Identity(run_id, service, f"{service}-pod", "audit-demo", service, "node-a")
    start = datetime.now(UTC) - timedelta(seconds=ago)
    return [
        format_event(
            identity, "EXEC", f"exec: step {i}", pid=7, uid=10001, when=start + timedelta(seconds=i)
        )
        for i in range(count)
    ]


def verify(endpoint: str, bucket: str, *extra: str, services: str = "service-1,service-2") -> int:
    return main(
        [
            "--stack", "dev", "--no-pulumi", "--bucket", bucket, "--endpoint-url", endpoint,
            "--run-id", RUN, "--services", services, "--since", "10m",
            "--timeout", "0", "--interval", "0.1", *extra,
        ]
    )  # fmt: skip


def table(stdout: str) -> dict[str, list[str]]:
    return {
        line.split()[0]: line.split()[1:]
        for line in stdout.splitlines()
        if line.startswith("service-")
    }


def test_every_service_delivered(
    endpoint: str,
    s3: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
    upload: Upload,
) -> None:
    upload(bucket, events("service-1", 3, ago=40) + events("other", 2, 40, run_id="x"))
    upload(bucket, events("service-1", 2, ago=30))
    upload(bucket, events("service-2", 4, ago=20))

    assert verify(endpoint, bucket) == EXIT_OK
    out = capsys.readouterr().out
    rows = table(out)
    assert rows["service-1"][0] == "5" and rows["service-2"][0] == "4"
    # Latency: event time -> LastModified; the events are 16-40 s old at upload.
    p50 = float(rows["service-2"][3].rstrip("s"))
    assert 10 <= p50 <= 60, out
    assert "11 record(s) (2 not of this run)" in out
    assert "verify: OK" in out


def test_a_missing_service_fails_after_polling(
    endpoint: str,
    s3: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
    upload: Upload,
) -> None:
    upload(bucket, events("service-1", 2, ago=10))
    started = datetime.now(UTC)
    assert verify(endpoint, bucket, "--timeout", "0.5") == EXIT_MISSING
    assert datetime.now(UTC) - started < timedelta(seconds=5), "polling is bounded"
    captured = capsys.readouterr()
    assert "waiting for service-2" in captured.err  # progress while it waits
    assert (
        f"not delivered with run_id={RUN}: service-2 (in s3://{bucket}/audit/dev/" in captured.err
    )
    assert table(captured.out)["service-2"][0] == "0"


def test_expected_counts_catch_a_partial_delivery(
    endpoint: str,
    s3: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
    upload: Upload,
) -> None:
    upload(bucket, events("service-1", 2, ago=10) + events("service-2", 1, ago=10))
    assert verify(endpoint, bucket, services="service-1=3,service-2=1") == EXIT_MISSING
    assert "service-1 (2/3 events)" in capsys.readouterr().err
    assert verify(endpoint, bucket, services="service-1=2,service-2=1") == EXIT_OK
    assert verify(endpoint, bucket, services="service-1=two") == EXIT_INPUT


def test_empty_bucket(endpoint: str, bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(endpoint, bucket) == EXIT_MISSING
    assert f"s3://{bucket} is empty" in capsys.readouterr().err


def test_wrong_prefix_names_what_is_there(
    endpoint: str,
    s3: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
    upload: Upload,
) -> None:
    upload(bucket, events("service-1", 1, ago=5) + events("service-2", 1, ago=5))
    assert verify(endpoint, bucket, "--prefix", "audit/prod/") == EXIT_MISSING
    err = capsys.readouterr().err
    assert f"no objects under s3://{bucket}/audit/prod/ (wrong --prefix?)" in err
    assert "the bucket has: audit/" in err


def test_corrupt_object_is_reported(
    endpoint: str,
    s3: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = object_key(datetime.now(UTC))
    s3.put_object(Bucket=bucket, Key=key, Body=b"\x1f\x8b" + b"not really gzip" * 10)
    assert verify(endpoint, bucket) == EXIT_MISSING
    err = capsys.readouterr().err
    assert f"unreadable object {key}: corrupt gzip" in err
    assert "Traceback" not in err


def test_corrupt_object_is_skipped_when_the_rest_delivers(
    endpoint: str,
    s3: Any,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
    upload: Upload,
) -> None:
    key = object_key(datetime.now(UTC))
    s3.put_object(Bucket=bucket, Key=key, Body=b"\x1f\x8b\x08garbage")
    upload(bucket, events("service-1", 1, ago=5) + events("service-2", 1, ago=5))
    assert verify(endpoint, bucket) == EXIT_OK
    assert f"warning: skipped unreadable object {key}" in capsys.readouterr().err


def test_no_such_bucket(endpoint: str, s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(endpoint, "no-such-bucket-here") == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.strip() == (
        "verify: bucket s3://no-such-bucket-here does not exist "
        "(check --bucket, --region and --endpoint-url)"
    )


def test_bad_input_is_one_line(endpoint: str, s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(endpoint, "bucket-1", "--since", "yesterday-ish") == EXIT_INPUT
    assert main(["--stack", "nope", "--no-pulumi", "--bucket", "bucket-1"]) == EXIT_INPUT
    assert verify(endpoint, "B") == EXIT_INPUT
    assert verify(endpoint, "bucket-1", "--prefix", "/a b/") == EXIT_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("verify: --since 'yesterday-ish' is neither")
    assert err[1] == "verify: Pulumi.nope.yaml: no such stack file"
    assert err[2].startswith("verify: bucket 'B' is not valid for an S3 route: bucket name 'B'")
    assert "3-63 characters" in err[2]
    assert err[3].startswith("verify: --prefix 'a b' is not valid for an S3 route")
    assert len(err) == 4


def _fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    binary = tmp_path / "pulumi"
    binary.write_text("#!/bin/sh\n" + script)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")


def test_stack_outputs_come_from_pulumi(
    endpoint: str,
    s3: Any,
    bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    upload: Upload,
) -> None:
    outputs = {"bucketName": bucket, "demoRunId": RUN, "demoServices": ["service-2"]}
    _fake_pulumi(tmp_path, monkeypatch, f"cat <<'EOF'\n{json.dumps(outputs)}\nEOF\n")
    upload(bucket, events("service-2", 1, ago=5))
    code = main(["--stack", "dev", "--endpoint-url", endpoint, "--timeout", "0"])
    assert code == EXIT_OK, capsys.readouterr()
    assert list(table(capsys.readouterr().out)) == ["service-2"]


def test_failing_pulumi_is_one_line(
    s3: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _fake_pulumi(
        tmp_path, monkeypatch, "echo \"error: no stack named 'dev' found\" >&2\nexit 255\n"
    )
    assert main(["--stack", "dev", "--timeout", "0"]) == EXIT_INPUT
    assert capsys.readouterr().err.strip() == (
        "verify: `pulumi stack output --stack dev` failed: error: no stack named 'dev' found"
    )
