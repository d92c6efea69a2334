"""The layout rule: a domain's pure modules never import Pulumi.

Every module under components/ is pure except the ones listed in PULUMI_MODULES (the
ComponentResources and the stack config reader). A pure module may not import `pulumi` or a
provider SDK (`pulumi_aws`, ...), nor one of the Pulumi modules, which would bring Pulumi in
with it. The list is kept honest: each module on it must exist and import Pulumi itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "components"

PULUMI_MODULES = frozenset(
    {
        "components.config",
        "components.common.kms",
        "components.agent.component",
        "components.archive.access_logs",
        "components.archive.bucket",
        "components.archive.query",
        "components.archive.reference",
        "components.archive.replica",
        "components.cluster.component",
        "components.demo.component",
        "components.identity.component",
        "components.monitoring.component",
        "components.node_syslog.component",
        "components.node_syslog.gate_component",
    }
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, relative imports resolved."""
    package = module.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            # `from components.x import y` may import the module components.x.y
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _brings_pulumi(module: str) -> bool:
    top = module.split(".")[0]
    return top == "pulumi" or top.startswith("pulumi_") or module in PULUMI_MODULES


MODULES = {_module_name(p): p for p in sorted(COMPONENTS.rglob("*.py"))}
PURE = sorted(name for name in MODULES if name not in PULUMI_MODULES)


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_pulumi(module: str) -> None:
    path = MODULES[module]
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for line, imported in _imports(path, module)
        if _brings_pulumi(imported)
    ]
    assert not offending, f"pure module {module} imports Pulumi: " + "; ".join(offending)


@pytest.mark.parametrize("module", sorted(PULUMI_MODULES))
def test_listed_pulumi_module_exists_and_imports_pulumi(module: str) -> None:
    assert module in MODULES, f"{module} is listed as a Pulumi module but does not exist"
    imported = {name.split(".")[0] for _, name in _imports(MODULES[module], module)}
    assert "pulumi" in imported, f"{module} imports no pulumi: take it off PULUMI_MODULES"


def test_the_rule_catches_a_pulumi_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import json\nfrom pulumi_aws import s3\nfrom ..archive import bucket\n")
    assert [m for _, m in _imports(bad, "components.agent.bad") if _brings_pulumi(m)] == [
        "pulumi_aws",
        "pulumi_aws.s3",
        "components.archive.bucket",
    ]
