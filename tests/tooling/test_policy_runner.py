"""The offline runner drives the real pack over gRPC (three server starts in this file)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.policy import compliant as c
from tests.policy.harness import changed
from tooling.graph import RecordedResource, ResourceGraph
from tooling.policy_runner import (
    PolicyPackError,
    PolicyReport,
    Violation,
    main,
    run_policy_pack,
)

STAGING = Path(__file__).resolve().parents[2] / "policy" / "config" / "staging.json"
MOCK_BUCKET_ID = "archive-4f2a9c1"
PRIVILEGED = ("spec", "template", "spec", "containers", 0, "securityContext", "privileged")


def _as_mocks_record_it(resource: RecordedResource) -> RecordedResource:
    """Auto-named bucket (its name only in the outputs), settings pointing at the bucket id.

    The ConfigMap then names the bucket only by that output name, and the settings reach
    their bucket only through their dependencies: both must reach AnalyzeStack.
    """
    if resource.type == c.CONFIGMAP_T:
        return dataclasses.replace(resource, dependencies=())
    if resource.type == c.BUCKET_T:
        inputs = {k: v for k, v in resource.inputs.items() if k != "bucket"}
        # A compliant archive bucket is protected (archive-protected, in staging's config).
        return dataclasses.replace(
            resource, inputs=inputs, outputs={"bucket": c.BUCKET}, protect=True
        )
    if resource.inputs.get("bucket") == c.BUCKET and resource.type.startswith("aws:s3/"):
        return dataclasses.replace(resource, inputs={**resource.inputs, "bucket": MOCK_BUCKET_ID})
    return resource


def _violating() -> ResourceGraph:
    resources = []
    for resource in c.resources():
        if resource.type == c.PAB_T:
            continue
        inputs: dict[str, Any] = resource.inputs
        if resource.type == c.VERSIONING_T:
            inputs = changed(inputs, ("versioningConfiguration", "status"), "Suspended")
        if resource.type == c.DEPLOYMENT_T:
            inputs = changed(inputs, PRIVILEGED, True)
        protect = resource.type == c.BUCKET_T
        resources.append(dataclasses.replace(resource, inputs=inputs, protect=protect))
    return c.graph(resources)


# What the compliant fixture differs in from the staging stack: its prefix and log bucket.
FIXTURE = {
    "iam-agent-least-privilege": {"logPrefix": "audit/"},
    "s3-access-logging": {"requireDestinationInStack": False},
    "k8s-host-paths-allow-listed": c.CONFIG["k8s-host-paths-allow-listed"],
}


def _config(tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "policy.json"
    raw = json.loads(STAGING.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**raw, **FIXTURE, **overrides}), encoding="utf-8")
    return path


def test_compliant_stack_has_no_violations(tmp_path: Path) -> None:
    graph = c.graph([_as_mocks_record_it(r) for r in c.resources()])
    report = run_policy_pack(graph, _config(tmp_path))
    assert report.violations == ()
    assert not report.has_mandatory
    assert report.pack == "container-audit-log"
    assert report.version == "0.1.0"
    assert len(report.levels) >= 25
    assert set(report.levels.values()) == {"mandatory"}
    assert report.render().endswith(f"\n{len(report.levels)} policies, 0 violations: PASS\n")


def test_violations_carry_policy_level_from_config_and_resource(tmp_path: Path) -> None:
    config = _config(tmp_path, **{"s3-versioning-enabled": "advisory"})
    report = run_policy_pack(_violating(), config)
    found = [(v.level, v.policy, v.urn) for v in report.violations]
    assert found == [
        ("mandatory", "k8s-no-privileged", c.urn(c.DEPLOYMENT_T, "demo")),
        ("mandatory", "s3-bucket-companions", c.urn(c.BUCKET_T, "archive")),
        ("advisory", "s3-versioning-enabled", c.urn(c.VERSIONING_T, "archive-versioning")),
    ]
    assert report.has_mandatory
    assert report.violations[0].message == "container 'fluent-bit' runs privileged"
    assert report.violations[1].severity == "high"


def test_cli_prints_and_writes_the_report_and_fails_on_mandatory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph_path = tmp_path / "resources.json"
    graph_path.write_text(_violating().to_json(), encoding="utf-8")
    output = tmp_path / "build" / "policy.txt"
    code = main(
        ["--graph", str(graph_path), "--config", str(_config(tmp_path)), "--output", str(output)]
    )
    printed = capsys.readouterr().out
    assert code == 1
    assert printed == output.read_text(encoding="utf-8")
    assert printed.splitlines()[2].startswith(
        f"mandatory  k8s-no-privileged  {c.urn(c.DEPLOYMENT_T, 'demo')}  container 'fluent-bit'"
    )
    assert "policies, 3 violations (3 mandatory, 0 advisory, from 3 policies): FAIL" in printed


def test_pack_that_cannot_start_reports_its_error(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text('raise RuntimeError("pack is broken")\n')
    with pytest.raises(PolicyPackError, match="pack is broken"):
        run_policy_pack(c.graph([]), STAGING, pack_dir=tmp_path)


def _report(*violations: Violation) -> PolicyReport:
    return PolicyReport(
        stack="dev",
        pack="container-audit-log",
        version="0.1.0",
        levels={"a-policy": "advisory", "b-policy": "mandatory"},
        fixes={"a-policy": "A. Fix: do a.", "b-policy": "B. Fix: do b."},
        resources=2,
        violations=violations,
    )


def test_render_lists_violations_fixes_and_summary() -> None:
    text = _report(
        Violation("mandatory", "b-policy", "urn:pulumi:dev::p::t::res", "bad\nreally", "high"),
        Violation("advisory", "a-policy", "", "whole stack", "low"),
    ).render()
    assert text.splitlines() == [
        "Policy pack container-audit-log@0.1.0, stack dev: 2 policies over 2 resources",
        "",
        "mandatory  b-policy  urn:pulumi:dev::p::t::res  bad; really",
        "advisory   a-policy  (stack)  whole stack",
        "",
        "How to fix:",
        "  a-policy: A. Fix: do a.",
        "  b-policy: B. Fix: do b.",
        "",
        "2 policies, 2 violations (1 mandatory, 1 advisory, from 2 policies): "
        "FAIL (mandatory violations)",
    ]


def test_advisory_only_report_passes() -> None:
    report = _report(Violation("advisory", "a-policy", "", "whole stack", "low"))
    assert not report.has_mandatory
    assert report.render().endswith(
        "\n2 policies, 1 violation (0 mandatory, 1 advisory, from 1 policy): PASS\n"
    )
    assert report.violations[0].resource == "(stack)"


def test_disabled_policies_are_not_counted_as_run() -> None:
    report = PolicyReport(
        stack="dev",
        pack="p",
        version="1",
        levels={"a": "advisory", "b": "disabled", "c": "mandatory"},
        fixes={},
        resources=0,
        violations=(),
    )
    assert report.summary() == "2 policies, 0 violations: PASS"
