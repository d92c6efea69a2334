"""The pack as a whole: names, metadata, a violation test for every policy, the README table."""

from __future__ import annotations

import re
from pathlib import Path

from pulumi_policy import StackValidationPolicy

from policy.policies import all_policies
from tests.policy.policies import (
    test_agent_identity,
    test_athena,
    test_eks,
    test_iam,
    test_kms,
    test_kubernetes,
    test_nodes,
    test_pod_security,
    test_protection,
    test_s3,
    test_stack,
)

README = Path(__file__).resolve().parents[2] / "policy" / "README.md"
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")


def test_enough_uniquely_named_policies() -> None:
    names = [p.name for p in all_policies()]
    assert len(names) >= 25
    assert len(set(names)) == len(names)
    assert all(KEBAB.match(name) for name in names), names


def test_every_policy_has_severity_level_and_a_fix() -> None:
    for policy in all_policies():
        assert policy.severity is not None, policy.name
        assert policy.enforcement_level is not None, policy.name
        assert " Fix: " in policy.description, policy.name
        assert policy.remediation_steps, policy.name


def test_every_policy_has_a_violating_case() -> None:
    resource_cases = {
        param.values[-1]
        for module in (
            test_s3,
            test_kms,
            test_iam,
            test_eks,
            test_kubernetes,
            test_nodes,
            test_pod_security,
            test_athena,
            test_protection,
        )
        for param in module.VIOLATIONS
    }
    stack_cases = {
        *test_s3.STACK_POLICIES,
        test_stack.POLICY,
        test_eks.STACK_POLICY,
        test_agent_identity.STACK_POLICY,
    }
    for policy in all_policies():
        cases = stack_cases if isinstance(policy, StackValidationPolicy) else resource_cases
        assert policy.name in cases, f"{policy.name} has no violating test case"


def test_readme_table_lists_every_policy_with_its_severity() -> None:
    rows = {
        cells[1].strip("` "): cells[2].strip()
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `") and (cells := line.split("|"))
    }
    assert rows == {p.name: p.severity.value for p in all_policies() if p.severity}
