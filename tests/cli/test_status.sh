#!/bin/sh
# mailgovctl status and top with no mailgovd: they say so, with their own
# exit status (3) and a JSON document of the documented shape, and a user
# who is not root gets a permission error (4), not a half answer.  Run in
# a network namespace of their own, so that the machine's ruleset and
# NFQUEUE are never looked at.
. "$(dirname "$0")/lib_cli.sh"

# netns_ctl ARGS... - ctl in an empty network namespace
netns_ctl() {
	unshare --net "$MAILGOVCTL" --db "$DB" --config "$CONF" "$@" \
	    >"$D/out" 2>"$D/err"
	RC=$?
	OUT=$(cat "$D/out")
	ERR=$(cat "$D/err")
}

# as_nobody ARGS... - ctl as an unprivileged user
as_nobody() {
	chmod 0755 "$S" "$D"
	chmod 0644 "$CONF"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$MAILGOVCTL" \
	    --db "$DB" --config "$CONF" "$@" >"$D/out" 2>"$D/err"
	RC=$?
	OUT=$(cat "$D/out")
	ERR=$(cat "$D/err")
}

# nodaemon - a configuration whose control socket nobody serves
nodaemon() {
	setup
	echo "control_socket = $D/control.sock" >> "$CONF"
	ctl account add site --uid 64050 >/dev/null	# the database
}

test_status_without_mailgovd_exits_3() {
	t_require_root
	nodaemon
	netns_ctl status
	t_eq "exit status" 3 "$RC" || return
	t_match "first line" '^mailgovd: +not running$' "$OUT" || return
	t_match "the problem" \
	    "^problem: mailgovd is not running \\(nothing answers on $D/control.sock\\)$" \
	    "$OUT" || return
	t_match "NFQUEUE" 'NFQUEUE 0 +not bound' "$OUT" || return
	t_match "rules" '^problem: rules missing' "$OUT" || return
	t_match "held, from the database" '^held: +0 messages, 0 bytes$' "$OUT"
}

test_status_json_without_mailgovd() {
	t_require_root
	nodaemon
	netns_ctl status --json
	t_eq "exit status" 3 "$RC" || return
	printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] is False
assert d["mailgovd"] == {"running": False}, d["mailgovd"]
assert d["nfqueue"] == {"num": 0, "bound": False}, d["nfqueue"]
assert set(d["postfix"]) == {"main", "queue"}
assert set(d["postfix"]["queue"]) == {"config_directory", "running"}
assert d["rules"]["state"] == "missing", d["rules"]
assert d["held"] == {"messages": 0, "bytes": 0}
assert "flows" not in d and "commit" not in d and "redo" not in d
assert any(p.startswith("mailgovd is not running") for p in d["problems"])
' || t_fail "unexpected JSON: $OUT"
}

test_status_as_a_user_is_a_permission_error() {
	t_require_root
	nodaemon
	as_nobody status
	t_eq "exit status" 4 "$RC" || return
	t_eq "output" "" "$OUT" || return
	t_match "message" '^mailgovctl: status: permission denied: .* must run as root$' \
	    "$ERR"
}

test_top_without_mailgovd_exits_3() {
	nodaemon
	ctl top
	t_eq "exit status" 3 "$RC" || return
	t_eq "message" "mailgovctl: mailgovd is not running (nothing answers on $D/control.sock)" \
	    "$ERR"
}

test_top_as_a_user_is_a_permission_error() {
	t_require_root
	nodaemon
	# a socket only root may open, as mailgovd's is to other users
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$D/control.sock"
	chmod 0600 "$D/control.sock"
	as_nobody top
	t_eq "exit status" 4 "$RC" || return
	t_match "message" \
	    '^mailgovctl: permission denied on the control socket .*: only root and mailgovd.s user may use it$' \
	    "$ERR"
}

test_top_bad_arguments() {
	nodaemon
	ctl top -s x
	t_eq "exit status" 2 "$RC" || return
	t_match "message" "^mailgovctl: -s x: not a sort key" "$ERR" ||
	    return
	ctl top -n 0
	t_eq "exit status of -n 0" 2 "$RC" || return
	ctl status extra
	t_eq "exit status of status extra" 2 "$RC"
}

t_main "$@"
