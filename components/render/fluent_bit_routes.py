"""Typed Fluent Bit output routes: one pydantic class per route type.

A route is one `outputs:` entry of the Fluent Bit pipeline. Adding a route type is ONE new
class below, added to the `Route` union at the bottom. Each class knows its plugin name and
returns the plugin's properties (`output`), the Kubernetes secrets it reads through
environment variables (`secret_env`), and for S3 where its buffer lives and what it writes.

Pure: no Pulumi imports. Every property key emitted here exists for its plugin in the
Fluent Bit 5.1.1 schema (`fluent-bit -J`); tests check that against the real schema.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal, Protocol

from pydantic import Field, model_validator

from components.render.model import CamelModel

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

# S3 limits enforced by Fluent Bit's s3 plugin at start-up (plugins/out_s3/s3.c).
S3_MIN_PART_BYTES = 5_242_880  # multipart parts other than the last must be >= 5 MiB
S3_MIN_COMPRESSED_CHUNK_BYTES = 30_000_000  # gzip shrinks ~10x: keep parts above 5 MiB
S3_MAX_CHUNK_BYTES = 50_000_000  # uncompressed multipart chunk limit
S3_MAX_PUT_OBJECT_BYTES = 50_000_000
S3_MAX_FILE_BYTES = 50_000_000_000
S3_MIN_FILE_BYTES = 1_000_000

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


def _tls_properties(tls: bool) -> Properties:
    if not tls:
        return {"tls": "off"}
    # verify_hostname defaults to off in 5.1: a valid cert for ANY host would be accepted.
    return {"tls": "on", "tls.verify": "on", "tls.verify_hostname": "on"}


class _TlsFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tls(self) -> bool: ...


class _TlsChecked:
    """check_environment of a route with a `tls` switch, which staging and prod need on.

    Only methods, like _HttpBasicAuth: each route declares `tls` itself.
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


class _HttpBasicAuth:
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


@dataclass(frozen=True)
class S3ObjectLayout:
    """Where and how an S3 route writes, for the tools that read the archive back (verify).

    Keys: `<key_prefix><tag>/YYYY/MM/DD/HH/MMSS-<uuid><suffix>`, the time being the UTC time
    of the first record in the object. Bodies: one JSON object per line; the record time is
    under `date_key` as ISO 8601 UTC; gzip when `compression` is "gzip" (a gzip body may hold
    several gzip members, and Fluent Bit uploads plain text if compressing fails, so readers
    should sniff the 1f8b magic bytes).
    """

    bucket: str | None
    key_prefix: str
    key_format: str
    key_regex: str
    suffix: str
    record_format: str
    date_key: str
    date_format: str
    compression: str | None

    def hour_prefix(self, tag: str, when: datetime) -> str:
        """Key prefix of every object whose first record falls in the hour of `when` (UTC)."""
        utc = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
        return f"{self.key_prefix}{tag}/{utc:%Y/%m/%d/%H}/"

    def parse_key(self, key: str) -> dict[str, str] | None:
        """tag, year, month, day, hour, minute, second and uuid of an object key, or None."""
        match = re.fullmatch(self.key_regex, key)
        return match.groupdict() if match else None


DEFAULT_KEY_PREFIX = "container-audit"


class S3Route(RouteBase):
    """The audit archive: gzip JSON lines in S3, buffered on the node's disk (store_dir)."""

    plugin: ClassVar[str] = "s3"
    uses_engine_storage_limit: ClassVar[bool] = False

    type: Literal["s3"] = "s3"
    retry_limit: int | Literal["no_limits"] = Field(
        default="no_limits",
        description="The archive must not drop records: retry until the upload succeeds.",
    )
    bucket: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Bucket name; unset means the stack's audit bucket (filled in by __main__).",
    )
    region: str | None = Field(
        default=None,
        pattern=AWS_REGION_PATTERN,
        description="Bucket region; unset means the stack's region (filled in with the bucket).",
    )
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$",
        description="S3-compatible endpoint (path-style), e.g. an emulator for the local stack.",
    )
    key_prefix: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$",
        description=(
            "First part of every object key (no leading or trailing slash). Unset: the "
            "stack's logPrefix on the audit bucket (the only prefix its IAM role may write), "
            f"{DEFAULT_KEY_PREFIX!r} on a bucket of the route's own."
        ),
    )
    compression: Literal["gzip", "none"] = "gzip"
    upload_chunk_size: str = Field(
        default="50M",
        pattern=SIZE_PATTERN,
        description="Uncompressed bytes per multipart part; >= 30M with gzip (parts >= 5 MiB).",
    )
    total_file_size: str = Field(
        default="100M",
        pattern=SIZE_PATTERN,
        description="Object size that completes an upload; at least twice upload_chunk_size.",
    )
    upload_timeout: str = Field(
        default="10m",
        pattern=TIME_PATTERN,
        description="Longest time data waits on the node before it is uploaded (latency bound).",
    )
    store_dir: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$",
        description="Node hostPath directory of this route's buffer; default <storage>/s3/<name>.",
    )
    store_dir_limit_size: str = Field(
        default="1G",
        pattern=SIZE_PATTERN,
        description="Disk bound of the route's node buffer.",
    )
    use_put_object: bool = Field(
        default=False,
        description="PutObject instead of multipart; objects are then at most 50M.",
    )
    send_content_md5: bool = Field(
        default=True,
        description="Content-MD5 on uploads; S3 requires it when the bucket has Object Lock.",
    )
    storage_class: (
        Literal["STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "ONEZONE_IA"] | None
    ) = None

    @model_validator(mode="after")
    def _sizes_fit_the_plugin(self) -> "S3Route":
        chunk = parse_size(self.upload_chunk_size)
        total = parse_size(self.total_file_size)
        limit = parse_size(self.store_dir_limit_size)
        where = f"route {self.name!r}"
        if total < S3_MIN_FILE_BYTES or total > S3_MAX_FILE_BYTES:
            raise ValueError(
                f"{where}: totalFileSize {self.total_file_size} ({total} bytes) must be between "
                f"{S3_MIN_FILE_BYTES} and {S3_MAX_FILE_BYTES} bytes"
            )
        if self.use_put_object:
            if total > S3_MAX_PUT_OBJECT_BYTES:
                raise ValueError(
                    f"{where}: totalFileSize {self.total_file_size} ({total} bytes) must be at "
                    f"most {S3_MAX_PUT_OBJECT_BYTES} bytes with usePutObject: true"
                )
        elif self.compression == "gzip" and chunk < S3_MIN_COMPRESSED_CHUNK_BYTES:
            raise ValueError(
                f"{where}: uploadChunkSize {self.upload_chunk_size} ({chunk} bytes) must be at "
                f"least 30M ({S3_MIN_COMPRESSED_CHUNK_BYTES} bytes) with compression gzip, so "
                f"compressed parts stay above the 5 MiB multipart minimum"
            )
        elif not S3_MIN_PART_BYTES <= chunk <= S3_MAX_CHUNK_BYTES:
            raise ValueError(
                f"{where}: uploadChunkSize {self.upload_chunk_size} ({chunk} bytes) must be "
                f"between {S3_MIN_PART_BYTES} and {S3_MAX_CHUNK_BYTES} bytes without compression"
            )
        if total < 2 * chunk:
            raise ValueError(
                f"{where}: totalFileSize {self.total_file_size} ({total} bytes) must be at least "
                f"twice uploadChunkSize {self.upload_chunk_size} ({2 * chunk} bytes)"
            )
        if limit < chunk:
            raise ValueError(
                f"{where}: storeDirLimitSize {self.store_dir_limit_size} ({limit} bytes) must be "
                f"at least uploadChunkSize {self.upload_chunk_size} ({chunk} bytes)"
            )
        if parse_duration(self.upload_timeout) < 60:
            raise ValueError(
                f"{where}: uploadTimeout {self.upload_timeout} must be at least 1m "
                f"(each upload is one request per node)"
            )
        return self

    def resolved(self, bucket: str, region: str, log_prefix: str) -> "S3Route":
        """This route with the stack's bucket, region and log prefix where it has none."""
        data = self.model_dump()
        if self.bucket is None and self.key_prefix is None:
            data["key_prefix"] = log_prefix.strip("/")
        data["bucket"] = self.bucket or bucket
        data["region"] = self.region or region
        return S3Route.model_validate(data)

    @property
    def prefix(self) -> str:
        return self.key_prefix or DEFAULT_KEY_PREFIX

    def resolved_store_dir(self, defaults: RouteDefaults) -> str:
        return self.store_dir or f"{defaults.s3_store_base}/{self.name}"

    @property
    def suffix(self) -> str:
        return ".jsonl.gz" if self.compression == "gzip" else ".jsonl"

    @property
    def s3_key_format(self) -> str:
        # Fluent Bit 5.1 substitutes $TAG, $TAG[n], $INDEX and $UUID (8 random alphanumerics),
        # then strftime() in UTC with the time of the object's first record.
        return f"/{self.prefix}/$TAG/%Y/%m/%d/%H/%M%S-$UUID{self.suffix}"

    @property
    def layout(self) -> S3ObjectLayout:
        key_regex = (
            re.escape(f"{self.prefix}/")
            + r"(?P<tag>[^/]+)/(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<hour>\d{2})/"
            + r"(?P<minute>\d{2})(?P<second>\d{2})-(?P<uuid>[A-Za-z0-9]+)"
            + re.escape(self.suffix)
        )
        return S3ObjectLayout(
            bucket=self.bucket,
            key_prefix=f"{self.prefix}/",
            key_format=self.s3_key_format,
            key_regex=key_regex,
            suffix=self.suffix,
            record_format=RECORD_FORMAT,
            date_key=DATE_KEY,
            date_format=DATE_FORMAT,
            compression=None if self.compression == "none" else self.compression,
        )

    def plugin_properties(self, defaults: RouteDefaults) -> Properties:
        if self.bucket is None or self.region is None:
            raise RenderError(
                f"route {self.name!r}: bucket={self.bucket!r} region={self.region!r}; an S3 route "
                f"needs both: set them in the route or resolve the stack's audit bucket first "
                f"(AgentSettings.with_default_bucket)"
            )
        # No role_arn, ever: with IRSA the pod already holds the role's web-identity
        # credentials, and role_arn would make the role AssumeRole itself, which fails.
        props: Properties = {
            "bucket": self.bucket,
            "region": self.region,
            "s3_key_format": self.s3_key_format,
            "total_file_size": self.total_file_size,
            "upload_chunk_size": self.upload_chunk_size,
            "upload_timeout": self.upload_timeout,
            "store_dir": self.resolved_store_dir(defaults),
            "store_dir_limit_size": self.store_dir_limit_size,
            "use_put_object": on_off(self.use_put_object),
            "send_content_md5": on_off(self.send_content_md5),
            "format": RECORD_FORMAT,
            "json_date_key": DATE_KEY,
            "json_date_format": DATE_FORMAT,
        }
        if self.compression == "gzip":
            props["compression"] = "gzip"
        if self.endpoint is not None:
            props["endpoint"] = self.endpoint
        if self.storage_class is not None:
            props["storage_class"] = self.storage_class
        return props

    def check_environment(self, environment: str) -> list[str]:
        if environment in ("staging", "prod") and (self.endpoint or "").startswith("http://"):
            return [
                f"route {self.name!r}: endpoint {self.endpoint!r} is plain http, which is not "
                f"allowed in {environment}"
            ]
        return []


class OpenSearchRoute(_HttpBasicAuth, _TlsChecked, RouteBase):
    """Search index copy of the records (Amazon OpenSearch Service or self-managed)."""

    plugin: ClassVar[str] = "opensearch"

    type: Literal["opensearch"] = "opensearch"
    host: str = Field(pattern=HOST_PATTERN)
    port: int = Field(default=443, ge=1, le=65535)
    index: str = Field(default="container-audit", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    tls: bool = True
    aws_auth: bool = Field(default=False, description="SigV4 with the pod's IRSA credentials.")
    aws_region: str | None = Field(default=None, pattern=AWS_REGION_PATTERN)
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
        props.update(_tls_properties(self.tls))
        if self.aws_auth and self.aws_region is not None:
            props["aws_auth"] = "on"
            props["aws_region"] = self.aws_region
        props.update(self._basic_auth_properties())
        return props


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


class LokiRoute(_HttpBasicAuth, _TlsChecked, RouteBase):
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
        props.update(_tls_properties(self.tls))
        if self.tenant_id is not None:
            props["tenant_id"] = self.tenant_id
        props.update(self._basic_auth_properties())
        return props


class ForwardRoute(_TlsChecked, RouteBase):
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
        props.update(_tls_properties(self.tls))
        if self.shared_key_secret is not None:
            props["shared_key"] = "${" + secret_env_name(self.name, "SHARED_KEY") + "}"
            props["self_hostname"] = "${NODE_NAME}"
        return props

    def secret_env(self) -> dict[str, SecretRef]:
        if self.shared_key_secret is None:
            return {}
        return {secret_env_name(self.name, "SHARED_KEY"): self.shared_key_secret}


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


Route = Annotated[
    S3Route | OpenSearchRoute | CloudWatchLogsRoute | LokiRoute | ForwardRoute | StdoutRoute,
    Field(discriminator="type"),
]
