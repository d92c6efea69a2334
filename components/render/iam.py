"""IAM documents as data: the IRSA trust policy and the agent's write-only permission."""

from __future__ import annotations

from typing import Any

PolicyDocument = dict[str, Any]


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def irsa_trust_policy(
    oidc_provider_arn: str, issuer_host: str, namespace: str, service_account: str
) -> PolicyDocument:
    """Trust exactly one Kubernetes service account, through the cluster's OIDC provider."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustOneServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    # Both pinned: `sub` alone would accept tokens minted for other audiences.
                    "StringEquals": {
                        f"{issuer_host}:sub": service_account_subject(namespace, service_account),
                        f"{issuer_host}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def audit_writer_policy(
    bucket_arn: str, log_prefix: str, kms_key_arn: str | None, region: str
) -> PolicyDocument:
    """The smallest permission the Fluent Bit S3 output needs: write objects under the prefix.

    `s3:PutObject` also covers the multipart calls the agent makes (create, upload part,
    complete). Nothing can be read, listed or deleted. With SSE-KMS the agent needs a data
    key for each object and Decrypt to complete multipart uploads, only through S3.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteAuditObjects",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"{bucket_arn}/{log_prefix}*"],
        }
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "EncryptAuditObjects",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
