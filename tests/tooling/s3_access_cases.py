"""What the archive must allow and refuse, judged on S3 calls of the agent: every call it
makes is allowed; the same calls without TLS, with another KMS key, as deletes, or outside
the stack's prefix are not. Shared by the offline cases and the real-agent recording."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from tooling.s3_authorization import ArchiveAccess, S3Call

FOREIGN_KEY = "arn:aws:kms:eu-west-1:210987654321:key/11111111-2222-3333-4444-555555555555"


def denied(access: ArchiveAccess, calls: Iterable[S3Call]) -> list[str]:
    """The agent's calls that AWS would not allow, each with the deciding statements."""
    problems = []
    for call in calls:
        result = access.decide(call)
        if result.decision != "allow":
            problems.append(f"{call.operation} {call.key}: {result.decision} {result.statements}")
    return problems


def must_refuse(access: ArchiveAccess, call: S3Call, kms_key_arn: str | None) -> dict[str, Any]:
    """Label -> decision of each variant of an agent write the archive must refuse."""
    assert call.key is not None and call.action == "s3:PutObject"
    prefix_root = call.key.split("/", 1)[0]
    variants = {
        "no TLS": (call, False),
        "DeleteObject": (replace(call, operation="DeleteObject", action="s3:DeleteObject"), True),
        "DeleteObjectVersion": (
            replace(call, operation="DeleteObjectVersion", action="s3:DeleteObjectVersion"),
            True,
        ),
        "outside the prefix": (replace(call, key=f"elsewhere/{call.key}"), True),
        "another stack's prefix": (
            replace(call, key=call.key.replace(f"{prefix_root}/", f"{prefix_root}/other/", 1)),
            True,
        ),
        "a read": (replace(call, operation="GetObject", action="s3:GetObject"), True),
    }
    if kms_key_arn is not None and call.operation in ("PutObject", "CreateMultipartUpload"):
        for label, headers in {
            "another KMS key": {
                "x-amz-server-side-encryption": "aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id": FOREIGN_KEY,
            },
            "SSE-S3 instead of the key": {"x-amz-server-side-encryption": "AES256"},
        }.items():
            variants[label] = (replace(call, headers={**call.headers, **headers}), True)
    return {
        label: access.decide(variant, secure_transport=tls).decision
        for label, (variant, tls) in variants.items()
    }


def pre_fix_bucket_policy(bucket_arn: str, kms_key_arn: str) -> dict[str, Any]:
    """The bucket policy as it was before issue #12 (regression case): its DenyForeignKmsKeys
    used StringNotEqualsIfExists, which is true when the agent sends no key header."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyForeignKmsKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/*",
                "Condition": {
                    "StringNotEqualsIfExists": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn
                    }
                },
            },
        ],
    }
