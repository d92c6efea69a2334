"""tooling.s3_authorization: S3 requests mapped to IAM actions and condition keys, and the
stacks' planned bucket and role policies judged on the calls the Fluent Bit S3 output
makes (shapes from plugins/out_s3/s3.c and s3_multipart.c; the real agent's own requests
are recorded in test_agent_s3_requests.py)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from tests.conftest import archive_graph, stack_graph
from tests.tooling.s3_access_cases import denied, must_refuse, pre_fix_bucket_policy
from tooling.recording_proxy import RecordedRequest
from tooling.s3_authorization import ArchiveAccess, S3Call, s3_call

AWS_STACKS = ["dev", "staging", "prod"]


def _recorded(method: str, path: str, query: str = "", **headers: str) -> RecordedRequest:
    pairs = [part.partition("=") for part in query.split("&") if part]
    return RecordedRequest(
        method=method,
        path=path,
        query=MappingProxyType({name: (value,) for name, _, value in pairs}),
        headers=MappingProxyType({k.replace("_", "-").lower(): v for k, v in headers.items()}),
        status=200,
    )


@pytest.mark.parametrize(
    ("method", "query", "headers", "operation", "action"),
    [
        ("PUT", "", {}, "PutObject", "s3:PutObject"),
        ("POST", "uploads=", {}, "CreateMultipartUpload", "s3:PutObject"),
        ("PUT", "partNumber=1&uploadId=U", {}, "UploadPart", "s3:PutObject"),
        ("POST", "uploadId=U", {}, "CompleteMultipartUpload", "s3:PutObject"),
        ("DELETE", "uploadId=U", {}, "AbortMultipartUpload", "s3:AbortMultipartUpload"),
        ("DELETE", "", {}, "DeleteObject", "s3:DeleteObject"),
        ("DELETE", "versionId=v", {}, "DeleteObjectVersion", "s3:DeleteObjectVersion"),
        ("GET", "", {}, "GetObject", "s3:GetObject"),
        ("PUT", "", {"x_amz_copy_source": "/b/k"}, "CopyObject", "s3:PutObject"),
    ],
)
def test_s3_requests_map_to_the_iam_action_s3_authorizes(
    method: str, query: str, headers: dict[str, str], operation: str, action: str
) -> None:
    call = s3_call(_recorded(method, "/bucket/audit/k.gz", query, **headers))
    assert (call.operation, call.action, call.bucket, call.key) == (
        operation,
        action,
        "bucket",
        "audit/k.gz",
    )
    assert call.resource("aws-cn") == "arn:aws-cn:s3:::bucket/audit/k.gz"


def test_an_unknown_request_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="unmapped S3 request: POST /b/k"):
        s3_call(_recorded("POST", "/b/k", "select=&select-type=2"))


def test_encryption_headers_are_condition_keys_of_object_writes_only() -> None:
    headers = {"x_amz_server_side_encryption": "aws:kms"}
    put = s3_call(_recorded("PUT", "/b/k", **headers))
    part = s3_call(_recorded("PUT", "/b/k", "partNumber=1&uploadId=U", **headers))
    assert put.context() == {"s3:x-amz-server-side-encryption": "aws:kms"}
    assert part.context() == {}


def _agent_calls(access: ArchiveAccess, prefix: str) -> list[S3Call]:
    """The requests the S3 output makes for one object, as the plugin source builds them."""
    path = f"/{access.bucket_name}/{prefix}audit.syslog/2026/11/30/00/1519-Ab3dE6gH.jsonl.gz"
    return [
        s3_call(_recorded("PUT", path, content_md5="x==", x_amz_content_sha256="h")),
        s3_call(_recorded("POST", path, "uploads=")),
        s3_call(_recorded("PUT", path, "partNumber=1&uploadId=U", content_md5="x==")),
        s3_call(_recorded("POST", path, "uploadId=U")),
    ]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_planned_policies_allow_every_call_of_the_agent(stack: str) -> None:
    graph = stack_graph(stack)
    access = ArchiveAccess.from_graph(graph, archive_graph(stack))
    assert denied(access, _agent_calls(access, graph.stack_outputs["logPrefix"])) == []


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_planned_policies_refuse_what_the_archive_must_refuse(stack: str) -> None:
    graph = stack_graph(stack)
    access = ArchiveAccess.from_graph(graph, archive_graph(stack))
    key = graph.stack_outputs["kmsKeyArn"]
    for call in _agent_calls(access, graph.stack_outputs["logPrefix"]):
        decisions = must_refuse(access, call, key)
        allowed = [label for label, decision in decisions.items() if decision == "allow"]
        assert allowed == [], f"{stack} {call.operation}: allowed {allowed}"
        assert decisions["no TLS"] == "explicit-deny"
        if "another KMS key" in decisions:
            assert decisions["another KMS key"] == "explicit-deny"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_regression_the_pre_fix_bucket_policy_denies_the_agents_uploads(stack: str) -> None:
    graph = stack_graph(stack)
    access = ArchiveAccess.from_graph(graph, archive_graph(stack))
    old = pre_fix_bucket_policy(graph.stack_outputs["bucketArn"], graph.stack_outputs["kmsKeyArn"])
    decisions = {
        call.operation: access.decide(call, bucket_policy=old)
        for call in _agent_calls(access, graph.stack_outputs["logPrefix"])
    }
    # No header carries the key, so StringNotEqualsIfExists holds and the Deny applies.
    for operation in ("PutObject", "CreateMultipartUpload", "UploadPart"):
        assert decisions[operation].decision == "explicit-deny"
        assert decisions[operation].statements == ("DenyForeignKmsKeys",)
