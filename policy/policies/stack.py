"""Stack policy: the audit log pipeline is whole, from the node agent to the archive bucket.

Each piece can be compliant on its own while the pipeline is broken (an agent with no S3
route, a route to a bucket another stack owns, a role that cannot write). This policy looks
at how they connect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, Severity

from . import iam_documents as iam
from .common import StackReport, StackResource, dicts, stack_policy
from .fluentbit import s3_outputs
from .iam import ROLE_POLICY_TYPE, ROLE_TYPE
from .iam_eval import Request
from .probes import document, identity_decision
from .s3 import BUCKET_TYPES, bucket_name
from .workloads import CONFIGMAP_TYPE, DAEMONSET_TYPE, identity, mounted_configmaps, pod_spec


def _agent(resources: list[StackResource], namespace: str, name: str) -> StackResource | None:
    for resource in resources:
        if resource.type == DAEMONSET_TYPE and identity(resource.props) == (namespace, name):
            return resource
    return None


def _agent_configmaps(agent: StackResource, resources: list[StackResource]) -> list[StackResource]:
    namespace, _ = identity(agent.props)
    mounted = mounted_configmaps(pod_spec(agent.type, agent.props))
    return [
        r
        for r in resources
        if r.type == CONFIGMAP_TYPE
        and identity(r.props)[0] == namespace
        and (identity(r.props)[1] in mounted or agent.depends_on(r))
    ]


def _role_documents(resources: list[StackResource]) -> list[tuple[StackResource, Any]]:
    """(carrier, document) of every inline policy attached to a role of this stack."""
    roles = [r for r in resources if r.type == ROLE_TYPE]
    found = [
        (role, inline.get("policy"))
        for role in roles
        for inline in dicts(role.props.get("inlinePolicies"))
    ]
    for attached in (r for r in resources if r.type == ROLE_POLICY_TYPE):
        target = attached.props.get("role")
        if any(
            target in (role.props.get("name"), role.props.get("id"))
            or attached.depends_on(role, "role")
            for role in roles
        ):
            found.append((attached, attached.props.get("policy")))
    return found


def _can_put(resources: list[StackResource], bucket: str, archive: list[StackResource]) -> bool:
    """Whether some role's document allows s3:PutObject on an object of the bucket.

    Asked of the document (iam_eval), not read off its Action list, so NotAction or a
    wildcard allow it as AWS would; the probe objects are the ones its statements name.
    """
    for carrier, text in _role_documents(resources):
        parsed = document(text)
        if parsed is None:
            continue
        # A document built from the bucket's ARN depends on the bucket: any object ARN counts.
        target = None if any(carrier.depends_on(b) for b in archive) else bucket
        probes = {
            pattern.replace("*", "x").replace("?", "x")
            for statement in iam.statements(parsed)
            for pattern in iam.resources(statement)
            if iam.s3_object_pattern_covers(pattern, target)
        }
        if target is not None:
            probes.add(f"arn:aws:s3:::{target}/x")
        for probe in probes:
            if identity_decision([parsed], Request("s3:PutObject", probe)) == "allow":
                return True
    return False


def _check_pipeline(
    resources: list[StackResource], config: Mapping[str, Any], report: StackReport
) -> None:
    namespace, name = config["agentNamespace"], config["agentName"]
    agent = _agent(resources, namespace, name)
    if agent is None:
        report(f"no DaemonSet {namespace}/{name}: nothing ships the nodes' audit logs", None)
        return
    configmaps = _agent_configmaps(agent, resources)
    routes = [(cm, out) for cm in configmaps for out in s3_outputs(cm.props.get("data"))]
    if not routes:
        report(f"{namespace}/{name} mounts no ConfigMap holding a Fluent Bit S3 output", agent.urn)
        return
    buckets = [r for r in resources if r.type in BUCKET_TYPES]
    for configmap, output in routes:
        target = output.get("bucket")
        if not output.get("match") and not output.get("match_regex"):
            report(f"the S3 output to {target!r} has no match: no record reaches it", configmap.urn)
        if not isinstance(target, str) or not target:
            report("an S3 output names no bucket", configmap.urn)
            continue
        archive = [b for b in buckets if bucket_name(b) == target or configmap.depends_on(b)]
        if config["requireBucketResource"] and not archive:
            report(f"the S3 output writes to '{target}', not a bucket of this stack", configmap.urn)
        if config["requireIamRole"] and not _can_put(resources, target, archive):
            report(
                f"no role of this stack has an inline policy allowing s3:PutObject on "
                f"arn:aws:s3:::{target}/*",
                configmap.urn,
            )


def policies() -> list[Policy]:
    return [
        stack_policy(
            name="audit-log-pipeline-complete",
            what="The audit log pipeline must be complete: the Fluent Bit DaemonSet, a "
            "mounted ConfigMap with a routed S3 output to this stack's archive bucket, and "
            "an IAM role whose inline policy may put objects in that bucket.",
            fix="deploy the FluentBitDaemonSet component with the AuditLogBucket and its "
            "ServiceAccountRole; check agentNamespace/agentName in the stack's policy config.",
            severity=Severity.HIGH,
            enforcement=EnforcementLevel.MANDATORY,
            check=_check_pipeline,
            config={
                "agentNamespace": {
                    "type": "string",
                    "default": "audit-logging",
                    "description": "Namespace of the Fluent Bit DaemonSet.",
                },
                "agentName": {
                    "type": "string",
                    "default": "fluent-bit",
                    "description": "Name of the Fluent Bit DaemonSet.",
                },
                "requireBucketResource": {
                    "type": "boolean",
                    "default": True,
                    "description": "The S3 output's bucket must be created by this stack.",
                },
                "requireIamRole": {
                    "type": "boolean",
                    "default": True,
                    "description": "A role of this stack must be allowed s3:PutObject on it.",
                },
            },
        ),
    ]
