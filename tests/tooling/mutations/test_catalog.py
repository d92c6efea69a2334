"""Every promise broken in a copy of a stack's graph, through the real pack: each break is
caught by exactly the policies it names, and every policy catches at least one."""

from __future__ import annotations

from functools import cache

import pytest

from policy.policies import all_policies
from tests.conftest import stack_graph
from tooling.engine import REPO_ROOT
from tooling.mutations.__main__ import promise_table
from tooling.mutations.catalog import MUTATIONS, Mutation
from tooling.mutations.promises import PROMISES
from tooling.mutations.run import Outcome, run_mutations
from tooling.policy_runner import _LEVEL_ORDER

PROMISE_IDS = {p.id for p in PROMISES}


@cache
def outcomes() -> dict[str, Outcome]:
    return {o.mutation.id: o for o in run_mutations(MUTATIONS, graph_of=stack_graph)}


def test_mutation_ids_are_unique() -> None:
    assert len({m.id for m in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: f"{m.stack}-{m.id}")
def test_mutation_is_caught_by_exactly_the_policies_it_names(mutation: Mutation) -> None:
    outcome = outcomes()[mutation.id]
    assert outcome.caught == mutation.expected, mutation.description


@pytest.mark.parametrize(
    "mutation", [m for m in MUTATIONS if m.stack != "dev"], ids=lambda m: f"{m.stack}-{m.id}"
)
def test_outside_dev_every_break_stops_the_deploy(mutation: Mutation) -> None:
    assert outcomes()[mutation.id].blocks


def test_every_promise_is_broken_at_least_once_and_names_its_own_policies() -> None:
    assert {m.promise for m in MUTATIONS} == PROMISE_IDS
    by_id = {p.id: p for p in PROMISES}
    for mutation in MUTATIONS:
        assert mutation.expected & set(by_id[mutation.promise].policies), mutation.id


def test_every_policy_keeps_a_promise_and_catches_a_break() -> None:
    names = {p.name for p in all_policies()}
    assert {name for p in PROMISES for name in p.policies} == names
    assert {name for m in MUTATIONS for name in m.expected} == names


def test_levels_known() -> None:
    assert set(next(iter(outcomes().values())).levels.values()) <= set(_LEVEL_ORDER)


def test_policy_readme_carries_the_current_promise_table() -> None:
    readme = (REPO_ROOT / "policy" / "README.md").read_text(encoding="utf-8")
    assert promise_table() in readme, "regenerate: python -m tooling.mutations --promises"
