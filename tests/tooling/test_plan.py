"""`make plan`: files written, one clear line for bad input, no traceback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tooling.engine import REPO_ROOT
from tooling.graph import ResourceGraph
from tooling.plan import EXIT_INPUT, EXIT_OK, main


def test_plan_writes_the_tree_and_the_graph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", "dev", "--build-dir", str(tmp_path)]) == EXIT_OK
    plan = (tmp_path / "dev" / "plan.txt").read_text()
    graph = ResourceGraph.load(tmp_path / "dev" / "resources.json")
    count = sum(1 for r in graph.resources if r.type != "pulumi:pulumi:Stack")
    assert plan.rstrip().endswith(f"{count} resources")
    assert "aws:s3/bucket:Bucket" in plan
    assert (tmp_path / "dev" / "k8s").is_dir()
    documents = sorted(p.name for p in (tmp_path / "dev" / "aws").iterdir())
    assert "s3-bucket-policy-audit-log-policy.json" in documents
    for name in documents:
        json.loads((tmp_path / "dev" / "aws" / name).read_text())
    [summary] = capsys.readouterr().out.splitlines()
    assert summary.startswith(f"dev: {count} resources")
    # The same plain verdict as the last line of policy.txt.
    verdict = (tmp_path / "dev" / "policy.txt").read_text().splitlines()[-1]
    assert re.fullmatch(r"\d+ policies, \d+ violations?.*: (PASS|FAIL.*)", verdict)
    assert f"; policy: {verdict} -> " in summary


def test_unknown_stack_is_one_line_listing_the_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", "nosuch", "--build-dir", str(tmp_path)]) == EXIT_INPUT
    [line] = capsys.readouterr().err.splitlines()
    assert "unknown stack 'nosuch'" in line
    assert "dev, local, prod, staging" in line


def _stacks_with_bad_dev(tmp_path: Path) -> Path:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    for path in REPO_ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, stacks)
    dev = stacks / "Pulumi.dev.yaml"
    document = yaml.safe_load(dev.read_text())
    document["config"]["container-audit-log:bucket"]["retentionDays"] = -1
    dev.write_text(yaml.safe_dump(document))
    return stacks


def test_malformed_value_exits_non_zero_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    stacks = _stacks_with_bad_dev(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tooling.plan",
            "--stack",
            "dev",
            "--stacks-dir",
            str(stacks),
            "--build-dir",
            str(tmp_path / "build"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Pulumi.dev.yaml" in lines[0] and "retentionDays" in lines[0] and "-1" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "build" / "dev").exists()  # nothing half-written


def test_stack_file_that_is_not_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.dev.yaml").write_text("config: [unclosed\n")
    assert (
        main(["--stack", "dev", "--stacks-dir", str(stacks), "--build-dir", str(tmp_path)])
        == EXIT_INPUT
    )
    [line] = capsys.readouterr().err.splitlines()
    assert "Pulumi.dev.yaml: not valid YAML" in line


def test_two_plans_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["--all", "--build-dir", str(first)]) == EXIT_OK
    assert main(["--all", "--build-dir", str(second)]) == EXIT_OK
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_plan_shows_the_table_ddl_and_every_named_query(tmp_path: Path) -> None:
    from components.archive.queries import QUERIES

    assert main(["--stack", "dev", "--build-dir", str(tmp_path)]) == EXIT_OK
    athena = tmp_path / "dev" / "athena"
    [table] = sorted(athena.glob("table-*.sql"))
    ddl = table.read_text()
    assert "CREATE EXTERNAL TABLE `container_audit_dev`.`audit_events`" in ddl
    assert "'projection.enabled' = 'true'" in ddl and "audit/dev/${tag}/${day}/${hour}/" in ddl
    names = sorted(p.name for p in athena.glob("query-*.sql"))
    assert names == sorted(f"query-{q.name}.sql" for q in QUERIES)
    assert "'projection.tag.values' = 'audit.syslog,audit.heartbeat'" in ddl
    assert "tag = ?" in (athena / "query-heartbeats.sql").read_text()
    assert main(["--stack", "local", "--build-dir", str(tmp_path)]) == EXIT_OK
    assert not (tmp_path / "local" / "athena").exists()  # no AWS query layer in local
