"""The OpenSearch route: a search index copy of the records."""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from components.agent.routes.base import (
    AWS_REGION_PATTERN,
    HOST_PATTERN,
    HttpBasicAuth,
    Properties,
    RouteBase,
    RouteDefaults,
    SecretRef,
    TlsChecked,
    on_off,
    tls_properties,
)


class OpenSearchRoute(HttpBasicAuth, TlsChecked, RouteBase):
    """Search index copy of the records (Amazon OpenSearch Service or self-managed)."""

    plugin: ClassVar[str] = "opensearch"

    type: Literal["opensearch"] = "opensearch"
    host: str = Field(pattern=HOST_PATTERN)
    port: int = Field(default=443, ge=1, le=65535)
    index: str = Field(default="container-audit", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    tls: bool = True
    aws_auth: bool = Field(default=False, description="SigV4 with the pod's IRSA credentials.")
    aws_region: str | None = Field(default=None, pattern=AWS_REGION_PATTERN)
    domain_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:es:[a-z0-9-]+:\d{12}:domain/[a-z][a-z0-9-]{2,27}$",
        description=(
            "awsAuth: the domain's ARN; the agent's role may POST /_bulk there and nowhere else."
        ),
    )
    http_user: str | None = None
    http_password_secret: SecretRef | None = None
    suppress_type_name: bool = True

    @model_validator(mode="after")
    def _auth_is_consistent(self) -> "OpenSearchRoute":
        where = f"route {self.name!r}"
        if self.aws_auth and self.aws_region is None:
            raise ValueError(f"{where}: awsAuth is true but awsRegion is not set")
        if self.aws_auth and not self.tls:
            raise ValueError(f"{where}: awsAuth needs tls: true (SigV4 endpoints are https)")
        if self.aws_auth and self.domain_arn is None:
            raise ValueError(
                f"{where}: awsAuth is true but domainArn is not set; the agent's role is "
                f"granted es:ESHttpPost on that domain only "
                f"(arn:aws:es:<region>:<account>:domain/<name>)"
            )
        if self.domain_arn is not None and self.domain_arn.split(":")[3] != self.aws_region:
            raise ValueError(
                f"{where}: domainArn {self.domain_arn!r} is not in awsRegion {self.aws_region!r}"
            )
        if self.aws_auth and self.http_user is not None:
            raise ValueError(f"{where}: set either awsAuth or httpUser, not both")
        self._check_basic_auth()
        return self

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        props: Properties = {
            "host": self.host,
            "port": str(self.port),
            "index": self.index,
            "suppress_type_name": on_off(self.suppress_type_name),
            # An _id per record makes a retried bulk request idempotent (no duplicates).
            "generate_id": "on",
        }
        props.update(tls_properties(self.tls))
        if self.aws_auth and self.aws_region is not None:
            props["aws_auth"] = "on"
            props["aws_region"] = self.aws_region
        props.update(self._basic_auth_properties())
        return props
