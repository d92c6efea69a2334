"""What the REAL agent writes to S3 for some syslog lines, through the harness (moto).

Built on tests/agent_harness.py: the rendered config runs as is (remapped to loopback), the
lines go into its handoff files, and the records come back from the objects it uploaded.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.agent_harness import AgentRunner
from tooling.localrun import RunningAgent, supervised
from tooling.loopback import wait_until


def received(agent: RunningAgent) -> int:
    """Records the agent's inputs took in (0 while its HTTP server does not answer)."""
    try:
        inputs = agent.metrics().get("input", {})
    except (urllib.error.URLError, OSError, ValueError):
        return 0
    return sum(int(plugin.get("records", 0)) for plugin in inputs.values())


def records_for_lines(
    binary: str,
    endpoint: str,
    root: Path,
    config: Mapping[str, Any],
    lines: Sequence[str],
    node: str = "agent-node",
) -> list[dict[str, Any]]:
    """The records the agent uploads for `lines`, in the order they were sent."""
    with supervised(root) as supervisor:
        runner = AgentRunner(binary, endpoint, root, supervisor)
        bucket = runner.new_bucket()
        agent = runner.start(config, bucket=bucket, env={"NODE_NAME": node})
        agent.hand_off(lines)
        wait_until(lambda: received(agent) >= len(lines), 60, f"{len(lines)} records in")
        agent.stop()  # SIGTERM: the agent uploads what it holds
        objects = runner.objects(bucket)
    records = [record for key in sorted(objects) for record in objects[key]]
    return sorted(records, key=lambda record: str(record.get("timestamp", "")))
