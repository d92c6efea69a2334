"""Shared fixtures: run programs under the offline engine and look at what they registered."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.agent_harness import AgentRunner, require_fluent_bit
from tooling.engine import (
    load_stack_file,
    referenced_archive,
    run_program,
    run_stack,
    stack_names,
)
from tooling.graph import RecordedResource, ResourceGraph
from tooling.localrun import start_moto, supervised
from tooling.relp import INSTALL_HINT, imrelp_module

ALL_STACKS = stack_names()
# Archive stacks hold the bucket only; STACKS are the ones with a cluster and an agent.
ARCHIVE_STACKS = [
    s for s in ALL_STACKS if load_stack_file(s)[0].get("container-audit-log:stackKind") == "archive"
]
STACKS = [s for s in ALL_STACKS if s not in ARCHIVE_STACKS]


@cache
def stack_graph(stack: str) -> ResourceGraph:
    """The graph of a repo stack, computed once per test session."""
    archive = referenced_archive(stack)
    references = {archive: stack_graph(archive).stack_outputs} if archive else None
    return run_stack(stack, references=references)


def archive_graph(stack: str) -> ResourceGraph:
    """The graph holding a stack's archive: its archive stack's, or its own (combined)."""
    archive = referenced_archive(stack)
    return stack_graph(archive or stack)


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_component(build: Callable[[], Any], region: str = "eu-west-1") -> ResourceGraph:
    """Run a small program (usually one component) under the offline engine."""
    return run_program("test", {"aws:region": region}, program=lambda: _discard(build()))


def _discard(_: Any) -> None:
    return None


def stack_config_with(stack: str, key: str, value: Any) -> dict[str, str]:
    """A repo stack's config with one key replaced (structured values as JSON)."""
    raw, _ = load_stack_file(stack)
    raw[key] = value if isinstance(value, str) else json.dumps(value)
    return raw


def policy_document(resource: RecordedResource, field: str = "policy") -> dict[str, Any]:
    document = json.loads(resource.inputs[field])
    assert isinstance(document, dict)
    return document


# --- the real agent (tests/agent_harness.py) -----------------------------------------------

# (outcome, test id) of every test that needed the real agent, for the closing summary: a
# reader of CI's output sees by name which agent tests ran, not only that dots went by.
_AGENT_TESTS: list[tuple[str, str]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    needs_agent = "fluent_bit" in getattr(item, "fixturenames", ())
    if needs_agent and (call.when == "call" or (call.when == "setup" and not report.passed)):
        _AGENT_TESTS.append((report.outcome.upper(), item.nodeid))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _AGENT_TESTS:
        return
    passed = sum(outcome == "PASSED" for outcome, _ in _AGENT_TESTS)
    terminalreporter.section("tests with the real Fluent Bit")
    for outcome, nodeid in _AGENT_TESTS:
        terminalreporter.write_line(f"{outcome} {nodeid}")
    terminalreporter.write_line(f"{passed} of {len(_AGENT_TESTS)} agent tests passed")


@pytest.fixture(scope="session")
def fluent_bit() -> str:
    """The real Fluent Bit 5.1.x; skips saying how to get it (fails under REQUIRE_FLUENT_BIT=1)."""
    return require_fluent_bit()


@pytest.fixture(scope="session")
def rsyslog_relp() -> Path:
    """rsyslog's imrelp module; skips saying how to get it (fails under
    REQUIRE_RSYSLOG_RELP=1, as in CI)."""
    module = imrelp_module()
    if module is None:
        message = f"rsyslog's imrelp module is not installed: {INSTALL_HINT}"
        if os.environ.get("REQUIRE_RSYSLOG_RELP") == "1":
            pytest.fail(f"REQUIRE_RSYSLOG_RELP=1 but {message}")
        pytest.skip(message)
    return module


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One moto S3 server on 127.0.0.1 for the session, stopped by pid at the end."""
    with supervised(tmp_path_factory.mktemp("moto")) as supervisor:
        yield start_moto(supervisor)


@pytest.fixture
def run_agent(fluent_bit: str, moto_endpoint: str, tmp_path: Path) -> Iterator[AgentRunner]:
    """Starts real agents on rendered configs; every one is stopped (by pid) at teardown."""
    with supervised(tmp_path / "agents") as supervisor:
        yield AgentRunner(fluent_bit, moto_endpoint, tmp_path / "agents", supervisor)
