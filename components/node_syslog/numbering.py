"""Numbered records: every message rsyslog forwards carries `seq` and `seq_instance`.

`seq` counts the messages one rsyslog process forwards, from 1, +1 per message, with no
gap by construction; `seq_instance` names that process's counter and changes whenever the
counter restarts (rsyslog restart, node reboot). A missing `seq` in the archive is then a
lost record, whatever lost it after this point.

Measured with rsyslogd 8.2302 (4 senders x 50,000 messages, 4 worker threads on the
ruleset): a global variable incremented with `set $/seq = $/seq + 1` repeated 22,623 of
200,000 numbers (the read and the write are two locked steps, workers interleave), and
`mmsequence` (mode "instance", under a mutex) was unique and gap-free but is deprecated
upstream and wraps its 32-bit counter after 2^31 messages. So the counter is a global
variable in a ruleset with ONE worker thread (its own queue): unique, gap-free, 64-bit,
400,000 of 400,000 numbered at about 200,000 msg/s. Numbers are assigned in the order
that worker takes messages, which is close to, but not exactly, arrival order across
senders.

RELP (optional, nodeSyslog.relp): imrelp runs all its sessions in one thread and acks a
message only after the ruleset it is bound to ran; that ruleset has no queue (the main
queue is Direct), so the imrelp thread itself numbers and writes, with a counter of its
own (`RELP_NUMBERING_STATEMENTS`): one rsyslog process then numbers under two instances.
The TCP/UDP/journal counter must never be run by imrelp too: measured, imtcp feeding the
same Direct ruleset raced the counter (2,500 duplicate numbers of 80,000).

The instance id is the rsyslog UUID of the first message the process numbers (random per
process); rsyslog builds without libuuid fall back to the start time and host name.

Pure: no Pulumi imports; the text is fixed (no user input reaches it).
"""

from __future__ import annotations

SEQ_FIELD = "seq"
SEQ_INSTANCE_FIELD = "seq_instance"
# The template of the handoff to the agent: "<seq> <seq_instance> " before the RFC 5424
# message (the same text as rsyslog's RSYSLOG_SyslogProtocol23Format).
FORWARD_TEMPLATE = "container_audit_numbered"
_RFC5424_TEXT = (
    "<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID% "
    "%STRUCTURED-DATA% %msg%"
)

# Bytes the numbering adds to each forwarded line: "<seq> <seq_instance> ", at most 20
# digits, a UUID (32 hex) or the fallback "<unix time>-<host name>[-relp]" (up to
# 11+1+64+5).
PREFIX_MAX_BYTES = 20 + 1 + 81 + 1


def numbering_statements(
    seq_var: str = "seq", instance_var: str = "seq_instance", fallback_suffix: str = ""
) -> tuple[str, ...]:
    """The statements that number one message with the counter in the globals `$/<seq_var>`
    and `$/<instance_var>` (one counter per pair of names), then copy both into the
    message's `$.seq` and `$.seq_instance`.

    `fallback_suffix` tells two counters of one process apart when the instance id falls
    back to the start time and host name (same second, same host).
    """
    seq, instance = f"$/{seq_var}", f"$/{instance_var}"
    fallback = '$$now-unixtimestamp & "-" & $$myhostname'
    if fallback_suffix:
        fallback += f' & "{fallback_suffix}"'
    return (
        # Set once per process (globals start empty): the first message's random UUID.
        f'if {instance} == "" then {{\n    set {instance} = $uuid;\n}}',
        f'if {instance} == "" then {{\n    set {instance} = {fallback};\n}}',
        # Only one thread runs this ruleset at a time (its own queue with one worker, or the
        # single imrelp thread): read+write is atomic.
        f"set {seq} = {seq} + 1;",
        # Message-local copies: the template is rendered later, by the action.
        f"set $.{SEQ_FIELD} = {seq};",
        f"set $.{SEQ_INSTANCE_FIELD} = {instance};",
    )


# The TCP/UDP/journal counter (container_audit_forward, one worker thread on its queue).
NUMBERING_STATEMENTS = numbering_statements()
# The RELP counter (container_audit_relp): imrelp runs every RELP session in one thread,
# and the ruleset has no queue, so that thread numbers; a counter of its own, never
# shared with the forwarding ruleset's worker (two threads would race one global).
RELP_NUMBERING_STATEMENTS = numbering_statements("relp_seq", "relp_seq_instance", "-relp")


# One line per record in the handoff file (rsyslog escapes control characters on
# receipt, so a message never carries a line feed of its own).
FORWARD_TEMPLATE_TEXT = f"%$.{SEQ_FIELD}% %$.{SEQ_INSTANCE_FIELD}% {_RFC5424_TEXT}\n"
