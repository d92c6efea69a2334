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
        )

    def client(self) -> Any:
        return s3_client(self.endpoint, REGION)

    def objects(self, bucket: str) -> dict[str, list[dict[str, Any]]]:
        """Every object of `bucket`: key -> its JSON-lines records (gunzipped when gzip)."""
        client = self.client()
        found: dict[str, list[dict[str, Any]]] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
                if body[:2] == b"\x1f\x8b":
                    body = gzip.decompress(body)
                found[entry["Key"]] = [
                    json.loads(line) for line in body.decode("utf-8").splitlines() if line
                ]
        return found
