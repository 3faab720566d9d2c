# tests/e2e/lib_queue.sh - the queue path's test helpers: mailgovd in the
# foreground, clients as web users, and waiting for every message to be
# delivered or held.  Sourced after lib_postfix.sh by a file that sets D
# (its scratch directory), CONF, DB, LOG and SINK, and defines ctl.

# start_daemon - mailgovd in the foreground in the lab; pid in $D/pid
start_daemon() {
	: > "$LOG"
	ip netns exec "$LAB" "$MAILGOVD" -d -v -f "$CONF" --db "$DB" \
	    2>>"$LOG" &
	echo $! > "$D/pid"
	t_wait 5 grep -q 'started: queue' "$LOG" || {
		cat "$LOG" >&2
		t_fail "mailgovd did not start"
	}
}

# stop_daemon - TERM and wait for it to go
stop_daemon() {
	_p=$(cat "$D/pid")
	kill "$_p" 2>/dev/null
	t_wait 10 sh -c "! kill -0 $_p 2>/dev/null"
}

# php_mail UID N - N messages through PHP's mail() and mailgov-sendmail
php_mail() {
	as_web "$1" php -n -d "sendmail_path=$SENDMAIL -t -i" -r '
	    for ($i = 0; $i < (int)$argv[1]; $i++)
		if (!mail("x@example.net", "mailgov php $i", "body $i",
		    "From: site@lab.mailgov.test"))
			exit(1);' "$2"
}

# swaks_as UID ADDR PORT - one message as a web user to ADDR:PORT; a
# client that fails leaves its transcript in $D/client.* for failed()
swaks_as() {
	_sa_out=$(mktemp "$D/client.XXXXXX")
	if as_web "$1" swaks --server "$2" --port "$3" --timeout 20 \
	    --from site@lab.mailgov.test --to x@example.net \
	    --header "Subject: mailgov swaks" >"$_sa_out" 2>&1; then
		rm -f "$_sa_out"
	else
		echo "swaks as $1 to $2:$3 exited $?" >> "$_sa_out"
	fi
}

# clients_failed - print (and forget) what every failed client saw; true
# if a client failed
clients_failed() {
	_cf=1
	for _f in "$D"/client.*; do
		[ -f "$_f" ] || continue
		echo "--- $_f" >&2; tail -15 "$_f" >&2
		rm -f "$_f"
		_cf=0
	done
	return $_cf
}

# dump_logs - mailgovd's and both Postfix instances' logs, for a failure
dump_logs() {
	echo "--- mailgovd" >&2; tail -40 "$LOG" >&2
	echo "--- queue instance" >&2; tail -60 "$PFLOG/queue.log" >&2
	echo "--- main instance" >&2; tail -30 "$PFLOG/main.log" >&2
}

# held ACCOUNT - held messages of ACCOUNT according to mailgovctl
held() {
	ctl hold list "$1" --json | grep -c '"queue_id"' || true
}

# settle N - wait until N messages are accounted for: on the MX or on
# hold, nothing in flight in either Postfix
settle() {
	_s=0
	while [ $_s -lt 150 ]; do
		_total=$(( $(pf_sink_count "$SINK") + $(pf_queue_count hold) ))
		_flight=$(( $(pf_queue_count) - $(pf_queue_count hold) +
		    $(pf_main_count) ))
		[ "$_total" -ge "$1" ] && [ "$_flight" -eq 0 ] && return 0
		sleep 0.2
		_s=$((_s + 1))
	done
	t_fail "expected $1 messages delivered or held, saw $_total ($_flight in flight)"
}

# counter ACCOUNT NAME - one lifetime counter of mailgovctl usage --json
counter() {
	ctl usage "$1" --json | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2
}

# wait_counter ACCOUNT NAME EXPECTED - the committer writes within moments
wait_counter() {
	_wc_n=50
	while [ "$_wc_n" -gt 0 ]; do
		[ "$(counter "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
		_wc_n=$((_wc_n - 1))
	done
	t_fail "$1's $2: expected $3, saw $(counter "$1" "$2")"
}
