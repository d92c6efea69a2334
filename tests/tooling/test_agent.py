"""tooling.agent: one lookup order for the real Fluent Bit, a version check, and the
`fluent_bit` fixture's skip (saying how to get it) or failure (REQUIRE_FLUENT_BIT=1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent_harness import require_fluent_bit
from tooling import agent
from tooling.agent import AgentNotFoundError, fluent_bit_binary, version_of


def _fake_binary(directory: Path, version: str) -> Path:
    """An executable named fluent-bit that reports `version` like the real one does."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fluent-bit"
    path.write_text(f'#!/bin/sh\necho "Fluent Bit v{version}"\necho "Git commit: "\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def no_agent_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("FLUENT_BIT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setattr(agent, "PINNED_INSTALL", tmp_path / "no-pinned" / "fluent-bit")
    return tmp_path


def test_env_wins_over_path(no_agent_anywhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _fake_binary(no_agent_anywhere / "path", "5.1.0")
    chosen = _fake_binary(no_agent_anywhere / "env", "5.1.1")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setenv("FLUENT_BIT", str(chosen))
    assert fluent_bit_binary() == str(chosen)
    monkeypatch.delenv("FLUENT_BIT")
    assert fluent_bit_binary() == str(on_path)


def test_the_pinned_install_is_the_last_resort(
    no_agent_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = _fake_binary(no_agent_anywhere / "pinned", "5.1.1")
    monkeypatch.setattr(agent, "PINNED_INSTALL", pinned)
    assert fluent_bit_binary() == str(pinned)


def test_another_series_is_refused(
    no_agent_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _fake_binary(no_agent_anywhere / "old", "4.0.3")
    monkeypatch.setenv("FLUENT_BIT", str(old))
    with pytest.raises(AgentNotFoundError, match=r"reports v4\.0\.3, not v5\.1\.x"):
        fluent_bit_binary()


def test_not_found_says_what_was_tried_and_how_to_get_it(no_agent_anywhere: Path) -> None:
    with pytest.raises(AgentNotFoundError) as caught:
        fluent_bit_binary()
    message = str(caught.value)
    assert "no fluent-bit binary" in message
    for hint in ("on PATH", "FLUENT_BIT=/path/to/fluent-bit", "../shared/fluent-bit/build.sh"):
        assert hint in message


def test_the_fixture_skips_without_the_agent(
    no_agent_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUIRE_FLUENT_BIT", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"build\.sh"):
        require_fluent_bit()


def test_the_fixture_fails_without_the_agent_where_it_is_required(
    no_agent_anywhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUIRE_FLUENT_BIT", "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_FLUENT_BIT=1 but no fluent-bit"):
        require_fluent_bit()


def test_the_real_agent_reports_the_pinned_version(fluent_bit: str) -> None:
    assert version_of(fluent_bit) == agent.PINNED_VERSION
