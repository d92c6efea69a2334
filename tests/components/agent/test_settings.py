"""The agent settings: defaults, pinned images, combinations they reject, routes and tags."""

import re
from typing import Any

import pytest
from pydantic import ValidationError

from components.agent.routes import RenderError
from components.agent.settings import PipelineContext, tag_matches
from tests.components.agent.fluent_bit_samples import S3, render, settings


def test_defaults_are_pinned_and_local() -> None:
    agent = settings()
    assert agent.image == "fluent/fluent-bit:5.1.1"
    assert agent.kubernetes_metadata is False
    assert agent.resources.limits.memory == "512Mi"


@pytest.mark.parametrize(
    "image", ["fluent/fluent-bit", "fluent/fluent-bit:latest", "registry:5000/fluent-bit"]
)
def test_unpinned_images_are_rejected(image: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(repr(image))):
        settings(image=image)


def test_image_digest_is_appended_to_the_reference() -> None:
    digest = "sha256:" + "a" * 64
    assert settings(imageDigest=digest).image_ref == f"fluent/fluent-bit:5.1.1@{digest}"
    with pytest.raises(ValidationError, match="imageDigest"):
        settings(imageDigest="sha256:abc")


def test_grace_drives_the_pod_termination_period() -> None:
    assert settings(grace=40).termination_grace_period_seconds > 40


def test_with_default_bucket_fills_the_stack_bucket() -> None:
    agent = settings(routes=[{"type": "s3", "name": "archive"}])
    with pytest.raises(RenderError, match="bucket=None"):
        render(agent)
    resolved = agent.with_default_bucket("stack-audit-1", "us-west-2", "audit/dev/")
    output = render(resolved)["pipeline"]["outputs"]
    assert (output[0]["bucket"], output[0]["region"]) == ("stack-audit-1", "us-west-2")
    # The stack's prefix: the only one the agent's IAM role may write under.
    assert output[0]["s3_key_format"].startswith("/audit/dev/$TAG/")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"routes": []}, "routes"),
        ({"routes": [S3, {**S3, "bucket": "other-bucket"}]}, "repeated: archive"),
        ({"routes": [{**S3, "match": "kube.*"}]}, "match 'kube.\\*' selects no input tag"),
        (
            {"routes": [S3, {**S3, "name": "copy", "storeDir": "/var/fluent-bit/s3/archive"}]},
            "storeDir '/var/fluent-bit/s3/archive' overlaps",
        ),
        (
            {"routes": [{**S3, "storeDir": "/var/fluent-bit/buffer/s3"}]},
            "overlaps '/var/fluent-bit/buffer'",
        ),
        ({"serviceMonitor": True}, "serviceMonitor: true needs metricsService"),
        ({"kubernetesMetadata": True}, "kubernetesMetadata: true is not supported"),
        ({"listenPort": 5140}, "listenPort"),
        ({"bufferChunkSize": "2M", "bufferMaxSize": "1M"}, "bufferMaxSize 1M"),
        ({"maxUnavailable": 0}, "maxUnavailable 0"),
        ({"maxUnavailable": "150%"}, "maxUnavailable '150%'"),
        ({"grep": [{"action": "include", "key": "m", "regex": "${X}"}]}, "contains '\\$\\{'"),
        ({"logLevel": "verbose"}, "logLevel|log_level"),
    ],
)
def test_invalid_combinations_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**overrides)


def test_tag_matching_follows_fluent_bit_wildcards() -> None:
    assert tag_matches("audit.*", "audit.syslog")
    assert tag_matches("*", "audit.syslog")
    assert tag_matches("audit.syslog", "audit.syslog")
    assert not tag_matches("audit.sys", "audit.syslog")
    assert not tag_matches("audit?syslog", "audit.syslog")


def test_pipeline_context_is_validated() -> None:
    with pytest.raises(ValueError, match="cluster name 'a b'"):
        PipelineContext(cluster_name="a b", environment="dev")


def test_secret_env_collects_every_route() -> None:
    forward = {
        "type": "forward",
        "name": "agg",
        "host": "agg.example.com",
        "sharedKeySecret": {"name": "fwd", "key": "key"},
    }
    assert list(settings(routes=[S3, forward]).secret_env()) == ["FLB_AGG_SHARED_KEY"]
