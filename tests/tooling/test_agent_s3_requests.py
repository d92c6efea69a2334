"""The real agent's S3 requests, judged with IAM's rules against each stack's planned bucket
policy and role policy.

For every stack with an archive on AWS, the real Fluent Bit runs the stack's rendered config
(tests/agent_harness.py) against moto through a recording proxy: once as rendered (small
data: one PutObject when it stops) and once with multipart-sized chunks (uncompressed 6M
parts, so a test sends megabytes, not the 50M the stacks use: the requests are the same
kinds, CreateMultipartUpload, UploadPart, CompleteMultipartUpload). Every recorded request
is then evaluated as the agent's role making it over TLS on the planned bucket; a denied
one fails the test, and so does an allowed variant the archive must refuse.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from demo.audit_events import Identity, format_event
from tests.agent_harness import REGION, AgentRunner, stack_agent_config
from tests.conftest import archive_graph, stack_graph
from tests.tooling.s3_access_cases import denied, must_refuse, pre_fix_bucket_policy
from tooling.localrun import RunningAgent, create_bucket, supervised
from tooling.loopback import wait_until
from tooling.recording_proxy import RecordingProxy
from tooling.s3_authorization import ArchiveAccess, S3Call, s3_call

AWS_STACKS = ["dev", "staging", "prod"]
WRITES = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")
IDENTITY = Identity("s3-requests", "service-1", "pod-1", "audit-demo", "service-1", "node-1")
# Records of ~500 bytes as JSON lines: 40000 fill more than two 6M parts.
MULTIPART_RECORDS = 40_000


def _agent_config(stack: str) -> dict[str, Any]:
    return stack_agent_config(stack)


def _multipart(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with small uncompressed multipart chunks on its S3 outputs."""
    changed = deepcopy(dict(config))
    for output in changed["pipeline"]["outputs"]:
        if output["name"] == "s3":
            output.pop("compression", None)
            # Gzip routes render use_put_object on (gzip parts never reach S3's 5 MiB part
            # minimum); an uncompressed route is what uses multipart.
            output.update(
                {"use_put_object": "off", "upload_chunk_size": "6M", "total_file_size": "20M"}
            )
    return changed


def _send(agent: RunningAgent, count: int) -> None:
    agent.hand_off(
        [
            format_event(IDENTITY, "EXEC", f"exec: step {i} " + "x" * 120, pid=i, uid=10001)
            for i in range(count)
        ]
    )


def _drained(storage_path: str) -> bool:
    """No chunk left in the engine's buffer: every record reached the outputs' own stores."""
    return not any(Path(storage_path).rglob("*.flb"))


def _record(
    fluent_bit: str, moto_endpoint: str, root: Path, config: Mapping[str, Any], records: int
) -> list[S3Call]:
    bucket = f"rec-{abs(hash((str(root), records))) % 10**10}"
    create_bucket(moto_endpoint, bucket, REGION)
    with supervised(root) as supervisor, RecordingProxy(moto_endpoint) as proxy:
        runner = AgentRunner(fluent_bit, proxy.url, root, supervisor)
        agent = runner.start(config, bucket=bucket)
        _send(agent, records)
        # Stop only once the S3 output has taken every chunk: a SIGTERM while it formats a
        # large chunk crashed 5.1.1 here (SIGSEGV in s3_format_event_chunk).
        storage_path = str(agent.config["service"]["storage.path"])
        for _ in range(2):  # twice, a second apart: drained, and still drained
            wait_until(
                lambda: _drained(storage_path), 120, "the engine's buffer to drain", interval=0.5
            )
            time.sleep(1)
        assert agent.stop() == 0, agent.log_text()[-2000:]
        recorded = proxy.records()
    failed = [f"{r.method} {r.path} -> {r.status}" for r in recorded if r.status >= 300]
    assert failed == [], failed
    return [s3_call(r) for r in recorded]


@pytest.fixture(scope="module")
def agent_calls(
    fluent_bit: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, list[S3Call]]]:
    calls: dict[str, list[S3Call]] = {}
    for stack in AWS_STACKS:
        config = _agent_config(stack)
        root = tmp_path_factory.mktemp(f"s3-requests-{stack}")
        calls[stack] = _record(fluent_bit, moto_endpoint, root / "as-rendered", config, 200)
        calls[stack] += _record(
            fluent_bit, moto_endpoint, root / "multipart", _multipart(config), MULTIPART_RECORDS
        )
    yield calls


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_agent_made_every_kind_of_write(
    stack: str, agent_calls: dict[str, list[S3Call]]
) -> None:
    operations = {call.operation for call in agent_calls[stack]}
    assert operations == set(WRITES), operations


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_request_of_the_agent_is_allowed(
    stack: str, agent_calls: dict[str, list[S3Call]]
) -> None:
    access = ArchiveAccess.from_graph(stack_graph(stack), archive_graph(stack))
    assert denied(access, agent_calls[stack]) == []


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_variants_the_archive_must_refuse_are_refused(
    stack: str, agent_calls: dict[str, list[S3Call]]
) -> None:
    graph = stack_graph(stack)
    access = ArchiveAccess.from_graph(graph, archive_graph(stack))
    for call in agent_calls[stack]:
        decisions = must_refuse(access, call, graph.stack_outputs["kmsKeyArn"])
        allowed = [label for label, decision in decisions.items() if decision == "allow"]
        assert allowed == [], f"{call.operation} {call.key}: {allowed} allowed"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_regression_the_pre_fix_bucket_policy_denies_the_agents_requests(
    stack: str, agent_calls: dict[str, list[S3Call]]
) -> None:
    graph = stack_graph(stack)
    access = ArchiveAccess.from_graph(graph, archive_graph(stack))
    old = pre_fix_bucket_policy(graph.stack_outputs["bucketArn"], graph.stack_outputs["kmsKeyArn"])
    decisions = {
        call.operation: access.decide(call, bucket_policy=old).decision
        for call in agent_calls[stack]
    }
    assert decisions["PutObject"] == decisions["UploadPart"] == "explicit-deny"
