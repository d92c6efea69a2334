"""What AWS would decide for each S3 request a client made, with a stack's real documents.

A request recorded on loopback (tooling.recording_proxy) is mapped to the IAM action, the
resource ARN and the condition keys S3 authorizes it with (S3 User Guide, "Required
permissions for Amazon S3 API operations" and "Condition keys"), then evaluated with IAM's
rules (policy.policies.iam_eval) against the stack's bucket policy and the agent role's
policy, as the offline plan recorded them.

moto does not evaluate bucket policies or condition keys; this does, for the requests the
real agent really sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy.policies.iam_eval import Context, Evaluation, Request, evaluate
from tooling.graph import ResourceGraph
from tooling.recording_proxy import RecordedRequest

# Request headers that S3 exposes as condition keys on object writes.
_HEADER_KEYS = {
    "x-amz-server-side-encryption": "s3:x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id": (
        "s3:x-amz-server-side-encryption-aws-kms-key-id"
    ),
    "x-amz-acl": "s3:x-amz-acl",
    "x-amz-storage-class": "s3:x-amz-storage-class",
}
# The operations whose request headers S3 puts in the request context (the others, e.g.
# UploadPart, carry no encryption headers of their own: the upload has them).
_HEADER_OPERATIONS = frozenset({"PutObject", "CreateMultipartUpload", "CopyObject"})


@dataclass(frozen=True)
class S3Call:
    operation: str  # the S3 API operation, e.g. "UploadPart"
    action: str  # the IAM action S3 authorizes it as, e.g. "s3:PutObject"
    bucket: str
    key: str | None  # None for a bucket-level call
    headers: Mapping[str, str]

    def resource(self, partition: str = "aws", bucket: str | None = None) -> str:
        name = bucket or self.bucket
        return f"arn:{partition}:s3:::{name}" + (f"/{self.key}" if self.key is not None else "")

    def context(self) -> dict[str, str]:
        if self.operation not in _HEADER_OPERATIONS:
            return {}
        return {key: self.headers[h] for h, key in _HEADER_KEYS.items() if h in self.headers}


def s3_call(request: RecordedRequest) -> S3Call:
    """The S3 operation of a path-style request; ValueError for one this does not know."""
    bucket, _, key = request.path.lstrip("/").partition("/")
    query, method = request.query, request.method
    headers = dict(request.headers)
    if not bucket:
        raise ValueError(f"{method} {request.path}: no bucket (ListBuckets is not expected)")
    if not key:
        operation, action = {
            "GET": ("ListObjects", "s3:ListBucket"),
            "HEAD": ("HeadBucket", "s3:ListBucket"),
        }.get(method, ("", ""))
        if not operation:
            raise ValueError(f"unmapped bucket-level S3 request: {method} {request.path}")
        return S3Call(operation, action, bucket, None, headers)
    if method == "PUT" and "uploadId" in query and "partNumber" in query:
        operation, action = "UploadPart", "s3:PutObject"
    elif method == "PUT" and "x-amz-copy-source" in headers:
        operation, action = "CopyObject", "s3:PutObject"
    elif method == "PUT" and not query:
        operation, action = "PutObject", "s3:PutObject"
    elif method == "POST" and "uploads" in query:
        operation, action = "CreateMultipartUpload", "s3:PutObject"
    elif method == "POST" and "uploadId" in query:
        operation, action = "CompleteMultipartUpload", "s3:PutObject"
    elif method == "DELETE" and "uploadId" in query:
        operation, action = "AbortMultipartUpload", "s3:AbortMultipartUpload"
    elif method == "DELETE" and "versionId" in query:
        operation, action = "DeleteObjectVersion", "s3:DeleteObjectVersion"
    elif method == "DELETE" and not query:
        operation, action = "DeleteObject", "s3:DeleteObject"
    elif method in ("GET", "HEAD") and not query:
        operation, action = "GetObject", "s3:GetObject"
    else:
        raise ValueError(f"unmapped S3 request: {method} {request.path} {dict(query)}")
    return S3Call(operation, action, bucket, key, headers)


@dataclass(frozen=True)
class ArchiveAccess:
    """The documents that decide the agent's access to a stack's archive."""

    bucket_name: str
    partition: str
    bucket_policy: dict[str, Any]
    role_arn: str
    role_policy: dict[str, Any]

    @classmethod
    def from_graph(
        cls, graph: ResourceGraph, archive: ResourceGraph | None = None
    ) -> ArchiveAccess:
        """The agent's access from a stack's plan; a cluster stack's bucket policy is in the
        plan of its archive stack (`archive`)."""
        outputs = graph.stack_outputs
        bucket_arn = str(outputs["bucketArn"])
        bucket_name = str(outputs["bucketName"])
        # The archive's own policy (its access-log bucket has another; a cluster stack's is
        # in its archive stack's plan).
        [bucket_policy] = [
            r
            for r in (archive or graph).by_type("aws:s3/bucketPolicy:BucketPolicy")
            if r.inputs.get("bucket") == bucket_name
        ]
        return cls(
            bucket_name=bucket_name,
            partition=bucket_arn.split(":")[1],
            bucket_policy=json.loads(bucket_policy.inputs["policy"]),
            role_arn=str(outputs["agentRoleArn"]),
            role_policy=json.loads(graph.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"]),
        )

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    def request(self, call: S3Call, *, secure_transport: bool = True) -> Request:
        """The IAM request of `call` made by the agent's role, on this stack's bucket."""
        context: Context = {
            **call.context(),
            "aws:SecureTransport": secure_transport,
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": self.account,
        }
        return Request(
            action=call.action,
            resource=call.resource(self.partition, self.bucket_name),
            principal=self.role_arn,
            account=self.account,
            context=context,
        )

    def decide(
        self,
        call: S3Call,
        *,
        secure_transport: bool = True,
        bucket_policy: Mapping[str, Any] | None = None,
    ) -> Evaluation:
        """Allow or deny, with this stack's bucket policy (or the one given) and role policy."""
        return evaluate(
            self.request(call, secure_transport=secure_transport),
            [self.role_policy],
            dict(bucket_policy) if bucket_policy is not None else self.bucket_policy,
            same_account=True,
        )
