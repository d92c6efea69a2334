"""KMS policies: the archive's key rotates and cannot be deleted on a whim."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import UNKNOWN, Report, Resource, resource_policy

KEY_TYPES = ("aws:kms/key:Key",)


def _check_rotation(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    enabled = resource.props.get("enableKeyRotation")
    if enabled is not True and enabled is not UNKNOWN:
        report(f"enableKeyRotation is {enabled!r}")
        return
    period = resource.props.get("rotationPeriodInDays")
    maximum = config["maxRotationPeriodDays"]
    if isinstance(period, int | float) and period > maximum:
        report(f"rotationPeriodInDays is {period:g}, longer than {maximum}")


def _check_deletion_window(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    window = resource.props.get("deletionWindowInDays")
    minimum = config["minDeletionWindowDays"]
    # Unset means the AWS default of 30 days.
    if isinstance(window, int | float) and window < minimum:
        report(f"deletionWindowInDays is {window:g}, shorter than {minimum}")


def policies() -> list[Policy]:
    return [
        resource_policy(
            name="kms-key-rotation",
            what="KMS keys must rotate their key material automatically.",
            fix="set enableKeyRotation=true (and rotationPeriodInDays no longer than the "
            "configured maximum, if set).",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.MANDATORY,
            types=KEY_TYPES,
            check=_check_rotation,
            config={
                "maxRotationPeriodDays": {
                    "type": "integer",
                    "default": 365,
                    "description": "Longest accepted rotationPeriodInDays.",
                }
            },
        ),
        resource_policy(
            name="kms-key-deletion-window",
            what="A KMS key that encrypts the audit archive must keep a long deletion window: "
            "once the key is gone, every object it encrypted is unreadable.",
            fix="leave deletionWindowInDays unset (30 days) or set it to at least the "
            "configured minimum.",
            severity=Severity.LOW,
            enforcement=EnforcementLevel.ADVISORY,
            types=KEY_TYPES,
            check=_check_deletion_window,
            config={
                "minDeletionWindowDays": {
                    "type": "integer",
                    "default": 14,
                    "description": "Shortest accepted deletionWindowInDays (AWS allows 7-30).",
                }
            },
        ),
    ]
