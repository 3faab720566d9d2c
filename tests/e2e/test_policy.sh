#!/bin/sh
# test_policy - mailgovd's Postfix policy server end to end, over TCP and
# the unix socket: malformed requests (policy/*.req, next to this file)
# get no reply and a closed connection while a well-behaved client keeps
# being answered; pipelined requests are answered in order; over budget the
# queue instance (attributed by SOCK_DIAG to the web user who owns the
# client socket) answers HOLD and the main instance (by sasl_username)
# answers DEFER_IF_PERMIT; counts survive a restart and kill -9; an answer
# waits while another writer locks the database; a reset
# by mailgovctl takes effect in the running daemon; an unfinished request
# times out but an idle connection is kept longer; web users may not talk
# to the policy server.
. "$(dirname "$0")/../lib.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
PSOCK=/run/mailgov/policy.sock	# the daemon binds it after dropping to mailgov
PTCP=127.0.0.1:10040
REQS="$TOP/tests/e2e/policy"
t_config "$CONF" <<EOF
sync = ${MAILGOV_TEST_SYNC:-full}
redo_log = ${MAILGOV_TEST_REDO:-off}
control_socket = $D/control.sock
policy_unix = $PSOCK
policy_tcp = $PTCP
alert_limit = 1000
EOF

# short timeouts, so that the timeout test does not take minutes
MAILGOVD_POLICY_REQUEST_TIMEOUT=2
MAILGOVD_POLICY_IDLE_TIMEOUT=5
# and the committer's lock wait (10 s), for the locked-database test
MAILGOVD_COMMIT_LOCK_WAIT_MS=1000
export MAILGOVD_POLICY_REQUEST_TIMEOUT MAILGOVD_POLICY_IDLE_TIMEOUT \
    MAILGOVD_COMMIT_LOCK_WAIT_MS

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

# The policy client: php is already a test dependency (the web side).
# pc.php ADDR each FILE...  - one connection per FILE: send it, read to
#   EOF (3 s at most); between files a long-lived good connection sends
#   valid.req and must be answered.  One line per file.
# pc.php ADDR pipe FILE...  - one connection, every FILE in one write,
#   then one line per answer ("EOF" if the server closed instead).
cat > "$D/pc.php" <<'PHP'
<?php
$addr = $argv[1]; $mode = $argv[2]; $files = array_slice($argv, 3);
function dial($a) {
	$s = @stream_socket_client($a, $en, $es, 3);
	if (!$s) { fwrite(STDERR, "connect $a: $es\n"); exit(1); }
	stream_set_timeout($s, 3);
	return $s;
}
function answers($s, $n) {
	$out = ""; $got = array();
	while (count($got) < $n) {
		$d = fread($s, 65536);
		if ($d === false || $d === "") {
			$m = stream_get_meta_data($s);
			$got[] = $m["timed_out"] ? "TIMEOUT" : "EOF";
			break;
		}
		$out .= $d;
		while (($p = strpos($out, "\n\n")) !== false) {
			$got[] = substr($out, 0, $p);
			$out = substr($out, $p + 2);
		}
	}
	return $got;
}
$valid = file_get_contents(getenv("REQS") . "/valid.req");
if ($mode == "pipe") {
	$s = dial($addr);
	$all = "";
	foreach ($files as $f) $all .= file_get_contents($f);
	fwrite($s, $all);
	foreach (answers($s, count($files)) as $a) echo "$a\n";
	exit(0);
}
$good = dial($addr);
foreach ($files as $f) {
	$s = dial($addr);
	$data = file_get_contents($f);
	@fwrite($s, $data);
	if (substr($data, -2) != "\n\n")	/* truncated: the client is done */
		stream_socket_shutdown($s, STREAM_SHUT_WR);
	$d = @fread($s, 65536);
	$m = stream_get_meta_data($s);
	$r = ($d === "" || $d === false) ?
	    ($m["timed_out"] ? "TIMEOUT" : "closed") : "replied";
	fwrite($good, $valid);
	$g = answers($good, 1);
	echo basename($f), " ", $r, " good=", $g[0], "\n";
}
PHP
export REQS

# pc ADDR MODE FILE... - the client, as root in the lab
pc() { lab php "$D/pc.php" "$@"; }

# req STATE CONTEXT ATTR... - one policy request into a file; prints its name
N=0
req() {
	N=$((N + 1))
	_f="$D/req$N"
	{
		echo "request=smtpd_access_policy"
		echo "protocol_state=$1"
		echo "policy_context=$2"
		shift 2
		for _a in "$@"; do echo "$_a"; done
		echo "instance=abc.$N"
		echo "recipient_count=1"
		echo "size=1000"
		echo
	} > "$_f"
	echo "$_f"
}

start_daemon() {
	: > "$LOG"
	ip netns exec "$LAB" "$MAILGOVD" -d -v -f "$CONF" --db "$DB" \
	    2>>"$LOG" &
	DPID=$!
	echo "$DPID" > "$D/dpid"	# tests run in subshells
	t_on_exit "kill $DPID"
	t_wait 5 grep -q 'started: queue' "$LOG" || {
		cat "$LOG" >&2
		return 1
	}
}

stop_daemon() {
	DPID=$(cat "$D/dpid")
	kill ${1:-} "$DPID"
	t_wait 5 sh -c "! kill -0 $DPID"
}

# messages_of NAME - the account's message count in the database (the
# counter: budgets.messages is an object, not a number)
messages_of() {
	ctl usage "$1" --json | sed -n 's/.*"messages":\([0-9][0-9]*\).*/\1/p'
}

ctl account add alice --sasl alice >/dev/null || exit 1
ctl budget set alice messages 2/1h >/dev/null || exit 1
ctl account add web1 --uid "$WEB1" >/dev/null || exit 1
ctl budget set web1 messages 2/1h >/dev/null || exit 1
ctl account add carol --sasl carol >/dev/null || exit 1
ctl budget set carol messages 1/1h >/dev/null || exit 1
ctl account add dave --sasl dave >/dev/null || exit 1
ctl account add erin --sasl erin >/dev/null || exit 1
ctl account add frank --sasl frank >/dev/null || exit 1
ctl account add shopdom --domain shop.example >/dev/null || exit 1
ctl budget set shopdom messages 1/1h >/dev/null || exit 1
# the queue port: any listener will do, the test only needs the socket
ip netns exec "$LAB" smtp-sink -u postfix 127.0.0.1:2525 128 >/dev/null 2>&1 &
t_wait 5 ip netns exec "$LAB" sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - no listener on the queue port"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

MALFORMED="$REQS/truncated.req $REQS/long-line.req $REQS/nul.req
$REQS/missing-request.req $REQS/many-attributes.req $REQS/no-equals.req
$REQS/too-large.req"

# check_malformed ADDR - every malformed file: closed, no reply, and the
# good client answered each time
check_malformed() {
	_out=$(pc "$1" each $MALFORMED) || return 1
	for _f in $MALFORMED; do
		_n=$(basename "$_f")
		t_eq "$_n over $1" "$_n closed good=action=DUNNO" \
		    "$(echo "$_out" | grep "^$_n ")" || return 1
	done
}

test_malformed_over_tcp_closed_without_reply() {
	check_malformed "tcp://$PTCP"
}

test_malformed_over_unix_closed_without_reply() {
	check_malformed "unix://$PSOCK"
}

test_malformed_input_logged_sanitised() {
	t_match "log line" \
	    'malformed request \(NUL byte\) near "helo_name=a\\x00b"' \
	    "$(cat "$LOG")"
}

test_pipelined_requests_answered_in_order() {
	_a=$(req CONNECT main "sasl_username=nobody")
	_b=$(req END-OF-MESSAGE main "sasl_username=nobody")
	_c=$(req RCPT main "sasl_username=nobody")
	_out=$(pc "tcp://$PTCP" pipe "$_a" "$_b" "$_c" "$REQS/valid.req" |
	    tr '\n' ' ')
	t_eq "four answers" \
	    "action=DUNNO action=DUNNO action=DUNNO action=DUNNO " "$_out"
}

test_main_instance_defers_sasl_user_over_budget() {
	_r=$(req END-OF-MESSAGE main "sasl_username=alice" \
	    "sender=a@x.example")
	_out=$(pc "unix://$PSOCK" pipe "$_r" "$_r" "$_r" | tr '\n' '|')
	t_match "third message deferred" \
	    '^action=DUNNO\|action=DUNNO\|action=DEFER_IF_PERMIT 4\.7\.1 mailgov: messages budget exceeded for account alice, retry after [0-9]+ s\|$' \
	    "$_out"
}

test_main_instance_counts_sender_domain_only_from_this_host() {
	# a forged hosted sender arriving from elsewhere spends nothing
	_far=$(req END-OF-MESSAGE main client_address=198.51.100.77 \
	    server_address=192.0.2.1 sender=x@Shop.Example)
	_out=$(pc "tcp://$PTCP" pipe "$_far" "$_far" | tr '\n' '|')
	t_eq "inbound mail" "action=DUNNO|action=DUNNO|" "$_out" || return 1
	_near=$(req END-OF-MESSAGE main client_address=127.0.0.1 \
	    server_address=127.0.0.1 sender=x@Shop.Example)
	_out=$(pc "tcp://$PTCP" pipe "$_near" "$_near" | tr '\n' '|')
	t_match "local submission" \
	    '^action=DUNNO\|action=DEFER_IF_PERMIT 4\.7\.1 mailgov: messages budget exceeded for account shopdom' \
	    "$_out"
}

test_queue_instance_holds_web_user_over_budget() {
	# a socket of the web user to the queue port, held open meanwhile
	as_web "$WEB1" php -r '
	    $s = stream_socket_client("tcp://127.0.0.1:2525", $en, $es, 3);
	    $n = stream_socket_get_name($s, false);
	    echo substr($n, strrpos($n, ":") + 1), "\n";
	    fflush(STDOUT);
	    sleep(20);' > "$D/webport" &
	t_wait 5 test -s "$D/webport" || return 1
	_port=$(cat "$D/webport")
	# three messages (Postfix never repeats a queue ID: a repeated one
	# is a retry, which gets the first answer again)
	for _q in 4ZxQ1k2LmN1 4ZxQ1k2LmN2 4ZxQ1k2LmN3; do
		req END-OF-MESSAGE queue client_address=127.0.0.1 \
		    "client_port=$_port" server_address=127.0.0.1 \
		    server_port=2525 queue_id=$_q sender=app@site.example
	done > "$D/reqs"
	_out=$(pc "tcp://$PTCP" pipe $(cat "$D/reqs") | tr '\n' '|')
	t_eq "third message held" \
	    "action=DUNNO|action=DUNNO|action=HOLD mailgov: account web1 over messages|" \
	    "$_out"
}

test_new_mail_waits_behind_held_mail() {
	# web1 has a held message (above); with budget to spare again, its
	# next message must still queue behind the held one
	ctl budget set web1 messages 100/1h >/dev/null || return 1
	sleep 1.5	# the daemon picks up the budget
	as_web "$WEB1" php -r '
	    $s = stream_socket_client("tcp://127.0.0.1:2525", $en, $es, 3);
	    $n = stream_socket_get_name($s, false);
	    echo substr($n, strrpos($n, ":") + 1), "\n";
	    fflush(STDOUT);
	    sleep(20);' > "$D/webport2" &
	t_wait 5 test -s "$D/webport2" || return 1
	_r=$(req END-OF-MESSAGE queue client_address=127.0.0.1 \
	    "client_port=$(cat "$D/webport2")" server_address=127.0.0.1 \
	    server_port=2525 queue_id=5AbC2k3LmNz sender=app@site.example)
	t_eq "next message" \
	    "action=HOLD mailgov: account web1 has held mail waiting; this message follows it|" \
	    "$(pc "tcp://$PTCP" pipe "$_r" | tr '\n' '|')"
}

test_counts_survive_a_restart() {
	_n=$(ctl usage alice --json |
	    sed -n 's/.*"messages":\([0-9][0-9]*\).*/\1/p')
	t_eq "alice's messages before" 2 "$_n" || return 1
	stop_daemon || return 1
	start_daemon || return 1
	_n=$(ctl usage alice --json |
	    sed -n 's/.*"messages":\([0-9][0-9]*\).*/\1/p')
	t_eq "alice's messages after" 2 "$_n" || return 1
	_r=$(req END-OF-MESSAGE main "sasl_username=alice")
	t_match "still over budget" '^action=DEFER_IF_PERMIT ' \
	    "$(pc "tcp://$PTCP" pipe "$_r")"
}

test_counts_survive_kill_9() {
	_r=$(req END-OF-MESSAGE main "sasl_username=dave")
	_n0=$(messages_of dave)
	if [ "${MAILGOV_TEST_REDO:-off}" = on ]; then
		# The redo log's rows reach SQLite 0.1 s after the answers:
		# a kill a moment later (a loaded machine) would find them
		# applied and leave nothing to replay.  Another writer holds
		# the database until after the kill, so that the counts are
		# in the log alone when mailgovd dies, however slow the run
		# (60 s at most, should the test stop half-way).
		( echo ".timeout 5000"; echo "BEGIN IMMEDIATE;"; _i=0
		    while [ ! -e "$D/unlock9" ] && [ $_i -lt 1200 ]; do
			sleep 0.05; _i=$((_i + 1))
		    done
		    echo "ROLLBACK;" ) | sqlite3 "$DB" >/dev/null 2>&1 &
		t_wait 5 sh -c "! sqlite3 '$DB' 'BEGIN IMMEDIATE; ROLLBACK;' \
		    >/dev/null 2>&1" || t_fail "the lock was not taken" ||
		    return 1
	fi
	_out=$(pc "tcp://$PTCP" pipe "$_r" "$_r" "$_r" "$_r" "$_r" |
	    tr '\n' ' ')
	t_eq "five answers" "action=DUNNO action=DUNNO action=DUNNO \
action=DUNNO action=DUNNO " "$_out" || return 1
	if [ "${MAILGOV_TEST_REDO:-off}" = on ]; then
		t_eq "dave's messages in the database before kill -9" "$_n0" \
		    "$(messages_of dave)" || return 1
	fi
	# every answer went out after its count was committed: to the
	# database, or to the redo log, which the next start replays
	stop_daemon -9 || return 1
	if [ "${MAILGOV_TEST_REDO:-off}" = on ]; then
		touch "$D/unlock9"
		t_wait 5 sqlite3 "$DB" 'BEGIN IMMEDIATE; ROLLBACK;' ||
		    t_fail "the lock was not released" || return 1
	fi
	if [ "${MAILGOV_TEST_REDO:-off}" = off ]; then
		t_eq "dave's messages after kill -9" $((_n0 + 5)) \
		    "$(messages_of dave)" ||
		    return 1
	fi
	start_daemon || return 1
	t_eq "dave's messages after kill -9 and a start" $((_n0 + 5)) \
	    "$(messages_of dave)" || return 1
	if [ "${MAILGOV_TEST_REDO:-off}" = on ]; then
		t_match "the redo log was replayed" \
		    "redo log: [0-9]+ records replayed" "$(cat "$LOG")" ||
		    return 1
	fi
	_out=$(pc "tcp://$PTCP" pipe "$_r")
	t_eq "answered after the restart" "action=DUNNO" "$_out" || return 1
	stop_daemon || return 1
	t_eq "dave's messages after the restart" $((_n0 + 6)) \
	    "$(messages_of dave)"
	start_daemon
}

test_reset_takes_effect_in_running_daemon() {
	_r=$(req END-OF-MESSAGE main "sasl_username=carol")
	_out=$(pc "tcp://$PTCP" pipe "$_r" "$_r" | tr '\n' '|')
	t_match "second message deferred" \
	    '^action=DUNNO\|action=DEFER_IF_PERMIT 4\.7\.1 ' "$_out" ||
	    return 1
	ctl reset carol >/dev/null || return 1
	t_eq "allowed after mailgovctl reset" "action=DUNNO" \
	    "$(pc "tcp://$PTCP" pipe "$_r")" || return 1
	t_match "over budget again" '^action=DEFER_IF_PERMIT ' \
	    "$(pc "tcp://$PTCP" pipe "$_r")"
}

test_answer_waits_until_its_count_is_on_disk() {
	# Another writer holds the database for 5 s, longer than mailgovd
	# waits for the lock (1 s here with sync = full, 0.2 s with normal),
	# so the group commit fails.  The answer must wait for the retry
	# that succeeds once the lock is gone, not go out with its count
	# only in memory.
	_r=$(req END-OF-MESSAGE main "sasl_username=erin")
	_n0=$(messages_of erin)
	# the time is taken just before COMMIT: no answer may precede it
	( echo ".timeout 5000"; echo "BEGIN IMMEDIATE;"; sleep 5
	    date +%s%3N > "$D/unlocked"
	    echo "COMMIT;" ) | sqlite3 "$DB" >/dev/null 2>&1 &
	t_wait 5 sh -c "! sqlite3 '$DB' 'BEGIN IMMEDIATE; ROLLBACK;' \
	    >/dev/null 2>&1" || { wait; t_fail "the lock was not taken"; } ||
	    return
	_out=$(lab php -r '
	    $s = stream_socket_client($argv[1], $en, $es, 3);
	    stream_set_timeout($s, 40);
	    fwrite($s, file_get_contents($argv[2]));
	    $a = fgets($s);
	    echo trim((string)$a), " ", (int)(microtime(true) * 1000), "\n";' \
	    "tcp://$PTCP" "$_r")
	wait
	t_match "answered" "^action=DUNNO [0-9]+$" "$_out" || return 1
	if [ "${MAILGOV_TEST_REDO:-off}" = on ]; then
		# the count was durable in the redo log: the answer did not
		# wait, and the rows reach the database once it is free
		t_wait 5 sh -c "[ \"\$($MAILGOVCTL --config '$CONF' --db \
		    '$DB' usage erin --json | sed -n \
		    's/.*\"messages\":\([0-9]*\).*/\1/p')\" = $((_n0 + 1)) ]"
		t_eq "the message counted" $((_n0 + 1)) "$(messages_of erin)" ||
		    return 1
		t_match "failure logged" "redo log: applying .* failed" \
		    "$(cat "$LOG")"
		return
	fi
	_unlocked=$(cat "$D/unlocked")
	[ "${_out#* }" -ge "$_unlocked" ] || t_fail "answered at ${_out#* }" \
	    "ms, before the lock was released at $_unlocked ms" || return 1
	t_match "failure logged" "group commit failed .*answers wait for a retry" \
	    "$(cat "$LOG")" || return 1
	t_eq "the message counted" $((_n0 + 1)) "$(messages_of erin)"
}

test_unfinished_request_times_out_idle_connection_kept() {
	# one connection sends half a request, another nothing; after the
	# request timeout (2 s here) only the first is closed, after the
	# idle timeout (5 s here) both
	_out=$(lab php -r '
	    function dial() {
		$s = stream_socket_client("tcp://'"$PTCP"'", $en, $es, 3);
		stream_set_blocking($s, false);
		return $s;
	    }
	    function closed($s) {
		$r = array($s); $w = null; $e = null;
		if (stream_select($r, $w, $e, 0) < 1) return "open";
		return fread($s, 100) === "" ? "closed" : "data";
	    }
	    $half = dial(); $idle = dial();
	    fwrite($half, "request=smtpd_access_policy\nprotocol_state=RCPT\n");
	    sleep(4);
	    echo "4s half=", closed($half), " idle=", closed($idle), "\n";
	    sleep(4);
	    echo "8s idle=", closed($idle), "\n";')
	t_eq "timeouts" "4s half=closed idle=open
8s idle=closed" "$_out" || return 1
	t_match "logged" 'unfinished request for [0-9]+ s; closing' \
	    "$(cat "$LOG")"
}

test_turning_the_redo_log_on_or_off_loses_nothing() {
	# kill -9, then start with the log switched: off -> on, the
	# database had every count; on -> off, the records it lacks are
	# still replayed
	_from=${MAILGOV_TEST_REDO:-off}
	_to=on
	[ "$_from" = on ] && _to=off
	_r=$(req END-OF-MESSAGE main "sasl_username=frank")
	_out=$(pc "tcp://$PTCP" pipe "$_r" "$_r" "$_r" | tr '\n' ' ')
	t_eq "three answers" "action=DUNNO action=DUNNO action=DUNNO " \
	    "$_out" || return 1
	stop_daemon -9 || return 1
	sed -i "s/^redo_log = $_from\$/redo_log = $_to/" "$CONF"
	start_daemon || return 1
	t_eq "frank's messages, redo_log $_from -> $_to" 3 \
	    "$(messages_of frank)" || return 1
	stop_daemon || return 1
	sed -i "s/^redo_log = $_to\$/redo_log = $_from/" "$CONF"
	start_daemon
}

test_web_user_may_not_use_the_policy_service() {
	_out=$(as_web "$WEB1" php "$D/pc.php" "tcp://$PTCP" pipe \
	    "$REQS/valid.req" 2>&1)
	t_eq "web user's answer" "EOF" "$_out"
}

t_main
