"""StackConfig: the one typed, validated view of a stack's configuration.

Only this module and `__main__.py` read Pulumi config. Values arrive as the engine passes
them: `namespace:key` -> string, structured values as JSON text. Every invalid value
becomes one line naming the stack file, the key, the value and what is accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import pulumi
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from components.agent.routes import CloudWatchLogsRoute, OpenSearchRoute, Route, S3Route
from components.agent.settings import AgentSettings, Environment
from components.archive.query_settings import QuerySettings
from components.archive.settings import (
    ArchiveSettings,
    BucketSettings,
    StackKind,
    default_cluster_prefix,
    valid_stack_reference,
)
from components.cluster.settings import ClusterSettings
from components.common.model import CamelModel
from components.common.names import PROJECT
from components.common.partition import Partition, partition_of
from components.demo.render import DemoSettings
from components.monitoring.settings import MonitoringSettings
from components.node_syslog.numbering import PREFIX_MAX_BYTES as NUMBERING_PREFIX_MAX_BYTES
from components.node_syslog.rsyslog import NodeSyslogSettings

# Stacks whose nodes must not land in the default VPC's public subnets.
PRIVATE_NETWORK_ENVIRONMENTS = ("staging", "prod")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")


class ConfigError(pulumi.RunError):
    """Bad stack configuration. A RunError, so the Pulumi CLI prints it without a traceback."""


class StackConfig(CamelModel):
    """Everything a combined or cluster stack can set under `container-audit-log:`."""

    environment: Environment = Field(
        description="Unset: the stack's name; set it where the name is not one "
        "(archive-prod, prod-eu2)."
    )
    region: str
    stack_kind: Literal["combined", "cluster"] = Field(
        default="combined",
        description="combined: archive and cluster in one stack; cluster: writes to the "
        "archive stack named by archiveStack; archive: see the archive stack's keys.",
    )
    archive_stack: str | None = Field(
        default=None,
        description="cluster: the archive stack's reference name (<org>/<project>/<stack>).",
    )
    archive_region: str | None = Field(
        default=None, description="cluster: the archive's region; unset: this stack's region."
    )
    cluster: ClusterSettings
    bucket: BucketSettings = BucketSettings()
    log_prefix: str = Field(
        default="audit/",
        description="Key prefix of the archive: the only prefix the agent's role may write "
        "(a cluster stack: unset = audit/<stack>/, what its archive assigns by default).",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Added to AWS resources.")
    kubeconfig: str | None = Field(
        default=None,
        repr=False,
        description="Secret: `pulumi config set --secret kubeconfig < file` (mode existing).",
    )
    agent: AgentSettings = AgentSettings()
    node_syslog: NodeSyslogSettings = NodeSyslogSettings()
    demo: DemoSettings = DemoSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    query: QuerySettings = QuerySettings()

    @model_validator(mode="after")
    def _sections_agree(self) -> StackConfig:
        kind_problem = self._kind_problem()
        if kind_problem:
            raise ValueError(kind_problem)
        cluster = self.cluster
        if (
            self.environment in PRIVATE_NETWORK_ENVIRONMENTS
            and cluster.mode == "eks"
            and not cluster.subnet_ids
        ):
            raise ValueError(
                f"cluster.subnetIds is empty: {self.environment} nodes must run in private "
                "subnets of your VPC (set cluster.vpcId and cluster.subnetIds); unset, they "
                "land in the default VPC's public subnets"
            )
        syslog, agent = self.node_syslog, self.agent
        if syslog.mode == "userdata" and self.cluster.mode != "eks":
            raise ValueError(
                "nodeSyslog.mode 'userdata' installs rsyslog on nodes this project creates "
                "(cluster.mode 'eks'); an existing cluster needs mode 'daemonset'"
            )
        if syslog.mode == "userdata" and not syslog.tcp:
            raise ValueError(
                "nodeSyslog.tcp is false with mode 'userdata': nodes stay tainted until "
                f"rsyslog answers on TCP {syslog.listen_port}; keep tcp: true"
            )
        ports = {
            "agent.httpPort": agent.http_port,
            "agent.cleanerMetricsPort": agent.cleaner_metrics_port,
            "monitoring.rsyslogStatsPort": self.monitoring.rsyslog_stats_port,
            "monitoring.exporterPort": self.monitoring.exporter_port,
        }
        taken: dict[int, str] = {}
        for key, port in ports.items():
            if port in taken:
                raise ValueError(
                    f"{key} {port} is already {taken[port]}: the agent's ports must all differ"
                )
            taken[port] = key
        if syslog.max_message_size + NUMBERING_PREFIX_MAX_BYTES >= agent.max_line_bytes:
            raise ValueError(
                f"nodeSyslog.maxMessageSize ({syslog.max_message_size}) plus the record "
                f"numbers ({NUMBERING_PREFIX_MAX_BYTES} bytes) must be below the agent's "
                f"bufferMaxSize ({agent.max_line_bytes} bytes), or the agent drops the "
                "longest lines rsyslog forwards"
            )
        problems = self._arn_problems() + self._route_problems()
        if problems:
            raise ValueError(problems[0])
        return self

    def _kind_problem(self) -> str | None:
        if self.stack_kind == "combined":
            if self.archive_stack is not None or self.archive_region is not None:
                return (
                    "archiveStack/archiveRegion only apply to stackKind 'cluster'; a combined "
                    "stack creates its own archive"
                )
            return None
        if self.archive_stack is None:
            return (
                "stackKind 'cluster' needs archiveStack: the archive stack it writes to "
                "(e.g. archive-prod, or <org>/container-audit-log/archive-prod)"
            )
        if self.bucket != BucketSettings():
            return (
                "bucket is set in a cluster stack: the archive's bucket settings belong in "
                "its archive stack"
            )
        if self.query != QuerySettings():
            return "query is set in a cluster stack: the query layer belongs in the archive stack"
        if not self.archive_on_aws:
            return (
                "stackKind 'cluster' writes to an archive stack on AWS; an S3-compatible "
                "archive needs stackKind 'combined' (see the local stack)"
            )
        if self.archive_region is not None and partition_of(self.archive_region) != (
            self.aws_partition
        ):
            return (
                f"archiveRegion {self.archive_region!r} is in another partition than aws:region "
                f"{self.region}; a role cannot write across partitions"
            )
        return None

    @property
    def archive_aws_region(self) -> str:
        """Where the archive is: its own region for a cluster stack, else this stack's."""
        return self.archive_region or self.region

    @field_validator("archive_stack")
    @classmethod
    def _valid_archive_stack(cls, value: str | None) -> str | None:
        return None if value is None else valid_stack_reference(value)

    def _arn_problems(self) -> list[str]:
        """ARNs from another partition than the region's: IAM would reject or never match them."""
        own = self.aws_partition.name
        cluster = self.cluster
        named = [
            ("bucket.adminRoleArn", self.bucket.admin_role_arn),
            ("cluster.oidcProviderArn", cluster.oidc_provider_arn),
            ("cluster.access.creatorPrincipalArn", cluster.access.creator_principal_arn),
            *(
                ("cluster.access.deployPrincipalArns", a)
                for a in cluster.access.deploy_principal_arns
            ),
            *(
                ("cluster.access.adminPrincipalArns", a)
                for a in cluster.access.admin_principal_arns
            ),
        ]
        return [
            f"{key} {arn!r} is in partition {arn.split(':')[1]}, the stack (aws:region "
            f"{self.region}) in {own}; use an ARN that starts with 'arn:{own}:'"
            for key, arn in named
            if arn is not None and arn.split(":")[1] != own
        ]

    def _route_problems(self) -> list[str]:
        """Routes that could not work with this stack's archive, role or partition."""
        problems: list[str] = []
        own = self.aws_partition
        for route in self.agent.s3_routes:
            on_archive = route.bucket is None or route.bucket == self.bucket.name
            prefix = (route.key_prefix or self.log_prefix.strip("/")) + "/"
            if on_archive and route.endpoint is None and not prefix.startswith(self.log_prefix):
                problems.append(
                    f"agent.routes {route.name!r}: keyPrefix {route.key_prefix!r} writes to the "
                    f"audit bucket outside logPrefix {self.log_prefix!r}, the only prefix its "
                    f"role may write; use a keyPrefix under it, or a bucket of the route's own"
                )
        for any_route in self.agent.routes:
            region = _aws_region_of(any_route)
            if region is None:
                continue
            try:
                theirs = partition_of(region)
            except ValueError as error:
                problems.append(f"agent.routes {any_route.name!r}: {error}")
                continue
            if theirs != own:
                problems.append(
                    f"agent.routes {any_route.name!r}: region {region!r} is in partition "
                    f"{theirs.name}, the stack (aws:region {self.region}) in {own.name}; "
                    "its role can only reach its own partition"
                )
        external = [r for r in self.agent.s3_routes if r.bucket is None and r.endpoint]
        if external:
            problems += self._external_archive_problems(external[0])
        return problems

    def _external_archive_problems(self, archive: S3Route) -> list[str]:
        """An archive on an S3-compatible endpoint: the stack must need no AWS at all."""
        where = f"agent.routes {archive.name!r} (endpoint {archive.endpoint})"
        problems: list[str] = []
        if self.bucket.name is None:
            problems.append(
                f"{where}: bucket.name is not set; with an S3-compatible archive it names the "
                "bucket there, which this stack does not create (see README, local stack)"
            )
        if self.cluster.mode != "existing" or self.cluster.irsa:
            problems.append(
                f"{where}: an archive outside AWS needs cluster.mode 'existing' with "
                "irsa: false; this stack would create AWS resources for nothing"
            )
        if self.query.enabled:
            problems.append(
                f"{where}: query.enabled is true, but Athena reads an archive on AWS and this "
                "stack has none; run the queries locally (make query LOCAL=...)"
            )
        for route in self.agent.routes:
            if _needs_aws(route):
                problems.append(
                    f"{where}: route {route.name!r} writes to AWS, but a stack whose archive "
                    "is an S3-compatible endpoint creates no AWS resources (no role for it)"
                )
        return problems

    @property
    def external_bucket_name(self) -> str:
        """The archive's bucket on an S3-compatible endpoint (validated to be set then)."""
        if self.bucket.name is None:
            raise ValueError("bucket.name is only guaranteed when the archive is external")
        return self.bucket.name

    @property
    def agent_calls_aws(self) -> bool:
        """Whether any route signs AWS requests: only then does the agent get an IAM role."""
        return any(_needs_aws(route) for route in self.agent.routes)

    @property
    def archive_on_aws(self) -> bool:
        """False when the audit archive is an S3-compatible endpoint: no AWS resources then."""
        return not any(r.bucket is None and r.endpoint for r in self.agent.s3_routes)

    @field_validator("region")
    @classmethod
    def _valid_region(cls, value: str) -> str:
        partition_of(value)  # one line naming the region and the supported partitions
        return value

    @field_validator("log_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(
                f"logPrefix {value!r} must be S3-safe path segments ending in '/' with no "
                "leading '/', such as 'audit/' or 'audit/eks-prod/'"
            )
        return value

    @property
    def aws_partition(self) -> Partition:
        return partition_of(self.region)

    @property
    def partition(self) -> str:
        return self.aws_partition.name


class ArchiveStackConfig(CamelModel):
    """Everything an archive stack (stackKind: archive) can set under `container-audit-log:`."""

    environment: Environment = Field(
        description="Unset: the stack's name; set it where the name is not one "
        "(archive-prod, prod-eu2)."
    )
    region: str
    stack_kind: Literal["archive"] = Field(description="archive: the shared, protected archive.")
    bucket: BucketSettings = BucketSettings()
    log_prefix: str = Field(
        default="audit/",
        description="archive: the root every cluster's prefix lies under (lifecycle, queries).",
    )
    archive: ArchiveSettings = ArchiveSettings()
    query: QuerySettings = QuerySettings()
    tags: dict[str, str] = Field(default_factory=dict, description="Added to AWS resources.")

    @field_validator("region")
    @classmethod
    def _valid_region(cls, value: str) -> str:
        partition_of(value)
        return value

    @field_validator("log_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        return StackConfig._valid_prefix(value)

    @model_validator(mode="after")
    def _consistent(self) -> ArchiveStackConfig:
        for cluster in self.archive.clusters:
            if not cluster.key_prefix.startswith(self.log_prefix):
                raise ValueError(
                    f"archive.clusters {cluster.stack!r}: prefix {cluster.key_prefix!r} is "
                    f"outside logPrefix {self.log_prefix!r}, which lifecycle and queries cover"
                )
        replica = self.archive.replication
        if replica.enabled and replica.region is not None:
            theirs = partition_of(replica.region)
            if theirs != partition_of(self.region):
                raise ValueError(
                    f"archive.replication.region {replica.region!r} is in partition "
                    f"{theirs.name}, the archive in {partition_of(self.region).name}"
                )
        return self

    @property
    def aws_partition(self) -> Partition:
        return partition_of(self.region)


def _aws_region_of(route: Route) -> str | None:
    """The AWS region a route signs requests for, if it talks to AWS with the role."""
    if isinstance(route, S3Route) and route.endpoint is None:
        return route.region
    if isinstance(route, CloudWatchLogsRoute):
        return route.region
    if isinstance(route, OpenSearchRoute) and route.aws_auth:
        return route.aws_region
    return None


def _needs_aws(route: Route) -> bool:
    if isinstance(route, S3Route):
        return route.endpoint is None
    return isinstance(route, CloudWatchLogsRoute) or (
        isinstance(route, OpenSearchRoute) and route.aws_auth
    )


# Config keys that are not under the project namespace, mapped to StackConfig fields.
_FOREIGN_KEYS = {"aws:region": "region"}
_SCALAR_FIELDS = {
    "logPrefix",
    "kubeconfig",
    "stackKind",
    "archiveStack",
    "archiveRegion",
    "environment",
}
_KIND_KEY = f"{PROJECT}:stackKind"
M = TypeVar("M", bound=BaseModel)


def stack_kind(raw: Mapping[str, str]) -> StackKind:
    """The kind a stack file declares; combined unless it says otherwise."""
    kind = raw.get(_KIND_KEY, "combined")
    return "archive" if kind == "archive" else "cluster" if kind == "cluster" else "combined"


def load_stack_config(raw: Mapping[str, str], stack: str) -> StackConfig:
    """Validate the flat config map (`ns:key` -> text) of a combined or cluster stack."""
    if stack_kind(raw) == "archive":
        raise ConfigError(
            f"Pulumi.{stack}.yaml: {_KIND_KEY}: {stack} is an archive stack; this needs a "
            "combined or cluster stack (one with a cluster)"
        )
    values = _collect(raw, stack, StackConfig)
    if values.get("stackKind") == "cluster" and "logPrefix" not in values:
        values["logPrefix"] = default_cluster_prefix(stack)
    return _validate(values, stack, StackConfig)


def load_archive_config(raw: Mapping[str, str], stack: str) -> ArchiveStackConfig:
    """Validate the flat config map of an archive stack (stackKind: archive)."""
    return _validate(_collect(raw, stack, ArchiveStackConfig), stack, ArchiveStackConfig)


def load_any_config(raw: Mapping[str, str], stack: str) -> StackConfig | ArchiveStackConfig:
    if stack_kind(raw) == "archive":
        return load_archive_config(raw, stack)
    return load_stack_config(raw, stack)


def _collect(raw: Mapping[str, str], stack: str, model: type[BaseModel]) -> dict[str, Any]:
    source = f"Pulumi.{stack}.yaml"
    values: dict[str, Any] = {"environment": stack}
    problems: list[str] = []
    known = _known_keys(model)
    for full_key, text in sorted(raw.items()):
        namespace, _, key = full_key.partition(":")
        if full_key in _FOREIGN_KEYS:
            values[_FOREIGN_KEYS[full_key]] = text
        elif namespace != PROJECT:
            continue  # other providers' settings (aws:profile, kubernetes:...) are theirs
        elif key not in known:
            problems.append(
                f"{source}: {full_key}: unknown key; accepted keys: {', '.join(sorted(known))}"
            )
        else:
            values[key] = text if key in _SCALAR_FIELDS else _parse_structured(text)
    if "region" not in values:
        problems.append(
            f"{source}: aws:region: missing; set it with `pulumi config set aws:region <region>`"
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return values


def _validate(values: dict[str, Any], stack: str, model: type[M]) -> M:
    source = f"Pulumi.{stack}.yaml"
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigError(
            "\n".join(describe_error(source, e, model) for e in error.errors())
        ) from None


def from_pulumi() -> StackConfig | ArchiveStackConfig:
    """The running stack's config, as the Pulumi engine passes it to the program."""
    raw: dict[str, str] = {}
    raw.update(pulumi.runtime.get_config_env())
    raw.update(pulumi.runtime.config.CONFIG.get())
    return load_any_config(raw, pulumi.get_stack())


def _known_keys(model: type[BaseModel] | None = None) -> set[str]:
    # The environment is the stack's name unless a stack (archive-prod, prod-eu2) sets it.
    return {
        (field.alias or name)
        for name, field in (model or StackConfig).model_fields.items()
        if name != "region"
    }


def _parse_structured(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # let the model report it as the wrong type, with the value shown


def describe_error(source: str, error: ErrorDetails, model: type[BaseModel]) -> str:
    """One line for one pydantic error: file, key path, bad value, what is accepted."""
    loc = [str(part) for part in error["loc"]]
    key = _key_path(loc)
    if error["type"] == "missing":
        return f"{source}: {key}: missing; it is required"
    if error["type"] == "extra_forbidden":
        accepted = _accepted_keys(model, error["loc"][:-1])
        hint = f"; accepted keys: {', '.join(accepted)}" if accepted else ""
        return f"{source}: {key}: unknown key{hint}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error":
        # Our validators name the value and the rule themselves.
        return f"{source}: {key}: {message}"
    return f"{source}: {key} = {_show(error['input'])}: {message}"


def _key_path(loc: list[str]) -> str:
    if not loc:
        return f"{PROJECT}:<config>"
    head, *rest = loc
    if head == "environment":
        return "stack name (the environment)"
    namespace_key = "aws:region" if head == "region" else f"{PROJECT}:{head}"
    return namespace_key + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in rest)


def _accepted_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = next(
            (f for n, f in current.model_fields.items() if part in (n, f.alias)),
            None,
        )
        if field is None:
            return []
        current = _model_of(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or n for n, f in current.model_fields.items())
    return []


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside `Model`, `Model | None` or `list[Model]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
