"""The config reference in docs/ is the one the models generate."""

from __future__ import annotations

from tooling.config_reference import reference
from tooling.engine import REPO_ROOT


def test_docs_config_reference_is_up_to_date() -> None:
    committed = (REPO_ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert committed == reference(), (
        "run: python -m tooling.config_reference > docs/config-reference.md"
    )


def test_reference_names_every_section_and_nested_key() -> None:
    text = reference()
    for fragment in (
        "`container-audit-log:bucket`",
        "`container-audit-log:bucket.objectLock`",
        "`retentionDays`",
        "**required**",
    ):
        assert fragment in text
