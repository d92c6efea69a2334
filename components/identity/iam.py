"""IAM documents as data: the IRSA trust policy and the agent's per-route permissions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.agent.routes import (
    CloudWatchLogsRoute,
    OpenSearchRoute,
    RenderError,
    Route,
    S3Route,
)
from components.agent.settings import AgentSettings
from components.common.partition import Partition

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


@dataclass(frozen=True)
class AuditArchive:
    """The stack's audit bucket as the agent's role sees it."""

    bucket_name: str
    bucket_arn: str
    log_prefix: str  # "audit/dev/": the only prefix the role may write in this bucket
    kms_key_arn: str | None


# What each Fluent Bit 5.1.1 output plugin calls (read from its source), as IAM actions.
# out_s3 (s3.c, s3_multipart.c): PutObject, or CreateMultipartUpload + UploadPart +
# CompleteMultipartUpload, which S3 authorizes all as s3:PutObject. AbortMultipartUpload is
# only called for blob inputs (abort_blob_upload), which this pipeline does not have.
S3_ACTIONS = ("s3:PutObject",)
# With SSE-KMS, S3 asks KMS for a data key per object, and Decrypt for multipart uploads.
KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# out_cloudwatch_logs (cloudwatch_api.c): CreateLogStream, PutLogEvents; CreateLogGroup only
# when a stream's group is missing and auto_create_group is on; PutRetentionPolicy only
# after it created a group and log_retention_days is set. No Describe* calls.
CLOUDWATCH_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
CLOUDWATCH_CREATE_GROUP = "logs:CreateLogGroup"
CLOUDWATCH_RETENTION = "logs:PutRetentionPolicy"
# out_opensearch (opensearch.c): one request type, POST <path>/_bulk, SigV4 service "es".
OPENSEARCH_ACTIONS = ("es:ESHttpPost",)


def agent_role_policy(
    routes: Sequence[Route],
    archive: AuditArchive | None,
    partition: Partition,
    region: str,
    account: str,
) -> PolicyDocument:
    """Exactly what the agent's routes call, on exactly their resources.

    `routes` are resolved (AgentSettings.with_default_bucket): every S3 route names its
    bucket. Routes that need no AWS permission (stdout, loki, forward, basic-auth search,
    S3-compatible endpoints) add nothing.
    """
    statements: list[dict[str, Any]] = []
    for route in routes:
        statements += route_statements(route, archive, partition, account)
    if (
        archive is not None
        and archive.kms_key_arn is not None
        and any(_writes_archive(route, archive) for route in routes)
    ):
        statements.append(
            {
                "Sid": "EncryptAuditObjects",
                "Effect": "Allow",
                "Action": list(KMS_ACTIONS),
                "Resource": [archive.kms_key_arn],
                # Only through S3 in the archive's region: the role cannot use the key directly.
                "Condition": {
                    "StringEquals": {"kms:ViaService": partition.service_endpoint("s3", region)}
                },
            }
        )
    if not statements:
        raise RenderError(
            "the agent's role would have no permission: no route writes to AWS; "
            "run without a role (cluster.irsa: false) or add an AWS route"
        )
    return {"Version": "2012-10-17", "Statement": statements}


def route_statements(
    route: Route, archive: AuditArchive | None, partition: Partition, account: str
) -> list[dict[str, Any]]:
    """The Allow statements one route needs ([] for a route that calls no AWS API)."""
    sid = "Route" + "".join(part.capitalize() for part in route.name.split("-"))
    if isinstance(route, S3Route):
        if route.endpoint is not None:
            return []  # an S3-compatible store: its own credentials, not IAM
        if route.bucket is None:
            raise RenderError(f"route {route.name!r}: unresolved bucket; resolve routes first")
        return [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": list(S3_ACTIONS),
                "Resource": [f"arn:{partition.name}:s3:::{route.bucket}/{route.prefix}/*"],
            }
        ]
    if isinstance(route, CloudWatchLogsRoute):
        group = partition.arn("logs", route.region, account, f"log-group:{route.log_group_name}")
        # CloudWatch Logs authorizes stream calls on `log-group:<name>:*`-style ARNs and the
        # group calls on the bare group ARN ("Overview of managing access permissions").
        granted = [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": [CLOUDWATCH_ACTIONS[0]],
                "Resource": [f"{group}:*"],
            },
            {
                "Sid": f"{sid}Events",
                "Effect": "Allow",
                "Action": [CLOUDWATCH_ACTIONS[1]],
                "Resource": [f"{group}:log-stream:{route.log_stream_prefix}*"],
            },
        ]
        if route.auto_create_group:
            actions = [CLOUDWATCH_CREATE_GROUP]
            if route.log_retention_days is not None:
                actions.append(CLOUDWATCH_RETENTION)
            granted.append(
                {
                    "Sid": f"{sid}Group",
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [group, f"{group}:*"],
                }
            )
        return granted
    if isinstance(route, OpenSearchRoute) and route.aws_auth:
        if route.domain_arn is None:
            raise RenderError(f"route {route.name!r}: awsAuth needs domainArn")
        return [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": list(OPENSEARCH_ACTIONS),
                "Resource": [f"{route.domain_arn}/_bulk"],
            }
        ]
    return []


def _writes_archive(route: Route, archive: AuditArchive) -> bool:
    return (
        isinstance(route, S3Route)
        and route.endpoint is None
        and route.bucket == archive.bucket_name
    )


def account_of(arn: str) -> str:
    """The 12-digit account of an ARN (the OIDC provider's is the role's account)."""
    parts = arn.split(":")
    if len(parts) < 6 or not re.fullmatch(r"\d{12}", parts[4]):
        raise RenderError(f"ARN {arn!r} names no 12-digit account")
    return parts[4]


def agent_policy_for_stack(
    settings: AgentSettings,
    archive: AuditArchive,
    partition: Partition,
    region: str,
    oidc_provider_arn: str,
) -> PolicyDocument:
    """The agent role's policy for a stack: its routes resolved against the audit bucket."""
    routes = settings.with_default_bucket(archive.bucket_name, region, archive.log_prefix).routes
    return agent_role_policy(routes, archive, partition, region, account_of(oidc_provider_arn))
