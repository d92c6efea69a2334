"""Agent settings and their rendered config, shared by the Fluent Bit renderer tests."""

from typing import Any

from components.agent.config import render_fluent_bit_config
from components.agent.settings import AgentSettings, PipelineContext

S3 = {"type": "s3", "name": "archive", "bucket": "audit-archive-1", "region": "eu-west-1"}
DEV = PipelineContext(cluster_name="demo-cluster", environment="dev")


def settings(**overrides: Any) -> AgentSettings:
    data: dict[str, Any] = {"routes": [S3]}
    data.update(overrides)
    return AgentSettings.model_validate(data)


def render(agent: AgentSettings, context: PipelineContext = DEV) -> dict[str, Any]:
    return render_fluent_bit_config(agent, context)
