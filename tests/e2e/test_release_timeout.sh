#!/bin/sh
# test_release_timeout - a postsuper that never returns no longer blocks
# the release helper for ever.  mailgov.conf's postsuper key names a
# stand-in that runs the real postsuper, except once: then it becomes the
# mail owner (as the real one does before it touches the queue) and
# sleeps, with a sleeper of its own beside it.  With the helper's time
# limit at 2 s (MAILGOV_HELPER_TIMEOUT), the stuck release is logged and
# killed with its whole process group, the releases queued behind it are
# served, the helper lives on, and the stuck message goes on the retry,
# charged once: the failed attempt gave its charge back.  Before that,
# held mail parked on a budget of 0 goes within a few release intervals
# once the admin raises the budget, without a restart.
#
# Real rules, Postfix, mailgovd and clients as a web user.  The tests run
# in file order and share the daemon and Postfix.

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

# The stand-in: the first call after $D/stick appears never returns
cat > "$D/postsuper" <<EOF
#!/bin/sh
if [ -e '$D/stick' ]; then
	rm -f '$D/stick'
	echo \$\$ > '$D/stuck.pid'
	sleep 3600 &
	echo \$! > '$D/sleeper.pid'
	touch '$D/stuck.uid' && chmod 0666 '$D/stuck.uid'
	exec setpriv --reuid=postfix --regid=postfix --clear-groups \
	    sh -c "id -u > '$D/stuck.uid'; exec sleep 3601"
fi
exec /usr/sbin/postsuper "\$@"
EOF
chmod 0755 "$D/postsuper"
# mailgovctl finds postconf and postmulti next to postsuper
ln -s /usr/sbin/postconf "$D/postconf"
ln -s /usr/sbin/postmulti "$D/postmulti"

t_config "$CONF" <<EOF
control_socket = $D/control.sock
release_interval = 1s
postsuper = $D/postsuper
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# gone PIDFILE - the process it names no longer runs (or is a zombie)
gone() {
	_g=$(cat "$1" 2>/dev/null)
	[ -n "$_g" ] || return 1
	[ ! -r "/proc/$_g/stat" ] || sed 's/.*) //' "/proc/$_g/stat" |
	    grep -q '^[ZX]'
}

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add slow --uid "$WEB1" >/dev/null || exit 1
ctl budget set slow messages 0/1h >/dev/null || exit 1
ctl account add zero --uid "$WEB2" >/dev/null || exit 1
ctl budget set zero messages 0/1h >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_mail_over_a_budget_of_zero_is_held() {
	for _i in 1 2 3; do swaks_as "$WEB1" 192.0.2.25 25; done
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle 3 || { dump_logs; return 1; }
	t_eq "delivered" 0 "$(pf_sink_count "$SINK")" || return
	t_eq "held for slow" 3 "$(held slow)"
}

# remaining ACCOUNT - what its messages budget (one window) allows now
remaining() {
	ctl usage "$1" --json |
	    sed -n 's/.*"messages":{[^}]*"remaining":\([0-9]*\).*/\1/p'
}

# Held mail waits for its budget, which a budget of 0 never gives; once
# the admin raises it, the mail goes at the next release tick (a second
# here), not at the next reconcile with the queue a minute after the
# last, nor after a restart.
test_raised_budget_releases_parked_mail_within_seconds() {
	_n0=$(pf_sink_count "$SINK")
	for _i in 1 2; do swaks_as "$WEB2" 192.0.2.25 25; done
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle $((_n0 + 5)) || { dump_logs; return 1; }
	t_eq "held for zero" 2 "$(held zero)" || return
	# two release ticks see it over its budget and park it (were the
	# budget raised before, the mail would go either way)
	sleep 2
	ctl budget set zero messages 100/1d >/dev/null || return
	pf_wait_count 10 $((_n0 + 2)) pf_sink_count "$SINK" ||
	    { dump_logs; return 1; }
	t_eq "held for zero" 0 "$(held zero)" || return
	t_eq "slow's still held" 3 "$(held slow)"
}

# The budget is back and mailgovd restarts with the stand-in armed: the
# first of the three releases sticks.  A daily budget, so that what is
# left of it after the test is exact.
test_a_stuck_postsuper_is_killed_and_the_rest_released() {
	_n0=$(pf_sink_count "$SINK")
	ctl budget set slow messages 100/1d >/dev/null || return
	stop_daemon || t_fail "mailgovd did not stop" || return
	touch "$D/stick"
	export MAILGOV_HELPER_TIMEOUT=2
	start_daemon || return
	_h=$(sed -n 's/.*release: helper pid \([0-9]*\).*/\1/p' "$LOG" |
	    tail -1)
	t_wait 20 grep -q 'timed out' "$LOG" ||
	    { dump_logs; t_fail "no time-out logged"; } || return
	t_match "the time-out logged" \
	    "release: postsuper -H [0-9A-Za-z]+ timed out after 2 s; killed with its process group" \
	    "$(cat "$LOG")" || return
	pf_wait_count 20 $((_n0 + 2)) pf_sink_count "$SINK" ||
	    { dump_logs; return 1; }
	t_eq "held for slow" 1 "$(held slow)" || return
	t_eq "the stuck one ran as the mail owner" "$(id -u postfix)" \
	    "$(cat "$D/stuck.uid" 2>/dev/null)" || return
	t_wait 5 gone "$D/stuck.pid" ||
	    t_fail "the stuck postsuper (the mail owner's) still runs" ||
	    return
	t_wait 5 gone "$D/sleeper.pid" ||
	    t_fail "the sleeper it forked still runs" || return
	[ -n "$_h" ] && kill -0 "$_h" 2>/dev/null ||
	    t_fail "the release helper ($_h) is gone" || return
	t_eq "helper gone logged" "" \
	    "$(grep 'privileged helper is gone' "$LOG")"
}

# A failed release is tried again a minute later: the message goes,
# and each of the three is charged once (the stuck attempt gave its
# charge back).
test_the_stuck_message_goes_on_the_retry_charged_once() {
	pf_wait_count 90 5 pf_sink_count "$SINK" ||
	    { dump_logs; return 1; }
	t_eq "held for slow" 0 "$(held slow)" || return
	t_eq "on hold in Postfix" 0 "$(pf_queue_count hold)" || return
	wait_counter slow messages 3 || return
	t_eq "slow's budget left (100/1d, three messages)" 97 \
	    "$(remaining slow)"
}

t_main
