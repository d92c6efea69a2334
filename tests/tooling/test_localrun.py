"""tooling.localrun with the real agent: every stack's rendered config runs on loopback,
starts without a warning or an error, and stops cleanly when told to."""

from __future__ import annotations

import pytest

from tests.agent_harness import AgentRunner, stack_agent_config
from tests.conftest import STACKS
from tooling.localrun import parse_agent_log, wait_for_log

BAD = ("warn", "error")


def test_log_lines_are_read_with_their_level() -> None:
    text = (
        "[2026/11/30 00:10:00.123] [ warn] [output:s3:s3.0] retry_limit capped\n"
        '{"date":"2026-11-30T00:10:00Z","message":"a record on stdout"}\n'
        "[2026/11/30 00:10:01] [error] [input] bad\n"
    )
    assert [(line.level, line.text) for line in parse_agent_log(text)] == [
        ("warn", "[output:s3:s3.0] retry_limit capped"),
        ("error", "[input] bad"),
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_config_starts_and_stops_cleanly(stack: str, run_agent: AgentRunner) -> None:
    agent = run_agent.start(stack_agent_config(stack), bucket=run_agent.new_bucket())
    # The agent logs through a thread of its own: wait for the last line of its start.
    wait_for_log(agent, r"stream processor started", 30)
    at_start = agent.log_lines()
    problems = [f"[{line.level}] {line.text}" for line in at_start if line.level in BAD]
    assert problems == [], f"{stack}: the agent warned or failed at start:\n" + "\n".join(problems)
    assert agent.stop() == 0, agent.log_text()
    # Stopping only says how long it may take ("service will shutdown in max 30 seconds").
    errors = [line.text for line in agent.log_lines("error")]
    assert errors == [], agent.log_text()
