"""`make diff BASE=<ref>`: what a change does to every stack's offline plan.

    python -m tooling.diff --base origin/main                    # text, for a terminal
    python -m tooling.diff --base origin/main --format markdown  # a PR comment body

BASE is planned in a temporary `git worktree` with that tree's own `tooling.plan` (so a
change to the tooling itself is diffed fairly), the working tree as it is on disk; both
plans run at once. Per stack it shows resources added, changed and removed (by URN, from
resources.json inputs), a unified diff of every changed artifact (Kubernetes manifests,
daemon configs, IAM and bucket policies) and the policy results that changed.

Exit codes: 0 compared (changes or not), 2 cannot compare (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tooling.graph import STACK_TYPE

EXIT_OK, EXIT_ERROR = 0, 2
MARKER = "<!-- container-audit-log:plan-diff -->"
PLAN_TIMEOUT_S = 600.0
GIT_TIMEOUT_S = 120.0
# Reported as resource changes (resources.json, plan.txt) and policy lines: not as text diffs.
_SUMMARISED = {"plan.txt", "resources.json", "policy.txt"}
_MAX_PATHS = 8
_MAX_VALUE = 60
# GitHub refuses comment bodies over 65,536 characters; keep room for the wrapper.
_COMMENT_BUDGET = 60_000
_FILE_DIFF_LINES = 300
_COMMENT_RESOURCES = 100


class DiffError(Exception):
    """A diff that cannot be made, with the one-line reason shown to the user."""


# --- comparing two plan directories ------------------------------------------------------


@dataclass(frozen=True)
class ResourceChange:
    op: str  # "+", "~" or "-"
    urn: str
    details: tuple[str, ...] = ()  # "~": the input paths that changed

    @property
    def label(self) -> str:
        """The URN without `urn:pulumi:<stack>::<project>::`: still unique within a stack."""
        return self.urn.split("::", 2)[-1]


@dataclass(frozen=True)
class FileDiff:
    path: str  # relative to the stack's plan directory, e.g. k8s/daemonset-....yaml
    op: str  # "+", "~" or "-"
    lines: tuple[str, ...]  # unified diff, without line ends


@dataclass(frozen=True)
class StackDiff:
    stack: str
    resources: tuple[ResourceChange, ...] = ()
    files: tuple[FileDiff, ...] = ()
    policy: tuple[str, ...] = ()  # "- line" / "+ line"
    note: str = ""  # e.g. "new stack"

    def count(self, op: str) -> int:
        return sum(1 for r in self.resources if r.op == op)

    @property
    def changed(self) -> bool:
        return bool(self.resources or self.files or self.policy)

    @property
    def summary(self) -> str:
        text = f"{self.stack}: +{self.count('+')} ~{self.count('~')} -{self.count('-')}"
        extras = [self.note] if self.note else []
        if self.files:
            extras.append(f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}")
        if self.policy:
            extras.append("policy results changed")
        return f"{text} ({', '.join(extras)})" if extras else text


@dataclass(frozen=True)
class PlanDiff:
    base_label: str
    head_label: str
    stacks: tuple[StackDiff, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.stacks)


def _load_inputs(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    payload = json.loads(path.read_text(encoding="utf-8"))
    return {r["urn"]: r.get("inputs", {}) for r in payload["resources"] if r["type"] != STACK_TYPE}


def _short(value: Any) -> str | None:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= _MAX_VALUE and "\\n" not in text else None


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Where two input values differ, as `a.b[0].c`, with `old -> new` for short scalars."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                found.append(f"{path} (added)")
            elif key not in new:
                found.append(f"{path} (removed)")
            else:
                found += changed_paths(old[key], new[key], path)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in changed_paths(a, b, f"{prefix}[{i}]")
        ]
    if old == new:
        return []
    where = prefix or "(value)"
    before, after = _short(old), _short(new)
    if before is not None and after is not None and not isinstance(old, (dict, list)):
        return [f"{where}: {before} -> {after}"]
    return [where]


def _resource_changes(base: Path, head: Path) -> list[ResourceChange]:
    old, new = _load_inputs(base / "resources.json"), _load_inputs(head / "resources.json")
    changes: list[ResourceChange] = []
    for urn in sorted(set(old) | set(new)):
        if urn not in old:
            changes.append(ResourceChange("+", urn))
        elif urn not in new:
            changes.append(ResourceChange("-", urn))
        elif old[urn] != new[urn]:
            paths = changed_paths(old[urn], new[urn])
            if len(paths) > _MAX_PATHS:
                paths = [*paths[:_MAX_PATHS], f"... and {len(paths) - _MAX_PATHS} more"]
            changes.append(ResourceChange("~", urn, tuple(paths)))
    order = {"+": 0, "~": 1, "-": 2}
    return sorted(changes, key=lambda c: (order[c.op], c.urn))


def _artifact_files(stack_dir: Path) -> dict[str, Path]:
    if not stack_dir.is_dir():
        return {}
    return {
        p.relative_to(stack_dir).as_posix(): p
        for p in sorted(stack_dir.rglob("*"))
        if p.is_file() and p.relative_to(stack_dir).as_posix() not in _SUMMARISED
    }


def _read_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _file_diffs(stack: str, base: Path, head: Path) -> list[FileDiff]:
    old, new = _artifact_files(base), _artifact_files(head)
    diffs: list[FileDiff] = []
    for relative in sorted(set(old) | set(new)):
        before, after = old.get(relative), new.get(relative)
        if before and after and before.read_bytes() == after.read_bytes():
            continue
        lines = difflib.unified_diff(
            _read_lines(before),
            _read_lines(after),
            fromfile=f"a/{stack}/{relative}" if before else "/dev/null",
            tofile=f"b/{stack}/{relative}" if after else "/dev/null",
            lineterm="",
        )
        op = "+" if before is None else "-" if after is None else "~"
        diffs.append(FileDiff(relative, op, tuple(lines)))
    return diffs


def _policy_changes(base: Path, head: Path) -> list[str]:
    """Policy report lines only in one plan: `- ` gone with the change, `+ ` new with it."""
    old = [line for line in _read_lines(_existing(base / "policy.txt")) if line.strip()]
    new = [line for line in _read_lines(_existing(head / "policy.txt")) if line.strip()]
    gone, came = set(old) - set(new), set(new) - set(old)
    return [f"- {line}" for line in old if line in gone] + [
        f"+ {line}" for line in new if line in came
    ]


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def compare_stack(stack: str, base: Path, head: Path) -> StackDiff:
    """Compare build/<stack>/ of two plans (a missing directory is a stack with nothing)."""
    note = ""
    if not (base / "resources.json").is_file():
        note = "new stack"
    elif not (head / "resources.json").is_file():
        note = "stack removed"
    return StackDiff(
        stack=stack,
        resources=tuple(_resource_changes(base, head)),
        files=tuple(_file_diffs(stack, base, head)),
        policy=tuple(_policy_changes(base, head)),
        note=note,
    )


def compare_builds(base: Path, head: Path, base_label: str, head_label: str) -> PlanDiff:
    """Compare two `tooling.plan --all` build directories, stack by stack."""
    stacks = sorted(
        {p.parent.name for p in base.glob("*/resources.json")}
        | {p.parent.name for p in head.glob("*/resources.json")}
    )
    return PlanDiff(
        base_label, head_label, tuple(compare_stack(s, base / s, head / s) for s in stacks)
    )


# --- rendering -----------------------------------------------------------------------------


def render_text(diff: PlanDiff) -> str:
    header = f"Plan diff: {diff.base_label} -> {diff.head_label}"
    if not diff.changed:
        return f"{header}\nno changes ({len(diff.stacks)} stacks planned)\n"
    out = [header, ""]
    for stack in diff.stacks:
        if not stack.changed:
            out.append(f"{stack.stack}: no changes")
            continue
        out.append(stack.summary)
        for change in stack.resources:
            out.append(f"  {change.op} {change.label}")
            out += [f"      {detail}" for detail in change.details]
        for file in stack.files:
            out += ["", *file.lines]
        if stack.policy:
            out += ["", "  policy results:", *(f"  {line}" for line in stack.policy)]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _fence(lines: Sequence[str]) -> str:
    """A code fence longer than any backtick run in the content, so it cannot break out."""
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _code_block(lines: Sequence[str], language: str = "diff") -> str:
    fence = _fence(lines)
    return "\n".join([f"{fence}{language}", *lines, fence])


def _stack_markdown(stack: StackDiff, budget: int) -> tuple[str, int]:
    """One collapsed section; large diffs are cut per file and to the remaining budget."""
    parts: list[str] = [f"<details><summary>{stack.summary}</summary>", ""]
    if not stack.changed:
        parts += ["No changes.", "", "</details>"]
        text = "\n".join(parts)
        return text, budget - len(text)
    if stack.resources:
        parts.append("**Resources**")
        parts.append("")
        for change in stack.resources[:_COMMENT_RESOURCES]:
            parts.append(f"- `{change.op}` `{change.label}`")
            parts += [f"  - `{detail}`" for detail in change.details]
        if len(stack.resources) > _COMMENT_RESOURCES:
            more = len(stack.resources) - _COMMENT_RESOURCES
            parts.append(f"- _{more} more not shown; run `make diff`._")
        parts.append("")
    omitted: list[str] = []
    for file in stack.files:
        lines = list(file.lines)
        note = ""
        if len(lines) > _FILE_DIFF_LINES:
            note = f"_{len(lines) - _FILE_DIFF_LINES} more lines not shown; run `make diff`._"
            lines = lines[:_FILE_DIFF_LINES]
        block = "\n".join(
            [f"**`{file.path}`**", "", _code_block(lines), *([note] if note else []), ""]
        )
        if len(block) > budget - sum(len(p) + 1 for p in parts):
            omitted.append(file.path)
            continue
        parts.append(block)
    if omitted:
        parts += [
            "_Not shown (comment size limit; run `make diff` locally):_ "
            + ", ".join(f"`{p}`" for p in omitted),
            "",
        ]
    if stack.policy:
        parts += ["**Policy results**", "", _code_block(stack.policy), ""]
    parts.append("</details>")
    text = "\n".join(parts)
    return text, budget - len(text)


def render_markdown(diff: PlanDiff) -> str:
    """A PR comment body: one collapsed section per stack, starting with the marker."""
    head = [
        MARKER,
        f"### Offline plan diff: `{diff.base_label}` → `{diff.head_label}`",
        "",
    ]
    if not diff.changed:
        head.append(f"No changes in any of the {len(diff.stacks)} stacks.")
    budget = _COMMENT_BUDGET - sum(len(line) + 1 for line in head)
    sections: list[str] = []
    for stack in diff.stacks:
        text, budget = _stack_markdown(stack, max(budget, 0))
        sections.append(text)
    footer = [
        "",
        "<sub>Offline plan under mocks (no cloud calls): `make diff BASE=<ref>` shows the same."
        " Real previews per stack come from `pulumi preview` below, where configured.</sub>",
    ]
    return "\n".join([*head, "\n\n".join(sections), *footer]) + "\n"


# --- git and planning ------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise DiffError("git is not installed (it is needed to check out BASE)") from None
    if result.returncode != 0:
        raise DiffError(_last_line(result.stderr) or f"git {args[0]} failed")
    return result.stdout.strip()


def repo_root(path: Path) -> Path:
    try:
        return Path(_git(path, "rev-parse", "--show-toplevel"))
    except DiffError:
        raise DiffError(
            f"not a git checkout: {path} (run make diff inside the repository)"
        ) from None


def resolve_ref(root: Path, ref: str) -> str:
    """The commit a ref names, or a one-line error naming the ref."""
    if not ref or ref.startswith("-"):
        raise DiffError(f"unknown ref {ref!r}: expected a branch, tag or commit")
    try:
        return _git(
            root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        )
    except DiffError:
        raise DiffError(
            f"unknown ref {ref!r} in {root} (a shallow clone or a branch not fetched yet? "
            "try: git fetch origin)"
        ) from None


@contextlib.contextmanager
def worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached checkout of `commit`, removed (with its git metadata) afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="plan-diff-base-"))
    tree = scratch / "tree"
    try:
        _git(root, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        with contextlib.suppress(DiffError):
            _git(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(DiffError):
            _git(root, "worktree", "prune")


@dataclass
class _PlanRun:
    label: str
    tree: Path
    out: Path
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]


def _start_plan(label: str, tree: Path, out: Path, python: str) -> _PlanRun:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _finish_plan
    process = subprocess.Popen(
        [python, "-m", "tooling.plan", "--all", "--build-dir", str(out)],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    return _PlanRun(label, tree, out, process, stderr)


def _finish_plan(run: _PlanRun, timeout: float) -> None:
    """Wait for a plan; raise DiffError naming the stack(s) it could not plan and why."""
    try:
        try:
            code = run.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run.process.kill()
            run.process.wait()
            raise DiffError(
                f"{run.label} cannot be planned: no result in {timeout:.0f} s"
            ) from None
        run.stderr.seek(0)
        lines = run.stderr.read().decode(errors="replace").splitlines()
    finally:
        run.stderr.close()
    stacks = sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in run.tree.glob("Pulumi.*.yaml")
    )
    missing = [s for s in stacks if not (run.out / s / "resources.json").is_file()]
    if code in (0, 1) and not missing:
        return  # 1: planned, with mandatory policy violations (shown in policy.txt)
    for stack in missing:
        reasons = [
            line.removeprefix(f"plan {stack}: ")
            for line in lines
            if line.startswith(f"plan {stack}: ")
        ]
        if reasons:
            raise DiffError(f"{run.label} cannot be planned: stack {stack}: {reasons[0]}")
    why = _last_line("\n".join(lines)) or f"tooling.plan exited with {code}"
    raise DiffError(f"{run.label} cannot be planned: {why}")


def _stop(run: _PlanRun) -> None:
    if run.process.poll() is None:
        run.process.kill()
        run.process.wait()
    run.stderr.close()


def plan_diff(
    repo: Path, base_ref: str, python: str = sys.executable, timeout: float = PLAN_TIMEOUT_S
) -> PlanDiff:
    """Plan every stack at `base_ref` and in the working tree of `repo`; compare them."""
    root = repo_root(repo)
    commit = resolve_ref(root, base_ref)
    base_label = f"{base_ref} ({commit[:10]})"
    with (
        tempfile.TemporaryDirectory(prefix="plan-diff-") as scratch,
        worktree(root, commit) as tree,
    ):
        out = Path(scratch)
        base = _start_plan(f"BASE {base_label}", tree, out / "base", python)
        head = _start_plan("the working tree", root, out / "head", python)
        try:
            _finish_plan(base, timeout)
            _finish_plan(head, timeout)
        finally:
            _stop(base)
            _stop(head)
        return compare_builds(out / "base", out / "head", base_label, "working tree")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make diff", description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git ref to compare with (e.g. origin/main)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument(
        "--markdown-file", type=Path, help="also write the PR comment body (markdown) here"
    )
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the checkout to diff")
    args = parser.parse_args(argv)
    try:
        diff = plan_diff(args.repo, args.base)
    except DiffError as error:
        print(f"diff: {error}", file=sys.stderr)
        return EXIT_ERROR
    markdown = render_markdown(diff)
    if args.markdown_file is not None:
        args.markdown_file.write_text(markdown, encoding="utf-8")
    sys.stdout.write(markdown if args.format == "markdown" else render_text(diff))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
