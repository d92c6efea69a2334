"""KMS policies: the archive's key rotates and cannot be deleted on a whim."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from .common import UNKNOWN, Report, Resource, resource_policy
from .iam_eval import Request
from .probes import FOREIGN_ACCOUNT, caller, document, resource_decision

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


# What a stranger must not be able to do with the key: use it, or take it over.
_STRANGER_ACTIONS = (
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
)
_PROBE_KEY = "arn:aws:kms:us-east-1:111122223333:key/policy-probe"


def _check_key_policy(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    if resource.props.get("bypassPolicyLockoutSafetyCheck") is True:
        report(
            "bypassPolicyLockoutSafetyCheck is true: a policy that locks out every "
            "administrator would be accepted"
        )
    text = resource.props.get("policy")
    if text is None or text is UNKNOWN or text == "":
        return  # the default key policy: the account's IAM decides
    policy = document(text)
    if policy is None:
        report("the key policy is not a JSON policy document")
        return
    strangers: dict[str, Callable[[str], Request]] = {
        "any AWS account": lambda action: caller(FOREIGN_ACCOUNT, action, _PROBE_KEY, {}),
        "anonymous callers": lambda action: Request(action, _PROBE_KEY),
    }
    for who, request in strangers.items():
        opened = [a for a in _STRANGER_ACTIONS if resource_decision(policy, request(a)) == "allow"]
        if opened:
            report(f"the key policy allows {who} {', '.join(opened)}")


def policies() -> list[Policy]:
    return [
        resource_policy(
            name="kms-key-policy-restricted",
            what="A KMS key policy must not let other accounts or anonymous callers use or "
            "administer the key, nor bypass the policy lockout safety check; judged by "
            "evaluating requests against it.",
            fix="name the principals (this account's root or roles) instead of '*', or add "
            "a condition on aws:PrincipalAccount; leave bypassPolicyLockoutSafetyCheck unset.",
            severity=Severity.CRITICAL,
            enforcement=EnforcementLevel.MANDATORY,
            types=KEY_TYPES,
            check=_check_key_policy,
        ),
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
