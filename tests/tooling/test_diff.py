"""`make diff`: plans BASE and the working tree, reports only what a change does.

The end-to-end tests work on throwaway git repositories made from a copy of this working
tree (never on the checkout itself); the rendering tests on small hand-made plan folders.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tooling.diff import (
    EXIT_ERROR,
    EXIT_OK,
    MARKER,
    compare_builds,
    main,
    plan_diff,
    render_markdown,
    render_text,
)
from tooling.engine import REPO_ROOT

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "node_modules", "__pycache__", "*_cache", "*.pyc"
)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, **_GIT_ENV},
    )
    return result.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _copy_working_tree(destination: Path) -> None:
    """The files of this checkout as they are on disk (tracked and new, not ignored)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "-co", "--exclude-standard"],
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: copy the tree
        shutil.copytree(REPO_ROOT, destination, ignore=_IGNORED)
        return
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)


@pytest.fixture(scope="module")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("source") / "repo"
    repo.mkdir()
    _copy_working_tree(repo)
    git(repo, "init", "-q")
    commit_all(repo, "snapshot of the working tree")
    return repo


@pytest.fixture
def clone(source_repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source_repo), str(target))
    return target


def set_stack_value(repo: Path, stack: str, key: str, field: str, value: Any) -> Any:
    """Change one field of one config key by editing its line; return the old value."""
    path = repo / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    old = yaml.safe_load(text)["config"][f"container-audit-log:{key}"][field]
    line = f"    {field}: {old}\n"
    assert text.count(line) == 1, f"{path.name}: expected one line {line!r}"
    path.write_text(text.replace(line, f"    {field}: {value}\n"))
    return old


def only_stack(repo: Path, stack: str) -> None:
    for path in repo.glob("Pulumi.*.yaml"):
        if path.name != f"Pulumi.{stack}.yaml":
            path.unlink()


def worktrees(repo: Path) -> int:
    return git(repo, "worktree", "list", "--porcelain").count("worktree ")


# --- end to end --------------------------------------------------------------------------


def test_one_config_value_changes_exactly_what_it_drives(clone: Path) -> None:
    old = set_stack_value(clone, "dev", "agent", "logLevel", "debug")
    assert old == "info"
    commit_all(clone, "dev: agent log level debug")

    diff = plan_diff(clone, "HEAD~1")

    by_stack = {s.stack: s for s in diff.stacks}
    # Both kinds: the archive stacks are planned (first) and compared too.
    others = ("archive-prod", "archive-staging", "local", "prod", "staging")
    assert sorted(by_stack) == sorted(["dev", *others])
    for other in others:
        assert not by_stack[other].changed, render_text(diff)
    dev = by_stack["dev"]
    assert dev.count("+") == dev.count("-") == 0
    # The log level lives in the agent's config: its ConfigMap, and the DaemonSet's
    # checksum annotation that rolls the pods when that config changes. Nothing else.
    changed = {c.urn.rsplit("::", 1)[0].rsplit("$", 1)[-1] for c in dev.resources}
    assert changed == {"kubernetes:core/v1:ConfigMap", "kubernetes:apps/v1:DaemonSet"}
    assert all("FluentBitDaemonSet" in c.urn for c in dev.resources)
    files = {f.path for f in dev.files}
    assert {f.op for f in dev.files} == {"~"}
    [config_file] = [p for p in files if p.startswith("fluent-bit/") and p.endswith(".yaml")]
    assert {p.split("/")[0] for p in files} == {"fluent-bit", "k8s"}
    assert sorted(p.split("/")[1].split("-")[0] for p in files if p.startswith("k8s/")) == [
        "configmap",
        "daemonset",
    ]
    [config_diff] = [f.lines for f in dev.files if f.path == config_file]
    removed = [line for line in config_diff if line.startswith("-") and "log_level" in line]
    added = [line for line in config_diff if line.startswith("+") and "log_level" in line]
    assert [line.split()[-1] for line in removed] == ["info"]
    assert [line.split()[-1] for line in added] == ["debug"]
    assert not dev.policy  # same violations (none) before and after

    text = render_text(diff)
    for other in others:
        assert f"{other}: no changes" in text.splitlines()
    assert "dev: +0 ~2 -0 (3 files)" in text.splitlines()
    assert worktrees(clone) == 1  # the BASE worktree is gone


def test_no_change_says_so_and_exits_zero(clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only_stack(clone, "dev")  # one stack keeps this test fast; the logic is per stack
    commit_all(clone, "dev only")

    comment = clone.parent / "comment.md"
    argv = ["--base", "HEAD", "--repo", str(clone), "--markdown-file", str(comment)]
    assert main(argv) == EXIT_OK

    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "no changes (1 stacks planned)"
    body = comment.read_text()
    assert body.startswith(MARKER) and "No changes in any of the 1 stacks." in body
    assert worktrees(clone) == 1


def test_base_that_cannot_be_planned_names_the_stack_and_why(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    only_stack(clone, "dev")
    set_stack_value(clone, "dev", "bucket", "retentionDays", -1)
    commit_all(clone, "broken dev")
    set_stack_value(clone, "dev", "bucket", "retentionDays", 30)  # fixed in the working tree

    assert main(["--base", "HEAD", "--repo", str(clone)]) == EXIT_ERROR

    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("diff: BASE HEAD (")
    assert "cannot be planned: stack dev: Pulumi.dev.yaml" in line
    assert "retentionDays" in line and "-1" in line
    assert worktrees(clone) == 1


def test_unknown_ref_is_one_clear_line(clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base", "no-such-branch", "--repo", str(clone)]) == EXIT_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("diff: unknown ref 'no-such-branch'")


def test_outside_a_git_checkout_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--base", "HEAD", "--repo", str(tmp_path)]) == EXIT_ERROR
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"diff: not a git checkout: {tmp_path} (run make diff inside the repository)"


# --- comparing and rendering plan folders ---------------------------------------------------


def _urn(stack: str, name: str) -> str:
    return f"urn:pulumi:{stack}::container-audit-log::aws:s3/bucket:Bucket::{name}"


def write_plan(
    root: Path, stack: str, resources: dict[str, dict[str, Any]], files: dict[str, str]
) -> None:
    folder = root / stack
    folder.mkdir(parents=True)
    payload = {
        "project": "container-audit-log",
        "stack": stack,
        "outputs": {},
        "resources": [
            {
                "urn": f"urn:pulumi:{stack}::container-audit-log::pulumi:pulumi:Stack::x-{stack}",
                "type": "pulumi:pulumi:Stack",
                "inputs": {},
            },
            *(
                {"urn": _urn(stack, name), "type": "aws:s3/bucket:Bucket", "inputs": inputs}
                for name, inputs in resources.items()
            ),
        ],
    }
    (folder / "resources.json").write_text(json.dumps(payload))
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)


def test_resources_files_and_policy_lines_are_compared_per_stack(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    write_plan(
        base,
        "dev",
        {"kept": {"a": 1}, "gone": {}, "edited": {"rules": [{"days": 30}], "tags": {"x": "1"}}},
        {
            "k8s/same.yaml": "a: 1\n",
            "k8s/old.yaml": "x: 1\n",
            "fluent-bit/fluent-bit.yaml": "service:\n  log_level: info\n",
            "policy.txt": "Policy pack p@1\n\nNo violations.\n",
            "plan.txt": "3 resources\n",
        },
    )
    write_plan(
        head,
        "dev",
        {"kept": {"a": 1}, "new": {}, "edited": {"rules": [{"days": 45}], "tags": {}}},
        {
            "k8s/same.yaml": "a: 1\n",
            "k8s/new.yaml": "y: 2\n",
            "fluent-bit/fluent-bit.yaml": "service:\n  log_level: debug\n",
            "policy.txt": "Policy pack p@1\n\nmandatory  s3-x  urn  bad bucket\n",
            "plan.txt": "4 resources\n",
        },
    )
    write_plan(head, "qa", {"only": {}}, {})

    diff = compare_builds(base, head, "main (abc)", "working tree")

    dev, qa = diff.stacks
    assert [(c.op, c.label) for c in dev.resources] == [
        ("+", "aws:s3/bucket:Bucket::new"),
        ("~", "aws:s3/bucket:Bucket::edited"),
        ("-", "aws:s3/bucket:Bucket::gone"),
    ]
    assert dev.resources[1].details == ("rules[0].days: 30 -> 45", "tags.x (removed)")
    assert [(f.op, f.path) for f in dev.files] == [
        ("~", "fluent-bit/fluent-bit.yaml"),
        ("+", "k8s/new.yaml"),
        ("-", "k8s/old.yaml"),
    ]
    assert "-  log_level: info" in dev.files[0].lines
    assert "+  log_level: debug" in dev.files[0].lines
    assert dev.files[1].lines[:2] == ("--- /dev/null", "+++ b/dev/k8s/new.yaml")
    assert dev.policy == ("- No violations.", "+ mandatory  s3-x  urn  bad bucket")
    assert dev.summary == "dev: +1 ~1 -1 (3 files, policy results changed)"
    assert qa.summary == "qa: +1 ~0 -0 (new stack)"


def test_identical_plans_render_as_no_changes(tmp_path: Path) -> None:
    for side in ("base", "head"):
        write_plan(tmp_path / side, "dev", {"b": {"x": 1}}, {"k8s/a.yaml": "a: 1\n"})
    diff = compare_builds(tmp_path / "base", tmp_path / "head", "main", "working tree")
    assert not diff.changed
    assert render_text(diff).splitlines()[-1] == "no changes (1 stacks planned)"
    assert "No changes in any of the 1 stacks." in render_markdown(diff)


def test_markdown_is_one_collapsed_section_per_stack_and_stays_under_the_limit(
    tmp_path: Path,
) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    huge_before = "".join(f"line {i}\n" for i in range(5000))
    huge_after = "".join(f"line {i} changed\n" for i in range(5000))
    tricky = "```\nnot the end of the block\n"
    many = {f"k8s/m{i}.yaml": "x" * 2000 + f"{i}\n" for i in range(60)}
    write_plan(base, "dev", {"b": {"v": 1}}, {"fluent-bit/big.conf": huge_before})
    write_plan(head, "dev", {"b": {"v": 2}}, {"fluent-bit/big.conf": huge_after})
    write_plan(base, "prod", {"b": {}}, {"k8s/doc.md": "a\n"})
    write_plan(head, "prod", {"b": {}}, {"k8s/doc.md": tricky, **many})
    write_plan(base, "staging", {"b": {}}, {})
    write_plan(head, "staging", {"b": {}}, {})

    body = render_markdown(compare_builds(base, head, "origin/main (abc)", "working tree"))

    assert body.startswith(MARKER + "\n")
    assert len(body) < 65_536  # GitHub's limit for a comment body
    summaries = [line for line in body.splitlines() if line.startswith("<details>")]
    assert summaries == [
        "<details><summary>dev: +0 ~1 -0 (1 file)</summary>",
        "<details><summary>prod: +0 ~0 -0 (61 files)</summary>",
        "<details><summary>staging: +0 ~0 -0</summary>",
    ]
    assert body.count("</details>") == 3
    assert "more lines not shown" in body  # the 10,000-line diff is cut
    assert "Not shown (comment size limit" in body  # and the 60 large files do not all fit
    # A diff line holding ``` is fenced with a longer fence, so the block does not end early.
    assert "````diff" in body
