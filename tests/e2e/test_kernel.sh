#!/bin/sh
# test_kernel - mailgovd's kernel path end to end: the rules from
# `mailgovctl rules install` send web users' SMTP SYNs to mailgovd over
# NFQUEUE, and its verdicts (allow, reject, or no mark = redirect to the
# queue instance) decide where each connection lands.  The remote MX and an
# exempt relay run smtp-sink in the MX namespace; the queue instance is an
# smtp-sink on the lab's port 2525.  Servers are told apart by the
# hostname in their greeting.
. "$(dirname "$0")/../lib.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
SOCK="$D/control.sock"
LOG="$D/mailgovd.log"
UNKNOWN=64050		# inside web_uids, no passwd entry
t_config "$CONF" <<EOF
control_socket = $SOCK
new_connections = 600/1m
alert_limit = 1000
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

# control CMD - one command on mailgovd's control socket, its answer
control() {
	php -r '
	    $s = @stream_socket_client("unix://" . $argv[1], $en, $es, 3);
	    if (!$s) { fwrite(STDERR, "connect: $es\n"); exit(1); }
	    fwrite($s, $argv[2] . "\n");
	    while (($l = fgets($s)) !== false && $l !== "\n") echo $l;
	' "$SOCK" "$1"
}

# start_daemon - mailgovd in the foreground in the lab, logging to $LOG
start_daemon() {
	: > "$LOG"
	# not through lab(): $! must be the daemon itself
	ip netns exec "$LAB" "$MAILGOVD" -d -v -f "$CONF" --db "$DB" \
	    2>>"$LOG" &
	DPID=$!
	t_on_exit "kill $DPID"
	t_wait 5 grep -q 'started: queue' "$LOG" || {
		cat "$LOG" >&2
		t_fail "mailgovd did not start"
		return 1
	}
}

sink "$LAB" 127.0.0.1:2525 queue.lab
sink "$LAB" '[::1]:2525' queue6.lab
sink "$MX" 192.0.2.25:25 mx.remote
sink "$MX" '[2001:db8::25]:25' mx6.remote
sink "$MX" 198.51.100.25:25 relay.remote

# WEB1 and WEB4 get auto accounts; WEB2 is blocked; WEB3 has a relay.
ctl account add exempt --uid "$WEB3" --relay 198.51.100.25:25 >/dev/null ||
    exit 1
ctl account add blocked --uid "$WEB2" >/dev/null || exit 1
ctl block blocked >/dev/null || exit 1
ctl rules install >/dev/null || exit 1
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_web_uid_to_remote_mx_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB1")"
}

test_web_uid_to_localhost_25_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 127.0.0.1 25 "$WEB1")"
}

test_root_reaches_the_mx_untouched() {
	t_match "root's banner" '^220 mx\.remote ' "$(banner 192.0.2.25 25)"
}

test_postfix_user_reaches_the_mx_untouched() {
	t_match "postfix's banner" '^220 mx\.remote ' \
	    "$(banner 192.0.2.25 25 postfix)"
}

test_exempt_account_reaches_its_relay() {
	t_match "exempt account to its relay" '^220 relay\.remote ' \
	    "$(banner 198.51.100.25 25 "$WEB3")" || return 1
	# any other destination is still redirected
	t_match "exempt account elsewhere" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB3")"
}

test_non_exempt_account_to_the_relay_is_redirected() {
	t_match "web user to someone else's relay" '^220 queue\.lab ' \
	    "$(banner 198.51.100.25 25 "$WEB1")"
}

test_blocked_account_reset_at_once() {
	_t0=$(date +%s%N)
	_out=$(banner 192.0.2.25 25 "$WEB2")
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	t_match "blocked account" 'refused' "$_out" || return 1
	[ "$_ms" -lt 2000 ] || t_fail "reset took ${_ms} ms, expected < 2000"
	t_match "daemon log" \
	    'event=reject account=blocked reason=blocked uid=64002 dst=192\.0\.2\.25:25' \
	    "$(cat "$LOG")"
}

test_third_concurrent_connection_refused() {
	# WEB4's auto account is created by its first connection; no rule
	# caps it, so the refusal below is mailgovd's own count.
	banner 192.0.2.25 25 "$WEB4" >/dev/null
	ctl budget set mgweb4 connections 2 >/dev/null || return 1
	sleep 2		# the daemon reloads once a second
	as_web "$WEB4" bash -c 'exec 3<>/dev/tcp/192.0.2.25/25; sleep 3' &
	_p1=$!
	as_web "$WEB4" bash -c 'exec 3<>/dev/tcp/192.0.2.25/25; sleep 3' &
	_p2=$!
	sleep 1
	_third=$(banner 192.0.2.25 25 "$WEB4")
	_other=$(banner 192.0.2.25 25 "$WEB1")
	wait $_p1 $_p2 2>/dev/null
	t_match "third connection" 'refused' "$_third" || return 1
	t_match "another account meanwhile" '^220 queue\.lab ' "$_other" ||
	    return 1
	t_match "daemon log" 'event=reject account=mgweb4 reason=connections ' \
	    "$(cat "$LOG")" || return 1
	t_match "crossing logged" \
	    'event=budget_over account=mgweb4 kind=connections ' \
	    "$(cat "$LOG")" || return 1
	t_match "after the two closed" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB4")"
}

test_ipv6_web_uid_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue6\.lab ' \
	    "$(banner 2001:db8::25 25 "$WEB1")" || return 1
	t_match "root's banner" '^220 mx6\.remote ' \
	    "$(banner 2001:db8::25 25)"
}

test_redirect_logged_with_account_and_destination() {
	banner 192.0.2.25 587 "$WEB1" >/dev/null
	t_match "daemon log" \
	    'event=redirect account=mgweb1 uid=64001 dst=192\.0\.2\.25:587' \
	    "$(cat "$LOG")"
}

test_flows_listing_has_original_destination() {
	banner 192.0.2.25 25 "$WEB1" >/dev/null
	t_match "flows" \
	    'dst=192\.0\.2\.25:25 uid=64001 account=mgweb1 verdict=redirect' \
	    "$(control flows)"
}

test_status_counts_accounts_and_flows() {
	_s=$(control status)
	t_match "status" '^accounts=[0-9]+' "$_s" || return 1
	t_match "status" 'flows=[1-9][0-9]*' "$_s" || return 1
	t_match "status" 'uptime=[0-9]+' "$_s" || return 1
	t_match "unknown command" '^error=unknown command' \
	    "$(control frobnicate)"
}

test_unknown_passwd_uid_maps_to_default() {
	t_match "unknown UID's banner" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$UNKNOWN")" || return 1
	t_match "flows" "uid=$UNKNOWN account=default verdict=redirect" \
	    "$(control flows)"
}

test_account_added_while_running_takes_effect() {
	# A site's first connection may race the daemon's next reload; by the
	# reload after that, the new account must own the UID.
	grep -q '^mgweb9:' /etc/passwd ||
	    echo "mgweb9:x:64009:64009::/nonexistent:/usr/sbin/nologin" \
	    >> /etc/passwd
	ctl account add late --uid 64009 >/dev/null || return 1
	banner 192.0.2.25 25 64009 >/dev/null
	sleep 2.5
	banner 192.0.2.25 2525 64009 >/dev/null
	t_match "flows" \
	    'dst=192\.0\.2\.25:2525 uid=64009 account=late verdict=redirect' \
	    "$(control flows)"
}

test_daemon_keeps_only_cap_net_admin() {
	_st=$(cat "/proc/$DPID/status")
	t_eq "CapEff" "0000000000001000" \
	    "$(echo "$_st" | awk '/^CapEff:/ {print $2}')" || return 1
	t_eq "CapPrm" "0000000000001000" \
	    "$(echo "$_st" | awk '/^CapPrm:/ {print $2}')" || return 1
	t_eq "CapBnd" "0000000000000000" \
	    "$(echo "$_st" | awk '/^CapBnd:/ {print $2}')" || return 1
	_uid=$(id -u mailgov)
	t_match "Uid" "^Uid:[[:space:]]+$_uid[[:space:]]+$_uid[[:space:]]+$_uid" \
	    "$(echo "$_st" | grep '^Uid:')"
}

test_database_handed_to_mailgov() {
	t_eq "owner of the database" mailgov "$(stat -c %U "$DB")" || return 1
	t_eq "owner of its directory" mailgov "$(stat -c %U "$D/db")"
}

test_second_daemon_on_same_queue_refused() {
	_out=$(lab timeout 10 "$MAILGOVD" -d -f "$CONF" --db "$DB" 2>&1)
	_rc=$?
	[ "$_rc" -ne 0 ] || t_fail "second daemon exited 0" || return 1
	t_match "second daemon's error" \
	    'NFQUEUE 0 is already bound by another process' "$_out" || return 1
	# and the first one still serves
	t_match "banner after" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB1")"
}

test_unprivileged_start_refused() {
	_out=$(lab setpriv --reuid=mailgov --regid=mailgov --clear-groups \
	    "$MAILGOVD" -d -f "$CONF" --db "$DB" 2>&1)
	[ $? -ne 0 ] || t_fail "unprivileged start exited 0" || return 1
	t_match "error" 'CAP_NET_ADMIN is missing' "$_out"
}

# Last: it stops the daemon.
test_zz_daemon_killed_still_redirected() {
	kill -9 "$DPID"
	sleep 0.5
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB1")" || return 1
	t_match "blocked account, no daemon" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB2")"
}

t_main "$@"
