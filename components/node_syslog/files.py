"""The files node syslog runs, from its settings: the drop-in (numbering and handoff, with
the heartbeat and counters when monitored), the main config, and the EKS node user data
that installs them. Pure: no Pulumi imports; components.node_syslog.component ships them.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from components.node_syslog.daemonset import CONFIG_DIR, MAIN_FILE
from components.node_syslog.gate import TAINT_EFFECT, TAINT_KEY, node_config
from components.node_syslog.monitoring import RsyslogMonitoring, render_monitoring_conf
from components.node_syslog.rsyslog import (
    DROPIN_PATH,
    NodeSyslogSettings,
    render_main_conf,
    render_rsyslog_conf,
)
from components.node_syslog.user_data import (
    NODE_CONFIG,
    UserDataPart,
    render_user_data,
    rsyslog_install_part,
)

DROPIN_FILE = PurePosixPath(DROPIN_PATH).name


def node_dropin(settings: NodeSyslogSettings, monitoring: RsyslogMonitoring | None) -> str:
    """The forwarding drop-in, with the heartbeat and counters appended when monitored."""
    dropin = render_rsyslog_conf(settings)
    return dropin + render_monitoring_conf(monitoring) if monitoring else dropin


def node_user_data(
    settings: NodeSyslogSettings, monitoring: RsyslogMonitoring | None = None
) -> str | None:
    """The EKS node user data, or None outside `userdata` mode: the node registers with the
    startup taint (NodeConfig), then installs rsyslog (shell part); the syslog-gate lifts
    the taint once rsyslog answers."""
    if settings.mode != "userdata":
        return None
    dropin = node_dropin(settings, monitoring)
    taint = f"{TAINT_KEY}=true:{TAINT_EFFECT}"
    return render_user_data(
        [UserDataPart(NODE_CONFIG, node_config()), rsyslog_install_part(dropin, settings, taint)]
    )


def config_files(
    settings: NodeSyslogSettings, monitoring: RsyslogMonitoring | None = None
) -> dict[str, str]:
    """The files rsyslog reads: on the node (`userdata`) or in the pod (`daemonset`)."""
    dropin_path = DROPIN_PATH if settings.mode == "userdata" else f"{CONFIG_DIR}/{DROPIN_FILE}"
    return {
        MAIN_FILE: render_main_conf(settings, dropin_path=dropin_path),
        DROPIN_FILE: node_dropin(settings, monitoring),
    }
