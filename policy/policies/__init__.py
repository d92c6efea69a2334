"""The policies of the container-audit-log pack, grouped by domain.

Imported as `policy.policies` from the repository root (tests, tooling) and as `policies`
when Pulumi runs the pack with policy/ as its directory, hence relative imports inside.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    agent_identity,
    archive_policy,
    athena,
    eks,
    iam,
    kms,
    kubernetes,
    nodes,
    pod_security,
    protection,
    s3,
    s3_logging,
    stack,
)

PACK_NAME = "container-audit-log"


def all_policies() -> list[Policy]:
    """Every policy of the pack, in a stable order (by domain, then as declared)."""
    return [
        *s3.policies(),
        *s3_logging.policies(),
        *archive_policy.policies(),
        *kms.policies(),
        *iam.policies(),
        *agent_identity.policies(),
        *eks.policies(),
        *nodes.policies(),
        *kubernetes.policies(),
        *pod_security.policies(),
        *stack.policies(),
        *athena.policies(),
        *protection.policies(),
    ]


__all__ = ["PACK_NAME", "all_policies"]
