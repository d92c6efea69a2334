# container-audit-log demo: note in node syslog that a POSIX sh was opened.
#
# Named by ENV, which an interactive sh (dash) reads: `kubectl exec -it POD -- sh`.
# dash has no DEBUG trap and no PROMPT_COMMAND, so the commands typed in it are NOT
# logged one by one: only that the shell started. Use bash for per-command audit.
case $- in
*i*)
    python3 "${AUDIT_EVENTS_SCRIPT:-/opt/container-audit/audit_events.py}" \
        shell-start --pid "$$" --shell sh </dev/null >/dev/null 2>&1 || true
    ;;
esac
