#!/bin/sh
# test_counters - every usage counter means what docs/mailgovctl.md says,
# on every path that moves it: connections reset by the kernel path
# (blocked, over the concurrency cap), recipients refused over
# recipients_per_message, messages released by the budget and by
# `mailgovctl hold release`, and mail adopted after mailgovd was down.
# Also: no phantom hold after a release, and mail() callers told what the
# queue refused.  Real rules, Postfix, mailgovd and clients as web users.
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
HR=64021		# the account whose mail is held and released
t_config "$CONF" <<EOF
control_socket = $D/control.sock
messages = 100/1h
alert_limit = 1000
release_interval = 1s
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add blk --uid "$WEB2" >/dev/null || exit 1
ctl account add cap --uid "$WEB3" >/dev/null || exit 1
ctl budget set cap connections 1 >/dev/null || exit 1
ctl account add rc --uid "$WEB4" >/dev/null || exit 1
ctl budget set rc recipients_per_message 2 >/dev/null || exit 1
ctl account add hr --uid "$HR" >/dev/null || exit 1
ctl budget set hr messages 1/1h >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_blocked_connection_counts_as_refused() {
	ctl block blk >/dev/null || return
	_b=$(banner 192.0.2.25 25 "$WEB2")
	printf '%s' "$_b" | grep -q '^220' &&
	    t_fail "a blocked account got a banner: $_b"
	wait_counter blk refused 1 || return
	t_eq "blk's connections" 0 "$(counter blk connections)"
}

test_connection_over_the_cap_counts_as_refused() {
	# the first connection stays open while the second is tried
	as_web "$WEB3" bash -c 'exec 3<>/dev/tcp/192.0.2.25/25 &&
	    head -1 <&3 >/dev/null && sleep 4' &
	t_wait 5 sh -c "ip netns exec '$LAB' ss -tn state established |
	    grep -q ':2525 '" || t_fail "the first connection did not open" ||
	    return
	_b=$(banner 192.0.2.25 25 "$WEB3")
	wait
	printf '%s' "$_b" | grep -q '^220' &&
	    t_fail "the second connection got a banner: $_b"
	wait_counter cap refused 1 || return
	wait_counter cap connections 1
}

test_recipient_over_the_cap_counts_as_refused_and_says_why() {
	_out=$(as_web "$WEB4" php -n -d "sendmail_path=$SENDMAIL -t -i" -r '
	    exit(mail("a@example.net, b@example.net, c@example.net", "rc",
		"body", "From: site@lab.mailgov.test") ? 0 : 1);' 2>&1)
	t_eq "mail() with three recipients" 1 "$?" || return
	t_match "the caller's error" \
	    'deferred recipient <c@example.net>, nothing sent: 452 4\.5\.3 .*recipients_per_message 2 exceeded' \
	    "$_out" || return
	printf '%s' "$_out" | grep -q unavailable &&
	    t_fail "the queue answered, yet the error says: $_out"
	wait_counter rc refused 1 || return
	t_eq "rc's messages" 0 "$(counter rc messages)"
}

test_budget_release_counts_released_and_messages() {
	n0=$(pf_sink_count "$SINK")
	swaks_as "$HR" 192.0.2.25 25
	swaks_as "$HR" 192.0.2.25 25
	swaks_as "$HR" 192.0.2.25 25
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle $((n0 + 3)) || return
	t_eq "delivered" $((n0 + 1)) "$(pf_sink_count "$SINK")" || return
	t_eq "held" 2 "$(held hr)" || return
	wait_counter hr held 2 || return
	wait_counter hr messages 1
}

test_hold_release_counts_released_and_messages() {
	n0=$(pf_sink_count "$SINK")
	t_eq "release" "hold: released 2 messages" "$(ctl hold release hr)" ||
	    return
	pf_wait_count 20 $((n0 + 2)) pf_sink_count "$SINK" || return
	wait_counter hr released 2 || return
	wait_counter hr messages 3 || return
	wait_counter hr recipients 3
}

test_no_phantom_hold_after_a_release_and_a_reset() {
	n0=$(pf_sink_count "$SINK")
	l0=$(wc -l < "$PFLOG/queue.log")
	sleep 2		# a release tick finds nothing held
	ctl reset hr >/dev/null || return
	sleep 1.5	# mailgovd sees the reset
	swaks_as "$HR" 192.0.2.25 25
	! clients_failed || t_fail "the client failed" || return
	# delivered at once, not held until a later tick
	pf_wait_count 5 $((n0 + 1)) pf_sink_count "$SINK" || { dump_logs;
	    return 1; }
	t_eq "held mail waiting after the reset" "" \
	    "$(tail -n +$((l0 + 1)) "$PFLOG/queue.log" |
	    grep 'account hr has held mail waiting')"
}

test_adopted_mail_counts_for_the_account_that_adopts_it() {
	n0=$(pf_sink_count "$SINK")
	m0=$(counter default messages)
	stop_daemon || t_fail "mailgovd did not stop" || return
	swaks_as "$WEB1" 192.0.2.25 25
	pf_wait_count 15 1 pf_queue_count hold || return
	start_daemon || return
	pf_wait_count 30 $((n0 + 1)) pf_sink_count "$SINK" || return
	wait_counter default held 1 || return
	wait_counter default released 1 || return
	wait_counter default messages $((m0 + 1))
}

test_suppressed_alert_counts_survive_a_stop() {
	stop_daemon || t_fail "mailgovd did not stop" || return
	echo "alert_limit = 1" >> "$CONF"
	sed -i '/^alert_limit = 1000$/d' "$CONF"
	start_daemon || return
	for _i in 1 2 3; do banner 192.0.2.25 25 "$WEB2" >/dev/null; done
	t_wait 5 sh -c "grep -c 'event=reject account=blk' '$LOG' |
	    grep -qx 1" || t_fail "expected one reject line: $(cat "$LOG")" ||
	    return
	stop_daemon || t_fail "mailgovd did not stop" || return
	t_match "the count reported on the way out" \
	    "event=alerts_suppressed account=blk count=2" "$(cat "$LOG")" ||
	    return
	t_match "and recorded" "alerts_suppressed" "$(ctl events blk)"
}

t_main "$@"
