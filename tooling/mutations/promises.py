"""Every security promise the README and the design notes make, and the policies that keep it.

policy/README.md's promise table is rendered from this list (a test keeps them equal), so a
promise cannot be added there without a policy, nor a policy lose its promise unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Promise:
    id: str
    area: str
    text: str
    policies: tuple[str, ...]


PROMISES: tuple[Promise, ...] = (
    # --- the archive
    Promise(
        "archive-kms",
        "archive",
        "Encrypted with a dedicated customer-managed KMS key "
        "(SSE-S3 only where the stack opts out).",
        ("s3-encryption-kms",),
    ),
    Promise(
        "archive-bucket-key",
        "archive",
        "SSE-KMS uses an S3 Bucket Key.",
        ("s3-bucket-key-enabled",),
    ),
    Promise(
        "archive-complete",
        "archive",
        "Every bucket has its encryption, versioning, "
        "public access block, ownership, lifecycle and bucket policy.",
        ("s3-bucket-companions",),
    ),
    Promise(
        "archive-versioned",
        "archive",
        "Versioning is on (the resource exists, and is Enabled).",
        ("s3-versioning-enabled", "s3-bucket-companions"),
    ),
    Promise(
        "archive-private",
        "archive",
        "All public access blocked, no public ACL, owner-enforced objects.",
        ("s3-public-access-block", "s3-no-public-acl", "s3-ownership-enforced"),
    ),
    Promise(
        "archive-protected",
        "archive",
        "In staging and prod the archive's buckets and keys are protected: a destroy or "
        "replacement of the archive stack cannot delete them.",
        ("archive-protected",),
    ),
    Promise(
        "archive-tls-only",
        "archive",
        "Every request without TLS is denied.",
        ("s3-deny-insecure-transport",),
    ),
    Promise(
        "archive-own-key",
        "archive",
        "Uploads naming another KMS key are denied; the agent's own uploads are not.",
        ("s3-bucket-policy-denies",),
    ),
    Promise(
        "archive-append-only",
        "archive",
        "Object Lock where the stack requires it; without it the bucket policy denies deletion.",
        ("s3-object-lock", "s3-bucket-policy-denies"),
    ),
    Promise(
        "archive-lifecycle",
        "archive",
        "Incomplete multipart uploads are aborted.",
        ("s3-lifecycle-abort-multipart",),
    ),
    Promise(
        "archive-access-logged",
        "archive",
        "Server access logs go to a separate bucket of the stack.",
        ("s3-access-logging",),
    ),
    Promise(
        "key-rotates",
        "archive",
        "KMS keys rotate yearly and keep a long deletion window.",
        ("kms-key-rotation", "kms-key-deletion-window"),
    ),
    Promise(
        "key-policy",
        "archive",
        "No key policy lets strangers use or administer a key, "
        "and none bypasses the lockout safety check.",
        ("kms-key-policy-restricted",),
    ),
    # --- the agent's identity
    Promise(
        "agent-trust",
        "agent identity",
        "Only the agent's service account can assume its "
        "role (IRSA, sub and aud pinned); no role trusts '*'.",
        ("iam-irsa-trust-pinned", "iam-trust-no-wildcard-principal"),
    ),
    Promise(
        "agent-write-only",
        "agent identity",
        "The agent may only put objects under its "
        "stack's prefix: nothing can read, list or delete.",
        ("iam-agent-least-privilege",),
    ),
    Promise(
        "agent-key-via-s3",
        "agent identity",
        "The agent uses the key only through S3, for GenerateDataKey and Decrypt.",
        ("iam-agent-least-privilege",),
    ),
    Promise(
        "iam-least-privilege",
        "agent identity",
        "No identity policy allows '*' or "
        "'service:*' actions, writes on Resource '*', or an admin-class managed policy.",
        (
            "iam-no-wildcard-action",
            "iam-no-wildcard-resource-write",
            "iam-no-admin-policy-attachment",
        ),
    ),
    # --- the cluster and nodes
    Promise(
        "cluster-irsa",
        "cluster and nodes",
        "The cluster has its OIDC provider (IRSA).",
        ("eks-oidc-provider",),
    ),
    Promise(
        "cluster-logs",
        "cluster and nodes",
        "Audit and API logs are on.",
        ("eks-control-plane-logging",),
    ),
    Promise(
        "cluster-endpoint",
        "cluster and nodes",
        "The API endpoint is private, or public "
        "to the configured CIDRs only (pulumi-eks and plain aws.eks.Cluster alike).",
        ("eks-public-endpoint-restricted",),
    ),
    Promise(
        "cluster-secrets",
        "cluster and nodes",
        "Kubernetes Secrets are KMS-encrypted.",
        ("eks-secrets-encryption",),
    ),
    Promise(
        "nodes-imdsv2",
        "cluster and nodes",
        "Nodes require IMDSv2 with a hop limit of 1.",
        ("ec2-imdsv2-hop-limit",),
    ),
    Promise(
        "nodes-disks",
        "cluster and nodes",
        "Node volumes are encrypted.",
        ("ec2-encrypted-volumes",),
    ),
    # --- every workload
    Promise(
        "pods-unprivileged",
        "workloads",
        "No privileged container, no privilege "
        "escalation, ALL capabilities dropped (one allow-listed added back), read-only "
        "root filesystem.",
        (
            "k8s-no-privileged",
            "k8s-no-privilege-escalation",
            "k8s-drop-all-capabilities",
            "k8s-read-only-root-filesystem",
        ),
    ),
    Promise(
        "pods-seccomp",
        "workloads",
        "Every container runs under seccomp RuntimeDefault (or Localhost).",
        ("k8s-seccomp-profile",),
    ),
    Promise(
        "pods-non-root",
        "workloads",
        "No container runs as root unless its workload is allow-listed with a reason.",
        ("k8s-run-as-non-root",),
    ),
    Promise(
        "pods-bounded",
        "workloads",
        "Every container requests and limits cpu and memory.",
        ("k8s-resources-bounded",),
    ),
    Promise(
        "images-pinned",
        "workloads",
        "Images are pinned: a version tag, and a digest in prod.",
        ("k8s-image-pinned",),
    ),
    Promise(
        "host-access",
        "workloads",
        "Host network, ports and paths only for the two allow-listed node agents; no host PID/IPC.",
        ("k8s-host-access-allow-listed", "k8s-no-host-namespaces"),
    ),
    Promise(
        "host-paths",
        "workloads",
        "Host paths allow-listed per workload and path, "
        "read-only unless the agent's own buffer; never '/' or a runtime socket.",
        ("k8s-host-paths-allow-listed",),
    ),
    Promise(
        "pods-namespaced",
        "workloads",
        "Nothing in the 'default' namespace; no API token unless the workload calls the API.",
        ("k8s-no-default-namespace", "k8s-no-automount-service-account-token"),
    ),
    # --- the query layer
    Promise(
        "query-guarded",
        "query",
        "The query workgroup enforces its settings, caps the bytes a query scans, and "
        "encrypts results with a KMS key.",
        ("athena-workgroup-enforced", "athena-workgroup-results-encrypted"),
    ),
    Promise(
        "auditor-read-only",
        "query",
        "An auditor role may only query and read.",
        ("auditor-role-read-only",),
    ),
    # --- the pipeline
    Promise(
        "pipeline-complete",
        "pipeline",
        "The agent runs, routes to this stack's archive, and its role may write there.",
        ("audit-log-pipeline-complete",),
    ),
)
