#!/bin/sh
# test_redis - budget_store = redis on one node: the budget is the one in
# Redis (usage "another node" left there counts here), over it mail is
# held and released as the shared budget refills; with Redis stopped the
# node falls back to limit / cluster_nodes, alerts once and loses
# nothing; restarted, the charges made meanwhile are written to Redis;
# mailgovctl usage shows the cluster-wide figures and reset empties them;
# a block set in Redis by another node refuses the account's mail here;
# a wrong password is one clear error line.  Real Postfix (queue instance),
# real rules, real mailgovd, PHP mail() and swaks; a real redis-server in
# the lab namespace, on its loopback.
#
# The tests run in file order and share the daemon, Postfix and Redis.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db" "$D/redis"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
SINK="$D/sink"
RPORT=6390			# the lab's own loopback, not the host's
KEY="mailgov:b:{shared}:tat"	# every window of the account, by name
t_config "$CONF" <<EOF
control_socket = $D/control.sock
connections = 50
new_connections = 600/1m
alert_limit = 1000
release_interval = 1s
budget_store = redis
redis = 127.0.0.1:$RPORT
redis_timeout = 300ms
cluster_nodes = 2
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# redis_start [PASSWORD] - redis-server in the lab, in memory only
redis_start() {
	lab redis-server --bind 127.0.0.1 --port $RPORT --save "" \
	    --appendonly no --dir "$D/redis" --daemonize yes \
	    --pidfile "$D/redis/pid" --logfile "$D/redis/log" \
	    ${1:+--requirepass "$1"} >/dev/null
	t_wait 5 lab sh -c "ss -ltn | grep -q '127.0.0.1:$RPORT '"
}
redis_stop() {
	[ -f "$D/redis/pid" ] && kill "$(cat "$D/redis/pid")" 2>/dev/null
	t_wait 5 sh -c "! ip netns exec $LAB ss -ltn | grep -q '127.0.0.1:$RPORT '"
}
rcli() { lab redis-cli -h 127.0.0.1 -p $RPORT "$@"; }
t_on_exit "redis_stop"

# ahead_ms - how far the shared messages:100 window runs ahead of Redis's
# clock, in ms (its TAT in the account's state key; -1 when absent)
ahead_ms() {
	_v=$(rcli GET "$KEY")
	case " $_v" in *" messages:100="*) ;; *) echo -1; return ;; esac
	_tat=${_v##*messages:100=}
	_tat=${_tat%% *}
	_t=$(rcli TIME | tr '\n' ' ')
	echo $(( (_tat - ${_t%% *} * 1000000 - $(echo "$_t" | cut -d' ' -f2)) / 1000 ))
}

# another_node_spent N - N messages of shared's budget (10/100s: one
# every 10 s) already spent elsewhere: the key another node's charge
# leaves
another_node_spent() {
	_now=$(rcli TIME | head -1)
	rcli SET "$KEY" "messages:100=$(( (_now + 10 * $1) * 1000000 ))" \
	    PX $((10000 * $1)) \
	    >/dev/null
}

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add shared --uid "$WEB1" >/dev/null || exit 1
ctl budget set shared messages 10/100s >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
redis_start || { echo "not ok - redis-server did not start"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }
t_wait 5 grep -q 'started: queue' "$LOG"

test_the_budget_is_the_one_in_redis() {
	another_node_spent 4
	php_mail "$WEB1" 5 > "$D/client.php" 2>&1 &&
	    rm -f "$D/client.php" &
	for _i in 1 2 3 4 5; do swaks_as "$WEB1" 192.0.2.25 25 & done
	wait
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle 10 || { dump_logs; return 1; }
	t_eq "messages on the MX (10 - 4 spent elsewhere)" 6 \
	    "$(pf_sink_count "$SINK")" || return
	t_eq "messages on hold" 4 "$(pf_queue_count hold)" || return
	_ms=$(ahead_ms)
	[ "$_ms" -gt 80000 ] && [ "$_ms" -le 101000 ] ||
	    t_fail "the shared window should be full for about 100 s, not $_ms ms"
}

test_held_mail_released_as_the_shared_budget_refills() {
	pf_wait_count 60 10 pf_sink_count "$SINK" || { dump_logs; return 1; }
	t_eq "left on hold" 0 "$(pf_queue_count hold)" || return
	t_eq "fallbacks logged" 0 "$(grep -c 'unavailable' "$LOG")"
}

test_redis_down_falls_back_to_the_local_share() {
	n0=$(pf_sink_count "$SINK")
	redis_stop || return
	t_wait 5 grep -q 'budgets fall back to limit/2' "$LOG" ||
	    t_fail "no fallback alert" || return
	# a fresh local share: 10/100s over 2 nodes is 5 at once
	for _i in 1 2 3 4 5 6 7 8; do swaks_as "$WEB1" 192.0.2.25 25 & done
	wait
	! clients_failed || { dump_logs; t_fail "a client failed"; } ||
	    return
	settle $((n0 + 8)) || { dump_logs; return 1; }
	t_eq "delivered within the local share" 5 \
	    $(( $(pf_sink_count "$SINK") - n0 )) || return
	t_eq "held beyond it" 3 "$(pf_queue_count hold)" || return
	t_eq "one alert for the outage" 1 \
	    "$(grep -c 'budgets fall back to limit/2' "$LOG")"
}

test_redis_back_the_shared_count_catches_up() {
	redis_start || return
	t_wait 10 grep -q 'back: shared budgets again' "$LOG" ||
	    { dump_logs; t_fail "mailgovd did not reconnect"; } || return
	t_wait 5 sh -c "[ \"\$(ip netns exec $LAB redis-cli -p $RPORT EXISTS '$KEY')\" = 1 ]" ||
	    t_fail "the local charges were not written to Redis" || return
	# 5 local charges at 10 s each of the shared window: 50 s of debt
	_ms=$(ahead_ms)
	[ "$_ms" -gt 40000 ] ||
	    t_fail "the shared count did not catch up ($_ms ms ahead)" ||
	    return
	# and the held mail still leaves, as the shared budget refills
	pf_wait_count 60 18 pf_sink_count "$SINK" || { dump_logs; return 1; }
	t_eq "left on hold" 0 "$(pf_queue_count hold)"
}

test_usage_shows_the_cluster_figures_next_to_the_node() {
	another_node_spent 7
	_u=$(ctl usage shared --json 2>&1)
	t_match "cluster-wide: 3 of 10 left after 7 spent elsewhere" \
	    '"messages":\{[^}]*"windows":\[\{[^}]*"cluster_remaining":3\}' "$_u" ||
	    return
	t_match "this node's own figure is there too" \
	    '"messages":\{[^}]*"windows":\[\{[^}]*"remaining":[0-9]+,' "$_u" || return
	t_match "the table has a CLUSTER column" "CLUSTER" \
	    "$(ctl usage shared)" || return
	ctl reset shared >/dev/null || t_fail "reset failed" || return
	t_match "a reset empties the shared budget for every node" \
	    '"messages":\{[^}]*"windows":\[\{[^}]*"cluster_remaining":10\}' \
	    "$(ctl usage shared --json)" || return
	redis_stop || return
	_u=$(ctl usage shared 2>&1)
	t_match "Redis down: one line says so" \
	    "redis 127.0.0.1:$RPORT: .*cluster-wide figures left out" "$_u" ||
	    return
	t_match "and the node's figures are still shown" "new_connections" \
	    "$_u" || return
	redis_start
}

test_a_block_from_another_node_stops_the_account_here() {
	# Redis was restarted just before: wait for this reconnection, not
	# an earlier one, or the message takes the local share
	t_wait 10 sh -c "[ \$(grep -c 'back: shared budgets again' '$LOG') -ge 2 ]" ||
	    { dump_logs; t_fail "mailgovd did not reconnect"; } || return
	n0=$(pf_sink_count "$SINK")
	rcli SET "mailgov:b:{shared}:blocked" 1 >/dev/null
	swaks_as "$WEB1" 192.0.2.25 25
	t_match "the message is refused as blocked" \
	    "account shared is blocked" "$(cat "$D"/client.* 2>/dev/null)" ||
	    { clients_failed; return 1; }
	clients_failed
	rcli DEL "mailgov:b:{shared}:blocked" >/dev/null
	swaks_as "$WEB1" 192.0.2.25 25
	! clients_failed || t_fail "unblocked, the message should pass" ||
	    return
	pf_wait_count 20 $((n0 + 1)) pf_sink_count "$SINK" || return
	ctl block shared >/dev/null || t_fail "block failed" || return
	t_eq "mailgovctl block publishes the block" 1 \
	    "$(rcli EXISTS "mailgov:b:{shared}:blocked")" || return
	ctl unblock shared >/dev/null || t_fail "unblock failed" || return
	t_eq "and unblock takes it back" 0 \
	    "$(rcli EXISTS "mailgov:b:{shared}:blocked")"
}

# Charges of one loop turn go to Redis in one call, one message after the
# other: 30 requests at once for a budget of 10 must let exactly 10 go,
# however the daemon grouped them.
test_a_burst_spends_the_shared_budget_exactly() {
	ctl account add burst --sasl burst@site.example >/dev/null || return
	ctl budget set burst messages 10/1h >/dev/null || return
	cat > "$D/burst.php" <<'PHP'
<?php
$s = array();
for ($i = 0; $i < 30; $i++) {
	$c = stream_socket_client("tcp://127.0.0.1:10040", $en, $es, 3);
	if (!$c) { fwrite(STDERR, "connect: $es\n"); exit(1); }
	stream_set_timeout($c, 5);
	$s[] = $c;
}
foreach ($s as $i => $c)
	fwrite($c, "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n" .
	    "policy_context=main\nsasl_username=burst@site.example\n" .
	    "sender=app@site.example\nrecipient_count=1\nsize=100\n" .
	    "queue_id=4ZxQ1k2Lm" . chr(65 + $i % 26) . chr(65 + intdiv($i, 26)) .
	    "\ninstance=burst.$i\n\n");
foreach ($s as $c) {
	$a = "";
	while (strpos($a, "\n\n") === false) {
		$d = fread($c, 4096);
		if ($d === false || $d === "") { $a .= "EOF\n\n"; break; }
		$a .= $d;
	}
	echo strtok($a, " \n"), "\n";
}
PHP
	_calls0=$(rcli INFO commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
	_out=$(lab php "$D/burst.php" | sort | uniq -c | awk '{ print $2 "=" $1 }' |
	    tr '\n' ' ')
	_calls1=$(rcli INFO commandstats | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p')
	echo "# 30 messages in $((${_calls1:-0} - ${_calls0:-0})) script calls"
	t_eq "answers to 30 messages on a budget of 10" \
	    "action=DEFER_IF_PERMIT=20 action=DUNNO=10 " "$_out"
}

# A request waiting for Redis keeps its connection readable: clients that
# send and leave at once, or send more than one request, are no trouble.
test_clients_that_leave_or_pipeline_while_waiting() {
	ctl account add leaver --sasl leaver@site.example >/dev/null || return
	cat > "$D/leave.php" <<'PHP'
<?php
$r = "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n" .
    "policy_context=main\nsasl_username=leaver@site.example\n" .
    "sender=app@site.example\nrecipient_count=1\nsize=100\n\n";
for ($i = 0; $i < 20; $i++) {		/* ask, and leave before the answer */
	$c = stream_socket_client("tcp://127.0.0.1:10040", $en, $es, 3);
	fwrite($c, $r);
	fclose($c);
}
/* three requests in one write: three answers, in order */
$c = stream_socket_client("tcp://127.0.0.1:10040", $en, $es, 3);
stream_set_timeout($c, 5);
fwrite($c, $r . $r . $r);
$a = "";
while (substr_count($a, "\n\n") < 3) {
	$d = fread($c, 4096);
	if ($d === false || $d === "") break;
	$a .= $d;
}
echo substr_count($a, "action=DUNNO"), "\n";
PHP
	t_eq "three pipelined requests, three answers" 3 \
	    "$(lab php "$D/leave.php")" || return
	kill -0 "$(cat "$D/pid")" 2>/dev/null || t_fail "mailgovd is gone"
}

test_a_wrong_password_is_one_clear_line() {
	stop_daemon || return
	redis_stop || return
	redis_start right || return
	echo "redis_password = wrong" >> "$CONF"
	start_daemon || return
	sleep 3		# a dozen reconnections with back-off
	t_eq "authentication errors logged" 1 \
	    "$(grep -c 'authentication failed (WRONGPASS' "$LOG")" || return
	t_match "the line says what failed" \
	    "redis 127.0.0.1:$RPORT: authentication failed \(WRONGPASS" \
	    "$(cat "$LOG")"
}

t_main "$@"
