"""Evaluate IAM policy documents for what they allow, with AWS's own evaluation rules.

No maintained PyPI library does this for bucket-policy conditions: policyuniverse parses
statements and expands actions, parliament and cloudsplaining lint, policy-sentry writes
policies; none decides a request against `Condition` blocks. So this is a small evaluator,
standard library only (the policy pack's virtualenv has nothing else), following the AWS IAM
User Guide: "Policy evaluation logic", "IAM JSON policy elements: Condition operators",
"Condition with multiple context keys or values" and "Single-valued vs. multivalued context
keys".

Covered: Action/NotAction and Resource/NotResource with `*`/`?` (actions case-insensitive,
resources case-sensitive); Principal/NotPrincipal ("*", AWS account ids, `:root` and other
ARNs, Service, Federated, CanonicalUser); the String, Numeric, Date, Bool, Binary, IpAddress
and Arn operators and Null, each with `IfExists` (not Null) and `ForAllValues:`/`ForAnyValue:`.
Not covered, on purpose: policy variables (`${aws:username}` is compared literally), SCPs,
RCPs, permission boundaries, session policies, KMS key policies' "the key policy must allow"
rule. A role session ("arn:aws:sts::<id>:assumed-role/<role>/<session>") is matched by its
role's ARN in Principal; condition keys such as aws:PrincipalArn are whatever the caller puts
in Request.context (the evaluator derives no context keys).
A malformed statement or an unknown operator raises ValueError: never a silent allow or deny.

The action catalog for wildcard expansion lives in iam_actions.py (see its docstring).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from .iam_actions import ACTIONS

Context = Mapping[str, str | bool | int | Sequence[str]]
Decision = Literal["allow", "explicit-deny", "implicit-deny"]


@dataclass(frozen=True)
class Request:
    action: str  # "s3:PutObject"
    resource: str  # "arn:aws:s3:::bucket/key"
    principal: str = "*"  # the caller's ARN, or "*" for anonymous
    account: str | None = None  # the caller's account id
    context: Context = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    statements: tuple[str, ...]  # Sids (or "#<index>") of the statements that decided it


# --- wildcards -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards are only `*` (any run) and `?` (one character); everything else literal.
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def expand_actions(pattern: str, catalog: Iterable[str]) -> set[str]:
    """The actions of `catalog` that `pattern` names, case-insensitively, as "prefix:Name".

    Catalog entries are "s3:PutObject", or bare names ("PutObject", as in ACTIONS["s3"])
    read as belonging to the pattern's service prefix.
    """
    prefix, colon, _ = pattern.partition(":")
    found: set[str] = set()
    for entry in catalog:
        action = entry if ":" in entry or not colon else f"{prefix}:{entry}"
        if glob_matches(pattern, action, ignore_case=True):
            found.add(action)
    return found


def all_actions() -> set[str]:
    """Every action of ACTIONS as "prefix:Name", the catalog expand_actions usually gets."""
    return {f"{prefix}:{name}" for prefix, names in ACTIONS.items() for name in names}


def _arn_matches(pattern: str, arn: str) -> bool:
    # ArnEquals/ArnLike compare each of the six colon-separated parts on its own.
    wanted, got = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(got) == 6 and all(
        glob_matches(w, g) for w, g in zip(wanted, got, strict=True)
    )


# --- condition operators ----------------------------------------------------------------


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number in a Numeric condition: {text!r}") from None


def _date(text: str) -> datetime:
    try:
        moment = (
            datetime.fromtimestamp(float(text), UTC)
            if text.replace(".", "", 1).isdigit()
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise ValueError(f"not a date in a Date condition: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_network(address: str, network: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        raise ValueError(f"not an IP address/CIDR pair: {address!r} in {network!r}") from None


Match = Callable[[str, str], bool]  # (value in the request, value in the policy)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

# Base operator -> (negated, how one request value matches one policy value). A negated
# operator matches when the request value matches none of the policy's values.
_OPERATORS: dict[str, tuple[bool, Match]] = {
    "StringEquals": (False, lambda r, p: r == p),
    "StringNotEquals": (True, lambda r, p: r == p),
    "StringEqualsIgnoreCase": (False, lambda r, p: r.casefold() == p.casefold()),
    "StringNotEqualsIgnoreCase": (True, lambda r, p: r.casefold() == p.casefold()),
    "StringLike": (False, lambda r, p: glob_matches(p, r)),
    "StringNotLike": (True, lambda r, p: glob_matches(p, r)),
    "Bool": (False, lambda r, p: r.lower() == p.lower()),
    "BinaryEquals": (False, lambda r, p: r == p),
    "IpAddress": (False, lambda r, p: _in_network(r, p)),
    "NotIpAddress": (True, lambda r, p: _in_network(r, p)),
    "ArnEquals": (False, lambda r, p: _arn_matches(p, r)),
    "ArnLike": (False, lambda r, p: _arn_matches(p, r)),
    "ArnNotEquals": (True, lambda r, p: _arn_matches(p, r)),
    "ArnNotLike": (True, lambda r, p: _arn_matches(p, r)),
    "NumericNotEquals": (True, lambda r, p: _number(r) == _number(p)),
    "DateNotEquals": (True, lambda r, p: _date(r) == _date(p)),
}


def _numeric(compare: Callable[[float, float], bool]) -> Match:
    return lambda r, p: compare(_number(r), _number(p))


def _dated(compare: Callable[[float, float], bool]) -> Match:
    return lambda r, p: compare(_date(r).timestamp(), _date(p).timestamp())


for _name, _compare in _COMPARE.items():
    _OPERATORS[f"Numeric{_name}"] = (False, _numeric(_compare))
    _OPERATORS[f"Date{_name}"] = (False, _dated(_compare))


def _text(value: object, where: str) -> str:
    if isinstance(value, bool):  # JSON true/false, as AWS reads them: "true"/"false"
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"{where}: expected a string, number or boolean, got {value!r}")


def _strings(value: object, where: str) -> list[str]:
    """A policy element or context value given as one value or a list of them."""
    items = value if isinstance(value, list | tuple) else [value]
    return [_text(item, where) for item in items]


def _context_values(context: Context, key: str) -> list[str] | None:
    """The request's values for `key` (names are case-insensitive); None when absent."""
    for name, value in context.items():
        if name.lower() == key.lower():
            values = _strings(value, f"context key {name}")
            return values or None  # an empty set is as absent as a missing key
    return None


def condition_holds(operator: str, key: str, policy_value: object, context: Context) -> bool:
    """Whether one `"Operator": {"key": value(s)}` entry of a Condition block matches."""
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"unknown condition set operator {qualifier!r} in {operator!r}")
    wanted = _strings(policy_value, f"condition {operator} {key}")
    present = _context_values(context, key)
    if base == "Null":
        if qualifier:
            raise ValueError(f"Null takes no set operator: {operator!r}")
        # "Null": "true" means the key is absent, "false" that it is present.
        return any((w.lower() == "true") == (present is None) for w in wanted)
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise ValueError(f"unknown condition operator {operator!r}")
    negated, match = _OPERATORS[base]
    if present is None:
        # IfExists makes an absent key match. Otherwise ForAllValues over nothing is
        # vacuously true, ForAnyValue false, and a plain operator matches only if negated.
        if if_exists:
            return True
        if qualifier:
            return qualifier == "ForAllValues"
        return negated

    def one(value: str) -> bool:
        hit = any(match(value, w) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in present)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in present)
    # A single-valued operator given several request values: positive operators need one to
    # match, negated ones need none to (the negation of "any matches").
    return all(one(v) for v in present) if negated else any(one(v) for v in present)


def conditions_hold(block: object, context: Context) -> bool:
    """Every operator and every key of a Condition block must hold (they are ANDed)."""
    if block is None:
        return True
    if not isinstance(block, Mapping):
        raise ValueError(f"Condition must be an object, got {block!r}")
    for operator, entries in block.items():
        if not isinstance(entries, Mapping) or not entries:
            raise ValueError(f"Condition {operator!r} must map keys to values, got {entries!r}")
        for key, value in entries.items():
            if not condition_holds(operator, key, value, context):
                return False
    return True


# --- statements --------------------------------------------------------------------------


def _account_of(request: Request) -> str | None:
    if request.account is not None:
        return request.account
    parts = request.principal.split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" else None


_ACCOUNT_PRINCIPAL = re.compile(r"(\d{12})|arn:[\w-]+:iam::(\d{12}):root")


def _principal_names(element: object) -> tuple[bool, set[str], set[str]]:
    """(everyone, account ids, other principal names) of a Principal/NotPrincipal element."""
    if element == "*":
        return True, set(), set()
    if not isinstance(element, Mapping) or not element:
        raise ValueError(f'Principal must be "*" or an object, got {element!r}')
    everyone = False
    accounts: set[str] = set()
    names: set[str] = set()
    for kind, value in element.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise ValueError(f"unknown Principal type {kind!r}")
        for name in _strings(value, f"Principal {kind}"):
            account = _ACCOUNT_PRINCIPAL.fullmatch(name) if kind == "AWS" else None
            if kind == "AWS" and name == "*":
                everyone = True
            elif account:
                accounts.add(account[1] or account[2])
            else:
                names.add(name)
    return everyone, accounts, names


_ROLE_SESSION = re.compile(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/[^/]+")


def _principal_matches(element: object, request: Request, *, excluding: bool) -> bool:
    """Whether the caller is named by a Principal (or, `excluding`, a NotPrincipal) element.

    The caller is a chain: its account, its role when it is a role session, and itself. In
    Principal any link named is enough (an account means all its principals, a role all its
    sessions). For NotPrincipal AWS checks each link and denies at the first one not named,
    so all must be ("NotPrincipal" in the User Guide: name the account, role and session).
    """
    everyone, accounts, names = _principal_names(element)
    if everyone:
        return True
    account = _account_of(request)
    if _ACCOUNT_PRINCIPAL.fullmatch(request.principal):
        chain = [account in accounts]
    else:
        chain = [request.principal in names]
        session = _ROLE_SESSION.fullmatch(request.principal)
        if session:
            chain.append(f"arn:{session[1]}:iam::{session[2]}:role/{session[3]}" in names)
        if account is not None:
            chain.append(account in accounts)
    return all(chain) if excluding else any(chain)


def _one_of(statement: Mapping[str, Any], name: str, required: bool) -> tuple[bool, object]:
    """(negated, value) of the `name`/`Not<name>` pair, which are mutually exclusive."""
    plain, negated = statement.get(name), statement.get(f"Not{name}")
    if plain is not None and negated is not None:
        raise ValueError(f"statement has both {name} and Not{name}: {dict(statement)!r}")
    if plain is None and negated is None:
        if required:
            raise ValueError(f"statement has neither {name} nor Not{name}: {dict(statement)!r}")
        return False, None
    return negated is not None, negated if negated is not None else plain


def statement_applies(
    statement: Mapping[str, Any], request: Request, *, resource_based: bool
) -> bool:
    """Whether the statement's principal, action, resource and conditions all match."""
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f'Effect must be "Allow" or "Deny": {dict(statement)!r}')
    not_action, actions = _one_of(statement, "Action", required=True)
    if any(glob_matches(a, request.action, ignore_case=True) for a in _strings(actions, "Action")):
        action_hit = not not_action
    else:
        action_hit = not_action
    # A role trust policy is the only resource-based policy without a Resource element.
    not_resource, resources = _one_of(statement, "Resource", required=not resource_based)
    if resources is None:
        resource_hit = True
    else:
        hit = any(glob_matches(r, request.resource) for r in _strings(resources, "Resource"))
        resource_hit = hit != not_resource
    not_principal, principals = _one_of(statement, "Principal", required=resource_based)
    if not resource_based and principals is not None:
        raise ValueError(f"an identity-based policy has no Principal: {dict(statement)!r}")
    principal_hit = (
        True
        if principals is None
        else _principal_matches(principals, request, excluding=not_principal) != not_principal
    )
    return (
        action_hit
        and resource_hit
        and principal_hit
        and conditions_hold(statement.get("Condition"), request.context)
    )


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = policy.get("Statement") if isinstance(policy, Mapping) else None
    listed = [found] if isinstance(found, Mapping) else found
    if not isinstance(listed, list) or not all(isinstance(s, Mapping) for s in listed):
        raise ValueError(f"a policy needs a Statement object or list of objects: {policy!r}")
    return listed


def _evaluate(
    policies: Sequence[Mapping[str, Any]], request: Request, *, resource_based: bool
) -> Evaluation:
    allows: list[str] = []
    denies: list[str] = []
    for policy in policies:
        for index, statement in enumerate(_statements(policy)):
            if statement_applies(statement, request, resource_based=resource_based):
                label = str(statement.get("Sid") or f"#{index}")
                (denies if statement["Effect"] == "Deny" else allows).append(label)
    if denies:
        return Evaluation("explicit-deny", tuple(denies))
    if allows:
        return Evaluation("allow", tuple(allows))
    return Evaluation("implicit-deny", ())


def evaluate_identity(policies: Sequence[Mapping[str, Any]], request: Request) -> Evaluation:
    """Identity-based policies (no Principal element) attached to the caller."""
    return _evaluate(policies, request, resource_based=False)


def evaluate_resource(policy: Mapping[str, Any], request: Request) -> Evaluation:
    """A resource-based policy (bucket policy, trust policy): Principal/NotPrincipal matter."""
    return _evaluate([policy], request, resource_based=True)


def evaluate(
    request: Request,
    identity_policies: Sequence[Mapping[str, Any]],
    resource_policy: Mapping[str, Any] | None = None,
    *,
    same_account: bool = True,
) -> Evaluation:
    """The decision of identity and resource policies together.

    An explicit Deny anywhere wins. Within one account either side's Allow is enough; across
    accounts both the caller's identity policy and the resource policy must allow.
    """
    identity = evaluate_identity(identity_policies, request)
    resource = (
        evaluate_resource(resource_policy, request)
        if resource_policy is not None
        else Evaluation("implicit-deny", ())
    )
    denied = [e for e in (identity, resource) if e.decision == "explicit-deny"]
    if denied:
        return Evaluation("explicit-deny", tuple(s for e in denied for s in e.statements))
    allowed = [e for e in (identity, resource) if e.decision == "allow"]
    if allowed and (same_account or len(allowed) == 2):
        return Evaluation("allow", tuple(s for e in allowed for s in e.statements))
    return Evaluation("implicit-deny", ())


__all__ = [
    "ACTIONS",
    "Context",
    "Decision",
    "Evaluation",
    "Request",
    "all_actions",
    "condition_holds",
    "conditions_hold",
    "evaluate",
    "evaluate_identity",
    "evaluate_resource",
    "expand_actions",
    "glob_matches",
    "statement_applies",
]
