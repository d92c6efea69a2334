"""The one way this project makes a KMS key: symmetric, yearly rotation, 30-day deletion window."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def rotating_key(
    name: str, description: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions
) -> aws.kms.Key:
    return aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        # The longest window: a key deleted by mistake can be restored for a month.
        deletion_window_in_days=30,
        tags=dict(tags),
        opts=opts,
    )
