"""Shared fixtures: run programs under the offline engine and look at what they registered."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from tooling.engine import load_stack_file, run_program, run_stack, stack_names
from tooling.graph import RecordedResource, ResourceGraph

STACKS = stack_names()


@cache
def stack_graph(stack: str) -> ResourceGraph:
    """The graph of a repo stack, computed once per test session."""
    return run_stack(stack)


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
