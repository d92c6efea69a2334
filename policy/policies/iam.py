"""IAM policies: least privilege for the log shipper's role and nothing that grants admin."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from . import iam_documents as iam
from .common import UNKNOWN, Report, Resource, as_list, dicts, parse_json, resource_policy

ROLE_TYPE = "aws:iam/role:Role"
ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
_SINGLE_DOCUMENT_TYPES = (
    ROLE_POLICY_TYPE,
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IDENTITY_POLICY_TYPES = (*_SINGLE_DOCUMENT_TYPES, ROLE_TYPE)
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)

_SERVICE_WILDCARD = re.compile(r"^[A-Za-z0-9-]+:\*$")
_READ_ONLY_VERBS = ("get", "list", "describe", "batchget", "head", "view", "lookup")
_AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.+/)?(?P<name>[^/]+)$")
_SERVICE_ACCOUNT_SUBJECT = re.compile(r"^system:serviceaccount:[a-z0-9.-]+:[a-z0-9.-]+$")
_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


def identity_documents(resource: Resource) -> list[tuple[str, Any]]:
    """(label, document) of each identity policy a resource carries."""
    if resource.type in _SINGLE_DOCUMENT_TYPES:
        return [("policy", resource.props.get("policy"))]
    if resource.type == ROLE_TYPE:
        return [
            (f"inlinePolicies[{index}] ({inline.get('name', '?')})", inline.get("policy"))
            for index, inline in enumerate(dicts(resource.props.get("inlinePolicies")))
        ]
    return []


def _statement_label(label: str, index: int, statement: dict[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"{label} statement {sid!r}" if isinstance(sid, str) and sid else f"{label}[{index}]"


def _check_wildcard_action(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    for label, document in identity_documents(resource):
        for index, statement in enumerate(iam.statements(document)):
            if not iam.is_allow(statement):
                continue
            where = _statement_label(label, index, statement)
            if "NotAction" in statement:
                report(f"{where} allows NotAction, i.e. every action but the listed ones")
            for action in iam.actions(statement):
                if action == "*" or _SERVICE_WILDCARD.match(action):
                    report(f"{where} allows action '{action}'")


def _is_read_only(action: str) -> bool:
    verb = action.split(":", 1)[-1].lower()
    return verb != "*" and verb.startswith(_READ_ONLY_VERBS)


def _check_wildcard_resource(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    allowed = {a.lower() for a in as_list(config["allowedActions"]) if isinstance(a, str)}
    for label, document in identity_documents(resource):
        for index, statement in enumerate(iam.statements(document)):
            if not iam.is_allow(statement):
                continue
            if "*" not in iam.resources(statement) and "NotResource" not in statement:
                continue
            writes = [
                a
                for a in iam.actions(statement)
                if not _is_read_only(a) and a.lower() not in allowed
            ]
            if writes or "NotAction" in statement:
                where = _statement_label(label, index, statement)
                shown = ", ".join(writes) or "NotAction"
                report(f"{where} allows {shown} on every resource ('*' or NotResource)")


def _issuer(federated: str) -> str | None:
    _, marker, issuer = federated.partition(":oidc-provider/")
    return issuer if marker else None


def _irsa_problems(statement: dict[str, Any]) -> list[str]:
    federated = iam.principals(statement, "Federated")
    issuers = [_issuer(f) for f in federated]
    if len(federated) != 1 or issuers[0] is None:
        return [f"Principal.Federated must be exactly one OIDC provider ARN, got {federated}"]
    issuer = issuers[0]
    equals = iam.conditions(statement, "StringEquals")
    problems = []
    subjects = [key for key in equals if key.lower().endswith(":sub")]
    audiences = [key for key in equals if key.lower().endswith(":aud")]
    if len(subjects) != 1:
        problems.append("StringEquals must pin exactly one '<issuer>:sub' key")
    else:
        values = as_list(equals[subjects[0]])
        if len(values) != 1 or not _SERVICE_ACCOUNT_SUBJECT.match(str(values[0])):
            problems.append(
                f"{subjects[0]} must be exactly one 'system:serviceaccount:<namespace>:<name>', "
                f"got {values}"
            )
    if len(audiences) != 1 or as_list(equals[audiences[0]]) != ["sts.amazonaws.com"]:
        problems.append("StringEquals must set '<issuer>:aud' to exactly 'sts.amazonaws.com'")
    for key in subjects + audiences:
        if key.rsplit(":", 1)[0] != issuer:
            problems.append(f"condition key {key} is not of the trusted issuer {issuer}")
    return problems


def _check_irsa_trust(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    for index, statement in enumerate(iam.statements(resource.props.get("assumeRolePolicy"))):
        if not iam.allows_action(statement, _WEB_IDENTITY):
            continue
        for problem in _irsa_problems(statement):
            report(f"assumeRolePolicy[{index}]: {problem}")


def _check_trust_principal(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    document = resource.props.get("assumeRolePolicy")
    if document is not UNKNOWN and parse_json(document) is None:
        report("assumeRolePolicy is missing or is not a JSON policy document")
    for index, statement in enumerate(iam.statements(document)):
        if iam.is_allow(statement) and "*" in iam.principals(statement, "AWS"):
            report(f"assumeRolePolicy[{index}] lets any AWS principal ('*') assume the role")


def _check_admin_attachment(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    denied = {name for name in as_list(config["deniedPolicyNames"]) if isinstance(name, str)}
    arns = as_list(resource.props.get("policyArn")) + as_list(
        resource.props.get("managedPolicyArns")
    )
    for arn in arns:
        match = _AWS_MANAGED_POLICY.match(arn) if isinstance(arn, str) else None
        if match and match.group("name") in denied:
            report(f"attaches the AWS managed policy {arn}")


def policies() -> list[Policy]:
    critical, mandatory = Severity.CRITICAL, EnforcementLevel.MANDATORY
    return [
        resource_policy(
            name="iam-no-wildcard-action",
            what="Identity policies must not allow every action ('*') or every action of a "
            "service ('s3:*'), nor use Allow with NotAction.",
            fix="list the exact actions the workload needs (the log shipper needs "
            "s3:PutObject and kms:GenerateDataKey, not s3:* or kms:*).",
            severity=critical,
            enforcement=mandatory,
            types=IDENTITY_POLICY_TYPES,
            check=_check_wildcard_action,
        ),
        resource_policy(
            name="iam-no-wildcard-resource-write",
            what="Identity policies must not allow write actions on Resource '*'.",
            fix="scope Resource to the ARNs written to (e.g. arn:aws:s3:::<bucket>/<prefix>/*"
            " and the KMS key ARN); read-only Get/List/Describe actions may stay on '*'.",
            severity=Severity.HIGH,
            enforcement=mandatory,
            types=IDENTITY_POLICY_TYPES,
            check=_check_wildcard_resource,
            config={
                "allowedActions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Write actions AWS only grants on '*' (they have no "
                    "resource-level permissions), accepted on Resource '*'.",
                }
            },
        ),
        resource_policy(
            name="iam-irsa-trust-pinned",
            what="A role assumed with a Kubernetes service account token (IRSA) must trust "
            "exactly one service account of one cluster.",
            fix="in assumeRolePolicy use Principal.Federated=<the cluster's OIDC provider ARN> "
            "and Condition.StringEquals {'<issuer>:sub': 'system:serviceaccount:<ns>:<sa>', "
            "'<issuer>:aud': 'sts.amazonaws.com'} (no StringLike, no wildcards).",
            severity=critical,
            enforcement=mandatory,
            types=(ROLE_TYPE,),
            check=_check_irsa_trust,
        ),
        resource_policy(
            name="iam-trust-no-wildcard-principal",
            what="A role's trust policy must not let any AWS principal assume it.",
            fix="name the trusted principal (account, role, service or OIDC provider) "
            "instead of '*'.",
            severity=critical,
            enforcement=mandatory,
            types=(ROLE_TYPE,),
            check=_check_trust_principal,
        ),
        resource_policy(
            name="iam-no-admin-policy-attachment",
            what="No role, user or group may get an administrator-class AWS managed policy.",
            fix="remove the attachment and grant a scoped inline policy with the actions "
            "the workload needs.",
            severity=critical,
            enforcement=mandatory,
            types=(*ATTACHMENT_TYPES, ROLE_TYPE),
            check=_check_admin_attachment,
            config={
                "deniedPolicyNames": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [
                        "AdministratorAccess",
                        "PowerUserAccess",
                        "IAMFullAccess",
                        "AmazonS3FullAccess",
                        "AWSKeyManagementServicePowerUser",
                    ],
                    "description": "AWS managed policy names that must never be attached.",
                }
            },
        ),
    ]
