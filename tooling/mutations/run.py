"""Running the breaks through the real policy pack, one analyzer per stack.

A mutation is caught by a policy when the pack reports a violation of it on the mutated
graph that it did not report on the stack as it is: the baseline is subtracted, so a stack
that already has a (for example advisory) violation does not hide or fake a catch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.engine import REPO_ROOT, referenced_archive, run_stack
from tooling.graph import ResourceGraph
from tooling.mutations.catalog import Mutation
from tooling.mutations.graph_edit import EditError, GraphEdit
from tooling.policy_runner import PolicyReport, pack_session

POLICY_CONFIG_DIR = REPO_ROOT / "policy" / "config"
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    caught: frozenset[str]
    levels: Mapping[str, str]  # policy -> its enforcement level in this stack

    @property
    def as_named(self) -> bool:
        """Caught by exactly the policies the mutation names."""
        return self.caught == self.mutation.expected

    @property
    def blocks(self) -> bool:
        """Whether `pulumi up` would stop (a mandatory policy caught it)."""
        return any(self.levels.get(policy) == "mandatory" for policy in self.caught)


def _keys(report: PolicyReport) -> Counter[Key]:
    return Counter((v.policy, v.urn, v.message) for v in report.violations)


def run_mutations(
    mutations: Iterable[Mutation],
    graph_of: Callable[[str], ResourceGraph] = run_stack,
    config_dir: Path = POLICY_CONFIG_DIR,
) -> list[Outcome]:
    """Each mutation applied to a copy of its stack's graph and analyzed by the pack."""
    by_stack: dict[str, list[Mutation]] = {}
    for mutation in mutations:
        by_stack.setdefault(mutation.stack, []).append(mutation)
    outcomes: list[Outcome] = []
    for stack, stack_mutations in by_stack.items():
        pending = list(stack_mutations)
        # A cluster stack's deployment includes its archive stack: a break of the archive
        # (its bucket, key, policies) is made there, under that stack's policy config.
        for target in _deployment(stack):
            graph = graph_of(target)
            missed: list[Mutation] = []
            with pack_session(graph, config_dir / f"{target}.json") as session:
                baseline = session.analyze(graph)
                before = _keys(baseline)
                for mutation in pending:
                    edit = GraphEdit(graph)
                    try:
                        mutation.edit(edit)
                    except EditError:
                        missed.append(mutation)
                        continue
                    new = _keys(session.analyze(edit.result())) - before
                    outcomes.append(
                        Outcome(
                            mutation=mutation,
                            caught=frozenset(policy for policy, _, _ in new),
                            levels=baseline.levels,
                        )
                    )
            pending = missed
            if not pending:
                break
        for mutation in pending:
            mutation.edit(GraphEdit(graph_of(stack)))  # raises the EditError that says why
    return outcomes


def _deployment(stack: str) -> list[str]:
    """The stack, then the archive stack it references (if any)."""
    archive = referenced_archive(stack)
    return [stack, archive] if archive else [stack]
