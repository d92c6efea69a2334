"""What every route shares: the RouteBase model, units, secrets and the TLS/auth mixins.

Pure: no Pulumi imports. Every property key emitted by a route exists for its plugin in the
Fluent Bit 5.1.1 schema (`fluent-bit -J`); tests check that against the real schema.
"""

import re
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from pydantic import Field

from components.common.model import CamelModel

Properties = dict[str, str | list[str]]

ROUTE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"
TAG_PATTERN_PATTERN = r"^[A-Za-z0-9_.*-]+$"
HOST_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$"
AWS_REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
SIZE_PATTERN = r"^\d+(\.\d+)?([KkMmGg][Bb]?)?$"
TIME_PATTERN = r"^\d+[smhdSMHD]?$"

# Fluent Bit's flb_utils_size_to_bytes is DECIMAL: 1K = 1000, 1M = 1000000.
_SIZE_UNITS = {"": 1, "K": 1000, "M": 1000**2, "G": 1000**3}
_TIME_UNITS = {"": 1, "S": 1, "M": 60, "H": 3600, "D": 86400}

# What the S3 and stdout routes write per record (set explicitly, not left to defaults).
RECORD_FORMAT = "json_lines"
DATE_KEY = "date"
DATE_FORMAT = "iso8601"

ENV_VAR_PREFIX = "FLB_"


class RenderError(ValueError):
    """A setting that validates alone but cannot be rendered (e.g. an unresolved bucket)."""


def parse_size(value: str) -> int:
    """Bytes of a Fluent Bit size ("64k", "30M", "1G", "5242880"), decimal units like Fluent Bit."""
    match = re.fullmatch(SIZE_PATTERN, value)
    if match is None:
        raise ValueError(f"size {value!r} is not a Fluent Bit size such as 512k, 30M or 1G")
    number = float(value[: match.start(2)] if match.group(2) else value)
    unit = (match.group(2) or "")[:1].upper()
    return int(number * _SIZE_UNITS[unit])


def parse_duration(value: str) -> int:
    """Seconds of a Fluent Bit time ("10m", "30s", "1h", "60")."""
    if re.fullmatch(TIME_PATTERN, value) is None:
        raise ValueError(f"time {value!r} is not a Fluent Bit time such as 30s, 10m or 1h")
    unit = value[-1].upper() if value[-1].isalpha() else ""
    digits = value[:-1] if unit else value
    return int(digits) * _TIME_UNITS[unit]


def on_off(flag: bool) -> str:
    return "on" if flag else "off"


def secret_env_name(route_name: str, purpose: str) -> str:
    """Environment variable through which the agent reads one secret of one route."""
    return f"{ENV_VAR_PREFIX}{route_name.upper().replace('-', '_')}_{purpose}"


class SecretRef(CamelModel):
    """A key of a Kubernetes Secret in the agent's namespace; never the secret value itself."""

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    key: str = Field(pattern=r"^[-._A-Za-z0-9]{1,253}$")


@dataclass(frozen=True)
class RouteDefaults:
    """Agent-wide values a route needs to render: where node-local buffers live."""

    s3_store_base: str  # hostPath directory under which each S3 route gets <base>/<route name>
    total_limit_size: str  # storage.total_limit_size for routes using the engine's queue


class RouteBase(CamelModel):
    """Keys every route has. Subclasses set `plugin` and add their own keys."""

    plugin: ClassVar[str]
    # The S3 plugin keeps its own buffer (store_dir_limit_size); it warns on total_limit_size.
    uses_engine_storage_limit: ClassVar[bool] = True

    name: str = Field(
        pattern=ROUTE_NAME_PATTERN,
        description="Unique route name: the output's alias (metrics label) and part of paths.",
    )
    match: str = Field(
        default="audit.*",
        pattern=TAG_PATTERN_PATTERN,
        description="Fluent Bit tag pattern ('*' wildcard) selecting the records of this route.",
    )
    retry_limit: int | Literal["no_limits"] = Field(
        default=10,
        description="Retries of a failed chunk before it is dropped; 'no_limits' never drops.",
    )

    def output(self, defaults: RouteDefaults) -> Properties:
        """The `outputs:` entry: plugin name and properties."""
        props: Properties = {
            "name": self.plugin,
            "alias": self.name,
            "match": self.match,
            "retry_limit": str(self.retry_limit),
        }
        if self.uses_engine_storage_limit:
            props["storage.total_limit_size"] = defaults.total_limit_size
        props.update(self.plugin_properties(defaults))
        return props

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        raise NotImplementedError

    def secret_env(self) -> dict[str, SecretRef]:
        """Env var name -> Secret key the DaemonSet must map for this route."""
        return {}

    def check_environment(self, environment: str) -> list[str]:
        """Problems of this route in the given environment (dev/staging/prod/local)."""
        return []


def tls_properties(tls: bool) -> Properties:
    if not tls:
        return {"tls": "off"}
    # verify_hostname defaults to off in 5.1: a valid cert for ANY host would be accepted.
    return {"tls": "on", "tls.verify": "on", "tls.verify_hostname": "on"}


class _TlsFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tls(self) -> bool: ...


class TlsChecked:
    """check_environment of a route with a `tls` switch, which staging and prod need on.

    Only methods, like HttpBasicAuth: each route declares `tls` itself.
    """

    def check_environment(self: _TlsFields, environment: str) -> list[str]:
        if not self.tls and environment in ("staging", "prod"):
            return [f"route {self.name!r}: tls is false, which is not allowed in {environment}"]
        return []


class _BasicAuthFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def http_user(self) -> str | None: ...
    @property
    def http_password_secret(self) -> SecretRef | None: ...


class HttpBasicAuth:
    """HTTP basic auth for a route whose plugin takes http_user and http_passwd.

    Only methods: each route declares `http_user` and `http_password_secret` itself, so its
    keys keep their place in the model (and in the generated config reference). The
    password never enters the config: the agent reads it from a Secret through an env var.
    """

    def _check_basic_auth(self: _BasicAuthFields) -> None:
        if (self.http_user is None) != (self.http_password_secret is None):
            raise ValueError(f"route {self.name!r}: httpUser and httpPasswordSecret go together")

    def _basic_auth_properties(self: _BasicAuthFields) -> Properties:
        if self.http_user is None:
            return {}
        return {
            "http_user": self.http_user,
            "http_passwd": "${" + secret_env_name(self.name, "HTTP_PASSWORD") + "}",
        }

    def secret_env(self: _BasicAuthFields) -> dict[str, SecretRef]:
        if self.http_password_secret is None:
            return {}
        return {secret_env_name(self.name, "HTTP_PASSWORD"): self.http_password_secret}
