"""The Fluent Bit agent: its stack-config section and the renderer of its 5.1 YAML config.

Pipeline: syslog input (TCP on 127.0.0.1, rsyslog forwards RFC 5424 lines) -> parse ->
record_modifier (cluster, node, environment) -> grep rules -> filesystem buffer -> one
output per route (components.render.fluent_bit_routes).

Pure: no Pulumi imports. `render_fluent_bit_config` builds the config as data; `to_yaml`
serializes it deterministically; `parse_with` runs the agent's own parser regexes in
Python, for the verify tool and end-to-end tests.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator

from components.render.fluent_bit_routes import (
    SIZE_PATTERN,
    Properties,
    RenderError,
    Route,
    RouteDefaults,
    S3Route,
    SecretRef,
    on_off,
    parse_size,
)
from components.render.model import CamelModel

Environment = Literal["dev", "staging", "prod", "local"]
LogLevel = Literal["off", "error", "warn", "info", "debug", "trace"]

RFC5424_PARSER = "syslog-rfc5424"
RFC3164_PARSER = "syslog-rfc3164"

# Env vars the DaemonSet must set from the downward API; the config reads them as ${VAR}.
DOWNWARD_API_ENV: dict[str, str] = {"NODE_NAME": "spec.nodeName", "HOST_IP": "status.hostIP"}

HEALTH_PATH = "/api/v1/health"
METRICS_PATH = "/api/v2/metrics/prometheus"
# Pod grace beyond Fluent Bit's own `grace`, so the kubelet never kills a flushing agent.
TERMINATION_GRACE_MARGIN_SECONDS = 15

_QUANTITY_CPU = r"^\d+(\.\d+)?m?$"
_QUANTITY_MEMORY = r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


@dataclass(frozen=True)
class ParserSpec:
    """One regex parser of the config; the same regex also runs in Python (parse_with)."""

    name: str
    regex: str
    time_key: str
    time_format: str
    time_keep: bool
    time_offset: str | None = None

    def as_config(self) -> dict[str, str]:
        entry = {
            "name": self.name,
            "format": "regex",
            "regex": self.regex,
            "time_key": self.time_key,
            "time_format": self.time_format,
            "time_keep": on_off(self.time_keep),
        }
        if self.time_offset is not None:
            entry["time_offset"] = self.time_offset
        return entry


# RFC 5424 as rsyslog's RSYSLOG_SyslogProtocol23Format writes it. The timestamp is captured
# twice: `time` feeds the record time, `timestamp` (a lookahead) keeps the sender's text.
# Fluent Bit's %L needs a fraction; rsyslog prints none when the source had none
# ("...T12:00:00Z"), and then Fluent Bit drops `time` and stamps the ingest time, so
# `timestamp` is what keeps the original. A malformed STRUCTURED-DATA falls into `message`
# rather than failing the line: the syslog input DROPS lines its parser does not match.
_RFC5424_REGEX = (
    r"^<(?<pri>[0-9]{1,3})>(?<version>[0-9]{1,2}) "
    r"(?=(?<timestamp>[^ ]+))(?<time>[^ ]+) "
    r"(?<host>[^ ]+) (?<ident>[^ ]+) (?<pid>[^ ]+) (?<msgid>[^ ]+) "
    r'(?:(?<extradata>-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: |$))?'
    r"(?<message>.*)$"
)
# RFC 3164 has neither year nor zone: Fluent Bit adds the current year (UTC) and we state
# the zone with time_offset (settings.rfc3164TimeOffset, UTC by default as on EKS nodes).
_RFC3164_REGEX = (
    r"^<(?<pri>[0-9]{1,3})>"
    r"(?<timestamp>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) "
    r"(?<host>[^ ]+) (?:(?<ident>[^ :\[]+)(?:\[(?<pid>[0-9]+)\])?: )?(?<message>.*)$"
)


def parser_specs(rfc3164_time_offset: str = "+0000") -> dict[str, ParserSpec]:
    """Every parser the renderer can name, by name."""
    return {
        RFC5424_PARSER: ParserSpec(
            name=RFC5424_PARSER,
            regex=_RFC5424_REGEX,
            time_key="time",
            time_format="%Y-%m-%dT%H:%M:%S.%L%z",
            time_keep=False,
        ),
        RFC3164_PARSER: ParserSpec(
            name=RFC3164_PARSER,
            regex=_RFC3164_REGEX,
            time_key="timestamp",
            time_format="%b %d %H:%M:%S",
            time_keep=True,
            time_offset=rfc3164_time_offset,
        ),
    }


def onigmo_to_python(regex: str) -> str:
    """Onigmo (Ruby syntax) named groups `(?<name>` as Python's `(?P<name>`."""
    return re.sub(r"\(\?<(?![=!])", "(?P<", regex)


def parse_with(parser_name: str, line: str) -> dict[str, str] | None:
    """The record Fluent Bit's regex parser makes of `line`, or None when the line is dropped.

    Like Fluent Bit: empty captures are skipped (skip_empty_values) and the time key is
    removed unless the parser keeps it. The record time itself: `parse_time`.
    """
    spec = parser_specs()[parser_name]
    match = re.search(onigmo_to_python(spec.regex), line)
    if match is None:
        return None
    return {
        key: value
        for key, value in match.groupdict().items()
        if value and (spec.time_keep or key != spec.time_key)
    }


def parse_time(
    parser_name: str, value: str, now: datetime | None = None, rfc3164_time_offset: str = "+0000"
) -> datetime | None:
    """The record time Fluent Bit derives from a time string, or None (ingest time is used)."""
    spec = parser_specs(rfc3164_time_offset)[parser_name]
    if parser_name == RFC5424_PARSER:
        match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)\.(\d{1,9})(Z|[+-]\d\d:?\d\d)", value)
        if match is None:
            return None
        head, fraction, zone = match.groups()
        text = f"{head}.{fraction[:6].ljust(6, '0')}{'+0000' if zone == 'Z' else zone}"
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    year = (now or datetime.now(UTC)).astimezone(UTC).year
    try:
        naive = datetime.strptime(f"{year} {' '.join(value.split())}", "%Y %b %d %H:%M:%S")
    except ValueError:
        return None
    offset = spec.time_offset or "+0000"
    minutes = int(offset[1:3]) * 60 + int(offset[-2:])
    delta = timedelta(minutes=minutes if offset[0] == "+" else -minutes)
    return (naive - delta).replace(tzinfo=UTC)


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
    checksum: bool = Field(default=True, description="CRC32 of chunks, detects corruption.")
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

    namespace: str = Field(default="audit-logging", pattern=_DNS_LABEL)
    service_account: str = Field(default="fluent-bit", pattern=_DNS_LABEL)
    image: str = Field(
        default="fluent/fluent-bit:5.1.1",
        description="Pinned image tag (':latest' and untagged images are rejected).",
    )
    image_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    listen_port: int = Field(default=5140, ge=1024, le=65535, description="Syslog TCP port.")
    http_port: int = Field(
        default=2020,
        ge=1024,
        le=65535,
        description="Health and metrics port; on the node's IP (hostNetwork), so it must be free.",
    )
    tag: str = Field(default="audit.syslog", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    syslog_format: Literal["rfc5424", "rfc3164"] = Field(
        default="rfc5424", description="What node syslog sends; the project's rsyslog: rfc5424."
    )
    rfc3164_time_offset: str = Field(default="+0000", pattern=r"^[+-]\d{4}$")
    tcp_framing: Literal["newline", "octet_counting"] = Field(
        default="newline",
        description="TCP framing rsyslog uses (NodeSyslogSettings.fluent_bit_syslog_format).",
    )
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
        if self.listen_port == self.http_port:
            raise ValueError(
                f"listenPort and httpPort are both {self.listen_port}; they must differ"
            )
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
        """Longest line the syslog input accepts (rsyslog's maxMessageSize must stay below)."""
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

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", self.cluster_name):
            raise ValueError(
                f"cluster name {self.cluster_name!r} must be letters, digits, '_', '.', '-'"
            )
        if self.environment not in ("dev", "staging", "prod", "local"):
            raise ValueError(
                f"environment {self.environment!r} must be one of dev, staging, prod, local"
            )


def _service(settings: AgentSettings) -> dict[str, str]:
    storage = settings.storage
    health = settings.health_check
    return {
        "flush": str(settings.flush),
        "grace": str(settings.grace),
        "daemon": "off",
        "log_level": settings.log_level,
        "http_server": "on",
        # hostNetwork pod: 0.0.0.0 would publish health and metrics on every node interface.
        # The node's primary IP (downward API status.hostIP) is the pod IP the kubelet probes
        # and Prometheus scrapes; 127.0.0.1 would need a probe `host`, which baseline Pod
        # Security forbids.
        "http_listen": "${HOST_IP}",
        "http_port": str(settings.http_port),
        "health_check": "on",
        "hc_errors_count": str(health.errors_count),
        "hc_retry_failure_count": str(health.retry_failure_count),
        "hc_period": str(health.period),
        "hot_reload": "off",
        "storage.path": storage.path,
        "storage.sync": storage.sync,
        "storage.checksum": on_off(storage.checksum),
        "storage.metrics": "on",
        "storage.backlog.mem_limit": storage.backlog_mem_limit,
        "storage.backlog.flush_on_shutdown": "on",
        "storage.max_chunks_up": str(storage.max_chunks_up),
        "storage.delete_irrecoverable_chunks": "on",
    }


def _input(settings: AgentSettings) -> Properties:
    # No mem_buf_limit: the syslog input cannot pause, so a tight limit would drop records;
    # filesystem storage moves chunks to disk past storage.max_chunks_up instead.
    return {
        "name": "syslog",
        "alias": "node-syslog",
        "tag": settings.tag,
        "mode": "tcp",
        "format": settings.tcp_framing,
        "listen": "127.0.0.1",
        "port": str(settings.listen_port),
        "parser": settings.parser_name,
        "buffer_chunk_size": settings.buffer_chunk_size,
        "buffer_max_size": settings.buffer_max_size,
        "storage.type": "filesystem",
    }


def _filters(settings: AgentSettings, context: PipelineContext) -> list[Properties]:
    filters: list[Properties] = [
        {
            "name": "record_modifier",
            "alias": "pipeline-context",
            "match": settings.tag,
            "record": [
                f"cluster {context.cluster_name}",
                f"environment {context.environment}",
                "node ${NODE_NAME}",
            ],
        }
    ]
    # One grep filter per rule: every include must match, any exclude drops the record.
    for index, rule in enumerate(settings.grep, start=1):
        filters.append(
            {
                "name": "grep",
                "alias": f"grep-{index}",
                "match": settings.tag,
                "regex" if rule.action == "include" else "exclude": f"{rule.key} {rule.regex}",
            }
        )
    return filters


def render_fluent_bit_config(settings: AgentSettings, context: PipelineContext) -> dict[str, Any]:
    """The whole Fluent Bit 5.1 YAML config as data. Raises RenderError when unrenderable."""
    problems = [
        p for route in settings.routes for p in route.check_environment(context.environment)
    ]
    if problems:
        raise RenderError("; ".join(problems))
    spec = parser_specs(settings.rfc3164_time_offset)[settings.parser_name]
    config: dict[str, Any] = {
        "service": _service(settings),
        "parsers": [spec.as_config()],
        "pipeline": {
            "inputs": [_input(settings)],
            "filters": _filters(settings, context),
            "outputs": [route.output(settings.route_defaults) for route in settings.routes],
        },
    }
    missing = undefined_parsers(config)
    if missing:
        raise RenderError(f"parsers used but not defined: {', '.join(missing)}")
    return config


_PARSER_REFERENCE_KEYS = ("parser", "regex_parser", "merge_parser")


def undefined_parsers(config: dict[str, Any]) -> list[str]:
    """Parsers named by an input or filter but not defined in the config's `parsers`.

    None is loaded implicitly and `fluent-bit --dry-run` does not notice a missing one.
    """
    defined = {str(entry.get("name")) for entry in config.get("parsers", [])}
    pipeline = config.get("pipeline", {})
    missing: set[str] = set()
    for section in ("inputs", "filters"):
        for plugin in pipeline.get(section, []):
            for key, value in plugin.items():
                if key.lower() not in _PARSER_REFERENCE_KEYS:
                    continue
                names = value if isinstance(value, list) else [value]
                missing.update(
                    f"{name} ({section[:-1]} {plugin.get('name')}, key {key})"
                    for name in map(str, names)
                    if name not in defined
                )
    return sorted(missing)


_KEY_RANK = {"name": 0, "service": 1, "parsers": 2, "pipeline": 3, "inputs": 4, "filters": 5}


class _ConfigDumper(yaml.SafeDumper):
    """Keys in a fixed order (name first, then sections, then alphabetical); no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    items = sorted(data.items(), key=lambda item: (_KEY_RANK.get(item[0], 9), item[0]))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


_ConfigDumper.add_representer(dict, _represent_dict)


def to_yaml(config: dict[str, Any]) -> str:
    """Deterministic YAML of a rendered config (same data, same text)."""
    return yaml.dump(
        config,
        Dumper=_ConfigDumper,
        default_flow_style=False,
        allow_unicode=True,
        width=100_000,
    )


def config_checksum(text: str) -> str:
    """sha256 hex of the config text, for the pod template's checksum annotation."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
