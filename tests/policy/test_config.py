"""policy/config/<stack>.json: what `pulumi preview --policy-pack-config` reads, per stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from policy.policies import PACK_NAME, all_policies
from tooling.engine import load_stack_file
from tooling.policy_runner import PolicyConfigError, load_policy_config, resolve_policy_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policy" / "config"
CLUSTER_STACKS = ("dev", "staging", "prod", "local")
STACKS = (*CLUSTER_STACKS, "archive-staging", "archive-prod")
NODE_AGENTS = [
    {"namespace": "audit-logging", "name": "fluent-bit"},
    {"namespace": "audit-logging", "name": "node-syslog"},
]


def analyzer_info() -> analyzer_pb2.AnalyzerInfo:
    """What GetAnalyzerInfo answers for the pack (names, default levels, config schemas)."""
    info = analyzer_pb2.AnalyzerInfo(name=PACK_NAME, version="0.0.1")
    for policy in all_policies():
        entry = analyzer_pb2.PolicyInfo(
            name=policy.name,
            description=policy.description,
            enforcementLevel=analyzer_pb2.MANDATORY,
        )
        if policy.config_schema is not None:
            entry.configSchema.properties.update(policy.config_schema.properties)
        info.policies.append(entry)
    return info


def resolved(stack: str) -> dict[str, analyzer_pb2.PolicyConfig]:
    path = CONFIG_DIR / f"{stack}.json"
    return resolve_policy_config(analyzer_info(), load_policy_config(path), str(path))


def properties(config: analyzer_pb2.PolicyConfig) -> dict[str, Any]:
    found: dict[str, Any] = json_format.MessageToDict(config.properties)
    return found


def test_there_is_a_config_per_stack() -> None:
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.json")) == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_config_names_only_existing_policies_with_valid_values(stack: str) -> None:
    names = {p.name for p in all_policies()}
    raw = load_policy_config(CONFIG_DIR / f"{stack}.json")
    assert set(raw) - {"all"} <= names
    assert set(resolved(stack)) == names


@pytest.mark.parametrize(
    ("stack", "level"),
    [
        ("dev", analyzer_pb2.ADVISORY),
        ("staging", analyzer_pb2.MANDATORY),
        ("prod", analyzer_pb2.MANDATORY),
        ("local", analyzer_pb2.MANDATORY),
    ],
)
def test_enforcement_level_per_stack(stack: str, level: int) -> None:
    assert {c.enforcementLevel for c in resolved(stack).values()} == {level}


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_node_agents_are_the_fluent_bit_and_rsyslog_daemonsets(stack: str) -> None:
    config = properties(resolved(stack)["k8s-host-access-allow-listed"])
    assert config["nodeAgents"] == NODE_AGENTS


@pytest.mark.parametrize("stack", ["prod", "archive-prod"])
def test_prod_requires_object_lock_and_kms(stack: str) -> None:
    config = resolved(stack)
    assert properties(config["s3-object-lock"])["requireObjectLock"] is True
    assert properties(config["s3-encryption-kms"])["requireKms"] is True


@pytest.mark.parametrize("stack", ["staging", "prod", "archive-staging", "archive-prod"])
def test_staging_and_prod_refuse_an_unprotected_archive(stack: str) -> None:
    config = resolved(stack)["archive-protected"]
    assert config.enforcementLevel == analyzer_pb2.MANDATORY
    assert properties(config)["requireProtection"] is True


def test_unknown_policy_name_is_rejected() -> None:
    with pytest.raises(PolicyConfigError, match=r"\['s3-no-such-policy'\] are not policies"):
        resolve_policy_config(analyzer_info(), {"s3-no-such-policy": "mandatory"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"all": "blocking"}, "enforcement level 'blocking' is not one of"),
        ({"s3-object-lock": {"requireObjectlock": True}}, "unknown key 'requireObjectlock'"),
        (
            {"s3-object-lock": {"minRetentionDays": "90"}},
            "minRetentionDays='90' is not of type integer",
        ),
        ({"s3-object-lock": {"allowedModes": ["WORM"]}}, r"allowedModes\[0\]='WORM' is not one of"),
        (
            {"s3-object-lock": {"requireObjectLock": 1}},
            "requireObjectLock=1 is not of type boolean",
        ),
    ],
)
def test_bad_values_are_rejected_with_the_key_and_value(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyConfigError, match=message):
        resolve_policy_config(analyzer_info(), raw)


def test_policy_level_overrides_all_and_defaults_fill_properties() -> None:
    raw = {"all": "mandatory", "s3-bucket-key-enabled": "advisory"}
    config = resolve_policy_config(analyzer_info(), raw)
    assert config["s3-bucket-key-enabled"].enforcementLevel == analyzer_pb2.ADVISORY
    assert config["s3-encryption-kms"].enforcementLevel == analyzer_pb2.MANDATORY
    assert properties(config["s3-lifecycle-abort-multipart"]) == {"maxDaysAfterInitiation": 7}


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_agent_prefix_is_the_stacks_log_prefix(stack: str) -> None:
    # The pack guards the prefix the stack writes; the two must move together.
    stack_file = load_stack_file(stack)[0]
    expected = stack_file.get("container-audit-log:logPrefix", f"audit/{stack}/")
    properties = json_format.MessageToDict(resolved(stack)["iam-agent-least-privilege"].properties)
    assert properties["logPrefix"] == expected


def test_digests_are_required_in_prod_only() -> None:
    required = {
        stack: json_format.MessageToDict(resolved(stack)["k8s-image-pinned"].properties)[
            "requireDigest"
        ]
        for stack in CLUSTER_STACKS
    }
    assert required == {"dev": False, "staging": False, "prod": True, "local": False}
