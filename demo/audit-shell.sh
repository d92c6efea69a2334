# container-audit-log demo: send what is typed in bash to node syslog (RFC 5424).
#
# Mounted as /etc/bash.bashrc, which every interactive bash reads (`kubectl exec -it POD
# -- bash`), and named by BASH_ENV, which every non-interactive bash reads
# (`kubectl exec POD -- bash -c '...'`).
#
# What it catches: each line typed at an interactive bash prompt, once, BEFORE it runs
# (so `sleep infinity` or `exec ...` are still logged), the whole line as typed; and the
# command string of `bash -c`. What it does not: commands exec'd without bash
# (`kubectl exec POD -- cat /etc/shadow`: only the API server's audit log sees that
# request); a user who turns it off (`trap - DEBUG`, `bash --norc`, `env -u BASH_ENV`).
# It is an honest trail of ordinary use, not a tamper-proof one: for that use a runtime
# sensor (Falco, Tetragon) alongside.

__cal_script=${AUDIT_EVENTS_SCRIPT:-/opt/container-audit/audit_events.py}

__cal_send() {
    # Never block or clutter the prompt: the script times out after 1 s and prints nothing.
    python3 "$__cal_script" "$@" </dev/null >/dev/null 2>&1 || true
}

case $- in
*i*)
    # Every line counts, and nothing is written to the (read-only) filesystem.
    HISTCONTROL=
    HISTIGNORE=
    HISTFILE=
    PS1='\u@\h:\w\$ '
    __cal_last=
    __cal_hook() {
        [[ -n ${COMP_LINE-} ]] && return 0 # tab completion, not a command
        local entry number line
        if [[ -o history ]]; then
            # The typed line is in the history before its first command runs; log it
            # once, however many simple commands (pipes, ';', loops) it holds.
            entry=$(HISTTIMEFORMAT= builtin history 1) || return 0
            [[ $entry =~ ^\ *([0-9]+)\*?\ \ (.*)$ ]] || return 0
            number=${BASH_REMATCH[1]}
            line=${BASH_REMATCH[2]}
            [[ $number == "$__cal_last" ]] && return 0
            __cal_last=$number
        else
            # History switched off: fall back to each simple command as bash runs it.
            line=$BASH_COMMAND
        fi
        __cal_send shell-command --pid "$$" --shell bash -- "$line"
    }
    __cal_send shell-start --pid "$$" --shell bash
    trap '__cal_hook' DEBUG
    ;;
*)
    if [[ -n ${BASH_EXECUTION_STRING-} ]]; then
        __cal_send shell-command --pid "$$" --shell bash -- "$BASH_EXECUTION_STRING"
    fi
    ;;
esac
