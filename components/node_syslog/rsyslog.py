"""Node syslog: the settings of rsyslog on every node and the RainerScript it runs.

Containers reach node syslog over TCP/UDP at `$HOST_IP:<listenPort>`, over RELP at
`$HOST_IP:<relp.port>` (optional, acknowledged) or through the journal; rsyslog numbers
every message (rsyslog_numbering) and hands it to the agent (Fluent Bit) through
node-local handoff files: one RFC 5424 line per record, appended to a file per UTC minute in
`handoffDirectory`, which the agent reads with `tail` and an offset database. The file is
the acknowledgement: what rsyslog wrote stays until the agent has read it (the handoff
cleaner deletes only files the agent's database says it consumed), so an agent crash,
restart or outage loses nothing and never backs up into rsyslog. Pure: no Pulumi imports.
The config text is built from data by a small RainerScript formatter (no serializer
exists), so every value is quoted in one place.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.common.model import CamelModel
from components.node_syslog.numbering import (
    FORWARD_TEMPLATE,
    FORWARD_TEMPLATE_TEXT,
    NUMBERING_STATEMENTS,
    RELP_NUMBERING_STATEMENTS,
)

# Where the files go on a node (user data) or in the rsyslog container (DaemonSet).
MAIN_CONF_PATH = "/etc/rsyslog.conf"
DROPIN_PATH = "/etc/rsyslog.d/60-container-audit-log.conf"
RULESET = "container_audit_forward"
# RELP (nodeSyslog.relp): its own ruleset, no queue, run by imrelp's single thread before
# it acknowledges a message; its own counter and its own handoff file per minute.
RELP_RULESET = "container_audit_relp"
RELP_INPUT_NAME = "container_relp"
# The ruleset's own queue, in front of the numbering (one worker thread, see
# rsyslog_numbering): disk-assisted and saved on shutdown. The only queue rsyslog keeps:
# the handoff write is done by that worker, and it never waits for the agent.
INTAKE_QUEUE_FILENAME = "container_audit_in"
_INTAKE_BATCH_SIZE = 1024
TEMPLATE_RFC5424 = "RSYSLOG_SyslogProtocol23Format"

# One handoff file per UTC minute, by the time rsyslog writes the record (not the event's
# time): once a minute is over, nothing writes its file again, which is what lets the
# cleaner delete a consumed file safely. The agent reads `HANDOFF_GLOB`.
DEFAULT_HANDOFF_DIRECTORY = "/var/lib/container-audit-log/handoff"
HANDOFF_FILE_TEMPLATE = "container_audit_handoff_file"
HANDOFF_GLOB = "audit-*.log"
HANDOFF_ACTION = "container_audit_handoff"
_HANDOFF_MINUTE = "%$year-utc%%$month-utc%%$day-utc%T%$hour-utc%%$minute-utc%"
_HANDOFF_NAME = f"audit-{_HANDOFF_MINUTE}.log"
# RELP records: a file of their own per minute (two omfile actions in two threads must not
# append to one file: omfile buffers, and may split a long line over two write() calls).
# Still matches HANDOFF_GLOB; the handoff cleaner knows the name.
RELP_HANDOFF_FILE_TEMPLATE = "container_audit_handoff_file_relp"
RELP_HANDOFF_ACTION = "container_audit_handoff_relp"
RELP_HANDOFF_SUFFIX = "-relp"
_RELP_HANDOFF_NAME = f"audit-{_HANDOFF_MINUTE}{RELP_HANDOFF_SUFFIX}.log"
# Keep the current and the previous minute's file open; close one idle for a minute.
_HANDOFF_OPEN_FILES = 2
_HANDOFF_CLOSE_TIMEOUT_MIN = 1
# Should rsyslog suspend the handoff action, it retries every second, backing off to 10 s,
# forever, while the intake queue holds what arrives. A failed write does not suspend it:
# omfile drops that message instead (measured with 8.2302; see _handoff_action).
_RESUME_INTERVAL_S = 1
_RESUME_INTERVAL_MAX_S = 10
# rsyslog discards a message when its queue (memory + maxDiskSpace) stays full for
# queue.timeoutEnqueue ms. For an audit trail we would rather push back: TCP senders and
# the journal then wait, instead of rsyslog silently dropping lines.
_BLOCK_WHEN_FULL_MS = 2**31 - 1
# Severity 8 is below every real severity (0-7): nothing is discarded near full.
_DISCARD_NOTHING = 8
_QUEUE_FILE_SIZE = "16m"
# UDP cannot push back; a larger socket buffer absorbs bursts (rsyslog runs as root
# and can exceed net.core.rmem_max with SO_RCVBUFFORCE).
_UDP_RCVBUF = "4m"

_MIN_QUEUE, _MAX_QUEUE = 100, 10_000_000
_SIZE = re.compile(r"^[1-9][0-9]*[kKmMgG]?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The official rsyslog project image (Ubuntu LTS + Adiscon packages), dated release tag.
DEFAULT_IMAGE = "docker.io/rsyslog/rsyslog:2026-04"


# --- RainerScript formatting -------------------------------------------------------

Param = str | int | bool


def quote(value: Param) -> str:
    """One RainerScript constant string. Booleans become on/off, numbers are quoted."""
    if isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = value
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise ValueError(f"rsyslog value {text!r} contains a control character")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rs_object(kind: str, params: Mapping[str, Param], indent: str = "") -> str:
    """`kind(key="value" ...)`, one parameter per line, in the given order."""
    if not _IDENT.match(kind):
        raise ValueError(f"rsyslog object type {kind!r} is not an identifier")
    inline = f"{indent}{kind}(" + " ".join(f"{k}={quote(v)}" for k, v in params.items()) + ")"
    if len(params) <= 2 and len(inline) <= 100 and all(_PARAM_NAME.match(k) for k in params):
        return inline
    lines = [f"{indent}{kind}("]
    for key, value in params.items():
        if not _PARAM_NAME.match(key):
            raise ValueError(f"rsyslog parameter name {key!r} is not valid")
        lines.append(f"{indent}    {key}={quote(value)}")
    lines.append(f"{indent})")
    return "\n".join(lines)


def rs_ruleset(
    name: str,
    actions: Sequence[Mapping[str, Param]],
    params: Mapping[str, Param] | None = None,
    statements: Sequence[str] = (),
) -> str:
    """`ruleset(name="..." params...) { statements... action(...) ... }`.

    `statements` are trusted RainerScript lines built by this package (never user input).
    """
    head = rs_object("ruleset", {"name": name, **(params or {})})
    lines = [f"    {line}" for statement in statements for line in statement.splitlines()]
    lines += [rs_object("action", action, indent="    ") for action in actions]
    body = "\n".join(lines)
    return f"{head} {{\n{body}\n}}"


def rs_string_template(name: str, text: str) -> str:
    """`template(type="string")`; a newline in `text` becomes rsyslog's `\\n` escape."""
    escaped = "\\n".join(quote(part)[1:-1] for part in text.split("\n"))
    return f'template(name={quote(name)} type="string" string="{escaped}")'


def rs_call_if_input(input_name: str, ruleset: str) -> str:
    """Route messages of one input (that cannot bind a ruleset itself) to `ruleset`."""
    if not _IDENT.match(ruleset):
        raise ValueError(f"rsyslog ruleset name {ruleset!r} is not an identifier")
    return f"if $inputname == {quote(input_name)} then {{\n    call {ruleset}\n}}"


# --- Settings ----------------------------------------------------------------------


def _check_path(value: str, key: str) -> str:
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or str(path) != value or value == "/":
        raise ValueError(
            f"{key} {value!r} must be a normalized absolute path below '/', such as "
            "'/var/spool/rsyslog'"
        )
    if any(ord(ch) < 0x21 or ch in "\"'\\`$" for ch in value):
        raise ValueError(f"{key} {value!r} must not contain spaces, quotes or control characters")
    return value


def _check_port(value: int, key: str) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{key} {value} is outside 1-65535")
    return value


class LocalCopySettings(CamelModel):
    """A copy of every forwarded message in a file on the node (RFC 5424 lines)."""

    enabled: bool = False
    path: str = "/var/log/container-audit/audit.log"

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        return _check_path(value, "localCopy.path")


class RateLimitSettings(CamelModel):
    """Input rate limiting, applied to every input. interval 0 turns it off (default):
    an audit trail must not drop lines; the disk queue bounds what a flood costs."""

    interval: int = Field(default=0, ge=0, le=86400)
    burst: int = Field(default=20000, ge=1)


class RelpSettings(CamelModel):
    """An acknowledged first hop: a RELP input, off by default (needs rsyslog-relp).

    Containers that send over RELP (port `port`) get a "200 OK" for a message only once
    rsyslog numbered it and wrote it to a handoff file, and resend what was not
    acknowledged after a reconnect. Nothing a container sent is then lost when rsyslogd
    stops or crashes (plain TCP loses what rsyslogd had taken but not yet numbered); a
    resent message may arrive twice, under another number.

    Enabling it makes rsyslog's main queue Direct (`main_queue(queue.type="Direct")`): the
    RELP ruleset runs in imrelp's thread before the ack. The forwarding ruleset keeps its
    own queue; the default ruleset (imjournal) only `call`s it, which enqueues.

    librelp acknowledges even when the handoff action failed: a dynaFile that cannot be
    opened, or a write on a full disk (ENOSPC; measured with action.resumeRetryCount -1 as
    rendered: 200 of 200 acknowledged, rsyslog said "message lost"). Such a record is
    dropped as on the TCP path, counted in impstats' `failed` of the action
    (container_audit_handoff_relp; alert AuditRsyslogDropped), and never resent.
    """

    enabled: bool = False
    port: int = 2514

    @field_validator("port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        return _check_port(value, "relp.port")


class SyslogResources(CamelModel):
    """Requests/limits of the rsyslog container (DaemonSet mode). The memory queue holds
    at most queueSize messages (a few hundred bytes to a few KiB each)."""

    cpu_request: str = "50m"
    memory_request: str = "64Mi"
    cpu_limit: str | None = "500m"
    memory_limit: str = "256Mi"

    @field_validator("cpu_request", "memory_request", "cpu_limit", "memory_limit")
    @classmethod
    def _valid_quantity(cls, value: str | None) -> str | None:
        if value is not None and not _QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity such as '100m' or '256Mi'")
        return value


@dataclass(frozen=True)
class HostMount:
    """A hostPath volume the rsyslog DaemonSet needs."""

    name: str
    host_path: str
    mount_path: str
    read_only: bool
    type: Literal["Directory", "DirectoryOrCreate", "File"]


@dataclass(frozen=True)
class ContainerPort:
    name: str
    port: int
    protocol: Literal["TCP", "UDP"]


class NodeSyslogSettings(CamelModel):
    """Stack config `container-audit-log:nodeSyslog`."""

    # userdata: rsyslog installed on EKS AL2023 nodes at boot; daemonset: a container
    # on every node of an existing cluster.
    mode: Literal["userdata", "daemonset"] = "userdata"
    # Containers send to $HOST_IP (the node's primary address, different on every node)
    # from their own network namespace, so loopback is unreachable for them and one
    # config text serves all nodes only if it binds the wildcard. Restrict who can reach
    # the port with the node security group; tests bind 127.0.0.1.
    listen_address: str = "0.0.0.0"  # noqa: S104 - justified above
    listen_port: int = 514
    tcp: bool = True
    udp: bool = True
    # How processes that log to the journal (or to a mounted socket) are taken in.
    journal: Literal["imjournal", "imuxsock", "none"] = "imjournal"
    # imuxsock only: the socket rsyslog creates; containers mount its directory.
    socket_path: str = "/run/container-audit-log/dev-log"
    rate_limit: RateLimitSettings = RateLimitSettings()
    # Optional RELP input (acknowledged, resent on reconnect): see RelpSettings.
    relp: RelpSettings = RelpSettings()
    # Longer messages are truncated by rsyslog (default 8 KiB); keep it below the agent's
    # longest accepted line. Must be set before inputs load: it lives in the main config.
    max_message_size: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # The intake queue (in front of the numbering): messages held in memory, then on disk
    # up to queueMaxDiskSpace; full, rsyslog stops taking messages (senders wait). It only
    # fills when the handoff write cannot keep up or fails (disk full).
    queue_size: int = 20000
    queue_max_disk_space: str = "1g"
    work_directory: str = "/var/lib/rsyslog"
    spool_directory: str = "/var/spool/rsyslog"
    # The handoff files, shared with the agent (a hostPath on both sides): rsyslog writes,
    # the agent reads, the handoff cleaner in the agent pod deletes what was consumed.
    handoff_directory: str = DEFAULT_HANDOFF_DIRECTORY
    local_copy: LocalCopySettings = LocalCopySettings()
    image: str = DEFAULT_IMAGE
    resources: SyslogResources = SyslogResources()

    @field_validator("listen_address")
    @classmethod
    def _valid_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                f"listenAddress {value!r} is not an IP address; use '0.0.0.0' (all node "
                "addresses) or one address such as '127.0.0.1'"
            ) from None
        return value

    @field_validator("listen_port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        return _check_port(value, "listenPort")

    @field_validator("queue_size")
    @classmethod
    def _valid_queue_size(cls, value: int) -> int:
        if not _MIN_QUEUE <= value <= _MAX_QUEUE:
            raise ValueError(
                f"queueSize {value} must be between {_MIN_QUEUE} and {_MAX_QUEUE} messages "
                "(rsyslog does not support smaller queues)"
            )
        return value

    @field_validator("queue_max_disk_space")
    @classmethod
    def _valid_disk_space(cls, value: str) -> str:
        if not _SIZE.match(value):
            raise ValueError(
                f"queueMaxDiskSpace {value!r} must be a positive size such as '512m' or '1g'"
            )
        return value

    @field_validator("work_directory", "spool_directory", "handoff_directory", "socket_path")
    @classmethod
    def _valid_dirs(cls, value: str, info: ValidationInfo) -> str:
        return _check_path(value, to_camel(info.field_name or "path"))

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, value: str) -> str:
        if _DIGEST.search(value):
            return value
        name, _, tag = value.rpartition(":")
        if not name or "/" in tag or tag in ("", "latest"):
            raise ValueError(
                f"image {value!r} must be pinned to a version tag or a digest, such as "
                f"{DEFAULT_IMAGE!r}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NodeSyslogSettings:
        if not (self.tcp or self.udp or self.journal != "none"):
            raise ValueError(
                "nodeSyslog: tcp, udp and journal are all off, so rsyslog would take in "
                "nothing; enable at least one input"
            )
        if self.relp.enabled and self.relp.port == self.listen_port:
            raise ValueError(
                f"nodeSyslog.relp.port {self.relp.port} is listenPort too: RELP needs a port "
                "of its own, such as 2514"
            )
        directories = {
            "workDirectory": self.work_directory,
            "spoolDirectory": self.spool_directory,
            "handoffDirectory": self.handoff_directory,
        }
        seen: dict[str, str] = {}
        for key, path in directories.items():
            for other_key, other in seen.items():
                if (
                    path == other
                    or PurePosixPath(path).is_relative_to(other)
                    or (PurePosixPath(other).is_relative_to(path))
                ):
                    raise ValueError(
                        f"nodeSyslog.{key} {path!r} overlaps {other_key} {other!r}: input "
                        "state, queue files and handoff files each need a directory of their own"
                    )
            seen[key] = path
        return self

    # What the DaemonSet (Pulumi component) needs to know.

    @property
    def imjournal_state_file(self) -> str:
        return str(PurePosixPath(self.work_directory) / "imjournal.state")

    def container_ports(self) -> tuple[ContainerPort, ...]:
        ports: list[ContainerPort] = []
        if self.tcp:
            ports.append(ContainerPort("syslog-tcp", self.listen_port, "TCP"))
        if self.udp:
            ports.append(ContainerPort("syslog-udp", self.listen_port, "UDP"))
        if self.relp.enabled:
            ports.append(ContainerPort("syslog-relp", self.relp.port, "TCP"))
        return tuple(ports)

    def host_mounts(self) -> tuple[HostMount, ...]:
        """hostPath volumes, mounted at the same path: input state and the queue survive
        pod restarts, the host journal is read. Reading the journal, writing these paths
        and binding a port below 1024 need root in the container."""
        mounts = [
            _rw("rsyslog-work", self.work_directory),
            _rw("rsyslog-spool", self.spool_directory),
            _rw(HANDOFF_VOLUME, self.handoff_directory),
        ]
        if self.journal == "imjournal":
            # imjournal opens the local journal: the files of this host's machine-id.
            mounts += [
                _ro("journal-persistent", "/var/log/journal"),
                _ro("journal-volatile", "/run/log/journal"),
                HostMount("machine-id", "/etc/machine-id", "/etc/machine-id", True, "File"),
            ]
        if self.journal == "imuxsock":
            mounts.append(_rw("syslog-socket", str(PurePosixPath(self.socket_path).parent)))
        if self.local_copy.enabled:
            mounts.append(_rw("local-copy", str(PurePosixPath(self.local_copy.path).parent)))
        return tuple(mounts)


HANDOFF_VOLUME = "audit-handoff"


def _rw(name: str, path: str) -> HostMount:
    return HostMount(name, path, path, False, "DirectoryOrCreate")


def _ro(name: str, path: str) -> HostMount:
    return HostMount(name, path, path, True, "DirectoryOrCreate")


# --- Rendering ---------------------------------------------------------------------


def _rate_limit(settings: NodeSyslogSettings, prefix: str = "RateLimit") -> dict[str, Param]:
    limit = settings.rate_limit
    if limit.interval == 0:
        return {f"{prefix}.Interval": 0}
    return {f"{prefix}.Interval": limit.interval, f"{prefix}.Burst": limit.burst}


def _handoff_action(
    name: str = HANDOFF_ACTION, file_template: str = HANDOFF_FILE_TEMPLATE
) -> dict[str, Param]:
    # No action queue: the intake worker writes (page cache; no fsync, a crashed process
    # loses nothing it wrote) and moves on. omfile does NOT retry a failed write (full
    # disk, unwritable directory): it drops the message, logs "message lost" and counts it
    # in impstats' `failed` (measured; README, Buffering), whatever resumeRetryCount says.
    return {
        "type": "omfile",
        "name": name,
        "dynaFile": file_template,
        "template": FORWARD_TEMPLATE,
        "dynaFileCacheSize": _HANDOFF_OPEN_FILES,
        "closeTimeout": _HANDOFF_CLOSE_TIMEOUT_MIN,
        "fileCreateMode": "0600",
        "dirCreateMode": "0700",
        "createDirs": True,
        "action.resumeRetryCount": -1,
        "action.resumeInterval": _RESUME_INTERVAL_S,
        "action.resumeIntervalMax": _RESUME_INTERVAL_MAX_S,
    }


def _intake_queue(settings: NodeSyslogSettings) -> dict[str, Param]:
    return {
        "queue.type": "LinkedList",
        "queue.workerThreads": 1,
        "queue.filename": INTAKE_QUEUE_FILENAME,
        "queue.spoolDirectory": settings.spool_directory,
        "queue.size": settings.queue_size,
        "queue.maxDiskSpace": settings.queue_max_disk_space,
        "queue.maxFileSize": _QUEUE_FILE_SIZE,
        "queue.saveOnShutdown": True,
        "queue.dequeueBatchSize": _INTAKE_BATCH_SIZE,
        "queue.discardSeverity": _DISCARD_NOTHING,
        "queue.timeoutEnqueue": _BLOCK_WHEN_FULL_MS,
    }


def _local_copy_action(settings: NodeSyslogSettings, relp: bool = False) -> dict[str, Param]:
    path = settings.local_copy.path
    if relp:  # a file of its own, like the handoff files: one writer thread per file
        local = PurePosixPath(path)
        path = str(local.with_name(f"{local.stem}{RELP_HANDOFF_SUFFIX}{local.suffix}"))
    return {
        "type": "omfile",
        "name": "container_audit_local_copy" + ("_relp" if relp else ""),
        "file": path,
        "template": TEMPLATE_RFC5424,
        "fileCreateMode": "0600",
        "dirCreateMode": "0700",
        "createDirs": True,
    }


def _modules(settings: NodeSyslogSettings) -> list[dict[str, Param]]:
    modules: list[dict[str, Param]] = []
    if settings.tcp:
        modules.append({"load": "imtcp"})
    if settings.udp:
        modules.append({"load": "imudp"})
    if settings.journal == "imuxsock":
        # The system socket belongs to journald on systemd hosts; take only ours.
        modules.append({"load": "imuxsock", "SysSock.Use": False})
    if settings.relp.enabled:
        modules.append({"load": "imrelp"})
    if settings.journal == "imjournal":
        modules.append(
            {
                "load": "imjournal",
                "StateFile": settings.imjournal_state_file,
                **_rate_limit(settings, prefix="Ratelimit"),
            }
        )
    return modules


def _inputs(settings: NodeSyslogSettings) -> list[dict[str, Param]]:
    common: dict[str, Param] = {"ruleset": RULESET, **_rate_limit(settings)}
    listen: dict[str, Param] = {"address": settings.listen_address, "port": settings.listen_port}
    inputs: list[dict[str, Param]] = []
    if settings.tcp:
        # A message over maxMessageSize is cut to it; without discardTruncatedMsg the rest
        # would arrive as a record of its own (no header: priority 13, host "localhost").
        inputs.append(
            {
                "type": "imtcp",
                "name": "container_tcp",
                **listen,
                "discardTruncatedMsg": True,
                **common,
            }
        )
    if settings.udp:
        inputs.append(
            {
                "type": "imudp",
                "name": "container_udp",
                **listen,
                "rcvbufSize": _UDP_RCVBUF,
                **common,
            }
        )
    if settings.journal == "imuxsock":
        inputs.append(
            {"type": "imuxsock", "Socket": settings.socket_path, "CreatePath": True, **common}
        )
    return inputs


def render_rsyslog_conf(settings: NodeSyslogSettings) -> str:
    """The drop-in (`DROPIN_PATH`): inputs, the numbering ruleset and the handoff files."""
    actions = [_handoff_action()]
    if settings.local_copy.enabled:
        actions.append(_local_copy_action(settings))
    blocks = [rs_object("module", module) for module in _modules(settings)]
    blocks.append(rs_string_template(FORWARD_TEMPLATE, FORWARD_TEMPLATE_TEXT))
    handoff_file = str(PurePosixPath(settings.handoff_directory) / _HANDOFF_NAME)
    blocks.append(rs_string_template(HANDOFF_FILE_TEMPLATE, handoff_file))
    blocks.append(rs_ruleset(RULESET, actions, _intake_queue(settings), NUMBERING_STATEMENTS))
    blocks += [rs_object("input", params) for params in _inputs(settings)]
    if settings.journal == "imjournal":
        # imjournal (rsyslog <= 8.2302) cannot bind a ruleset: route it from the default one.
        blocks.append(rs_call_if_input("imjournal", RULESET))
    if settings.relp.enabled:
        blocks += _relp_blocks(settings)
    header = "# container-audit-log: node syslog -> agent. Generated; do not edit.\n"
    return header + "\n\n".join(blocks) + "\n"


def _relp_blocks(settings: NodeSyslogSettings) -> list[str]:
    """The RELP input, its ruleset (no queue: imrelp's thread numbers and writes before it
    acks) and its handoff file; the main queue Direct, or the ruleset would run later, in
    the main queue's worker, after the ack."""
    actions = [_handoff_action(RELP_HANDOFF_ACTION, RELP_HANDOFF_FILE_TEMPLATE)]
    if settings.local_copy.enabled:
        actions.append(_local_copy_action(settings, relp=True))
    relp_file = str(PurePosixPath(settings.handoff_directory) / _RELP_HANDOFF_NAME)
    return [
        "# RELP: acknowledged once numbered and written (README, node syslog).",
        rs_object("main_queue", {"queue.type": "Direct"}),
        rs_string_template(RELP_HANDOFF_FILE_TEMPLATE, relp_file),
        rs_ruleset(RELP_RULESET, actions, statements=RELP_NUMBERING_STATEMENTS),
        rs_object(
            "input",
            {
                "type": "imrelp",
                "name": RELP_INPUT_NAME,
                "address": settings.listen_address,
                "port": settings.relp.port,
                "ruleset": RELP_RULESET,
            },
        ),
    ]


def render_main_conf(settings: NodeSyslogSettings, dropin_path: str = DROPIN_PATH) -> str:
    """`/etc/rsyslog.conf` that loads nothing but the drop-in.

    The distribution's own main config loads imjournal/imuxsock itself (a module loaded
    twice is a config error) and copies the journal into /var/log files; owning the main
    file makes the node run exactly the tested config.
    """
    return (
        "# container-audit-log: rsyslog main config. Generated; do not edit.\n"
        + rs_object(
            "global",
            {
                "workDirectory": settings.work_directory,
                "maxMessageSize": settings.max_message_size,
            },
        )
        + "\n"
        + rs_object("include", {"file": dropin_path})
        + "\n"
    )
