"""Debian's `promtool` and `prometheus` for the tests: found on PATH, or the test skips.

In CI (`REQUIRE_PROMTOOL=1`, set by .ci/run) a missing binary fails the test instead, so the
alert rules are never "tested" by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HOW_TO_GET = (
    "install Debian's prometheus package (apt-get install --no-install-recommends prometheus) "
    "or put promtool/prometheus 2.x on PATH"
)


def require_binary(name: str) -> str:
    """The path of `name`, or skip (fail under REQUIRE_PROMTOOL=1) saying how to get it."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} not found: {HOW_TO_GET}"
    if os.environ.get("REQUIRE_PROMTOOL") == "1":
        pytest.fail(message)
    pytest.skip(message)


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool")
    return subprocess.run(
        [binary, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )
