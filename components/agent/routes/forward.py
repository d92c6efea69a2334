"""The forward route: the records to another Fluent Bit or Fluentd, acknowledged."""

from typing import ClassVar, Literal

from pydantic import Field

from components.agent.routes.base import (
    HOST_PATTERN,
    Properties,
    RouteBase,
    RouteDefaults,
    SecretRef,
    TlsChecked,
    secret_env_name,
    tls_properties,
)


class ForwardRoute(TlsChecked, RouteBase):
    """Forward protocol to another Fluent Bit / Fluentd aggregator, with acks."""

    plugin: ClassVar[str] = "forward"

    type: Literal["forward"] = "forward"
    host: str = Field(pattern=HOST_PATTERN)
    port: int = Field(default=24224, ge=1, le=65535)
    tls: bool = True
    shared_key_secret: SecretRef | None = Field(
        default=None,
        description="Secret key holding the forward shared_key (read through an env var).",
    )

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        props: Properties = {
            "host": self.host,
            "port": str(self.port),
            # At-least-once: a chunk counts as delivered only once the aggregator acks it.
            "require_ack_response": "on",
        }
        props.update(tls_properties(self.tls))
        if self.shared_key_secret is not None:
            props["shared_key"] = "${" + secret_env_name(self.name, "SHARED_KEY") + "}"
            props["self_hostname"] = "${NODE_NAME}"
        return props

    def secret_env(self) -> dict[str, SecretRef]:
        if self.shared_key_secret is None:
            return {}
        return {secret_env_name(self.name, "SHARED_KEY"): self.shared_key_secret}
