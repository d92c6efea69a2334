"""The real Fluent Bit in the tests: find it (or skip, or fail in CI), and run it on a
rendered config against a moto S3 server, loopback only (tooling.localrun).

The fixtures in tests/conftest.py wrap these: `fluent_bit` (the binary), `moto_endpoint`
(one moto server per session), `run_agent` (start agents; each is stopped at teardown).
"""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.agent.metrics import HANDOFF_INPUT
from tooling.agent import REQUIRE_ENV, AgentNotFoundError, agent_required, fluent_bit_binary
from tooling.localrun import RunningAgent, Supervisor, create_bucket, s3_client, start_agent

REGION = "eu-west-1"


def require_fluent_bit() -> str:
    """The binary; pytest.skip saying how to get it, or pytest.fail under REQUIRE_FLUENT_BIT=1."""
    try:
        return fluent_bit_binary()
    except AgentNotFoundError as error:
        if agent_required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {error}")
        pytest.skip(str(error))


@dataclass
class AgentRunner:
    """Starts agents on rendered configs, each with a fresh bucket on the session's moto."""

    binary: str
    endpoint: str
    root: Path
    supervisor: Supervisor

    def new_bucket(self) -> str:
        bucket = f"agent-{secrets.token_hex(5)}"
        create_bucket(self.endpoint, bucket, REGION)
        return bucket

    def start(
        self,
        config: Mapping[str, Any],
        bucket: str | None = None,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        handoff: Path | None = None,
    ) -> RunningAgent:
        return start_agent(
            self.supervisor,
            self.binary,
            config,
            self.root,
            endpoint=self.endpoint,
            bucket=bucket,
            region=REGION,
            name=name or f"fluent-bit-{secrets.token_hex(3)}",
            env=env,
            handoff=handoff,
        )

    def client(self) -> Any:
        return s3_client(self.endpoint, REGION)

    def keys(self, bucket: str) -> set[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {entry["Key"] for page in pages for entry in page.get("Contents", [])}

    def objects(self, bucket: str, skip: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """The objects of `bucket` (less `skip`): key -> its JSON-lines records."""
        client = self.client()
        found: dict[str, list[dict[str, Any]]] = {}
        for key in sorted(self.keys(bucket) - (skip or set())):
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            if body[:2] == b"\x1f\x8b":
                body = gzip.decompress(body)
            found[key] = [json.loads(line) for line in body.decode("utf-8").splitlines() if line]
        return found


def ingested(agent: RunningAgent) -> int:
    """Records the agent's handoff input has taken in so far (its metrics endpoint; 0 while
    the endpoint is not serving yet: it answers 404 for a moment after /health is up)."""
    import urllib.error

    try:
        inputs = agent.metrics().get("input", {})
    except (urllib.error.URLError, OSError):
        return 0
    return int(inputs.get(HANDOFF_INPUT, {}).get("records", 0))


def flushed(agent: RunningAgent) -> int:
    """Records every log output has taken from the engine (for S3: into its store_dir buffer).
    The metrics exporter output takes metrics, never log records: it is not counted."""
    import urllib.error

    from components.agent.monitoring import EXPORTER_OUTPUT

    try:
        outputs = agent.metrics().get("output", {})
    except (urllib.error.URLError, OSError):
        return 0
    return min(
        (int(e.get("proc_records", 0)) for name, e in outputs.items() if name != EXPORTER_OUTPUT),
        default=0,
    )


def wait_flushed(agent: RunningAgent, count: int, timeout: float = 120) -> None:
    """Until the input took `count` records and every output has them. Stopping the agent
    before that is a race in 5.1.1: SIGTERM while S3 flushes are still running can crash it
    (SIGSEGV in cb_s3_flush); the filesystem buffer keeps those chunks for the next start,
    but this run would not upload them."""
    from tooling.loopback import wait_until

    wait_until(
        lambda: ingested(agent) >= count and flushed(agent) >= count,
        timeout,
        f"the agent to take in and flush {count} records",
        interval=0.1,
        diagnose=lambda: f"in {ingested(agent)}, out {flushed(agent)}\n{agent.log_text()[-1500:]}",
    )


def records_of(
    runner: AgentRunner,
    config: Mapping[str, Any],
    lines: list[str],
    timeout: float = 60,
    bucket: str | None = None,
) -> list[dict[str, Any]]:
    """What the agent archives of `lines`: start it on `config`, send them, wait until its
    input took them all, stop it (it uploads what it holds on a clean stop), read the objects
    it wrote (in a new bucket unless one is given)."""
    bucket = bucket or runner.new_bucket()
    before = runner.keys(bucket)
    agent = runner.start(config, bucket=bucket)
    agent.hand_off(lines)
    wait_flushed(agent, len(lines), timeout)
    assert agent.stop() == 0, agent.log_text()[-2000:]
    objects = runner.objects(bucket, skip=before)
    return [record for records in objects.values() for record in records]


# Where a plan keeps the agent's config (beside the handoff cleaner's script).
AGENT_CONFIG_FILE = "fluent-bit/fluent-bit.yaml"


def stack_agent_config(stack: str) -> dict[str, Any]:
    """The agent config a repo stack renders (as `make plan` writes it), as data."""
    import yaml

    from tests.conftest import stack_graph
    from tooling.artifacts import daemon_configs

    [text] = [t for name, t in daemon_configs(stack_graph(stack)) if name == AGENT_CONFIG_FILE]
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded
