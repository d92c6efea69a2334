"""The DaemonSet's probe paths against the real agent: a path the agent does not serve would
fail the probe and get the pod killed or never ready."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import yaml

from tests.agent_harness import AGENT_CONFIG_FILE, AgentRunner
from tests.conftest import stack_graph
from tooling.artifacts import daemon_configs
from tooling.loopback import LOOPBACK


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("stack", ["dev"])
def test_liveness_and_readiness_paths_answer_on_the_real_agent(
    stack: str, run_agent: AgentRunner
) -> None:
    graph = stack_graph(stack)
    daemon_sets = [
        r for r in graph.by_type("kubernetes:apps/v1:DaemonSet") if "fluent-bit" in r.urn
    ]
    containers = daemon_sets[0].inputs["spec"]["template"]["spec"]["containers"]
    [container] = [c for c in containers if c["name"] == "fluent-bit"]
    [text] = [t for name, t in daemon_configs(graph) if name == AGENT_CONFIG_FILE]
    agent = run_agent.start(yaml.safe_load(text), bucket=run_agent.new_bucket())
    base = f"http://{LOOPBACK}:{agent.http_port}"
    liveness = container["livenessProbe"]["httpGet"]["path"]
    readiness = container["readinessProbe"]["httpGet"]["path"]
    assert liveness != readiness  # alive must not depend on the outputs' health
    assert _status(base + liveness) == 200
    assert _status(base + readiness) == 200
    assert _status(base + "/api/v1/no-such-endpoint") == 404  # a wrong path would be caught
