#!/bin/sh
# test_queue - the whole queue path: the rules redirect web users' SMTP to
# the queue instance, mailgovd counts each message there, holds what is
# over budget and releases it as the budget refills; nothing is lost,
# nothing leaks.  Real Postfix (main and queue instance, set up by
# mailgovctl postfix setup), real rules, real mailgovd and
# mailgov-sendmail; the remote MX is an smtp-sink saving every message.
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
PAIR1=64011 PAIR2=64012		# web UIDs of two explicit accounts
LOCKED=64013			# the web UID of the locked-database test
# Fifteen clients start at once, and mailgov-sendmail's own connection to
# the queue counts too: the concurrency cap (10 by default) must not be
# what refuses them, only the message budget is under test here.
t_config "$CONF" <<EOF
control_socket = $D/control.sock
redo_log = ${MAILGOV_TEST_REDO:-off}
messages = 10/30s
connections = 50
new_connections = 600/1m
alert_limit = 1000
release_interval = 1s
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# sasl_submission - an authenticated submission service on the main
# instance, 127.0.0.1:587, with a Cyrus sasldb user alice
sasl_submission() {
	mkdir -p /etc/postfix/sasl
	printf '%s\n' 'pwcheck_method: auxprop' 'auxprop_plugin: sasldb' \
	    'mech_list: PLAIN LOGIN' 'sasldb_path: /etc/postfix/sasldb2' \
	    > /etc/postfix/sasl/smtpd.conf
	echo secret | saslpasswd2 -p -c -f /etc/postfix/sasldb2 \
	    -u lab.mailgov.test alice || return 1
	chown root:postfix /etc/postfix/sasldb2
	chmod 0640 /etc/postfix/sasldb2
	postconf -e cyrus_sasl_config_path=/etc/postfix/sasl
	postconf -Me "127.0.0.1:587/inet=127.0.0.1:587 inet n - n - - smtpd \
	    -o syslog_name=postfix/submission -o smtpd_sasl_auth_enable=yes \
	    -o smtpd_tls_security_level=none \
	    -o {smtpd_client_restrictions=permit_sasl_authenticated, reject} \
	    -o {smtpd_relay_restrictions=permit_sasl_authenticated, reject}"
}

pf_main_conf
sasl_submission || { echo "not ok - SASL submission setup failed"; exit 1; }
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add pair1 --uid "$PAIR1" >/dev/null || exit 1
ctl account add pair2 --uid "$PAIR2" >/dev/null || exit 1
ctl budget set pair1 messages 3/1h >/dev/null || exit 1
ctl budget set pair2 messages 3/1h >/dev/null || exit 1
ctl account add steady --uid "$WEB3" >/dev/null || exit 1
ctl budget set steady messages 3/1h >/dev/null || exit 1
ctl account add locked --uid "$LOCKED" >/dev/null || exit 1
ctl budget set locked messages 1/1h >/dev/null || exit 1
ctl account add subm --sasl alice@lab.mailgov.test >/dev/null || exit 1
ctl budget set subm messages 2/1h >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_fifteen_messages_ten_delivered_five_held() {
	# all at once: the budget gives one message back every 3 s, so
	# sending must not take that long
	php_mail "$WEB1" 5 > "$D/client.php" 2>&1 &&
	    rm -f "$D/client.php" &
	for _i in 1 2 3 4 5; do swaks_as "$WEB1" 192.0.2.25 25 & done
	for _i in 1 2 3 4 5; do swaks_as "$WEB1" 127.0.0.1 25 & done
	wait
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle 15 || { dump_logs; return 1; }
	t_eq "messages on the MX" 10 "$(pf_sink_count "$SINK")" || return
	t_eq "messages on hold" 5 "$(pf_queue_count hold)" || return
	t_eq "held for mgweb1 in the store" 5 "$(held mgweb1)"
}

test_held_mail_released_as_the_budget_refills() {
	pf_wait_count 60 15 pf_sink_count "$SINK" || return
	t_eq "left on hold" 0 "$(pf_queue_count hold)" || return
	t_eq "held in the store" 0 "$(held mgweb1)" || return
	# counts no answer waits for reach the database within a second or two
	t_wait 3 sh -c "$MAILGOVCTL --config '$CONF' --db '$DB' usage mgweb1 \
	    --json | grep -Eq '\"released\": ?5'"
	t_match "usage counts the releases" '"released": ?5' \
	    "$(ctl usage mgweb1 --json)" || return
	t_match "release logged" "released queue_id=[0-9A-Za-z]+ account=mgweb1" \
	    "$(cat "$LOG")"
}

# The release helper (it ran postsuper, postqueue -i and -j above) stays
# uid 0, because postsuper refuses any other, but keeps only CAP_SETGID and
# CAP_SETUID (0xc0), which postsuper needs to become the mail owner, in
# its bounding set too, with no_new_privs; and CAP_KILL (0x20), outside
# the bounding set, to end a tool that outlives its time limit.
test_release_helper_keeps_only_setuid_setgid_and_kill() {
	t_eq "postqueue failures logged" "" \
	    "$(grep -E 'postqueue -i .* exited|postqueue -j failed' "$LOG")" ||
	    return
	_h=$(sed -n 's/.*release: helper pid \([0-9]*\).*/\1/p' "$LOG" |
	    tail -1)
	[ -n "$_h" ] && [ -r "/proc/$_h/status" ] ||
	    t_fail "no release helper found (pid '$_h')" || return
	t_eq "its parent is mailgovd" "$(cat "$D/pid")" \
	    "$(awk '/^PPid:/ { print $2 }' "/proc/$_h/status")" || return
	for _f in CapInh:0000000000000000 CapPrm:00000000000000e0 \
	    CapEff:00000000000000e0 CapBnd:00000000000000c0 \
	    CapAmb:0000000000000000 NoNewPrivs:1; do
		t_eq "${_f%%:*}" "${_f#*:}" \
		    "$(awk -v k="${_f%%:*}:" '$1 == k { print $2 }' \
		    "/proc/$_h/status")" || return
	done
}

test_two_accounts_each_held_to_their_own_budget() {
	n0=$(pf_sink_count "$SINK")
	for _i in 1 2 3 4 5; do
		swaks_as "$PAIR1" 192.0.2.25 25 &
		swaks_as "$PAIR2" 192.0.2.25 25 &
	done
	wait
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle $((n0 + 10)) || return
	t_eq "delivered" $((n0 + 6)) "$(pf_sink_count "$SINK")" || return
	t_eq "pair1 held" 2 "$(held pair1)" || return
	t_eq "pair2 held" 2 "$(held pair2)"
}

test_hold_cli_list_release_delete() {
	n0=$(pf_sink_count "$SINK")
	out=$(ctl hold list)
	t_match "text listing" "pair1 .* site@lab.mailgov.test" "$out" ||
	    return
	out=$(ctl hold release pair1)
	t_eq "release output" "hold: released 2 messages" "$out" || return
	pf_wait_count 20 $((n0 + 2)) pf_sink_count "$SINK" || return
	t_eq "pair1 held after release" 0 "$(held pair1)" || return
	id=$(ctl hold list pair2 --json | grep -o '"queue_id": "[^"]*"' |
	    head -1 | cut -d'"' -f4)
	out=$(ctl hold delete "$id")
	t_eq "delete output" "hold: deleted 1 message" "$out" || return
	t_eq "pair2 held after deleting one" 1 "$(held pair2)" || return
	ctl hold delete pair2 >/dev/null || t_fail "hold delete pair2" ||
	    return
	t_eq "queue on hold" 0 "$(pf_queue_count hold)" || return
	sleep 2
	t_eq "deleted mail not delivered" $((n0 + 2)) \
	    "$(pf_sink_count "$SINK")" || return
	out=$(ctl hold release ZZZZZZZZ 2>&1)
	t_eq "release of an unknown queue ID" 1 "$?" || return
	out=$(ctl hold release '../etc' 2>&1)
	t_match "a bad argument" "neither an account nor a queue ID" "$out"
}

test_daemon_restart_resets_no_counter_and_loses_no_mail() {
	n0=$(pf_sink_count "$SINK")
	for _i in 1 2 3 4; do swaks_as "$WEB3" 192.0.2.25 25 & done
	wait
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle $((n0 + 4)) || return
	t_eq "delivered before restart" $((n0 + 3)) \
	    "$(pf_sink_count "$SINK")" || return
	stop_daemon || t_fail "mailgovd did not stop" || return
	start_daemon || return
	swaks_as "$WEB3" 127.0.0.1 25
	settle $((n0 + 5)) || return
	t_eq "delivered after restart" $((n0 + 3)) \
	    "$(pf_sink_count "$SINK")" || return
	t_eq "held for steady" 2 "$(held steady)" || return
	t_match "usage kept" '"messages": ?3' "$(ctl usage steady --json)" ||
	    return
	ctl hold release steady >/dev/null
	pf_wait_count 20 $((n0 + 5)) pf_sink_count "$SINK"
}

test_daemon_stopped_mail_held_then_adopted() {
	n0=$(pf_sink_count "$SINK")
	stop_daemon || t_fail "mailgovd did not stop" || return
	swaks_as "$WEB4" 192.0.2.25 25
	php_mail "$WEB4" 1
	pf_wait_count 15 2 pf_queue_count hold || return
	sleep 2
	t_eq "delivered while mailgovd is down" "$n0" \
	    "$(pf_sink_count "$SINK")" || return
	start_daemon || return
	# reconciled at start-up: adopted by the default account (whose
	# budget is not spent) and released
	pf_wait_count 30 $((n0 + 2)) pf_sink_count "$SINK" || return
	t_match "adoption logged" "adopted queue_id=[0-9A-Za-z]+ account=default" \
	    "$(cat "$LOG")" || return
	t_eq "on hold" 0 "$(pf_queue_count hold)"
}

test_sasl_submission_over_budget_deferred() {
	n0=$(pf_sink_count "$SINK")
	for _i in 1 2; do
		out=$(pf_smtp 127.0.0.1 587 alice@lab.mailgov.test \
		    x@example.net -a PLAIN -au alice@lab.mailgov.test \
		    -ap secret)
		t_match "submission $_i accepted" "<- +250 .*queued as" "$out" ||
		    return
	done
	out=$(pf_smtp 127.0.0.1 587 alice@lab.mailgov.test x@example.net \
	    -a PLAIN -au alice@lab.mailgov.test -ap secret)
	t_match "third submission deferred" "<\\*\\* +45[01] 4\\.7\\.1 " "$out" ||
	    return
	pf_wait_count 20 $((n0 + 2)) pf_sink_count "$SINK" || return
	t_eq "queue instance untouched" 0 "$(pf_queue_count)"
}

test_mail_held_while_the_database_is_locked_keeps_its_account() {
	n0=$(pf_sink_count "$SINK")
	swaks_as "$LOCKED" 192.0.2.25 25
	settle $((n0 + 1)) || return
	# Another writer holds the database for 6 s while a second message
	# arrives, over budget.  mailgovd cannot record the held message at
	# once; it must keep the row and write it when the lock goes, not
	# leave the message for the reconciler to give to the default
	# account.
	( echo ".timeout 5000"; echo "BEGIN IMMEDIATE;"; sleep 6
	    echo "COMMIT;" ) | sqlite3 "$DB" >/dev/null 2>&1 &
	t_wait 5 sh -c "! sqlite3 '$DB' 'BEGIN IMMEDIATE; ROLLBACK;' \
	    >/dev/null 2>&1" || { wait; t_fail "the lock was not taken"; } ||
	    return
	swaks_as "$LOCKED" 192.0.2.25 25
	wait
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	t_wait 10 sh -c "$MAILGOVCTL --config '$CONF' --db '$DB' hold list \
	    locked --json | grep -q queue_id"
	t_eq "held for locked" 1 "$(held locked)" || { dump_logs; return 1; }
	t_eq "held for default" 0 "$(held default)" || return
	t_match "the row waited for the lock" \
	    "held rows written after the database refused them" "$(cat "$LOG")"
}

t_main "$@"
