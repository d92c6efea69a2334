"""Asking IAM documents what they do: representative requests, evaluated with iam_eval.

A policy that checks the spelling of a document is fooled by an equivalent rewrite (a
wildcard for a list, NotAction for Action, a condition moved). These helpers put concrete
requests to the document instead, the way AWS would decide them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .common import parse_json
from .iam_eval import Context, Request, evaluate_identity, evaluate_resource

# An account and a key no real document names: stand-ins for "someone else".
FOREIGN_ACCOUNT = "999988887777"
FOREIGN_KEY_ID = "00000000-0000-4000-8000-000000000000"
_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):(?P<service>[\w-]+):(?P<region>[\w-]*):(?P<account>\d*):"
)


def arn_part(arn: Any, part: str) -> str | None:
    match = _ARN.match(arn) if isinstance(arn, str) else None
    return (match.group(part) or None) if match else None


def document(value: Any) -> Mapping[str, Any] | None:
    parsed = parse_json(value)
    return parsed if isinstance(parsed, dict) else None


def in_account_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/policy-probe"


def resource_decision(policy: Mapping[str, Any], request: Request) -> str:
    """allow / explicit-deny / implicit-deny of a resource policy; 'invalid' if unreadable."""
    try:
        return evaluate_resource(policy, request).decision
    except ValueError:
        return "invalid"


def identity_decision(policies: list[Mapping[str, Any]], request: Request) -> str:
    try:
        return evaluate_identity(policies, request).decision
    except ValueError:
        return "invalid"


def caller(account: str, action: str, resource: str, context: Context) -> Request:
    """A request by a role of `account`, with the context keys AWS would set for it."""
    principal = in_account_role(account)
    return Request(
        action=action,
        resource=resource,
        principal=principal,
        account=account,
        context={"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, **context},
    )
