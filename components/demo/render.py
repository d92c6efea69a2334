"""Demo workloads: the stack section `container-audit-log:demo` and the specs it renders.

Each demo service is a Deployment whose entrypoint (demo/audit_events.py, shipped in a
ConfigMap) logs every command it runs to node syslog, and whose shells log every typed
line (demo/audit-shell.sh). The events carry `run_id`, so `tooling.verify` can find this
deployment's records in the archive.

Pure: no Pulumi imports. The same builders feed the component, the offline plan and the
local end-to-end run (`demo_env`, `service_plan`).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.agent.settings import Quantities, Resources
from components.common.model import CamelModel
from components.common.workload import (
    Manifest,
    container_security_context,
    downward_env,
    labels,
    pod_security_context,
    resources,
)

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
SCRIPT = "audit_events.py"
BASH_PROFILE = "audit-shell.sh"
SH_PROFILE = "audit-sh.sh"
SCRIPT_FILES = (SCRIPT, BASH_PROFILE, SH_PROFILE)

MOUNT_DIR = "/opt/container-audit"
# Debian's bash (the python image is Debian) reads this in every interactive shell.
BASH_RC = "/etc/bash.bashrc"
CONFIG_MAP_NAME = "audit-demo-scripts"
CHECKSUM_ANNOTATION = "checksum/scripts"
ARTIFACT_FOLDER = "demo"
Transport = Literal["tcp", "udp"]

# What the containers learn from the downward API; the script reads these names.
DOWNWARD_ENV: dict[str, str] = {
    "HOST_IP": "status.hostIP",
    "NODE_NAME": "spec.nodeName",
    "POD_NAME": "metadata.name",
    "POD_NAMESPACE": "metadata.namespace",
}

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"
_RUN_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


class DemoService(CamelModel):
    """One demo Deployment and the commands its entrypoint runs in a loop."""

    name: str = Field(pattern=_DNS_LABEL, description="Deployment name and `service` in events.")
    replicas: int = Field(default=1, ge=0, le=10)
    interval_seconds: int = Field(default=30, ge=1, le=3600, description="Pause between rounds.")
    command_timeout_seconds: int = Field(default=10, ge=1, le=600)
    commands: list[list[str]] = Field(
        min_length=1, description="argv lists run each round, each logged before and after."
    )

    @field_validator("commands")
    @classmethod
    def _argv_lists(cls, value: list[list[str]]) -> list[list[str]]:
        for command in value:
            if not command or not command[0]:
                raise ValueError(f"commands entry {command!r} must be a non-empty argv list")
            if any("\x00" in arg for arg in command):
                raise ValueError(f"commands entry {command!r} contains a NUL character")
        return value


def _default_services() -> list[DemoService]:
    return [
        # A web-like app: answers "requests" and reports its health.
        DemoService(
            name="service-1",
            interval_seconds=30,
            commands=[
                ["id", "-u"],
                ["uname", "-sr"],
                ["sh", "-c", "printf 'GET /healthz 200\\n' | wc -c"],
                ["python3", "-c", "import json, time; print(json.dumps({'ok': True}))"],
            ],
        ),
        # A worker: batch steps against its scratch space.
        DemoService(
            name="service-2",
            interval_seconds=60,
            commands=[
                ["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"],
                ["sh", "-c", "ls -la /tmp | wc -l"],
                ["python3", "-c", "import hashlib; print(hashlib.sha256(b'job').hexdigest())"],
            ],
        ),
    ]


class DemoSettings(CamelModel):
    """Stack config section `container-audit-log:demo`: workloads that emit audit events."""

    enabled: bool = Field(default=False, description="Deploy the demo (dev and local).")
    namespace: str = Field(default="audit-demo", pattern=_DNS_LABEL)
    run_id: str | None = Field(
        default=None,
        pattern=_RUN_ID,
        description="Marker in every event; unset: '<stack>-demo' (stable, so plans repeat).",
    )
    image: str = Field(
        default="python:3.12.11-slim-bookworm",
        description="Pinned image with python3 and bash (':latest' and untagged are rejected).",
    )
    image_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    run_as_user: int = Field(default=10001, ge=1000, le=2**31 - 1)
    resources: Resources = Resources(
        requests=Quantities(cpu="10m", memory="32Mi"),
        limits=Quantities(cpu="200m", memory="128Mi"),
    )
    services: list[DemoService] = Field(default_factory=_default_services, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DemoSettings:
        name, _, tag = self.image.rpartition(":")
        if not name or "/" in tag or not re.fullmatch(r"[\w][\w.-]{0,127}", tag):
            raise ValueError(
                f"demo.image {self.image!r} has no tag; pin one, e.g. :3.12.11-slim-bookworm"
            )
        if tag == "latest":
            raise ValueError(f"demo.image {self.image!r} uses ':latest'; pin a version tag")
        missing = [
            f"{kind}.{unit}"
            for kind, quantities in (
                ("requests", self.resources.requests),
                ("limits", self.resources.limits),
            )
            for unit in ("cpu", "memory")
            if getattr(quantities, unit) is None
        ]
        if missing:
            raise ValueError(f"demo.resources must set {', '.join(missing)} (bounded pods)")
        names = [service.name for service in self.services]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"demo.services names must be unique; repeated: {', '.join(repeated)}")
        return self

    def effective_run_id(self, stack: str) -> str:
        return self.run_id or f"{stack}-demo"

    @property
    def image_ref(self) -> str:
        return f"{self.image}@{self.image_digest}" if self.image_digest else self.image

    @property
    def service_names(self) -> list[str]:
        return [service.name for service in self.services]


# --- what the containers run ---------------------------------------------------------


@cache
def script_sources() -> dict[str, str]:
    """The demo files as they are in the repo (the ConfigMap ships them unchanged)."""
    return {name: (DEMO_DIR / name).read_text(encoding="utf-8") for name in SCRIPT_FILES}


def plan_file(service: DemoService) -> str:
    return f"{service.name}.json"


def service_plan(service: DemoService, iterations: int = 0) -> str:
    """The JSON plan `audit_events.py run --plan` reads (iterations 0: until stopped)."""
    plan = {
        "commands": service.commands,
        "interval": service.interval_seconds,
        "iterations": iterations,
        "commandTimeout": service.command_timeout_seconds,
    }
    return json.dumps(plan, indent=2, sort_keys=True) + "\n"


def config_map_data(settings: DemoSettings) -> dict[str, str]:
    data = dict(script_sources())
    data.update({plan_file(s): service_plan(s) for s in settings.services})
    return data


def demo_env(
    service: DemoService, run_id: str, syslog_port: int, transport: Transport
) -> dict[str, str]:
    """Plain environment of a demo container (the downward API adds DOWNWARD_ENV)."""
    return {
        "AUDIT_RUN_ID": run_id,
        "AUDIT_SERVICE": service.name,
        "AUDIT_SYSLOG_PORT": str(syslog_port),
        "AUDIT_SYSLOG_TRANSPORT": transport,
        "AUDIT_EVENTS_SCRIPT": f"{MOUNT_DIR}/{SCRIPT}",
        "CONTAINER_NAME": service.name,
        # Non-interactive bash (`bash -c`) reads BASH_ENV; interactive sh (dash) reads ENV.
        "BASH_ENV": f"{MOUNT_DIR}/{BASH_PROFILE}",
        "ENV": f"{MOUNT_DIR}/{SH_PROFILE}",
        # The uid has no passwd entry; the only writable place is the /tmp emptyDir.
        "HOME": "/tmp",  # noqa: S108 - a private emptyDir
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def entrypoint(service: DemoService) -> list[str]:
    return [
        "python3",
        f"{MOUNT_DIR}/{SCRIPT}",
        "run",
        "--plan",
        f"{MOUNT_DIR}/{plan_file(service)}",
    ]


# --- Kubernetes objects --------------------------------------------------------------


def demo_labels(name: str) -> dict[str, str]:
    return labels(name, "demo")


def namespace_labels() -> dict[str, str]:
    """The restricted Pod Security level, enforced: the demo needs nothing more."""
    return {
        "app.kubernetes.io/part-of": "container-audit-log",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def deployment_spec(
    settings: DemoSettings,
    service: DemoService,
    *,
    run_id: str,
    syslog_port: int,
    transport: Transport,
    checksum: str,
) -> Manifest:
    selector = {"app.kubernetes.io/name": service.name, "app.kubernetes.io/component": "demo"}
    env = demo_env(service, run_id, syslog_port, transport)
    container: Manifest = {
        "name": service.name,
        "image": settings.image_ref,
        "imagePullPolicy": "IfNotPresent",
        "command": entrypoint(service),
        "env": [
            *downward_env(DOWNWARD_ENV),
            *({"name": k, "value": v} for k, v in sorted(env.items())),
        ],
        "resources": resources(
            settings.resources.requests.model_dump(), settings.resources.limits.model_dump()
        ),
        "securityContext": container_security_context(uid=settings.run_as_user),
        "volumeMounts": [
            {"name": "scripts", "mountPath": MOUNT_DIR, "readOnly": True},
            {"name": "scripts", "mountPath": BASH_RC, "subPath": BASH_PROFILE, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a private emptyDir
        ],
    }
    return {
        "replicas": service.replicas,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {
                "labels": demo_labels(service.name),
                "annotations": {CHECKSUM_ANNOTATION: checksum},
            },
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {
                    **pod_security_context(),
                    "runAsNonRoot": True,
                    "runAsUser": settings.run_as_user,
                    "runAsGroup": settings.run_as_user,
                },
                # The entrypoint logs STOP on SIGTERM; it needs a moment, not 30 s.
                "terminationGracePeriodSeconds": 10,
                "containers": [container],
                "volumes": [
                    {"name": "scripts", "configMap": {"name": CONFIG_MAP_NAME}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                ],
            },
        },
    }
