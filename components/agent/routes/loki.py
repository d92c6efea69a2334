"""The Grafana Loki route: a copy of the records as labelled streams."""

import re
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from components.agent.routes.base import (
    HOST_PATTERN,
    HttpBasicAuth,
    Properties,
    RouteBase,
    RouteDefaults,
    SecretRef,
    TlsChecked,
    tls_properties,
)


class LokiRoute(HttpBasicAuth, TlsChecked, RouteBase):
    """Grafana Loki copy; stream labels from static labels and record keys."""

    plugin: ClassVar[str] = "loki"

    type: Literal["loki"] = "loki"
    host: str = Field(pattern=HOST_PATTERN)
    port: int = Field(default=3100, ge=1, le=65535)
    tls: bool = True
    labels: dict[str, str] = Field(default_factory=lambda: {"job": "container-audit-log"})
    label_keys: list[str] = Field(
        default_factory=lambda: ["cluster", "environment"],
        description="Record keys that become stream labels (keep cardinality low).",
    )
    tenant_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    http_user: str | None = None
    http_password_secret: SecretRef | None = None

    @model_validator(mode="after")
    def _labels_are_plain(self) -> "LokiRoute":
        where = f"route {self.name!r}"
        for key, value in {**self.labels, **dict.fromkeys(self.label_keys, "x")}.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or not re.fullmatch(
                r"[A-Za-z0-9_./-]+", value
            ):
                raise ValueError(f"{where}: label {key!r}={value!r} is not a plain Loki label")
        self._check_basic_auth()
        return self

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        props: Properties = {
            "host": self.host,
            "port": str(self.port),
            "line_format": "json",
            "labels": ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items())),
        }
        if self.label_keys:
            props["label_keys"] = ", ".join(f"${key}" for key in self.label_keys)
        props.update(tls_properties(self.tls))
        if self.tenant_id is not None:
            props["tenant_id"] = self.tenant_id
        props.update(self._basic_auth_properties())
        return props
