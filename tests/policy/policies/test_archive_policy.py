"""s3-bucket-policy-denies on a shared archive (archive stacks) and on its replica.

The archive stack's own plan is the compliant case; breaking a writer's access, or letting
a foreign key through to the replica, must fire the policy.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from policy.policies.archive_policy import registered_writers
from tests.conftest import stack_graph
from tests.policy.harness import analyze_stack
from tooling.graph import RecordedResource

POLICY = "s3-bucket-policy-denies"


def _with_policy(name: str, edit: Any) -> list[RecordedResource]:
    resources = []
    for resource in stack_graph("archive-prod").resources:
        if resource.type == "aws:s3/bucketPolicy:BucketPolicy" and resource.name == name:
            document = json.loads(resource.inputs["policy"])
            edit(document)
            inputs = {**resource.inputs, "policy": json.dumps(document)}
            resource = dataclasses.replace(resource, inputs=inputs, outputs={})
        resources.append(resource)
    return resources


def test_the_shared_archive_lets_each_registered_writer_upload() -> None:
    fired = analyze_stack(list(stack_graph("archive-prod").resources))
    assert POLICY not in fired


def test_a_shared_archive_that_denies_its_writer_its_own_prefix_fires() -> None:
    def deny_writer_everywhere(document: dict[str, Any]) -> None:
        for statement in document["Statement"]:
            if statement.get("Sid") == "DenyWriter0OutsideItsPrefix":
                statement["NotResource"] = "arn:aws:s3:::nowhere/*"

    fired = analyze_stack(_with_policy("audit-log-policy", deny_writer_everywhere))
    assert any("denies uploads" in message for message, _ in fired[POLICY])


def test_a_replica_that_accepts_a_foreign_key_fires() -> None:
    def allow_direct_writes(document: dict[str, Any]) -> None:
        document["Statement"] = [
            s
            for s in document["Statement"]
            if s.get("Sid") not in ("DenyDirectWrites", "DenyForeignKmsKeys")
        ]

    fired = analyze_stack(_with_policy("audit-log-replica-policy", allow_direct_writes))
    assert [m for m, _ in fired[POLICY]] == [
        "the policy of bucket 'audit-log-replica-bucket' does not deny an upload that names "
        "another KMS key"
    ]


def test_registered_writers_are_read_from_the_policy() -> None:
    [policy] = [
        json.loads(r.inputs["policy"])
        for r in stack_graph("archive-prod").by_type("aws:s3/bucketPolicy:BucketPolicy")
        if r.name == "audit-log-policy"
    ]
    [(writer, pattern)] = registered_writers(policy)
    assert writer.endswith(":role/container-audit-log-writer-prod")
    assert pattern.endswith("/audit/prod/*")
