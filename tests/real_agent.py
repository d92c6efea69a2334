"""The real Fluent Bit with a rendered config, records written to a local file (no S3).

For tests of what the agent's filters make of lines: the rendered config runs as is, only
its listener, HTTP port and buffer move to loopback/temp and its outputs become one `file`
output (format plain: one JSON record per line). Skips when no fluent-bit binary exists.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from components.render.fluent_bit_config import to_yaml
from tooling.e2e import http_ok
from tooling.loopback import LOOPBACK, free_port, wait_until

_CANDIDATES = ("/opt/fluent-bit-5.1.1/bin/fluent-bit", "/opt/fluent-bit/bin/fluent-bit")


def fluent_bit_binary() -> str | None:
    found = shutil.which("fluent-bit")
    return found or next((path for path in _CANDIDATES if os.access(path, os.X_OK)), None)


def require_fluent_bit() -> str:
    binary = fluent_bit_binary()
    if binary is None:
        pytest.skip("no fluent-bit binary (install Fluent Bit 5.1 or build it)")
    return binary


def run_agent_on_lines(
    config: Mapping[str, Any], lines: Sequence[str], work: Path, node: str = "agent-node"
) -> list[dict[str, Any]]:
    """Send `lines` (newline framing) to the agent; the records it wrote, in order."""
    binary = require_fluent_bit()
    port, http = free_port(), free_port()
    service = {
        **config["service"],
        "storage.path": str(work / "buffer"),
        "http_listen": LOOPBACK,
        "http_port": str(http),
    }
    pipeline = config["pipeline"]
    inputs = [{**entry, "listen": LOOPBACK, "port": str(port)} for entry in pipeline["inputs"]]
    sink = {"name": "file", "match": "*", "path": str(work), "file": "out.jsonl"}
    remapped = {
        **config,
        "service": service,
        "pipeline": {**pipeline, "inputs": inputs, "outputs": [{**sink, "format": "plain"}]},
    }
    path = work / "fluent-bit.yaml"
    path.write_text(to_yaml(remapped), encoding="utf-8")
    env = {**os.environ, "NODE_NAME": node, "HOST_IP": LOOPBACK}
    with (work / "fluent-bit.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, "-c", str(path)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_until(lambda: http_ok(f"http://{LOOPBACK}:{http}/api/v1/health"), 30, "agent")
            with socket.create_connection((LOOPBACK, port), timeout=5) as sock:
                sock.sendall("".join(f"{line}\n" for line in lines).encode("utf-8"))
            out = work / "out.jsonl"

            def all_written() -> bool:
                return out.exists() and len(out.read_text().splitlines()) >= len(lines)

            wait_until(all_written, 30, f"{len(lines)} records", interval=0.2)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)
    return [json.loads(line) for line in (work / "out.jsonl").read_text().splitlines()]
