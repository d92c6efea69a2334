"""An S3 API on loopback for the tests that read an archive the way an operator's tools do."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """One moto server on 127.0.0.1 per test module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def region() -> str:
    """The archive's region (a module overrides it to match the stack it reads)."""
    return "eu-west-1"


@pytest.fixture
def s3(endpoint: str, region: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client of that server, with no AWS or audit settings of the caller's leaking in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "STACK"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AUDIT_BUCKET", "AUDIT_PREFIX", "AUDIT_RUN_ID", "AUDIT_SERVICES"):
        monkeypatch.delenv(name, raising=False)
    return boto3.client("s3", region_name=region, endpoint_url=endpoint)


@pytest.fixture
def bucket(s3: Any, region: str) -> str:
    """A fresh, empty bucket."""
    name = f"archive-{secrets.token_hex(4)}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return name
