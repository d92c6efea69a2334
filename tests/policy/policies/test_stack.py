from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import analyze_stack, changed
from tooling.graph import RecordedResource

POLICY = "audit-log-pipeline-complete"
CONFIGMAP_URN = c.urn(c.CONFIGMAP_T, "fluent-bit-config")


def edit(
    type_token: str, name: str, update: Callable[[dict[str, Any]], dict[str, Any]]
) -> list[RecordedResource]:
    return [
        dataclasses.replace(r, inputs=update(r.inputs))
        if (r.type, r.name) == (type_token, name)
        else r
        for r in c.resources()
    ]


def with_config(text: str) -> list[RecordedResource]:
    return edit(
        c.CONFIGMAP_T, "fluent-bit-config", lambda p: {**p, "data": {"fluent-bit.conf": text}}
    )


def without(type_token: str) -> list[RecordedResource]:
    return [r for r in c.resources() if r.type != type_token]


def pipeline_messages(
    resources: list[RecordedResource], config: dict[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    fired = analyze_stack(resources, {**c.CONFIG, **(config or {})})
    assert set(fired) <= {POLICY}, fired
    return fired.get(POLICY, [])


def test_complete_pipeline_passes() -> None:
    assert analyze_stack(c.resources(), c.CONFIG) == {}


def test_missing_agent_is_a_stack_violation() -> None:
    resources = edit(c.DAEMONSET_T, "fluent-bit", lambda p: changed(p, ("metadata", "name"), "fb"))
    assert pipeline_messages(resources) == [
        ("no DaemonSet audit-logging/fluent-bit: nothing ships the nodes' audit logs", None)
    ]


def test_agent_name_comes_from_config() -> None:
    resources = edit(c.DAEMONSET_T, "fluent-bit", lambda p: changed(p, ("metadata", "name"), "fb"))
    config = {POLICY: {"agentName": "fb"}}
    assert pipeline_messages(resources, config) == []


def test_agent_without_s3_output_violates() -> None:
    text = "pipeline:\n  outputs:\n    - name: stdout\n      match: '*'\n"
    [(message, at)] = pipeline_messages(with_config(text))
    assert at == c.urn(c.DAEMONSET_T, "fluent-bit")
    assert "mounts no ConfigMap holding a Fluent Bit S3 output" in message


def test_unmounted_configmap_does_not_count() -> None:
    resources = edit(
        c.DAEMONSET_T,
        "fluent-bit",
        lambda p: changed(p, ("spec", "template", "spec", "volumes"), []),
    )
    resources = [dataclasses.replace(r, dependencies=()) for r in resources]
    assert len(pipeline_messages(resources)) == 1


def test_s3_output_without_match_violates() -> None:
    text = c.FLUENT_BIT_YAML.replace('      match: "*"\n', "")
    assert pipeline_messages(with_config(text)) == [
        (f"the S3 output to '{c.BUCKET}' has no match: no record reaches it", CONFIGMAP_URN)
    ]


def test_s3_output_to_a_foreign_bucket_violates() -> None:
    text = c.FLUENT_BIT_YAML.replace(c.BUCKET, "someone-elses-bucket")
    resources = [dataclasses.replace(r, dependencies=()) for r in with_config(text)]
    messages = [m for m, _ in pipeline_messages(resources)]
    assert messages == [
        "the S3 output writes to 'someone-elses-bucket', not a bucket of this stack",
        "no role of this stack has an inline policy allowing s3:PutObject on "
        "arn:aws:s3:::someone-elses-bucket/*",
    ]


def test_role_that_cannot_put_violates() -> None:
    denied = c.document({**c.put_statement(), "Effect": "Deny"})
    resources = edit(c.ROLE_POLICY_T, "fluent-bit-put", lambda p: {**p, "policy": denied})
    [(message, at)] = pipeline_messages(resources)
    assert at == CONFIGMAP_URN
    assert message.startswith("no role of this stack has an inline policy allowing s3:PutObject")


def test_policy_not_attached_to_a_role_of_the_stack_does_not_count() -> None:
    resources = edit(c.ROLE_POLICY_T, "fluent-bit-put", lambda p: {**p, "role": "other-role"})
    resources = [dataclasses.replace(r, dependencies=()) for r in resources]
    assert len(pipeline_messages(resources)) == 1


def test_role_inline_policy_counts() -> None:
    inline = [{"name": "put", "policy": c.role_policy()["policy"]}]
    resources = edit(c.ROLE_T, "fluent-bit-irsa", lambda p: {**p, "inlinePolicies": inline})
    resources = [r for r in resources if r.type != c.ROLE_POLICY_T]
    assert pipeline_messages(resources) == []


def test_classic_config_format_is_read() -> None:
    classic = (
        f"[INPUT]\n    Name syslog\n[OUTPUT]\n    Name  s3\n    Match *\n    bucket {c.BUCKET}\n"
    )
    assert pipeline_messages(with_config(classic)) == []


@pytest.mark.parametrize("missing", [c.BUCKET_T, c.ROLE_T])
def test_local_stack_may_write_to_an_emulator_without_bucket_or_role(missing: str) -> None:
    local = {POLICY: {"requireBucketResource": False, "requireIamRole": False}}
    resources = [r for r in without(missing) if r.type != c.ROLE_POLICY_T]
    assert pipeline_messages(resources, local) == []
    assert pipeline_messages(resources) != []
