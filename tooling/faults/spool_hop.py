"""The alternative hop the fault table measures against the rendered one: rsyslog writes a
node-local spool file (omfile, same numbered text) that the agent reads with `tail` and an
offset database (restart-safe), instead of omfwd over TCP to the syslog input.

Measurement only: it rewrites the rendered configs (the forwarding action's target, the
agent's input) and is not what the project deploys. What it lacks for that: nothing
deletes consumed spool files (Fluent Bit's tail never deletes; only its offset database
knows what was consumed), so the spool would grow without bound. See README, buffering.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def spool_rsyslog_conf(text: str, spool: Path) -> str:
    """The rendered drop-in with its omfwd target replaced by `spool`/audit.log (omfile);
    the action's disk-assisted queue and the numbered template stay."""
    spool.mkdir(parents=True, exist_ok=True)
    rewritten, replaced = re.subn(
        r'type="omfwd"(.*?)ResendLastMSGOnReconnect="on"',
        lambda m: (
            'type="omfile"\n        name="container_audit_to_agent"\n'
            f'        file="{spool}/audit.log"\n'
            '        template="container_audit_numbered"'
        ),
        text,
        flags=re.S,
    )
    if replaced != 1:
        raise ValueError("the rendered drop-in has no single omfwd action to replace")
    return rewritten


def spool_agent_config(config: dict[str, Any], spool: Path) -> dict[str, Any]:
    """The agent config with its syslog input replaced by `tail` on the spool (same tag,
    parser and line limits; offsets in a database beside the chunks)."""
    (syslog,) = config["pipeline"]["inputs"]
    tail = {
        "name": "tail",
        "alias": "node-spool",
        "tag": syslog["tag"],
        "path": f"{spool}/audit.log*",
        "db": f"{config['service']['storage.path']}/spool.db",
        "db.sync": "normal",
        "parser": syslog["parser"],
        "read_from_head": "true",
        "refresh_interval": "1",
        "rotate_wait": "5",
        "buffer_chunk_size": syslog["buffer_chunk_size"],
        "buffer_max_size": syslog["buffer_max_size"],
        "storage.type": "filesystem",
    }
    return {**config, "pipeline": {**config["pipeline"], "inputs": [tail]}}
