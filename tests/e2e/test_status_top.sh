#!/bin/sh
# test_status_top - the operator's two views of a running system.
# mailgovctl status checks mailgovd, NFQUEUE, both Postfix instances, the
# rules and held mail, and says what is wrong in its exit status;
# mailgovctl top shows who sends, hottest first, full-screen in a
# terminal (tmux here, 80x24, read back with capture-pane) and as plain
# lines otherwise.  Real Postfix (both instances), real rules, real
# mailgovd, PHP mail() through mailgov-sendmail.
#
# The tests run in file order and share the daemon and Postfix.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
SINK="$D/sink"
TMUX_SOCK="$D/tmux.sock"
# three messages an hour each: mgweb1 sends six (three held), mgweb2 two
t_config "$CONF" <<EOF
control_socket = $D/control.sock
messages = 3/1h 1000/1d
connections = 50
alert_limit = 1000
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# tm ARGS... - tmux on a server of this file's own
tm() { tmux -S "$TMUX_SOCK" "$@"; }
t_on_exit "tmux -S '$TMUX_SOCK' kill-server"

# status_rc - mailgovctl status's exit status; its output in $D/status
status_rc() {
	ctl status > "$D/status" 2>&1
	echo $?
}

# screen - the tmux pane as text
screen() { tm capture-pane -p -t top; }

# on_screen SECONDS REGEX - wait until a line of the pane matches
on_screen() {
	t_wait "$1" sh -c "tmux -S '$TMUX_SOCK' capture-pane -p -t top |
	    grep -Eq -- '$2'"
}

# off_screen SECONDS REGEX - wait until no line of the pane matches
off_screen() {
	t_wait "$1" sh -c "! tmux -S '$TMUX_SOCK' capture-pane -p -t top |
	    grep -Eq -- '$2'"
}

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_status_all_well() {
	_rc=$(status_rc)
	_s=$(cat "$D/status")
	t_eq "exit status (output: $_s)" 0 "$_rc" || return
	t_match "daemon" "^mailgovd: +running, pid $(cat "$D/pid"), up " \
	    "$_s" || return
	t_match "NFQUEUE" 'NFQUEUE 0 +bound' "$_s" || return
	t_match "main instance" 'main instance: +running \(/etc/postfix\)' \
	    "$_s" || return
	t_match "queue instance" \
	    'queue instance: running \(/etc/postfix-mailgov\)' "$_s" || return
	t_match "rules" 'rules: +iptables, [0-9]+ lines, as configured' \
	    "$_s" || return
	t_match "held" 'held: +0 messages, 0 bytes' "$_s" || return
	t_match "flow table" 'flow table: +[0-9]+ of [1-9][0-9]* \([0-9]+%\)' \
	    "$_s" || return
	t_match "redo log" 'redo log: +[0-9]+ records? not yet in the database' \
	    "$_s" || return
	t_match "group commit" 'group commit: +(none since start|[0-9]+[dhms])' \
	    "$_s" || return
	t_match "verdict" '^all well$' "$(tail -1 "$D/status")"
}

test_status_json_shape() {
	_j=$(ctl status --json) || t_fail "status --json exited $?" || return
	printf '%s' "$_j" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] is True, d
assert d["mailgovd"]["running"] is True and d["mailgovd"]["uptime"] >= 0
assert d["nfqueue"]["num"] == 0 and d["nfqueue"]["bound"] is True
assert d["postfix"]["main"]["running"] and d["postfix"]["queue"]["running"]
assert d["rules"]["state"] == "ok", d["rules"]
assert d["held"] == {"messages": 0, "bytes": 0}, d["held"]
assert d["flows"]["max"] > 0 and d["flows"]["count"] >= 0
assert set(d["commit"]) == {"age_ms", "batches", "failing"}
assert d["redo"]["enabled"] is True and d["redo"]["lag"] >= 0
assert d["problems"] == []
' || t_fail "unexpected status --json: $_j"
}

test_top_in_tmux_shows_the_hottest_account_first() {
	php_mail "$WEB2" 2 || t_fail "mgweb2's mail() failed" || return
	php_mail "$WEB1" 6 || t_fail "mgweb1's mail() failed" || return
	settle 8 || { dump_logs; return 1; }
	tm new-session -d -s top -x 80 -y 24 sh || return
	tm send-keys -t top "ip netns exec $LAB $MAILGOVCTL --config $CONF \
--db $DB top" Enter
	on_screen 10 '^mgweb2 ' ||
	    t_fail "no mgweb2 row on the screen: $(screen)" || return
	screen > "$D/screen"
	_scr=$(cat "$D/screen")
	t_match "title" '^mailgovctl top  [0-9:]+  2 accounts active' \
	    "$_scr" || return
	t_match "header" \
	    '^ACCOUNT +MSG/M LAST HOUR +LEFT +HELD +REL +REF +RDR SCRIPT' \
	    "$_scr" || return
	# the hottest first: mgweb1's six (five if a minute turned since),
	# three held, nothing left of its three an hour
	t_match "first row (screen: $_scr)" \
	    '^mgweb1 +[56] .* +0 +3 +0 +0 +0 [^ ]+$' "$(sed -n 4p "$D/screen")" ||
	    return
	t_match "second row" '^mgweb2 +[12] .* +1 +0 +0 +0 +0 [^ ]+$' \
	    "$(sed -n 5p "$D/screen")" || return
	# characters, not bytes: the sparkline's blocks are 3 bytes each
	_w=$(python3 -c 'import sys
print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' \
	    "$D/screen")
	[ "$_w" -le 80 ] || t_fail "a line of $_w columns on an 80-column screen"
}

test_top_sorts_by_key() {
	tm send-keys -t top a
	on_screen 5 '^sort: name' ||
	    t_fail "no 'sort: name' after 'a': $(screen)" || return
	t_match "by name, mgweb1 still first" '^mgweb1 ' \
	    "$(screen | sed -n 4p)" || return
	tm send-keys -t top h
	on_screen 5 '^sort: held' ||
	    t_fail "no 'sort: held' after 'h': $(screen)"
}

test_top_q_quits_and_restores_the_terminal() {
	tm send-keys -t top q
	off_screen 5 '^ACCOUNT ' ||
	    t_fail "top still on the screen after q: $(screen)" || return
	tm send-keys -t top "stty -a > $D/stty; echo done-\$?" Enter
	on_screen 5 '^done-0' || t_fail "the shell did not answer: $(screen)" ||
	    return
	t_match "cooked mode again" '[^-]icanon' "$(cat "$D/stty")" || return
	t_match "echo again" '[^-]echo ' "$(cat "$D/stty")"
}

test_top_sigterm_restores_the_terminal() {
	tm send-keys -t top "clear; ip netns exec $LAB $MAILGOVCTL --config \
$CONF --db $DB top" Enter
	on_screen 10 '^ACCOUNT ' || t_fail "top did not start: $(screen)" ||
	    return
	_sh=$(tm display-message -p -t top '#{pane_pid}')
	_top=$(pgrep -P "$_sh" -x mailgovctl)
	[ -n "$_top" ] || t_fail "no mailgovctl under the pane's shell" ||
	    return
	kill -TERM "$_top"
	off_screen 5 '^ACCOUNT ' ||
	    t_fail "top still on the screen after SIGTERM: $(screen)" || return
	tm send-keys -t top "stty -a > $D/stty2; echo again-\$?" Enter
	on_screen 5 '^again-0' || t_fail "no shell: $(screen)" || return
	t_match "cooked mode after SIGTERM" '[^-]icanon' "$(cat "$D/stty2")"
}

test_top_n_on_a_terminal_prints_plain_lines() {
	tm send-keys -t top "clear; ip netns exec $LAB $MAILGOVCTL --config \
$CONF --db $DB top -n 1; echo rc-\$?" Enter
	on_screen 10 '^rc-0' || t_fail "top -n 1 did not end: $(screen)" ||
	    return
	t_match "the plain header, left on the screen" \
	    '^ACCOUNT MSG/M LEFT HELD REL REF RDR SCRIPT LAST-HOUR$' \
	    "$(screen)" || return
	t_match "mgweb1's row" '^mgweb1 [56] 0 3 ' "$(screen)"
}

test_top_not_a_tty_prints_plain_lines() {
	_out=$(ctl top) || t_fail "top exited $?" || return
	t_eq "escape sequences" "" "$(printf '%s' "$_out" | tr -cd '\033')" ||
	    return
	t_match "a header line" \
	    '^ACCOUNT MSG/M LEFT HELD REL REF RDR SCRIPT LAST-HOUR$' \
	    "$_out" || return
	t_match "mgweb1 first" '^mgweb1 [56] 0 3 0 0 0 [^ ]+ \|' \
	    "$(printf '%s\n' "$_out" | sed -n 3p)" || return
	_j=$(ctl top -n 1 --json) || t_fail "top --json exited $?" || return
	printf '%s' "$_j" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["rows"]
assert [x["account"] for x in r] == ["mgweb1", "mgweb2"], r
assert r[0]["messages"] == 6 and r[0]["held"] == 3 and r[0]["left"] == 0
assert r[0]["script"].startswith("/usr/bin/php") and len(r[0]["minutes"]) == 60
assert sum(r[0]["minutes"]) == 6
' || t_fail "unexpected top --json: $_j"
}

test_status_counts_held_mail() {
	_rc=$(status_rc)
	t_eq "exit status" 0 "$_rc" || return
	t_match "held" 'held: +3 messages, [1-9][0-9]* bytes' \
	    "$(cat "$D/status")"
}

test_status_names_a_stopped_queue_instance() {
	lab postfix -c "$QDIR" stop >/dev/null 2>&1
	_rc=$(status_rc)
	lab postfix -c "$QDIR" start >/dev/null 2>&1
	t_eq "exit status" 1 "$_rc" || return
	t_match "named" \
	    '^problem: the queue instance \(/etc/postfix-mailgov\) is not running' \
	    "$(cat "$D/status")" || return
	t_match "its line" 'queue instance: not running' "$(cat "$D/status")"
}

test_status_says_rules_missing() {
	ctl rules remove >/dev/null || t_fail "rules remove failed" || return
	_rc=$(status_rc)
	ctl rules install >/dev/null
	t_eq "exit status" 1 "$_rc" || return
	t_match "said" '^problem: rules missing' "$(cat "$D/status")" || return
	_rc=$(status_rc)
	t_eq "exit status once installed again" 0 "$_rc" ||
	    t_fail "$(cat "$D/status")"
}

test_status_sees_rules_changed_by_hand() {
	lab iptables -t nat -F MAILGOV || return
	_rc=$(status_rc)
	ctl rules refresh >/dev/null
	t_eq "exit status" 1 "$_rc" || return
	t_match "said" '^problem: rules: the loaded iptables rules .* differ' \
	    "$(cat "$D/status")" || return
	_rc=$(status_rc)
	t_eq "exit status after rules refresh" 0 "$_rc" ||
	    t_fail "$(cat "$D/status")"
}

test_status_mailgovd_stopped() {
	stop_daemon || return
	_rc=$(status_rc)
	t_eq "exit status" 3 "$_rc" || return
	t_match "said" '^mailgovd: +not running' "$(cat "$D/status")" ||
	    return
	t_match "queue unbound" 'NFQUEUE 0 +not bound' "$(cat "$D/status")" ||
	    return
	t_match "json" '"mailgovd": \{"running": false\}' \
	    "$(ctl status --json)"
}

t_main "$@"
