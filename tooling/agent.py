"""Where the real Fluent Bit agent is, for the tests, the local run and the benchmarks.

One lookup order everywhere: env FLUENT_BIT, else `fluent-bit` on PATH, else the pinned
build's install folder (/opt/fluent-bit-5.1.1/bin/fluent-bit). The binary must report
v5.1.x: the rendered config and the committed plugin schema are for that version.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

BINARY_ENV = "FLUENT_BIT"
REQUIRE_ENV = "REQUIRE_FLUENT_BIT"
PINNED_VERSION = "5.1.1"
SUPPORTED_SERIES = "5.1"
PINNED_INSTALL = Path(f"/opt/fluent-bit-{PINNED_VERSION}/bin/fluent-bit")
HOW_TO_GET_IT = (
    f"put any fluent-bit {SUPPORTED_SERIES}.x on PATH, or set {BINARY_ENV}=/path/to/fluent-bit, "
    f"or build the pinned {PINNED_VERSION} with ../shared/fluent-bit/build.sh"
)
_VERSION = re.compile(r"Fluent Bit v(\d+\.\d+\.\d+)")


class AgentNotFoundError(Exception):
    """No usable fluent-bit binary; the message says what was tried and how to get one."""


def version_of(binary: str) -> str | None:
    """The `x.y.z` a binary reports with `--version`, or None when it is not Fluent Bit."""
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(done.stdout + done.stderr)
    return match.group(1) if match else None


def _candidate() -> tuple[str | None, str]:
    """The binary the lookup order picks (or None), and where it looked."""
    configured = os.environ.get(BINARY_ENV)
    if configured:
        usable = configured if os.access(configured, os.X_OK) else None
        return usable, f"{BINARY_ENV}={configured}"
    on_path = shutil.which("fluent-bit")
    if on_path:
        return on_path, f"fluent-bit on PATH ({on_path})"
    if os.access(PINNED_INSTALL, os.X_OK):
        return str(PINNED_INSTALL), str(PINNED_INSTALL)
    return None, f"{BINARY_ENV} unset, no fluent-bit on PATH, no {PINNED_INSTALL}"


@functools.cache
def _resolve(configured: str | None, path: str | None) -> tuple[str | None, str]:
    # Cached per (FLUENT_BIT, PATH): `--version` costs a process start.
    binary, where = _candidate()
    if binary is None:
        return None, f"no fluent-bit binary ({where})"
    version = version_of(binary)
    if version is None or not version.startswith(f"{SUPPORTED_SERIES}."):
        reported = f"v{version}" if version else "no Fluent Bit version"
        return None, f"{where} reports {reported}, not v{SUPPORTED_SERIES}.x"
    return binary, where


def fluent_bit_binary() -> str:
    """Path of a Fluent Bit 5.1.x binary, else AgentNotFoundError saying how to get one."""
    binary, problem = _resolve(os.environ.get(BINARY_ENV), os.environ.get("PATH"))
    if binary is None:
        raise AgentNotFoundError(f"{problem}: {HOW_TO_GET_IT}")
    return binary


def find_fluent_bit() -> str | None:
    """fluent_bit_binary(), or None when there is none."""
    try:
        return fluent_bit_binary()
    except AgentNotFoundError:
        return None


def agent_required() -> bool:
    """True where a missing agent is a failure, not a skip (CI sets REQUIRE_FLUENT_BIT=1)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes", "on")
