"""syslog-gate: lifts a node's startup taint once its node syslog answers.

Runs in a pod of the `syslog-gate` DaemonSet (python3 standard library only; shipped as
text in a ConfigMap). Nodes register with the taint `TAINT_KEY:NoSchedule` (nodeadm
`--register-with-taints`), which keeps audit-producing pods off them. The node cannot lift
the taint itself: the NodeRestriction admission plugin forbids a kubelet to change the
taints of its own Node. So this pod, on the node's pod network like any workload, connects
to `HOST_IP:PORT` (where containers send their audit lines) and, when rsyslog answers,
removes exactly that taint through the API (a JSON patch guarded by a `test` of the taints
it read). While rsyslog does not answer, the taint stays; after `GRACE_SECONDS` it says why
once: a log line and a Warning Event on the Node (`kubectl describe node`).

Environment: NODE_NAME, HOST_IP (downward API), PORT, TAINT_KEY, GRACE_SECONDS,
PROBE_SECONDS; KUBERNETES_SERVICE_HOST/PORT (set by Kubernetes) or KUBERNETES_API.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EVENT_REASON = "SyslogNotReady"
CLEARED_REASON = "SyslogReady"


def log(message: str) -> None:
    print(f"{datetime.now(UTC).isoformat(timespec='seconds')} syslog-gate: {message}", flush=True)


def answers(host: str, port: int, timeout: float = 3.0) -> bool:
    """True when something accepts a TCP connection on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def taint_removal(taints: list[dict[str, Any]], key: str) -> list[dict[str, Any]] | None:
    """The JSON patch that removes every taint with `key`, or None if there is none.

    The `test` op makes the API server refuse the patch if the taints changed since they
    were read (another controller added one), instead of overwriting that change.
    """
    kept = [taint for taint in taints if taint.get("key") != key]
    if len(kept) == len(taints):
        return None
    return [
        {"op": "test", "path": "/spec/taints", "value": taints},
        {"op": "replace", "path": "/spec/taints", "value": kept},
    ]


class Api:
    """The few Kubernetes API calls the gate makes, with the pod's service account."""

    def __init__(self, base: str, token: str, context: ssl.SSLContext | None) -> None:
        if not base.startswith(("https://", "http://")):
            raise ValueError(f"Kubernetes API address {base!r} is not an http(s) URL")
        self.base = base.rstrip("/")
        self.token = token
        self.context = context

    @classmethod
    def in_cluster(cls, env: Mapping[str, str]) -> Api:
        base = env.get("KUBERNETES_API") or (
            f"https://{env['KUBERNETES_SERVICE_HOST']}:{env['KUBERNETES_SERVICE_PORT']}"
        )
        token_file = Path(env.get("TOKEN_FILE", str(ACCOUNT / "token")))
        context = None
        if base.startswith("https://"):
            context = ssl.create_default_context(cafile=str(ACCOUNT / "ca.crt"))
        return cls(base, token_file.read_text(encoding="utf-8").strip(), context)

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        # The scheme is checked in __init__: http(s) only.
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=10, context=self.context) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def taints(self, node: str) -> list[dict[str, Any]]:
        spec = self.request("GET", f"/api/v1/nodes/{node}").get("spec", {})
        return list(spec.get("taints") or [])

    def patch_node(self, node: str, patch: list[dict[str, Any]]) -> None:
        self.request(
            "PATCH", f"/api/v1/nodes/{node}", patch, content_type="application/json-patch+json"
        )

    def node_event(self, node: str, uid: str, kind: str, reason: str, message: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.request(
            "POST",
            "/api/v1/namespaces/default/events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"generateName": f"{node}.syslog-gate-"},
                "involvedObject": {"kind": "Node", "name": node, "uid": uid},
                "type": kind,
                "reason": reason,
                "message": message,
                "source": {"component": "syslog-gate", "host": node},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
            },
        )

    def node_uid(self, node: str) -> str:
        return str(self.request("GET", f"/api/v1/nodes/{node}")["metadata"]["uid"])


def lift_taint(api: Api, node: str, key: str) -> bool:
    """Remove the taint; True when it is gone (removed now, or already absent)."""
    patch = taint_removal(api.taints(node), key)
    if patch is None:
        return True
    try:
        api.patch_node(node, patch)
    except urllib.error.HTTPError as error:
        if error.code in (409, 422):  # the taints changed under us: read them again
            return False
        raise
    return True


def run(
    env: Mapping[str, str],
    api: Api,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    max_rounds: int | None = None,
) -> str:
    """Probe until rsyslog answers and the taint is gone; returns 'ready' (or, in tests
    with max_rounds, 'waiting' when the rounds ran out first)."""
    node, host, port = env["NODE_NAME"], env["HOST_IP"], int(env["PORT"])
    key = env["TAINT_KEY"]
    grace = float(env.get("GRACE_SECONDS", "600"))
    interval = float(env.get("PROBE_SECONDS", "5"))
    started = clock()
    reported = False
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        if answers(host, port):
            if lift_taint(api, node, key):
                log(f"node syslog answers on {host}:{port}; taint {key} removed from {node}")
                if reported:
                    api.node_event(
                        node, api.node_uid(node), "Normal", CLEARED_REASON, "node syslog answers"
                    )
                return "ready"
            sleep(interval)  # the taints changed under us: read them again next round
            continue
        waited = clock() - started
        if not reported and waited >= grace:
            message = (
                f"node syslog does not answer on {host}:{port} after {int(waited)} s; the node "
                f"keeps the taint {key}:NoSchedule. On the node: `journalctl -t "
                "container-audit-log` or /var/log/cloud-init-output.log says why"
            )
            log(message)
            api.node_event(node, api.node_uid(node), "Warning", EVENT_REASON, message)
            reported = True
        sleep(interval)
    return "waiting"


def main() -> int:
    env = dict(os.environ)
    run(env, Api.in_cluster(env))
    # Stay up: a DaemonSet pod that exits is restarted, which would probe again for nothing.
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
