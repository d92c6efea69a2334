"""The Fluent Bit agent's stack-config section (AgentSettings) and its pipeline context.

What the agent runs as (image, ports, resources), how it buffers (storage) and filters
(grep), and where records go (routes, components.agent.routes). The config it runs is
rendered by components.agent.config, its parsers live in
components.agent.parsers.

Pure: no Pulumi imports.
"""

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from components.agent.monitoring import AgentMonitoring
from components.agent.parsers import RFC3164_PARSER, RFC5424_PARSER
from components.agent.routes import (
    SIZE_PATTERN,
    Route,
    RouteDefaults,
    S3Route,
    SecretRef,
    parse_size,
)
from components.common.model import CamelModel
from components.common.names import DNS_LABEL_PATTERN
from components.node_syslog.rsyslog import DEFAULT_HANDOFF_DIRECTORY

Environment = Literal["dev", "staging", "prod", "local"]
LogLevel = Literal["off", "error", "warn", "info", "debug", "trace"]

# Env vars the DaemonSet must set from the downward API; the config reads them as ${VAR}.
DOWNWARD_API_ENV: dict[str, str] = {"NODE_NAME": "spec.nodeName", "HOST_IP": "status.hostIP"}

# Readiness: /api/v1/health counts errors and failed retries of ALL outputs in hc_period.
HEALTH_PATH = "/api/v1/health"
# Liveness: /api/v1/uptime answers 200 from the HTTP server whatever the outputs do
# (src/http_server/api/v1/uptime.c), so one failing route cannot get the agent restarted
# and take the archive's buffer and retries down with it.
UPTIME_PATH = "/api/v1/uptime"
METRICS_PATH = "/api/v2/metrics/prometheus"
# Pod grace beyond Fluent Bit's own `grace`, so the kubelet never kills a flushing agent.
TERMINATION_GRACE_MARGIN_SECONDS = 15

_QUANTITY_CPU = r"^\d+(\.\d+)?m?$"
_QUANTITY_MEMORY = r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$"


class StorageSettings(CamelModel):
    """Node-local filesystem buffering (hostPath): a restarted pod resumes what it held."""

    host_path: str = Field(
        default="/var/fluent-bit",
        pattern=r"^/[A-Za-z0-9_./-]*[A-Za-z0-9_-]$",
        description="Node directory (hostPath, mounted at the same path) for every buffer.",
    )
    sync: Literal["normal", "full"] = Field(
        default="normal", description="'full' fsyncs every chunk write: safer, slower."
    )
    # Measured with 5.1.1 (tooling.faults, agent SIGKILL mid-stream): with the CRC on, the
    # chunk being written when the agent dies fails its check at the next start and
    # delete_irrecoverable_chunks deletes it (419 of 3,000 records lost); with it off the
    # chunk's data, already in the page cache, is read back (0 lost).
    checksum: bool = Field(
        default=False,
        description=(
            "CRC32 of chunks. On, a chunk being written when the agent is killed fails its "
            "check at restart and is deleted, with its records; off keeps them."
        ),
    )
    backlog_mem_limit: str = Field(default="50M", pattern=SIZE_PATTERN)
    max_chunks_up: int = Field(default=128, ge=1, le=4096)
    total_limit_size: str = Field(
        default="2G",
        pattern=SIZE_PATTERN,
        description=(
            "Disk bound of the queued chunks of EACH non-S3 route (storage.total_limit_size; "
            "Fluent Bit has no input-side total). S3 routes use storeDirLimitSize instead."
        ),
    )

    @property
    def path(self) -> str:
        return f"{self.host_path}/buffer"

    @property
    def s3_store_base(self) -> str:
        return f"{self.host_path}/s3"


class GrepRule(CamelModel):
    """One grep filter: include keeps only matching records, exclude drops matching ones."""

    action: Literal["include", "exclude"]
    key: str = Field(pattern=r"^\$?[A-Za-z0-9_.@\[\]'\"-]+$")
    regex: str = Field(min_length=1, pattern=r"^[^\n\r]+$")

    @model_validator(mode="after")
    def _no_env_expansion(self) -> "GrepRule":
        if "${" in self.regex:
            raise ValueError(
                f"grep regex {self.regex!r} contains '${{', which Fluent Bit would expand as "
                f"an environment variable"
            )
        return self


class Quantities(CamelModel):
    cpu: str | None = Field(default=None, pattern=_QUANTITY_CPU)
    memory: str | None = Field(default=None, pattern=_QUANTITY_MEMORY)


class Resources(CamelModel):
    requests: Quantities = Quantities(cpu="100m", memory="128Mi")
    limits: Quantities = Quantities(cpu="1", memory="512Mi")


class HealthCheck(CamelModel):
    """/api/v1/health turns unhealthy past these counts within `period` seconds."""

    errors_count: int = Field(default=5, ge=1)
    retry_failure_count: int = Field(default=5, ge=1)
    period: int = Field(default=60, ge=1)


class AgentSettings(CamelModel):
    """Stack config section `container-audit-log:agent`: the Fluent Bit DaemonSet."""

    namespace: str = Field(default="audit-logging", pattern=DNS_LABEL_PATTERN)
    service_account: str = Field(default="fluent-bit", pattern=DNS_LABEL_PATTERN)
    image: str = Field(
        default="fluent/fluent-bit:5.1.1",
        description="Pinned image tag (':latest' and untagged images are rejected).",
    )
    image_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    http_port: int = Field(
        default=2020,
        ge=1024,
        le=65535,
        description="Health and metrics port; on the node's IP (hostNetwork), so it must be free.",
    )
    cleaner_metrics_port: int = Field(
        default=2022,
        ge=1024,
        le=65535,
        description="The handoff cleaner's metrics port, on the node's IP like httpPort.",
    )
    tag: str = Field(default="audit.syslog", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    syslog_format: Literal["rfc5424", "rfc3164"] = Field(
        default="rfc5424", description="What node syslog sends; the project's rsyslog: rfc5424."
    )
    rfc3164_time_offset: str = Field(default="+0000", pattern=r"^[+-]\d{4}$")
    flush: int = Field(default=1, ge=1, le=60, description="Seconds between engine flushes.")
    log_level: LogLevel = "info"
    grace: int = Field(
        default=30, ge=1, le=600, description="Seconds a stopping agent flushes before exit."
    )
    storage: StorageSettings = StorageSettings()
    buffer_chunk_size: str = Field(default="64k", pattern=SIZE_PATTERN)
    buffer_max_size: str = Field(
        default="1M",
        pattern=SIZE_PATTERN,
        description="Longest syslog line accepted; keep rsyslog's maxMessageSize below it.",
    )
    grep: list[GrepRule] = Field(default_factory=list)
    kubernetes_metadata: bool = Field(
        default=False,
        description="Kubernetes filter enrichment; not possible for syslog records (see below).",
    )
    resources: Resources = Resources()
    max_unavailable: int | str = Field(default=1, description="DaemonSet rolling update.")
    metrics_service: bool = False
    service_monitor: bool = False
    priority_class_name: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*)$")
    tolerate_all_taints: bool = Field(default=True, description="Run on every node.")
    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"kubernetes.io/os": "linux"},
    )
    health_check: HealthCheck = HealthCheck()
    routes: list[Route] = Field(
        default_factory=lambda: list[Route]([S3Route(name="audit-archive")]),
        min_length=1,
        description="Where records go; default: one S3 route to the stack's audit bucket.",
    )

    @model_validator(mode="after")
    def _combinations(self) -> "AgentSettings":
        self._check_image()
        if parse_size(self.buffer_max_size) < parse_size(self.buffer_chunk_size):
            raise ValueError(
                f"bufferMaxSize {self.buffer_max_size} must be at least bufferChunkSize "
                f"{self.buffer_chunk_size}"
            )
        if self.service_monitor and not self.metrics_service:
            raise ValueError("serviceMonitor: true needs metricsService: true")
        if self.kubernetes_metadata:
            # The kubernetes filter finds the pod from the record's TAG (kube.var.log.
            # containers.<pod>_<ns>_<container>-<id>.log); syslog records all share one static
            # tag and carry no pod identity, so the filter would only add API load.
            raise ValueError(
                "kubernetesMetadata: true is not supported: the kubernetes filter looks pods up "
                f"by record tag, and syslog records all carry the static tag {self.tag!r}"
            )
        self._check_max_unavailable()
        self._check_routes()
        return self

    def _check_image(self) -> None:
        name, _, tag = self.image.rpartition(":")
        if not name or "/" in tag or not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
            raise ValueError(f"image {self.image!r} has no tag; pin one, e.g. :5.1.1")
        if tag == "latest":
            raise ValueError(f"image {self.image!r} uses ':latest'; pin a version tag")

    def _check_max_unavailable(self) -> None:
        value = self.max_unavailable
        if isinstance(value, int):
            if value < 1:
                raise ValueError(f"maxUnavailable {value} must be at least 1")
        elif not re.fullmatch(r"([1-9]|[1-9][0-9]|100)%", value):
            raise ValueError(f"maxUnavailable {value!r} must be an integer or a percent 1%-100%")

    def _check_routes(self) -> None:
        names = [route.name for route in self.routes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"route names must be unique; repeated: {', '.join(duplicates)}")
        for route in self.routes:
            if not tag_matches(route.match, self.tag):
                raise ValueError(
                    f"route {route.name!r}: match {route.match!r} selects no input tag "
                    f"(inputs: {self.tag!r})"
                )
        # Fluent Bit scans storage.path, and each S3 route scans its store_dir, as its own.
        owners: dict[str, str] = {"storage.path": self.storage.path}
        for route in self.s3_routes:
            store = route.resolved_store_dir(self.route_defaults)
            for owner, path in owners.items():
                if _nested(store, path):
                    raise ValueError(
                        f"route {route.name!r}: storeDir {store!r} overlaps {path!r} "
                        f"({owner}); each buffer needs its own directory"
                    )
            owners[f"storeDir of route {route.name!r}"] = store

    @property
    def route_defaults(self) -> RouteDefaults:
        return RouteDefaults(
            s3_store_base=self.storage.s3_store_base,
            total_limit_size=self.storage.total_limit_size,
        )

    @property
    def s3_routes(self) -> list[S3Route]:
        return [route for route in self.routes if isinstance(route, S3Route)]

    @property
    def parser_name(self) -> str:
        return RFC5424_PARSER if self.syslog_format == "rfc5424" else RFC3164_PARSER

    @property
    def image_ref(self) -> str:
        return f"{self.image}@{self.image_digest}" if self.image_digest else self.image

    @property
    def host_paths(self) -> list[str]:
        """Node directories the agent writes: storage.path and each S3 route's store_dir."""
        paths = [self.storage.path]
        paths += [route.resolved_store_dir(self.route_defaults) for route in self.s3_routes]
        return paths

    @property
    def termination_grace_period_seconds(self) -> int:
        return self.grace + TERMINATION_GRACE_MARGIN_SECONDS

    @property
    def max_line_bytes(self) -> int:
        """Longest line the tail input reads (rsyslog's maxMessageSize must stay below)."""
        return parse_size(self.buffer_max_size)

    def secret_env(self) -> dict[str, SecretRef]:
        """Env var -> Secret key, for every secret a route reads as ${VAR}."""
        env: dict[str, SecretRef] = {}
        for route in self.routes:
            env.update(route.secret_env())
        return env

    def with_default_bucket(self, bucket: str, region: str, log_prefix: str) -> "AgentSettings":
        """These settings with the stack's audit bucket, region and prefix where S3 routes
        have none."""
        routes = [
            route.resolved(bucket, region, log_prefix) if isinstance(route, S3Route) else route
            for route in self.routes
        ]
        return self.model_copy(update={"routes": routes})


def _nested(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def tag_matches(pattern: str, tag: str) -> bool:
    """Fluent Bit's `match`: '*' matches any run of characters (dots included)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, tag) is not None


@dataclass(frozen=True)
class PipelineContext:
    """What the renderer needs from the stack besides the agent section."""

    cluster_name: str
    environment: Environment
    # Heartbeat filter and rsyslog-stats pipeline (components.agent.monitoring).
    monitoring: AgentMonitoring | None = None
    # Where node syslog writes the handoff files the agent reads (NodeSyslogSettings).
    handoff_directory: str = DEFAULT_HANDOFF_DIRECTORY

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", self.cluster_name):
            raise ValueError(
                f"cluster name {self.cluster_name!r} must be letters, digits, '_', '.', '-'"
            )
        if self.environment not in ("dev", "staging", "prod", "local"):
            raise ValueError(
                f"environment {self.environment!r} must be one of dev, staging, prod, local"
            )
