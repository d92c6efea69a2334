"""The stdout route: the records on the agent's own output, for development."""

from typing import ClassVar, Literal

from components.agent.routes.base import (
    DATE_FORMAT,
    DATE_KEY,
    RECORD_FORMAT,
    Properties,
    RouteBase,
    RouteDefaults,
)


class StdoutRoute(RouteBase):
    """Records as JSON lines on the agent's stdout (development only)."""

    plugin: ClassVar[str] = "stdout"

    type: Literal["stdout"] = "stdout"

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        return {"format": RECORD_FORMAT, "json_date_key": DATE_KEY, "json_date_format": DATE_FORMAT}

    def check_environment(self, environment: str) -> list[str]:
        if environment == "prod":
            return [
                f"route {self.name!r}: a stdout route copies audit records into the agent's "
                f"container log, which is not allowed in prod"
            ]
        return []
