#!/bin/sh
# test_attack_hold - held mail is bounded: a web user over its budget
# cannot fill the spool.  Past held_messages_max or held_bytes_max the
# queue instance answers 4xx at the end of data, mail() fails with the
# reason, and every message is delivered, held, or refused with an error
# its sender saw.  The queue instance refuses a message over its
# message_size_limit, and all mail below its free-space floor
# (queue_minfree).  Real rules, Postfix, mailgovd, PHP and
# mailgov-sendmail, as web users.
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
MSL=1048576		# the main instance's message_size_limit here
HC=64021		# the account whose clients come all at once
t_config "$CONF" <<EOF
control_socket = $D/control.sock
held_messages_max = 3
held_bytes_max = 100k
alert_limit = 1000
release_interval = 1s
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# php_flood UID N BYTES - N messages of about BYTES bytes each through
# PHP's mail(), one after another; prints how many calls returned false.
# What mailgov-sendmail said goes to $D/php.err.
php_flood() {
	as_web "$1" php -n -d display_errors=stderr \
	    -d "sendmail_path=$SENDMAIL -t -i" -r '
	    $body = str_repeat(str_repeat("x", 75) . "\n",
		intdiv((int)$argv[2], 76) + 1);
	    $failed = 0;
	    for ($i = 0; $i < (int)$argv[1]; $i++)
		if (!mail("x@example.net", "mailgov flood $i", $body,
		    "From: site@lab.mailgov.test"))
			$failed++;
	    echo $failed, "\n";' "$2" "$3" 2>"$D/php.err"
}

# held_bytes ACCOUNT - the sizes of ACCOUNT's held messages, summed
held_bytes() {
	ctl hold list "$1" --json | grep -o '"size": [0-9]*' |
	    awk '{ s += $2 } END { print s + 0 }'
}

pf_main_conf
postconf -e "message_size_limit = $MSL"
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add hm --uid "$WEB1" >/dev/null || exit 1
ctl budget set hm messages 1/1h >/dev/null || exit 1
ctl account add hb --uid "$WEB2" >/dev/null || exit 1
ctl budget set hb messages 1/1h >/dev/null || exit 1
ctl account add hc --uid "$HC" >/dev/null || exit 1
ctl budget set hc messages 1/1h >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_past_the_message_cap_mail_fails_with_the_reason() {
	n0=$(pf_sink_count "$SINK")
	# one within the budget, three held, four refused
	_f=$(php_flood "$WEB1" 8 500)
	t_eq "mail() calls that failed" 4 "$_f" || { cat "$D/php.err" >&2;
	    dump_logs; return 1; }
	settle $((n0 + 4)) || return
	t_eq "delivered" $((n0 + 1)) "$(pf_sink_count "$SINK")" || return
	t_eq "held in the store" 3 "$(held hm)" || return
	t_eq "on hold in the queue instance" 3 "$(pf_queue_count hold)" ||
	    return
	_re='deferred the message, nothing sent: 450 4\.7\.1 .*mailgov: '
	_re="${_re}account hm has too much mail on hold \\(3 messages, [0-9]+ "
	_re="${_re}bytes\\); try again later"
	t_eq "errors the sender saw" 4 "$(grep -Ec "$_re" "$D/php.err")" ||
	    { cat "$D/php.err" >&2; return 1; }
	wait_counter hm refused 4 || return
	wait_counter hm held 3 || return
	t_eq "hm's messages" 1 "$(counter hm messages)" || return
	t_match "the alert" 'event=hold_full account=hm action=defer' \
	    "$(cat "$LOG")"
}

test_an_smtp_client_past_the_cap_gets_a_4xx_at_the_end_of_data() {
	swaks_as "$WEB1" 192.0.2.25 25
	_out=$(cat "$D"/client.* 2>/dev/null)
	rm -f "$D"/client.*
	t_match "the client's transcript" \
	    '<\*\* +450 4\.7\.1 .*mailgov: account hm has too much mail on hold \(3 messages' \
	    "$_out" || return
	t_eq "still held" 3 "$(held hm)" || return
	wait_counter hm refused 5
}

test_released_mail_makes_room_on_hold_again() {
	n0=$(pf_sink_count "$SINK")
	t_eq "release" "hold: released 3 messages" "$(ctl hold release hm)" ||
	    return
	pf_wait_count 20 $((n0 + 3)) pf_sink_count "$SINK" || return
	wait_counter hm released 3 || return
	_f=$(php_flood "$WEB1" 1 500)
	t_eq "mail() calls that failed" 0 "$_f" || { cat "$D/php.err" >&2;
	    dump_logs; return 1; }
	pf_wait_count 10 1 pf_queue_count hold || return
	t_eq "held in the store" 1 "$(held hm)"
}

test_clients_all_at_once_stop_at_the_cap_too() {
	n0=$(pf_sink_count "$SINK")
	h0=$(pf_queue_count hold)
	# ten at once (the default concurrency cap): one within the budget,
	# three held, six refused
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		swaks_as "$HC" 192.0.2.25 25 &
	done
	wait
	settle $((n0 + h0 + 4)) || return
	t_eq "delivered" $((n0 + 1)) "$(pf_sink_count "$SINK")" || return
	t_eq "held in the store" 3 "$(held hc)" || return
	t_eq "on hold in the queue instance" $((h0 + 3)) \
	    "$(pf_queue_count hold)" || return
	_n=$(grep -l '<\*\* *450 4\.7\.1 .*mailgov: account hc has too much mail on hold (3 messages' \
	    "$D"/client.* 2>/dev/null | wc -l)
	t_eq "clients refused with the reason" 6 "$_n" ||
	    { clients_failed; return 1; }
	rm -f "$D"/client.*
	wait_counter hc refused 6
}

test_past_the_bytes_cap_mail_fails_and_held_bytes_stay_under_it() {
	n0=$(pf_sink_count "$SINK")
	h0=$(pf_queue_count hold)
	# 40 KB each: one within the budget, two held (80 KB), the third
	# would pass 100k
	_f=$(php_flood "$WEB2" 4 40000)
	t_eq "mail() calls that failed" 1 "$_f" || { cat "$D/php.err" >&2;
	    dump_logs; return 1; }
	settle $((n0 + h0 + 3)) || return
	t_eq "delivered" $((n0 + 1)) "$(pf_sink_count "$SINK")" || return
	t_eq "held in the store" 2 "$(held hb)" || return
	t_eq "on hold in the queue instance" $((h0 + 2)) \
	    "$(pf_queue_count hold)" || return
	_b=$(held_bytes hb)
	[ "$_b" -gt 80000 ] && [ "$_b" -le 102400 ] ||
	    t_fail "held bytes: expected 80000..102400, saw $_b" || return
	t_match "the error the sender saw" \
	    "mailgov: account hb has too much mail on hold \\(2 messages, $_b bytes\\)" \
	    "$(cat "$D/php.err")" || return
	wait_counter hb refused 1
}

test_setup_gives_the_queue_a_size_limit_and_a_free_space_floor() {
	t_eq "queue instance message_size_limit" "$MSL" \
	    "$(postconf -c "$QDIR" -h message_size_limit)" || return
	# the default floor, 256 MiB, is above 2 x message_size_limit
	t_eq "queue instance queue_minfree" 268435456 \
	    "$(postconf -c "$QDIR" -h queue_minfree)" || return
	t_eq "queue instance notify_classes" software \
	    "$(postconf -c "$QDIR" -h notify_classes)" || return
	ctl postfix check >/dev/null ||
	    t_fail "postfix check: $(ctl postfix check 2>&1)"
}

test_a_message_over_the_size_limit_is_refused_with_the_reason() {
	n0=$(pf_sink_count "$SINK")
	h0=$(pf_queue_count hold)
	_f=$(php_flood "$WEB3" 1 $((MSL + 100000)))
	t_eq "mail() calls that failed" 1 "$_f" || { cat "$D/php.err" >&2;
	    return 1; }
	t_match "the error the sender saw" \
	    'refused sender <[^>]*>: 552 5\.3\.4 Message size exceeds fixed limit' \
	    "$(cat "$D/php.err")" || return
	sleep 1
	t_eq "delivered" "$n0" "$(pf_sink_count "$SINK")" || return
	t_eq "on hold" "$h0" "$(pf_queue_count hold)"
}

test_below_the_free_space_floor_the_queue_refuses_all_mail() {
	n0=$(pf_sink_count "$SINK")
	# more than any test machine has free: the floor is reached
	echo "queue_minfree = 1024G" >> "$CONF"
	ctl postfix setup >/dev/null || t_fail "setup failed" || return
	t_eq "queue instance queue_minfree" 1099511627776 \
	    "$(postconf -c "$QDIR" -h queue_minfree)" || return
	sleep 1		# the queue instance's reload
	_f=$(php_flood "$WEB4" 1 500)
	sed -i '/^queue_minfree = /d' "$CONF"
	ctl postfix setup >/dev/null
	t_eq "mail() calls that failed" 1 "$_f" || { cat "$D/php.err" >&2;
	    return 1; }
	t_match "the error the sender saw" \
	    'deferred sender <[^>]*>, nothing sent: 452 4\.3\.1 Insufficient system storage' \
	    "$(cat "$D/php.err")" || return
	# and no notice to postmaster per refusal
	t_eq "delivered" "$n0" "$(pf_sink_count "$SINK")" || return
	# and with the floor back to its default, mail flows again
	sleep 1
	_f=$(php_flood "$WEB4" 1 500)
	t_eq "mail() calls that failed after the floor went back" 0 "$_f" ||
	    { cat "$D/php.err" >&2; return 1; }
	pf_wait_count 20 $((n0 + 1)) pf_sink_count "$SINK"
}

t_main "$@"
