"""The plan enforces the policy pack: mutate a stack into non-compliance, the plan fails."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import components.identity.iam as iam
from tests.conftest import ALL_STACKS
from tooling.engine import REPO_ROOT
from tooling.plan import EXIT_POLICY, main, plan_stack


def _stacks(tmp_path: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    for path in REPO_ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, stacks)
    path = stacks / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document))
    return stacks


def _violated(stack: str, stacks: Path, build: Path) -> set[str]:
    report = plan_stack(stack, build, stacks).policy
    return {v.policy for v in report.mandatory}


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_stack_has_no_mandatory_violation(stack: str, tmp_path: Path) -> None:
    report = plan_stack(stack, tmp_path).policy
    assert report.mandatory == ()
    text = (tmp_path / stack / "policy.txt").read_text()
    assert text.rstrip().endswith("policies, 0 violations: PASS")


def test_object_lock_off_in_the_prod_archive_fails_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def unlock(config: dict[str, Any]) -> None:
        config["container-audit-log:bucket"]["objectLock"]["enabled"] = False

    stacks = _stacks(tmp_path, "archive-prod", unlock)
    code = main(
        [
            *("--stack", "archive-prod", "--stacks-dir", str(stacks)),
            *("--build-dir", str(tmp_path / "b")),
        ]
    )
    assert code == EXIT_POLICY
    errors = capsys.readouterr().err
    assert "s3-object-lock" in errors and "aws:s3/bucket:Bucket" in errors


def test_sse_s3_in_the_prod_archive_fails_on_kms(tmp_path: Path) -> None:
    def sse_s3(config: dict[str, Any]) -> None:
        config["container-audit-log:bucket"]["encryption"] = "sse-s3"

    violated = _violated("archive-prod", _stacks(tmp_path, "archive-prod", sse_s3), tmp_path / "b")
    assert "s3-encryption-kms" in violated


def test_api_open_to_an_unlisted_range_fails_in_staging(tmp_path: Path) -> None:
    def widen(config: dict[str, Any]) -> None:
        config["container-audit-log:cluster"]["publicAccessCidrs"] = ["198.51.100.0/24"]

    violated = _violated("staging", _stacks(tmp_path, "staging", widen), tmp_path / "b")
    assert "eks-public-endpoint-restricted" in violated


def test_a_wildcard_in_the_agent_policy_fails_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = iam.agent_policy_for_stack

    def widened(*args: Any) -> dict[str, Any]:
        document = original(*args)
        document["Statement"][0]["Action"] = ["s3:*"]
        return document

    monkeypatch.setattr(iam, "agent_policy_for_stack", widened)
    assert "iam-no-wildcard-action" in _violated("staging", REPO_ROOT, tmp_path)


def test_an_unpinned_agent_image_fails_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The config model refuses ':latest' already; the pack is the second line of defence.
    from components.agent.settings import AgentSettings

    monkeypatch.setattr(
        AgentSettings, "image_ref", property(lambda self: "fluent/fluent-bit:latest")
    )
    assert "k8s-image-pinned" in _violated("staging", REPO_ROOT, tmp_path)
