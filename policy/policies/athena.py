"""Athena and the auditor: the query workgroup guards cost and encrypts, auditors only read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from . import iam_documents as iam
from .common import UNKNOWN, Report, Resource, get, is_set, resource_policy
from .iam_eval import all_actions, expand_actions

WORKGROUP_TYPES = ("aws:athena/workgroup:Workgroup",)
ROLE_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy",)

# Everything an auditor may do: query, and read what queries read. No write, no delete.
# Written out here on purpose, not imported from components/identity/auditor_iam.py: the
# pack is the independent guard, so a change that widens the renderer's list must fail it.
AUDITOR_ACTIONS = frozenset(
    action.lower()
    for action in (
        "athena:BatchGetNamedQuery",
        "athena:BatchGetQueryExecution",
        "athena:GetNamedQuery",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:GetQueryResultsStream",
        "athena:GetWorkGroup",
        "athena:ListNamedQueries",
        "athena:ListQueryExecutions",
        "athena:StartQueryExecution",
        "athena:StopQueryExecution",
        "glue:BatchGetPartition",
        "glue:GetDatabase",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:GetTable",
        "s3:GetObject",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    )
)


def _check_enforced(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    configuration = resource.props.get("configuration")
    if configuration is UNKNOWN:
        return
    if not isinstance(configuration, dict):
        report("no configuration: clients choose their own result location and encryption")
        return
    # AWS enforces the workgroup's settings unless told otherwise; say so explicitly anyway.
    if configuration.get("enforceWorkgroupConfiguration") is False:
        report("enforceWorkgroupConfiguration is false: clients may override its settings")
    cutoff = configuration.get("bytesScannedCutoffPerQuery")
    if cutoff is UNKNOWN:
        return
    maximum = config["maxBytesScannedCutoffPerQuery"]
    if not isinstance(cutoff, int | float):
        report("no bytesScannedCutoffPerQuery: a query may scan the whole archive")
    elif cutoff > maximum:
        report(f"bytesScannedCutoffPerQuery {cutoff:g} is above the maximum {maximum}")


def _check_encrypted(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    configuration = resource.props.get("configuration")
    if configuration is UNKNOWN or not isinstance(configuration, dict):
        return
    managed = configuration.get("managedQueryResultsConfiguration")
    if get(managed, "enabled") is True:
        if config["requireKms"] and not is_set(get(managed, "encryptionConfiguration", "kmsKey")):
            report("managed query results are not encrypted with a customer KMS key")
        return
    option = get(
        configuration, "resultConfiguration", "encryptionConfiguration", "encryptionOption"
    )
    accepted = ("SSE_KMS", "CSE_KMS") if config["requireKms"] else ("SSE_KMS", "CSE_KMS", "SSE_S3")
    if option is not UNKNOWN and option not in accepted:
        report(f"query results encryption is {option!r}, not one of {', '.join(accepted)}")


def _check_auditor(resource: Resource, config: Mapping[str, Any], report: Report) -> None:
    if resource.props.get("name") != config["auditorPolicyName"]:
        return
    catalog = all_actions()
    for index, statement in enumerate(iam.statements(resource.props.get("policy"))):
        if not iam.is_allow(statement):
            continue
        where = f"statement {statement.get('Sid') or index}"
        if "NotAction" in statement or "NotResource" in statement:
            report(f"{where} uses NotAction/NotResource: an auditor's grant must be explicit")
        for pattern in iam.actions(statement):
            granted = expand_actions(pattern, catalog) or {pattern.lower()}
            extra = sorted(a for a in granted if a.lower() not in AUDITOR_ACTIONS)
            if extra:
                report(f"{where} allows {', '.join(extra[:5])}: an auditor may only read")
        if any(r == "*" for r in iam.resources(statement)):
            report(f"{where} applies to every resource ('*')")


def policies() -> list[Policy]:
    return [
        resource_policy(
            name="athena-workgroup-enforced",
            what="The query workgroup must enforce its configuration and stop a query past "
            "a bytes-scanned limit (the archive is large; a query must not scan all of it).",
            fix="set configuration.enforceWorkgroupConfiguration=true and "
            "bytesScannedCutoffPerQuery (query.bytesScannedCutoffPerQuery in the stack).",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.MANDATORY,
            types=WORKGROUP_TYPES,
            check=_check_enforced,
            config={
                "maxBytesScannedCutoffPerQuery": {
                    "type": "integer",
                    "default": 1_000_000_000_000,
                    "description": "Largest accepted per-query cutoff, in bytes (1 TB).",
                }
            },
        ),
        resource_policy(
            name="athena-workgroup-results-encrypted",
            what="Query results are copies of audit records: they must be encrypted at rest.",
            fix="encrypt the workgroup's results: managed results with encryptionConfiguration."
            "kmsKey, or resultConfiguration.encryptionConfiguration SSE_KMS with a key.",
            severity=Severity.HIGH,
            enforcement=EnforcementLevel.MANDATORY,
            types=WORKGROUP_TYPES,
            check=_check_encrypted,
            config={
                "requireKms": {
                    "type": "boolean",
                    "default": True,
                    "description": "Results must be encrypted with a customer KMS key.",
                }
            },
        ),
        resource_policy(
            name="auditor-role-read-only",
            what="The auditor role reads the archive through Athena; it must not be able to "
            "write, delete or administer anything.",
            fix="grant only the query and read actions of components/identity/auditor_iam.py, "
            "on named resources.",
            severity=Severity.HIGH,
            enforcement=EnforcementLevel.MANDATORY,
            types=ROLE_POLICY_TYPES,
            check=_check_auditor,
            config={
                "auditorPolicyName": {
                    "type": "string",
                    "default": "archive-auditor",
                    "description": "Name of the auditor role's inline policy.",
                }
            },
        ),
    ]
