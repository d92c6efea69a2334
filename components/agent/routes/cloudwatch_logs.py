"""The CloudWatch Logs route: a copy of the records in a log group."""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from components.agent.routes.base import (
    AWS_REGION_PATTERN,
    Properties,
    RouteBase,
    RouteDefaults,
    on_off,
)


class CloudWatchLogsRoute(RouteBase):
    """CloudWatch Logs copy; one log stream per node and tag."""

    plugin: ClassVar[str] = "cloudwatch_logs"

    type: Literal["cloudwatch_logs"] = "cloudwatch_logs"
    region: str = Field(pattern=AWS_REGION_PATTERN)
    log_group_name: str = Field(pattern=r"^[A-Za-z0-9_./#-]{1,512}$")
    log_stream_prefix: str = Field(
        default="audit-",
        pattern=r"^[A-Za-z0-9_./#-]{1,64}$",
        description="Streams are named <prefix><node name>.<tag>.",
    )
    auto_create_group: bool = Field(
        default=False,
        description="Let the agent create the group (needs logs:CreateLogGroup; off by default).",
    )
    log_retention_days: int | None = Field(default=None, ge=1, le=3653)

    @model_validator(mode="after")
    def _retention_needs_auto_create(self) -> "CloudWatchLogsRoute":
        if self.log_retention_days is not None and not self.auto_create_group:
            raise ValueError(
                f"route {self.name!r}: logRetentionDays={self.log_retention_days} only applies "
                f"to groups the agent creates (autoCreateGroup: true)"
            )
        return self

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        props: Properties = {
            "region": self.region,
            "log_group_name": self.log_group_name,
            "log_stream_prefix": self.log_stream_prefix + "${NODE_NAME}.",
            "auto_create_group": on_off(self.auto_create_group),
        }
        if self.log_retention_days is not None:
            props["log_retention_days"] = str(self.log_retention_days)
        return props
