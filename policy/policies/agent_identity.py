"""The agent's role, judged by what it allows: put objects under the prefix, use the key via S3.

The role is found by its trust policy (the one the agent's service account may assume).
Its inline documents are asked about every action they name, after wildcard expansion
over the action catalog (NotAction: every action but the listed ones), on probe resources:
the archive inside and outside the stack's prefix, another bucket, the archive key, another
key, and each resource the documents themselves name. Conditions are ignored for "what may
it do at all" (a condition is one request header away from being met) and honoured for
"only through S3", which is a condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from . import iam_documents as iam
from .archive_policy import archive_key, bucket_arn
from .common import UNKNOWN, StackReport, StackResource, as_list, dicts, get, stack_policy
from .iam import ATTACHMENT_TYPES, ROLE_POLICY_TYPE, ROLE_TYPE
from .iam_eval import Request, all_actions, expand_actions, glob_matches
from .probes import FOREIGN_KEY_ID, arn_part, document, identity_decision
from .s3 import BUCKET_TYPES
from .s3_logging import log_destinations

PUT = "s3:PutObject"
KEY_ACTIONS = frozenset({"kms:GenerateDataKey", "kms:Decrypt"})
_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


def _trusts(role: StackResource, subject: str) -> bool:
    for statement in iam.statements(role.props.get("assumeRolePolicy")):
        if not iam.allows_action(statement, _WEB_IDENTITY):
            continue
        block = statement.get("Condition")
        values = [
            value
            for keys in (block.values() if isinstance(block, dict) else [])
            if isinstance(keys, dict)
            for value in (v for item in keys.values() for v in as_list(item))
        ]
        if any(isinstance(v, str) and glob_matches(v, subject) for v in values):
            return True
    return False


def _attached_to(resource: StackResource, role: StackResource) -> bool:
    target = resource.props.get("role")
    return target in (role.props.get("name"), role.props.get("id")) or resource.depends_on(
        role, "role"
    )


def _documents(role: StackResource, resources: list[StackResource]) -> list[Any]:
    inline = [entry.get("policy") for entry in dicts(role.props.get("inlinePolicies"))]
    attached = [
        r.props.get("policy")
        for r in resources
        if r.type == ROLE_POLICY_TYPE and _attached_to(r, role)
    ]
    return inline + attached


def _condition_blind(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The document as if every Allow's condition were met and every conditional Deny not."""
    kept = []
    for statement in dicts(policy.get("Statement")):
        if statement.get("Effect") == "Allow":
            kept.append({k: v for k, v in statement.items() if k != "Condition"})
        elif "Condition" not in statement:
            kept.append(statement)
    return {"Version": "2012-10-17", "Statement": kept}


def _candidates(policies: Iterable[Mapping[str, Any]]) -> set[str]:
    catalog = all_actions()
    found: set[str] = set()
    for policy in policies:
        for statement in dicts(policy.get("Statement")):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                excluded = set()
                for pattern in as_list(statement["NotAction"]):
                    excluded |= expand_actions(str(pattern), catalog)
                found |= catalog - excluded
            for pattern in (str(p) for p in as_list(statement.get("Action"))):
                expanded = expand_actions(pattern, catalog)
                # A service the catalog does not know still counts, as written.
                found |= expanded or {pattern}
    return found


def _named_resources(policies: Iterable[Mapping[str, Any]]) -> set[str]:
    return {
        str(resource).replace("*", "x").replace("?", "x")
        for policy in policies
        for statement in dicts(policy.get("Statement"))
        for resource in as_list(statement.get("Resource"))
    }


# Named first in a message: what breaks the archive's promises most directly.
_FIRST = ("Object", "Bucket", "KeyDeletion", "KeyPolicy", "Acl", "Policy")


def _summary(actions: Iterable[str], limit: int = 6) -> str:
    def weight(action: str) -> tuple[int, str]:
        verb = action.split(":", 1)[-1]
        ranks = [i for i, marker in enumerate(_FIRST) if verb.endswith(marker)]
        return (ranks[0] if ranks else len(_FIRST), action)

    ordered = sorted(actions, key=weight)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def _judge(
    policies: list[Mapping[str, Any]],
    archive: str,
    prefix: str,
    key: str | None,
    other_actions: list[str],
) -> list[str]:
    region = arn_part(key, "region") or "us-east-1"
    account = arn_part(key, "account") or "123456789012"
    other_key = f"arn:aws:kms:{region}:{account}:key/{FOREIGN_KEY_ID}"
    inside = f"{archive}/{prefix}probe.jsonl.gz"
    archive_probes = {
        f"{archive}/{prefix.rstrip('/')}-other/probe",
        f"{archive}/probe",
        archive,
    }
    probes = (
        {inside, "arn:aws:s3:::another-bucket/probe", other_key}
        | archive_probes
        | _named_resources(policies)
        | ({key} if key else set())
    )
    blind: list[Mapping[str, Any]] = [_condition_blind(p) for p in policies]

    def allowed(action: str, resource: str, context: Mapping[str, Any] | None = None) -> bool:
        docs = blind if context is None else policies
        request = Request(action, resource, context=context or {})
        return identity_decision(docs, request) == "allow"

    def extra(action: str) -> bool:
        return not any(glob_matches(p, action, ignore_case=True) for p in other_actions)

    on_archive: set[str] = set()
    outside_prefix = False
    elsewhere: set[str] = set()
    key_outside_s3: set[str] = set()
    for action in _candidates(policies):
        hits = {r for r in probes if allowed(action, r)}
        archive_hits = {r for r in hits if r == archive or r.startswith(archive + "/")}
        if action == PUT:
            outside_prefix = any(not r.startswith(f"{archive}/{prefix}") for r in archive_hits)
        elif archive_hits or (key is not None and key in hits and action not in KEY_ACTIONS):
            on_archive.add(action)
        if action in KEY_ACTIONS and key in hits:
            direct = {"kms:CallerAccount": account}
            via_other = {**direct, "kms:ViaService": f"ec2.{region}.amazonaws.com"}
            if allowed(action, key, direct) or allowed(action, key, via_other):
                key_outside_s3.add(action)
        others = hits - archive_hits - ({key} if key else set())
        if action in KEY_ACTIONS:
            # Only a grant that reaches any key counts: a named key is the archive's (when the
            # archive's encryption is itself broken, s3-encryption-kms says so).
            others &= {other_key}
        if others and extra(action):
            elsewhere.add(action)
    problems = []
    if outside_prefix:
        problems.append(f"may put objects in the archive outside its prefix '{prefix}'")
    if on_archive:
        problems.append(f"may {_summary(on_archive)} on the archive or its key")
    if key_outside_s3:
        problems.append(
            f"may use the archive key directly, not only through S3 ({_summary(key_outside_s3)})"
        )
    if elsewhere:
        problems.append(f"allows {_summary(elsewhere)} beyond the pipeline's needs")
    return problems


def _check(resources: list[StackResource], config: Mapping[str, Any], report: StackReport) -> None:
    subject = f"system:serviceaccount:{config['agentNamespace']}:{config['agentServiceAccount']}"
    destinations = log_destinations(resources)
    archives = [r for r in resources if r.type in BUCKET_TYPES and r.urn not in destinations]
    for role in (r for r in resources if r.type == ROLE_TYPE and _trusts(r, subject)):
        for attachment in (r for r in resources if r.type in ATTACHMENT_TYPES):
            if _attached_to(attachment, role):
                report(
                    f"the agent's role gets the managed policy "
                    f"{attachment.props.get('policyArn')!r}: its permission must be the "
                    "inline document alone",
                    attachment.urn,
                )
        texts = _documents(role, resources)
        if any(t is UNKNOWN for t in texts):
            continue
        policies = [d for d in (document(t) for t in texts) if d is not None]
        # The stack's own archive under the configured prefix, or (a cluster stack) the one
        # its StackReference reads, under the prefix that archive registered for this stack.
        targets = [
            (bucket_arn(a), archive_key(a, resources), str(config["logPrefix"])) for a in archives
        ] + [
            (
                get(r.props, "outputs", "bucketArn"),
                get(r.props, "outputs", "kmsKeyArn"),
                _registered_prefix(r, str(config["logPrefix"])),
            )
            for r in resources
            if r.type == "pulumi:pulumi:StackReference"
        ]
        for arn, key, prefix in targets:
            if not isinstance(arn, str) or key is UNKNOWN:
                continue
            for problem in _judge(
                policies,
                arn,
                prefix,
                key if isinstance(key, str) else None,
                [str(a) for a in as_list(config["otherActions"])],
            ):
                report(f"the agent's role {problem}", role.urn)


def _registered_prefix(reference: StackResource, fallback: str) -> str:
    """The prefix the referenced archive registered for this stack (its `clusters` output,
    by the stack name in the reference's URN), else the configured one."""
    stack = str(reference.urn).split("::", 1)[0].removeprefix("urn:pulumi:")
    prefix = get(reference.props, "outputs", "clusters", stack, "prefix")
    return prefix if isinstance(prefix, str) else fallback


def policies() -> list[Policy]:
    return [
        stack_policy(
            name="iam-agent-least-privilege",
            what="The agent's role may only put objects under its stack's prefix of the "
            "archive and use the archive key through S3 for GenerateDataKey and Decrypt; it "
            "may not read, list or delete, use the key directly, or do anything else (but "
            "the otherActions its other routes need); judged by evaluating requests.",
            fix="grant s3:PutObject on <archive ARN>/<logPrefix>* and kms:GenerateDataKey + "
            "kms:Decrypt on the archive key with kms:ViaService s3.<region>.amazonaws.com, "
            "nothing more (components/identity/iam.py writes exactly that).",
            severity=Severity.CRITICAL,
            enforcement=EnforcementLevel.MANDATORY,
            check=_check,
            config={
                "agentNamespace": {"type": "string", "default": "audit-logging"},
                "agentServiceAccount": {"type": "string", "default": "fluent-bit"},
                "logPrefix": {
                    "type": "string",
                    "default": "audit/",
                    "description": "The stack's archive prefix, the only one the agent writes.",
                },
                "otherActions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Actions the agent's other routes need outside the archive "
                    "(e.g. es:ESHttpPost for an OpenSearch route).",
                },
            },
        ),
    ]
