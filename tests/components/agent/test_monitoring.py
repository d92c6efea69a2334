"""Where the monitoring additions sit in the rendered agent config."""

from __future__ import annotations

from components.agent.config import render_fluent_bit_config
from components.agent.monitoring import heartbeat_tag
from components.agent.settings import PipelineContext
from components.config import load_stack_config
from tests.conftest import stack_config_with


def _rendered(grep: bool) -> dict[str, object]:
    rules = [{"action": "exclude", "key": "message", "regex": "^debug"}] if grep else []
    raw = stack_config_with("dev", "container-audit-log:agent", {"grep": rules})
    cfg = load_stack_config(raw, "dev")
    context = PipelineContext("c", "dev", monitoring=cfg.monitoring.agent())
    agent = cfg.agent.with_default_bucket("audit-bucket", cfg.region, cfg.log_prefix)
    return render_fluent_bit_config(agent, context)


def test_heartbeats_are_tagged_after_enrichment_and_before_grep() -> None:
    filters = _rendered(grep=True)["pipeline"]["filters"]  # type: ignore[index]
    names = [f["alias"] for f in filters]
    beat = names.index("heartbeat-tag")
    assert names.index("pipeline-context") < beat < names.index("grep-1")
    lua = [i for i, f in enumerate(filters) if f["name"] == "lua"]
    assert all(i < beat for i in lua), "heartbeats must get the parsed fields too"


def test_heartbeats_land_beside_the_input_tag_so_audit_routes_match() -> None:
    assert heartbeat_tag("audit.syslog") == "audit.heartbeat"
    filters = _rendered(grep=False)["pipeline"]["filters"]  # type: ignore[index]
    beat = next(f for f in filters if f["alias"] == "heartbeat-tag")
    assert beat["rule"] == r"$message ^container-audit-log\sheartbeat$ audit.heartbeat false"
    assert beat["emitter_name"] == "heartbeat"
