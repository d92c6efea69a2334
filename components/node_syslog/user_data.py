"""EC2 user data for EKS Amazon Linux 2023 nodes: a MIME multipart/mixed document.

nodeadm reads the `application/node.eks.aws` parts (NodeConfig) and cloud-init runs the
`text/x-shellscript` parts; managed node groups require the multipart form because EKS
merges its own parts in. Built with the stdlib `email` package. Pure: no Pulumi imports.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from pathlib import PurePosixPath

from components.node_syslog.rsyslog import (
    DROPIN_PATH,
    MAIN_CONF_PATH,
    NodeSyslogSettings,
    render_main_conf,
)

# EC2 refuses user data above 16 KiB (counted before base64 encoding).
MAX_USER_DATA_BYTES = 16 * 1024
NODE_CONFIG = "application/node.eks.aws"
SHELL_SCRIPT = "text/x-shellscript"
_DNF_ATTEMPTS = 5
# After `systemctl restart`, how long rsyslog may take to bind its port.
_LISTEN_WAIT_S = 30
JOURNALD_DROPIN_PATH = "/etc/systemd/journald.conf.d/60-container-audit-log.conf"
# journald drops a unit's lines past its burst (10,000 per 30 s by default) before imjournal
# ever sees them; an audit trail must not. The disk queue bounds what a flood costs.
JOURNALD_DROPIN = "[Journal]\nRateLimitIntervalSec=0\n"


@dataclass(frozen=True)
class UserDataPart:
    content_type: str
    content: str

    def __post_init__(self) -> None:
        maintype, _, subtype = self.content_type.partition("/")
        if not maintype or not subtype or any(c.isspace() or c == ";" for c in self.content_type):
            raise ValueError(
                f"user data part content type {self.content_type!r} is not 'type/subtype'"
            )
        if not self.content.isascii():
            # Parts are sent 7bit, unencoded: nodeadm and cloud-init read them as they are.
            raise ValueError(f"user data part {self.content_type} must be ASCII text")


def render_user_data(parts: Sequence[UserDataPart]) -> str:
    """The multipart/mixed document, parts in order, with a boundary derived from the
    content (stable across runs, so a preview shows no spurious user-data diff)."""
    if not parts:
        raise ValueError("user data needs at least one part")
    digest = hashlib.sha256("\0".join(p.content_type + "\0" + p.content for p in parts).encode())
    boundary = f"==container-audit-log-{digest.hexdigest()[:20]}=="
    if any(boundary in part.content for part in parts):
        raise ValueError("a user data part contains the MIME boundary")
    document = MIMEMultipart("mixed", boundary=boundary)
    for part in parts:
        maintype, _, subtype = part.content_type.partition("/")
        mime_part = MIMENonMultipart(maintype, subtype)
        if maintype == "text":
            mime_part.set_param("charset", "us-ascii")
        mime_part.set_payload(part.content)
        mime_part["Content-Transfer-Encoding"] = "7bit"
        document.attach(mime_part)
    text = document.as_string()
    if len(text.encode()) > MAX_USER_DATA_BYTES:
        raise ValueError(
            f"user data is {len(text.encode())} bytes; EC2 accepts at most {MAX_USER_DATA_BYTES}"
        )
    return text


def rsyslog_install_part(
    dropin_text: str, settings: NodeSyslogSettings, taint: str = "the startup taint"
) -> UserDataPart:
    """A shell part that installs rsyslog on AL2023 and runs exactly the rendered config.

    Config files travel base64-encoded, so no quoting or heredoc terminator in them can
    break the script; each is written to a temp file and renamed into place. The main
    config is replaced (see `render_main_conf`); the distribution's copy is kept aside.
    The script ends when rsyslog answers on its TCP port (the syslog-gate then lifts
    `taint`). Any failed step stops it with one line saying which step and that the node
    keeps `taint`, on stderr (cloud-init's log and the console) and in the journal
    (`journalctl -t container-audit-log`), and exit status 1.
    """
    main_text = render_main_conf(settings, dropin_path=DROPIN_PATH)
    directories = [settings.work_directory, settings.spool_directory, settings.handoff_directory]
    if settings.local_copy.enabled:
        directories.append(str(PurePosixPath(settings.local_copy.path).parent))
    port = settings.listen_port
    host = _probe_host(settings.listen_address)
    # imrelp is packaged apart (rsyslog-relp on Debian and Fedora). Whether AL2023's
    # repositories carry rsyslog-relp is NOT confirmed: relp stays off by default, and a
    # node without the package fails here, saying so, and keeps its taint.
    packages = "rsyslog rsyslog-relp" if settings.relp.enabled else "rsyslog"
    lines = [
        "#!/bin/bash",
        "# container-audit-log: node syslog (rsyslog) forwarding to the audit agent.",
        # No `set -e`: every step says what failed instead of stopping silently.
        "set -uo pipefail",
        "",
        f"TAINT={shlex.quote(taint)}",
        "fail() {  # fail REASON: say why on stderr and in the journal, then stop",
        '  local line="node syslog NOT ready: $1; the node keeps the taint $TAINT"',
        '  echo "container-audit-log: $line" >&2',
        '  logger -p user.err -t container-audit-log "$line" || true',
        "  exit 1",
        "}",
        "",
        "write_file() {  # write_file PATH MODE BASE64",
        '  local tmp; tmp="$(mktemp "$1.XXXXXX")" || return 1',
        '  printf \'%s\' "$3" | base64 --decode > "$tmp" || return 1',
        '  chmod "$2" "$tmp" && mv -f "$tmp" "$1"',
        "}",
        "",
        "installed=no",
        f"for attempt in $(seq 1 {_DNF_ATTEMPTS}); do",
        f"  if dnf install -y {packages}; then installed=yes; break; fi",
        f'  echo "dnf install {packages} failed (attempt $attempt)" >&2; sleep 10',
        "done",
        f'[ "$installed" = yes ] || fail "dnf install {packages} failed {_DNF_ATTEMPTS} times '
        '(no route to the AL2023 package repositories?)"',
        *(
            f'rpm -q {package} || fail "{package} is not installed after dnf install"'
            for package in packages.split()
        ),
        "install -d -m 0700 -o root -g root "
        + " ".join(shlex.quote(d) for d in directories)
        + ' || fail "cannot create the rsyslog directories"',
        f"install -d -m 0755 {shlex.quote(str(PurePosixPath(DROPIN_PATH).parent))}"
        ' || fail "cannot create the drop-in directory"',
        f"if [ -f {MAIN_CONF_PATH} ] && [ ! -e {MAIN_CONF_PATH}.dist ]; then",
        f'  cp -p {MAIN_CONF_PATH} {MAIN_CONF_PATH}.dist || fail "cannot keep {MAIN_CONF_PATH}"',
        "fi",
        _write_file(DROPIN_PATH, dropin_text),
        _write_file(MAIN_CONF_PATH, main_text),
        *_journald_lines(settings),
        f'rsyslogd -N1 -f {MAIN_CONF_PATH} || fail "rsyslogd -N1 refused {MAIN_CONF_PATH}"',
        'systemctl enable rsyslog || fail "systemctl enable rsyslog failed"',
        'systemctl restart rsyslog || fail "systemctl restart rsyslog failed"',
        f"for second in $(seq 1 {_LISTEN_WAIT_S}); do",
        f"  if (exec 3<>/dev/tcp/{host}/{port}) 2>/dev/null; then",
        f'    logger -t container-audit-log "node syslog ready on TCP {host}:{port}" || true',
        "    exit 0",
        "  fi",
        "  sleep 1",
        "done",
        f'fail "rsyslog does not answer on TCP {host}:{port} after {_LISTEN_WAIT_S} s '
        '(systemctl status rsyslog)"',
        "",
    ]
    return UserDataPart(SHELL_SCRIPT, "\n".join(lines))


def _probe_host(listen_address: str) -> str:
    """Where the installer checks that rsyslog listens: loopback when it binds all."""
    return "127.0.0.1" if listen_address in ("0.0.0.0", "::", "127.0.0.1") else listen_address  # noqa: S104


def _journald_lines(settings: NodeSyslogSettings) -> list[str]:
    """With imjournal, lift journald's own rate limit (see JOURNALD_DROPIN)."""
    if settings.journal != "imjournal":
        return []
    return [
        f"install -d -m 0755 {shlex.quote(str(PurePosixPath(JOURNALD_DROPIN_PATH).parent))}"
        ' || fail "cannot create the journald drop-in directory"',
        _write_file(JOURNALD_DROPIN_PATH, JOURNALD_DROPIN),
        'systemctl restart systemd-journald || fail "systemctl restart systemd-journald failed"',
    ]


def _write_file(path: str, text: str) -> str:
    encoded = base64.b64encode(text.encode()).decode("ascii")
    return (
        f"write_file {shlex.quote(path)} 0644 {shlex.quote(encoded)}"
        f" || fail {shlex.quote('cannot write ' + path)}"
    )
