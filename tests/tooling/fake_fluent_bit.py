"""A stand-in for the `fluent-bit` binary, so `make test` can drive tooling.e2e end to end.

    python fake_fluent_bit.py -c fluent-bit.yaml

It honours what e2e relies on: the rendered YAML config (${VAR} from the environment),
the health endpoint on http_listen:http_port, the syslog input (TCP, newline framing) on
listen:port, and the s3 output (endpoint, bucket, key format, json_lines, gzip) with
the AWS keys from the environment; on SIGTERM it uploads what it holds and exits. Unlike
the real agent it uploads every second instead of after upload_timeout. It exits by
itself after 120 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socketserver
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.tooling.agent_archive import AgentS3Output, expand_env

LIFETIME_S = 120


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/api/v1/health"
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b"ok\n" if ok else b"")

    def log_message(self, *_: Any) -> None:
        return


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", required=True)
    args = parser.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    service = config["service"]
    [syslog] = config["pipeline"]["inputs"]
    [s3_output] = [o for o in config["pipeline"]["outputs"] if o["name"] == "s3"]
    output = AgentS3Output.from_config(config)
    client = boto3.client(
        "s3",
        region_name=s3_output["region"],
        endpoint_url=s3_output["endpoint"],
        config=Config(s3={"addressing_style": "path"}),
    )
    held: list[tuple[str, datetime]] = []
    lock = threading.Lock()

    class Lines(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for raw in self.rfile:
                with lock:
                    held.append((raw.decode().rstrip("\n"), datetime.now(UTC)))

    http = ThreadingHTTPServer(
        (expand_env(service["http_listen"], os.environ), int(service["http_port"])), Health
    )
    tcp = socketserver.ThreadingTCPServer((syslog["listen"], int(syslog["port"])), Lines)
    tcp.daemon_threads = True
    for server in (http, tcp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def flush() -> None:
        with lock:
            batch = list(held)
            held.clear()
        timed = [r for r in (output.record(line, at) for line, at in batch) if r is not None]
        if timed:
            key = output.put(client, timed)
            print(f"uploaded {len(timed)} records to {key}", flush=True)

    deadline = time.monotonic() + LIFETIME_S
    while not stop.wait(1.0) and time.monotonic() < deadline:
        flush()
    flush()
    for server in (http, tcp):
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
