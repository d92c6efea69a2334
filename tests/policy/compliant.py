"""A compliant stack, resource by resource, as the engine presents it (camelCase inputs).

Each violating test case starts from one of these and changes one thing, so a test can
assert that exactly the expected policy fires.
"""

from __future__ import annotations

import json
from typing import Any

from tooling.graph import RecordedResource, ResourceGraph

PROJECT = "container-audit-log"
STACK = "test"
ACCOUNT = "111122223333"
BUCKET = "audit-archive-test"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF"
OIDC_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
ROLE_NAME = "fluent-bit-irsa"
IMAGE = "cr.fluentbit.io/fluent/fluent-bit:5.1.1"

BUCKET_T = "aws:s3/bucket:Bucket"
SSE_T = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING_T = "aws:s3/bucketVersioning:BucketVersioning"
PAB_T = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_T = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE_T = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_POLICY_T = "aws:s3/bucketPolicy:BucketPolicy"
LOCK_T = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
ACL_T = "aws:s3/bucketAcl:BucketAcl"
LOGGING_T = "aws:s3/bucketLogging:BucketLogging"
LOG_BUCKET = "audit-archive-test-access-logs"
KEY_T = "aws:kms/key:Key"
ROLE_T = "aws:iam/role:Role"
ROLE_POLICY_T = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT_T = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
CLUSTER_T = "eks:index:Cluster"
DAEMONSET_T = "kubernetes:apps/v1:DaemonSet"
DEPLOYMENT_T = "kubernetes:apps/v1:Deployment"
CRONJOB_T = "kubernetes:batch/v1:CronJob"
POD_T = "kubernetes:core/v1:Pod"
CONFIGMAP_T = "kubernetes:core/v1:ConfigMap"
NAMESPACE_T = "kubernetes:core/v1:Namespace"


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_token}::{name}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def bucket() -> dict[str, Any]:
    return {"bucket": BUCKET, "objectLockEnabled": True, "forceDestroy": False}


def sse() -> dict[str, Any]:
    default = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}
    return {
        "bucket": BUCKET,
        "rules": [{"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": True}],
    }


def versioning() -> dict[str, Any]:
    return {"bucket": BUCKET, "versioningConfiguration": {"status": "Enabled"}}


def public_access_block() -> dict[str, Any]:
    return {
        "bucket": BUCKET,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


def ownership() -> dict[str, Any]:
    return {"bucket": BUCKET, "rule": {"objectOwnership": "BucketOwnerEnforced"}}


def lifecycle() -> dict[str, Any]:
    rule = {
        "id": "abort-incomplete-uploads",
        "status": "Enabled",
        "filter": {},
        "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1},
    }
    return {"bucket": BUCKET, "rules": [rule]}


def tls_statement() -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def foreign_key_statement() -> dict[str, Any]:
    """Deny uploads that name another key; `Null: false` spares uploads that name none."""
    return {
        "Sid": "DenyForeignKmsKeys",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"{BUCKET_ARN}/*",
        "Condition": {
            "Null": {KEY_HEADER: "false"},
            "StringNotEquals": {KEY_HEADER: KEY_ARN},
        },
    }


def bucket_policy() -> dict[str, Any]:
    return {"bucket": BUCKET, "policy": document(tls_statement(), foreign_key_statement())}


def object_lock() -> dict[str, Any]:
    retention = {"mode": "COMPLIANCE", "days": 365}
    return {
        "bucket": BUCKET,
        "objectLockEnabled": "Enabled",
        "rule": {"defaultRetention": retention},
    }


def access_logging() -> dict[str, Any]:
    return {"bucket": BUCKET, "targetBucket": LOG_BUCKET, "targetPrefix": "archive/"}


def kms_key() -> dict[str, Any]:
    return {"description": "audit archive", "enableKeyRotation": True, "deletionWindowInDays": 30}


def trust_statement() -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Federated": OIDC_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{ISSUER}:sub": "system:serviceaccount:audit-logging:fluent-bit",
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }
        },
    }


def role() -> dict[str, Any]:
    return {"name": ROLE_NAME, "assumeRolePolicy": document(trust_statement())}


def put_statement() -> dict[str, Any]:
    return {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"{BUCKET_ARN}/audit/*"}


def role_policy() -> dict[str, Any]:
    kms = {
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey"],
        "Resource": KEY_ARN,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
    }
    return {"role": ROLE_NAME, "policy": document(put_statement(), kms)}


def attachment() -> dict[str, Any]:
    return {
        "role": ROLE_NAME,
        "policyArn": "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    }


def cluster() -> dict[str, Any]:
    return {
        "createOidcProvider": True,
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
        "endpointPrivateAccess": True,
        "endpointPublicAccess": False,
        "encryptionConfigKeyArn": KEY_ARN,
    }


def container(name: str = "fluent-bit", image: str = IMAGE) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def pod_spec(*, host_path: bool = False) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": "fluent-bit"}}]
    if host_path:
        volumes.append({"name": "buffer", "hostPath": {"path": "/var/lib/fluent-bit"}})
    return {
        "automountServiceAccountToken": False,
        "serviceAccountName": "fluent-bit",
        "securityContext": {
            "seccompProfile": {"type": "RuntimeDefault"},
            "runAsNonRoot": True,
            "runAsUser": 65532,
        },
        "containers": [container()],
        "initContainers": [container("init")],
        "volumes": volumes,
    }


def metadata(namespace: str, name: str) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "labels": {"app": name}}


def daemonset(namespace: str = "audit-logging", name: str = "fluent-bit") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": metadata(namespace, name),
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(host_path=True)},
        },
    }


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata("audit-demo", "demo"),
        "spec": {"replicas": 1, "template": {"spec": pod_spec()}},
    }


def cronjob() -> dict[str, Any]:
    job = {"template": {"spec": {**pod_spec(), "restartPolicy": "OnFailure"}}}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata("audit-demo", "shell-demo"),
        "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job}},
    }


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata("audit-demo", "probe"),
        "spec": pod_spec(),
    }


FLUENT_BIT_YAML = f"""\
service:
  flush: 1
pipeline:
  inputs:
    - name: syslog
      mode: tcp
      tag: syslog
  outputs:
    - name: s3
      match: "*"
      bucket: {BUCKET}
      region: eu-west-1
"""


def configmap() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata("audit-logging", "fluent-bit"),
        "data": {"fluent-bit.yaml": FLUENT_BIT_YAML},
    }


def namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "audit-logging"}}


def _resource(
    type_token: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = ()
) -> RecordedResource:
    return RecordedResource(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        custom=type_token != CLUSTER_T,
        parent=None,
        dependencies=deps,
        provider=None,
        inputs=inputs,
    )


def resources() -> list[RecordedResource]:
    """Every resource of a compliant stack, with the dependencies the program would record."""
    bucket_urn = urn(BUCKET_T, "archive")
    on_bucket = (bucket_urn,)
    return [
        _resource(NAMESPACE_T, "audit-logging", namespace()),
        _resource(KEY_T, "archive-key", kms_key()),
        _resource(BUCKET_T, "archive", bucket()),
        _resource(SSE_T, "archive-sse", sse(), on_bucket),
        _resource(VERSIONING_T, "archive-versioning", versioning(), on_bucket),
        _resource(PAB_T, "archive-public-access", public_access_block(), on_bucket),
        _resource(OWNERSHIP_T, "archive-ownership", ownership(), on_bucket),
        _resource(LIFECYCLE_T, "archive-lifecycle", lifecycle(), on_bucket),
        _resource(BUCKET_POLICY_T, "archive-policy", bucket_policy(), on_bucket),
        _resource(LOCK_T, "archive-lock", object_lock(), on_bucket),
        _resource(LOGGING_T, "archive-access-logging", access_logging(), on_bucket),
        _resource(CLUSTER_T, "cluster", cluster()),
        _resource(ROLE_T, "fluent-bit-irsa", role()),
        _resource(
            ROLE_POLICY_T, "fluent-bit-put", role_policy(), (urn(ROLE_T, "fluent-bit-irsa"),)
        ),
        _resource(CONFIGMAP_T, "fluent-bit-config", configmap(), on_bucket),
        _resource(DAEMONSET_T, "fluent-bit", daemonset(), (urn(CONFIGMAP_T, "fluent-bit-config"),)),
        _resource(DAEMONSET_T, "node-syslog", daemonset(name="node-syslog")),
        _resource(DEPLOYMENT_T, "demo", deployment()),
    ]


def graph(items: list[RecordedResource] | None = None) -> ResourceGraph:
    return ResourceGraph(
        stack=STACK,
        project=PROJECT,
        resources=tuple(resources() if items is None else items),
        stack_outputs={},
    )


NODE_AGENTS = [
    {"namespace": "audit-logging", "name": "fluent-bit"},
    {"namespace": "audit-logging", "name": "node-syslog"},
]
# The policy config the compliant stack is compliant under (the rest are schema defaults).
CONFIG: dict[str, dict[str, Any]] = {
    # The compliant stack logs to a bucket another stack owns (tests add one where needed).
    "s3-access-logging": {"requireDestinationInStack": False},
    "k8s-host-access-allow-listed": {"nodeAgents": NODE_AGENTS},
    "k8s-host-paths-allow-listed": {
        "allowed": [{**agent, "path": "/var/lib/fluent-bit"} for agent in NODE_AGENTS]
    },
}
