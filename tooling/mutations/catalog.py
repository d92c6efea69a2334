"""The breaks: each one edit of a stack's recorded graph that breaks one promise.

Each names the policies that must catch it, and only those: a break that a second policy
also catches says so here, so an overlap is a decision, not an accident. Where a promise
can be broken two ways (a wildcard and an explicit extra action, a missing statement and
a weakened one), both are here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from tooling.graph import RecordedResource
from tooling.mutations.graph_edit import Document, GraphEdit

Edit = Callable[[GraphEdit], None]

S3 = "aws:s3/"
BUCKET = f"{S3}bucket:Bucket"
BUCKET_POLICY = f"{S3}bucketPolicy:BucketPolicy"
SSE = f"{S3}bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = f"{S3}bucketVersioning:BucketVersioning"
PAB = f"{S3}bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = f"{S3}bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = f"{S3}bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOCK = f"{S3}bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LOGGING = f"{S3}bucketLogging:BucketLogging"
ACL = f"{S3}bucketAcl:BucketAcl"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
COMPONENT_CLUSTER = "eks:index:Cluster"
PLAIN_CLUSTER = "aws:eks/cluster:Cluster"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"

POD = ("spec", "template", "spec")
MAIN = (*POD, "containers", 0)
CONTEXT = (*MAIN, "securityContext")


@dataclass(frozen=True)
class Mutation:
    id: str
    promise: str
    stack: str
    expected: frozenset[str]
    description: str
    edit: Edit


MUTATIONS: list[Mutation] = []


def mutation(promise: str, stack: str, *expected: str) -> Callable[[Edit], Edit]:
    """Register an edit; its docstring says what it breaks."""

    def register(edit: Edit) -> Edit:
        MUTATIONS.append(
            Mutation(
                id=edit.__name__.strip("_").replace("_", "-"),
                promise=promise,
                stack=stack,
                expected=frozenset(expected),
                description=(edit.__doc__ or "").strip(),
                edit=edit,
            )
        )
        return edit

    return register


# --- helpers ------------------------------------------------------------------------------


def _archive(e: GraphEdit, type_token: str) -> RecordedResource:
    return e.find(
        type_token,
        {
            BUCKET: "audit-log-bucket",
            BUCKET_POLICY: "audit-log-policy",
            SSE: "audit-log-encryption",
            VERSIONING: "audit-log-versioning",
            PAB: "audit-log-public-access-block",
            OWNERSHIP: "audit-log-ownership",
            LIFECYCLE: "audit-log-lifecycle",
            LOCK: "audit-log-object-lock",
            LOGGING: "audit-log-access-logging",
            KEY: "audit-log-key",
        }[type_token],
    )


def _statements(document: Document) -> list[dict[str, Any]]:
    statements = document["Statement"]
    assert isinstance(statements, list)
    return statements


def _by_sid(document: Document, sid: str) -> dict[str, Any]:
    [found] = [s for s in _statements(document) if s.get("Sid") == sid]
    return found


def _drop_sid(document: Document, sid: str) -> None:
    document["Statement"] = [s for s in _statements(document) if s.get("Sid") != sid]


def _new(
    e: GraphEdit,
    type_token: str,
    name: str,
    inputs: dict[str, Any],
    depends_on: tuple[str, ...] = (),
) -> RecordedResource:
    stack = e.result().stack
    resource = RecordedResource(
        urn=f"urn:pulumi:{stack}::container-audit-log::{type_token}::{name}",
        type=type_token,
        name=name,
        custom=True,
        parent=None,
        dependencies=depends_on,
        provider=None,
        inputs=inputs,
    )
    e.add(resource)
    return resource


def _agent_policy(e: GraphEdit, change: Callable[[Document], None]) -> None:
    e.edit_document(e.find(ROLE_POLICY, "fluent-bit-policy"), "policy", change)


def _agent(e: GraphEdit) -> RecordedResource:
    return e.find(DAEMONSET, "fluent-bit-daemonset")


def _demo(e: GraphEdit) -> RecordedResource:
    return e.find(DEPLOYMENT, "demo-service-1")


def _agent_config(e: GraphEdit, change: Callable[[dict[str, Any]], None]) -> None:
    configmap = e.find(CONFIGMAP, "fluent-bit-config")
    config = yaml.safe_load(e.get(configmap, ("data", "fluent-bit.yaml")))
    change(config)
    e.set(configmap, ("data", "fluent-bit.yaml"), yaml.safe_dump(config))


def _mount_on_agent(e: GraphEdit, name: str, path: str, read_only: bool) -> None:
    agent = _agent(e)
    volumes = e.get(agent, (*POD, "volumes"))
    mounts = e.get(agent, (*MAIN, "volumeMounts"))
    e.set(agent, (*POD, "volumes", len(volumes)), {"name": name, "hostPath": {"path": path}})
    mount = {"name": name, "mountPath": f"/host/{name}", "readOnly": read_only}
    e.set(agent, (*MAIN, "volumeMounts", len(mounts)), mount)


# --- the archive -------------------------------------------------------------------------


@mutation("archive-kms", "prod", "s3-encryption-kms")
def _sse_s3_in_prod(e: GraphEdit) -> None:
    """The archive's default encryption is SSE-S3 instead of its KMS key."""
    e.set(
        _archive(e, SSE),
        ("rules", 0, "applyServerSideEncryptionByDefault"),
        {"sseAlgorithm": "AES256"},
    )


@mutation("archive-kms", "staging", "s3-encryption-kms")
def _aws_managed_key(e: GraphEdit) -> None:
    """SSE-KMS without a key id: the AWS-managed key, whose policy nobody controls."""
    e.delete(_archive(e, SSE), ("rules", 0, "applyServerSideEncryptionByDefault", "kmsMasterKeyId"))


@mutation("archive-protected", "prod", "archive-protected")
def _archive_unprotected(e: GraphEdit) -> None:
    """The archive's bucket is deployed without `protect`: a destroy would delete it."""
    bucket = _archive(e, BUCKET)
    e.replace_resource(bucket, dataclasses.replace(bucket, protect=False))


@mutation("archive-protected", "staging", "archive-protected")
def _archive_key_unprotected(e: GraphEdit) -> None:
    """The archive's key is deployed without `protect`: deleting it loses every record."""
    key = _archive(e, KEY)
    e.replace_resource(key, dataclasses.replace(key, protect=False))


@mutation("archive-bucket-key", "prod", "s3-bucket-key-enabled")
def _bucket_key_off(e: GraphEdit) -> None:
    """The S3 Bucket Key is switched off."""
    e.set(_archive(e, SSE), ("rules", 0, "bucketKeyEnabled"), False)


@mutation("archive-complete", "prod", "s3-bucket-companions")
def _no_public_access_block(e: GraphEdit) -> None:
    """The archive's public access block resource is gone."""
    e.remove(_archive(e, PAB))


@mutation("archive-complete", "dev", "s3-bucket-companions")
def _no_bucket_policy(e: GraphEdit) -> None:
    """The archive's bucket policy resource is gone."""
    e.remove(_archive(e, BUCKET_POLICY))


@mutation("archive-versioned", "prod", "s3-versioning-enabled")
def _versioning_suspended(e: GraphEdit) -> None:
    """Versioning is suspended."""
    e.set(_archive(e, VERSIONING), ("versioningConfiguration", "status"), "Suspended")


@mutation("archive-versioned", "staging", "s3-bucket-companions")
def _no_versioning(e: GraphEdit) -> None:
    """The versioning resource is gone."""
    e.remove(_archive(e, VERSIONING))


@mutation("archive-private", "prod", "s3-public-access-block")
def _public_policy_allowed(e: GraphEdit) -> None:
    """blockPublicPolicy is off."""
    e.set(_archive(e, PAB), ("blockPublicPolicy",), False)


@mutation("archive-private", "prod", "s3-no-public-acl")
def _public_read_acl(e: GraphEdit) -> None:
    """A public-read ACL is added to the archive."""
    _new(
        e,
        ACL,
        "audit-log-acl",
        {"bucket": e.get(_archive(e, BUCKET), ("bucket",)), "acl": "public-read"},
    )


@mutation("archive-private", "prod", "s3-ownership-enforced")
def _acls_back_on(e: GraphEdit) -> None:
    """Object ownership is ObjectWriter: ACLs decide access again."""
    e.set(_archive(e, OWNERSHIP), ("rule", "objectOwnership"), "ObjectWriter")


@mutation("archive-tls-only", "prod", "s3-deny-insecure-transport")
def _no_tls_statement(e: GraphEdit) -> None:
    """The deny of plain HTTP is removed from the bucket policy."""
    e.edit_document(
        _archive(e, BUCKET_POLICY), "policy", lambda d: _drop_sid(d, "DenyInsecureTransport")
    )


@mutation("archive-tls-only", "staging", "s3-deny-insecure-transport")
def _tls_deny_for_reads_only(e: GraphEdit) -> None:
    """The plain-HTTP deny is narrowed to s3:GetObject: writes and listing go through."""
    e.edit_document(
        _archive(e, BUCKET_POLICY),
        "policy",
        lambda d: _by_sid(d, "DenyInsecureTransport").update(Action="s3:GetObject"),
    )


@mutation("archive-own-key", "prod", "s3-bucket-policy-denies")
def _no_foreign_key_deny(e: GraphEdit) -> None:
    """The deny of uploads naming another KMS key is removed."""
    e.edit_document(
        _archive(e, BUCKET_POLICY), "policy", lambda d: _drop_sid(d, "DenyForeignKmsKeys")
    )


@mutation("archive-own-key", "staging", "s3-bucket-policy-denies")
def _own_key_denied(e: GraphEdit) -> None:
    """The foreign-key deny names the wrong key: the archive's own key is denied."""
    wrong = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-4111-8111-111111111111"

    def change(document: Document) -> None:
        statement = _by_sid(document, "DenyForeignKmsKeys")
        statement["Condition"] = {
            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": wrong},
        }

    e.edit_document(_archive(e, BUCKET_POLICY), "policy", change)


@mutation("archive-append-only", "dev", "s3-bucket-policy-denies")
def _deletion_allowed(e: GraphEdit) -> None:
    """Without Object Lock, the deny of deletion is removed."""
    e.edit_document(
        _archive(e, BUCKET_POLICY), "policy", lambda d: _drop_sid(d, "DenyAuditObjectDeletion")
    )


@mutation("archive-append-only", "dev", "s3-bucket-policy-denies")
def _versions_deletable(e: GraphEdit) -> None:
    """The deletion deny forgets s3:DeleteObjectVersion: old versions can be purged."""
    e.edit_document(
        _archive(e, BUCKET_POLICY),
        "policy",
        lambda d: _by_sid(d, "DenyAuditObjectDeletion").update(Action="s3:DeleteObject"),
    )


@mutation("archive-append-only", "prod", "s3-object-lock")
def _no_lock_configuration(e: GraphEdit) -> None:
    """prod's Object Lock configuration (default retention) is gone."""
    e.remove(_archive(e, LOCK))


@mutation("archive-append-only", "prod", "s3-object-lock")
def _governance_mode(e: GraphEdit) -> None:
    """prod's retention is GOVERNANCE, which privileged users can bypass."""
    e.set(_archive(e, LOCK), ("rule", "defaultRetention", "mode"), "GOVERNANCE")


@mutation("archive-lifecycle", "prod", "s3-lifecycle-abort-multipart")
def _uploads_kept_forever(e: GraphEdit) -> None:
    """The lifecycle rule that aborts incomplete multipart uploads is gone."""
    lifecycle = _archive(e, LIFECYCLE)
    rules = [r for r in e.get(lifecycle, ("rules",)) if "abortIncompleteMultipartUpload" not in r]
    e.set(lifecycle, ("rules",), rules)


@mutation("archive-access-logged", "prod", "s3-access-logging")
def _no_access_logging(e: GraphEdit) -> None:
    """The archive's server access logging is gone."""
    e.remove(_archive(e, LOGGING))


@mutation("archive-access-logged", "staging", "s3-access-logging")
def _logs_into_itself(e: GraphEdit) -> None:
    """The archive logs its access into itself."""
    archive_name = e.get(_archive(e, BUCKET), ("bucket",))
    e.set(_archive(e, LOGGING), ("targetBucket",), archive_name)


@mutation("key-rotates", "prod", "kms-key-rotation")
def _rotation_off(e: GraphEdit) -> None:
    """The archive key does not rotate."""
    e.set(_archive(e, KEY), ("enableKeyRotation",), False)


@mutation("key-rotates", "prod", "kms-key-deletion-window")
def _short_deletion_window(e: GraphEdit) -> None:
    """The archive key can be deleted after 7 days."""
    e.set(_archive(e, KEY), ("deletionWindowInDays",), 7)


@mutation("key-policy", "prod", "kms-key-policy-restricted")
def _key_open_to_everyone(e: GraphEdit) -> None:
    """The archive key's policy allows kms:* to Principal '*'."""
    statement = {
        "Sid": "Everyone",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
    }
    document = {"Version": "2012-10-17", "Statement": [statement]}
    e.set(_archive(e, KEY), ("policy",), json.dumps(document))


@mutation("key-policy", "staging", "kms-key-policy-restricted")
def _lockout_check_bypassed(e: GraphEdit) -> None:
    """The archive key is created with the policy lockout safety check bypassed."""
    e.set(_archive(e, KEY), ("bypassPolicyLockoutSafetyCheck",), True)


# --- the agent's identity ------------------------------------------------------------------

OIDC_SUB = ":sub"


def _trust(e: GraphEdit, change: Callable[[Document], None]) -> None:
    e.edit_document(e.find(ROLE, "fluent-bit-role"), "assumeRolePolicy", change)


def _trust_conditions(document: Document) -> dict[str, Any]:
    block = _statements(document)[0]["Condition"]
    assert isinstance(block, dict)
    return block


@mutation("agent-trust", "prod", "iam-irsa-trust-pinned")
def _any_service_account(e: GraphEdit) -> None:
    """The trust accepts any service account (StringLike system:serviceaccount:*)."""

    def change(document: Document) -> None:
        equals = _trust_conditions(document)["StringEquals"]
        [sub] = [k for k in equals if k.endswith(OIDC_SUB)]
        _trust_conditions(document)["StringLike"] = {sub: "system:serviceaccount:*"}
        del equals[sub]

    _trust(e, change)


@mutation("agent-trust", "staging", "iam-irsa-trust-pinned")
def _audience_not_pinned(e: GraphEdit) -> None:
    """The trust no longer pins the token audience to sts.amazonaws.com."""

    def change(document: Document) -> None:
        equals = _trust_conditions(document)["StringEquals"]
        for key in [k for k in equals if k.endswith(":aud")]:
            del equals[key]

    _trust(e, change)


@mutation("agent-trust", "prod", "iam-trust-no-wildcard-principal")
def _anyone_may_assume(e: GraphEdit) -> None:
    """A second trust statement lets any AWS principal assume the agent's role."""
    _trust(
        e,
        lambda d: _statements(d).append(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        ),
    )


def _put_statement(document: Document) -> dict[str, Any]:
    [found] = [s for s in _statements(document) if "s3:PutObject" in str(s.get("Action"))]
    return found


def _key_statement(document: Document) -> dict[str, Any]:
    [found] = [s for s in _statements(document) if "kms:" in str(s.get("Action"))]
    return found


@mutation("agent-write-only", "prod", "iam-agent-least-privilege")
def _put_on_whole_bucket(e: GraphEdit) -> None:
    """PutObject on the whole archive instead of the stack's prefix."""

    def change(document: Document) -> None:
        statement = _put_statement(document)
        [resource] = statement["Resource"]
        statement["Resource"] = [resource.split("/", 1)[0] + "/*"]

    _agent_policy(e, change)


@mutation("agent-write-only", "staging", "iam-agent-least-privilege")
def _agent_may_read(e: GraphEdit) -> None:
    """The agent may also s3:GetObject its prefix (an explicit extra action)."""
    _agent_policy(e, lambda d: _put_statement(d).update(Action=["s3:PutObject", "s3:GetObject"]))


@mutation("agent-write-only", "dev", "iam-agent-least-privilege")
def _agent_may_delete(e: GraphEdit) -> None:
    """The agent may s3:Delete* (a wildcard that names no service-wide '*')."""
    _agent_policy(e, lambda d: _put_statement(d).update(Action=["s3:PutObject", "s3:Delete*"]))


@mutation("agent-write-only", "prod", "iam-agent-least-privilege", "iam-no-wildcard-action")
def _agent_s3_star(e: GraphEdit) -> None:
    """The agent's S3 permission is s3:* (both rules object)."""
    _agent_policy(e, lambda d: _put_statement(d).update(Action="s3:*"))


@mutation("agent-write-only", "staging", "iam-agent-least-privilege", "iam-no-wildcard-action")
def _agent_not_action(e: GraphEdit) -> None:
    """Rewritten with NotAction: every action but deletion, on the prefix."""

    def change(document: Document) -> None:
        statement = _put_statement(document)
        del statement["Action"]
        statement["NotAction"] = ["s3:DeleteObject", "s3:DeleteObjectVersion"]

    _agent_policy(e, change)


@mutation("agent-key-via-s3", "prod", "iam-agent-least-privilege")
def _key_used_directly(e: GraphEdit) -> None:
    """The kms:ViaService condition is gone: the key can be used outside S3."""
    _agent_policy(e, lambda d: _key_statement(d).pop("Condition"))


@mutation("agent-key-via-s3", "staging", "iam-agent-least-privilege")
def _key_administration(e: GraphEdit) -> None:
    """The agent may also kms:ScheduleKeyDeletion and kms:PutKeyPolicy on the archive key."""
    _agent_policy(
        e,
        lambda d: _key_statement(d).update(
            Action=[
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "kms:ScheduleKeyDeletion",
                "kms:PutKeyPolicy",
            ]
        ),
    )


@mutation("agent-key-via-s3", "dev", "iam-agent-least-privilege", "iam-no-wildcard-action")
def _key_star(e: GraphEdit) -> None:
    """The agent's key permission is kms:*."""
    _agent_policy(e, lambda d: _key_statement(d).update(Action="kms:*"))


@mutation("iam-least-privilege", "prod", "iam-no-wildcard-resource-write")
def _node_role_writes_everywhere(e: GraphEdit) -> None:
    """The node role gets an inline policy that may terminate any instance."""
    role = e.find(ROLE, "cluster-node-role")
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"}],
    }
    _new(
        e,
        ROLE_POLICY,
        "cluster-node-extra",
        {"role": e.get(role, ("name",)), "policy": json.dumps(document)},
        (role.urn,),
    )


@mutation("iam-least-privilege", "prod", "iam-no-admin-policy-attachment")
def _node_role_admin(e: GraphEdit) -> None:
    """The node role gets AdministratorAccess."""
    role = e.find(ROLE, "cluster-node-role")
    _new(
        e,
        ATTACHMENT,
        "cluster-node-admin",
        {
            "role": e.get(role, ("name",)),
            "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
        },
        (role.urn,),
    )


# --- the cluster and nodes ----------------------------------------------------------------


def _cluster(e: GraphEdit) -> RecordedResource:
    return e.find(COMPONENT_CLUSTER, "cluster")


def _plain_cluster(e: GraphEdit, vpc: dict[str, Any], encrypted: bool = True) -> None:
    """Replace the pulumi-eks component by a plain aws.eks.Cluster (and its OIDC provider)."""
    component = _cluster(e)
    inputs: dict[str, Any] = {
        "name": e.get(component, ("name",)),
        "roleArn": "arn:aws:iam::123456789012:role/eks-cluster",
        "vpcConfig": {"subnetIds": ["subnet-0a", "subnet-0b"], **vpc},
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
    }
    if encrypted:
        key = e.get(e.find(KEY, "cluster-secrets-key"), ("arn",))
        inputs["encryptionConfig"] = {"provider": {"keyArn": key}, "resources": ["secrets"]}
    e.remove(component)
    cluster = _new(e, PLAIN_CLUSTER, "cluster", inputs)
    _new(
        e,
        OIDC_PROVIDER,
        "cluster-oidc",
        {"clientIdLists": ["sts.amazonaws.com"], "url": "https://oidc.example"},
        (cluster.urn,),
    )


@mutation("cluster-irsa", "prod", "eks-oidc-provider")
def _no_oidc_provider(e: GraphEdit) -> None:
    """The cluster is created without its OIDC provider."""
    e.set(_cluster(e), ("createOidcProvider",), False)


@mutation("cluster-irsa", "staging", "eks-oidc-provider")
def _plain_cluster_without_oidc(e: GraphEdit) -> None:
    """A plain aws.eks.Cluster without an OIDC provider."""
    _plain_cluster(e, {"endpointPrivateAccess": True, "endpointPublicAccess": False})
    e.remove(e.find(OIDC_PROVIDER, "cluster-oidc"))


@mutation("cluster-logs", "prod", "eks-control-plane-logging")
def _no_audit_log(e: GraphEdit) -> None:
    """The control plane logs api only, not audit."""
    e.set(_cluster(e), ("enabledClusterLogTypes",), ["api"])


@mutation("cluster-endpoint", "prod", "eks-public-endpoint-restricted")
def _world_open_endpoint(e: GraphEdit) -> None:
    """prod's API endpoint is public to 0.0.0.0/0."""
    e.set(_cluster(e), ("endpointPublicAccess",), True)
    e.set(_cluster(e), ("publicAccessCidrs",), ["0.0.0.0/0"])


@mutation("cluster-endpoint", "prod", "eks-public-endpoint-restricted")
def _plain_cluster_world_open(e: GraphEdit) -> None:
    """A plain aws.eks.Cluster with the public endpoint on and no CIDRs (0.0.0.0/0)."""
    _plain_cluster(e, {"endpointPrivateAccess": True, "endpointPublicAccess": True})


@mutation("cluster-secrets", "prod", "eks-secrets-encryption")
def _secrets_in_plain_text(e: GraphEdit) -> None:
    """The cluster's Secrets are not envelope-encrypted."""
    e.delete(_cluster(e), ("encryptionConfigKeyArn",))


@mutation("cluster-secrets", "staging", "eks-secrets-encryption")
def _plain_cluster_secrets_unencrypted(e: GraphEdit) -> None:
    """A plain aws.eks.Cluster without encryptionConfig."""
    _plain_cluster(
        e, {"endpointPrivateAccess": True, "endpointPublicAccess": False}, encrypted=False
    )


@mutation("nodes-imdsv2", "prod", "ec2-imdsv2-hop-limit")
def _imds_v1(e: GraphEdit) -> None:
    """The nodes accept IMDSv1 (tokens optional)."""
    e.set(e.find(LAUNCH_TEMPLATE, "cluster-nodes"), ("metadataOptions", "httpTokens"), "optional")


@mutation("nodes-imdsv2", "staging", "ec2-imdsv2-hop-limit")
def _two_hops(e: GraphEdit) -> None:
    """The IMDS response hop limit is 2: pods reach the node's credentials."""
    e.set(
        e.find(LAUNCH_TEMPLATE, "cluster-nodes"), ("metadataOptions", "httpPutResponseHopLimit"), 2
    )


@mutation("nodes-disks", "prod", "ec2-encrypted-volumes")
def _plain_disks(e: GraphEdit) -> None:
    """The node root volume is not encrypted."""
    e.set(
        e.find(LAUNCH_TEMPLATE, "cluster-nodes"),
        ("blockDeviceMappings", 0, "ebs", "encrypted"),
        "false",
    )


# --- every workload ------------------------------------------------------------------------


@mutation("pods-unprivileged", "prod", "k8s-no-privileged")
def _privileged_agent(e: GraphEdit) -> None:
    """The agent runs privileged."""
    e.set(_agent(e), (*CONTEXT, "privileged"), True)


@mutation("pods-unprivileged", "dev", "k8s-no-privilege-escalation")
def _escalation(e: GraphEdit) -> None:
    """A demo container may gain privileges (setuid)."""
    e.set(_demo(e), (*CONTEXT, "allowPrivilegeEscalation"), True)


@mutation("pods-unprivileged", "prod", "k8s-drop-all-capabilities")
def _sys_admin(e: GraphEdit) -> None:
    """The agent adds CAP_SYS_ADMIN."""
    e.set(_agent(e), (*CONTEXT, "capabilities", "add"), ["SYS_ADMIN"])


@mutation("pods-unprivileged", "dev", "k8s-read-only-root-filesystem")
def _writable_image(e: GraphEdit) -> None:
    """A demo container's root filesystem is writable."""
    e.set(_demo(e), (*CONTEXT, "readOnlyRootFilesystem"), False)


@mutation("pods-seccomp", "dev", "k8s-seccomp-profile")
def _no_seccomp(e: GraphEdit) -> None:
    """The demo pod sets no seccomp profile (Unconfined)."""
    e.delete(_demo(e), (*POD, "securityContext", "seccompProfile"))


@mutation("pods-seccomp", "prod", "k8s-seccomp-profile")
def _agent_unconfined(e: GraphEdit) -> None:
    """The agent's container overrides the pod's profile with Unconfined."""
    e.set(_agent(e), (*CONTEXT, "seccompProfile"), {"type": "Unconfined"})


@mutation("pods-non-root", "dev", "k8s-run-as-non-root")
def _demo_as_root(e: GraphEdit) -> None:
    """A demo container runs as uid 0."""
    e.set(_demo(e), (*CONTEXT, "runAsUser"), 0)
    e.set(_demo(e), (*CONTEXT, "runAsNonRoot"), False)


@mutation("pods-non-root", "dev", "k8s-run-as-non-root")
def _demo_image_user(e: GraphEdit) -> None:
    """The demo sets no user at all: it runs as the image's user (root for python)."""
    for path in (CONTEXT, (*POD, "securityContext")):
        for key in ("runAsUser", "runAsNonRoot", "runAsGroup"):
            e.delete(_demo(e), (*path, key))


@mutation("pods-bounded", "prod", "k8s-resources-bounded")
def _unbounded_agent(e: GraphEdit) -> None:
    """The agent has no resource limits."""
    e.delete(_agent(e), (*MAIN, "resources", "limits"))


@mutation("images-pinned", "prod", "k8s-image-pinned")
def _digest_dropped(e: GraphEdit) -> None:
    """prod's agent image is pinned by tag only, not by digest."""
    image = e.get(_agent(e), (*MAIN, "image"))
    e.set(_agent(e), (*MAIN, "image"), str(image).split("@", 1)[0])


@mutation("images-pinned", "dev", "k8s-image-pinned")
def _latest(e: GraphEdit) -> None:
    """The demo image is ':latest'."""
    e.set(_demo(e), (*MAIN, "image"), "python:latest")


@mutation("host-access", "dev", "k8s-host-access-allow-listed")
def _demo_on_host_network(e: GraphEdit) -> None:
    """A demo pod joins the node's network."""
    e.set(_demo(e), (*POD, "hostNetwork"), True)


@mutation("host-access", "prod", "k8s-no-host-namespaces")
def _agent_host_pid(e: GraphEdit) -> None:
    """The agent shares the node's PID namespace."""
    e.set(_agent(e), (*POD, "hostPID"), True)


@mutation("host-paths", "prod", "k8s-host-paths-allow-listed")
def _agent_mounts_root(e: GraphEdit) -> None:
    """The allow-listed agent mounts the node's '/' (read-only)."""
    _mount_on_agent(e, "host-root", "/", read_only=True)


@mutation("host-paths", "staging", "k8s-host-paths-allow-listed")
def _agent_mounts_runtime_socket(e: GraphEdit) -> None:
    """The allow-listed agent mounts the containerd socket."""
    _mount_on_agent(e, "containerd", "/var/run/containerd/containerd.sock", read_only=True)


@mutation("host-paths", "local", "k8s-host-paths-allow-listed")
def _journal_writable(e: GraphEdit) -> None:
    """node-syslog mounts the host journal writable (it is allow-listed read-only)."""
    syslog = e.find(DAEMONSET, "node-syslog-daemonset")
    mounts = e.get(syslog, (*MAIN, "volumeMounts"))
    [index] = [i for i, m in enumerate(mounts) if m["mountPath"] == "/var/log/journal"]
    e.set(syslog, (*MAIN, "volumeMounts", index, "readOnly"), False)


@mutation("pods-namespaced", "dev", "k8s-no-default-namespace")
def _demo_scripts_in_default(e: GraphEdit) -> None:
    """The demo scripts ConfigMap lands in 'default'."""
    e.set(e.find(CONFIGMAP, "demo-scripts"), ("metadata", "namespace"), "default")


@mutation("pods-namespaced", "dev", "k8s-no-automount-service-account-token")
def _demo_api_token(e: GraphEdit) -> None:
    """A demo pod mounts an API token it never uses."""
    e.set(_demo(e), (*POD, "automountServiceAccountToken"), True)


# --- the query layer ---------------------------------------------------------------------

WORKGROUP = "aws:athena/workgroup:Workgroup"


def _workgroup(e: GraphEdit) -> RecordedResource:
    # The stack's one workgroup: archive-query-workgroup, or an archive stack's per cluster.
    return e.find(WORKGROUP)


@mutation("query-guarded", "prod", "athena-workgroup-enforced")
def _workgroup_not_enforced(e: GraphEdit) -> None:
    """Clients may override the workgroup's settings."""
    e.set(_workgroup(e), ("configuration", "enforceWorkgroupConfiguration"), False)


@mutation("query-guarded", "staging", "athena-workgroup-enforced")
def _no_scan_cutoff(e: GraphEdit) -> None:
    """No bytes-scanned cutoff: one query may scan the whole archive."""
    e.delete(_workgroup(e), ("configuration", "bytesScannedCutoffPerQuery"))


@mutation("query-guarded", "prod", "athena-workgroup-results-encrypted")
def _results_unencrypted(e: GraphEdit) -> None:
    """Managed query results lose their KMS key."""
    e.delete(
        _workgroup(e),
        ("configuration", "managedQueryResultsConfiguration", "encryptionConfiguration"),
    )


def _auditor(e: GraphEdit, *statements: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    _new(
        e,
        ROLE_POLICY,
        "archive-auditor",
        {"name": "archive-auditor", "role": "auditor", "policy": json.dumps(document)},
    )


@mutation("auditor-read-only", "prod", "auditor-role-read-only")
def _auditor_deletes(e: GraphEdit) -> None:
    """An auditor role that may also delete audit objects."""
    archive = e.get(_archive(e, BUCKET), ("arn",))
    _auditor(
        e,
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:DeleteObject"],
            "Resource": f"{archive}/*",
        },
    )


@mutation("auditor-read-only", "staging", "auditor-role-read-only")
def _auditor_puts(e: GraphEdit) -> None:
    """An auditor role with s3:Put* (a wildcard: it may overwrite records)."""
    archive = e.get(_archive(e, BUCKET), ("arn",))
    _auditor(
        e, {"Effect": "Allow", "Action": ["s3:GetObject", "s3:Put*"], "Resource": f"{archive}/*"}
    )


# --- the pipeline ----------------------------------------------------------------------------


@mutation("pipeline-complete", "prod", "audit-log-pipeline-complete")
def _no_s3_output(e: GraphEdit) -> None:
    """The agent's config has no S3 output: records reach no archive."""

    def change(config: dict[str, Any]) -> None:
        outputs = config["pipeline"]["outputs"]
        config["pipeline"]["outputs"] = [o for o in outputs if o["name"] != "s3"]

    _agent_config(e, change)


@mutation("pipeline-complete", "staging", "audit-log-pipeline-complete")
def _no_agent(e: GraphEdit) -> None:
    """The agent DaemonSet is gone."""
    e.remove(_agent(e))
