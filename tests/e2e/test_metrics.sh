#!/bin/sh
# test_metrics - mailgovd's Prometheus metrics on metrics_listen: a live
# scrape passes `promtool check metrics`, the counters move when mail
# goes through the lab, a web user cannot connect (the rules close the
# port), and bad requests (too long, too slow, not a GET, HTTP/0.9, a
# thousand connections at once) get a 4xx or are closed while the policy
# server keeps answering.  Real rules, Postfix, mailgovd, curl and
# clients as web users.
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
M=127.0.0.1:9464
t_config "$CONF" <<EOF
control_socket = $D/control.sock
metrics_listen = $M
alert_limit = 1000
release_interval = 1s
EOF
# the slow client is cut after 2 s, not 10
export MAILGOVD_METRICS_DEADLINE=2

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add site1 --uid "$WEB1" >/dev/null || exit 1
ctl account add 'site.held' --uid "$WEB2" >/dev/null || exit 1
ctl budget set site.held messages 1/1h 1000/1d >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }
t_wait 5 lab sh -c "ss -ltn | grep -q '$M '" ||
    { echo "not ok - nothing listens on $M"; exit 1; }

# scrape - the body of GET /metrics, as root in the lab
scrape() { lab curl -sS --max-time 5 "http://$M/metrics"; }

# sample NAME LABELS - one sample's value from a fresh scrape
sample() {
	scrape | awk -v k="$1$2" '$1 == k { print $2 }'
}

# wait_sample NAME LABELS EXPECTED
wait_sample() {
	_ws_n=50
	while [ "$_ws_n" -gt 0 ]; do
		[ "$(sample "$1" "$2")" = "$3" ] && return 0
		sleep 0.2
		_ws_n=$((_ws_n - 1))
	done
	t_fail "$1$2: expected $3, saw '$(sample "$1" "$2")'"
}

# raw PORT BYTES - send BYTES (printf escapes) as root in the lab and
# print the first line of the answer
raw() {
	lab timeout 8 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 &&
	    printf "$1" >&3 && head -1 <&3' "$1" "$2" 2>/dev/null | tr -d '\r'
}

# status REQUEST - the status line mailgovd answers a raw request with
status() { raw 9464 "$1"; }

# policy_ok - the policy server answers a request on its TCP port
policy_ok() {
	_r=$(raw 10040 'request=smtpd_access_policy\nprotocol_state=RCPT\nsasl_username=nobody\nsender=a@b.example\nrecipient=c@d.example\nclient_address=192.0.2.9\n\n')
	case "$_r" in action=*) return 0 ;; esac
	t_fail "the policy server did not answer: '$_r'"
}

test_scrape_passes_promtool() {
	_b=$(scrape) || t_fail "curl failed" || return
	_err=$(printf '%s\n' "$_b" | promtool check metrics 2>&1)
	t_eq "promtool check metrics" "" "$_err" || return
	t_match "the content type" 'text/plain; version=0\.0\.4' \
	    "$(lab curl -sS -o /dev/null -w '%{content_type}' "http://$M/metrics")"
}

test_every_documented_family_is_there() {
	_b=$(scrape)
	for _f in mailgov_messages_total mailgov_recipients_total \
	    mailgov_message_bytes_total mailgov_holds_total \
	    mailgov_releases_total mailgov_refusals_total \
	    mailgov_connections_total mailgov_redirects_total \
	    mailgov_held_messages mailgov_held_bytes mailgov_accounts \
	    mailgov_metrics_accounts mailgov_flows mailgov_flows_capacity \
	    mailgov_policy_latency_seconds mailgov_commit_latency_seconds; do
		printf '%s\n' "$_b" | grep -q "^# TYPE $_f " ||
		    t_fail "no family $_f" || return
		grep -q "^| \`$_f\`" "$TOP/docs/mailgovd.md" ||
		    t_fail "$_f is not in docs/mailgovd.md" || return
	done
	t_eq "flow capacity" 1048576 "$(sample mailgov_flows_capacity '')"
}

test_counters_move_with_mail() {
	n0=$(pf_sink_count "$SINK")
	swaks_as "$WEB1" 192.0.2.25 25
	swaks_as "$WEB1" 192.0.2.25 25
	! clients_failed || { dump_logs; t_fail "a client failed"; } || return
	settle $((n0 + 2)) || return
	wait_sample mailgov_messages_total '{account="site1"}' 2 || return
	wait_sample mailgov_recipients_total '{account="site1"}' 2 || return
	wait_sample mailgov_redirects_total '{account="site1"}' 2 || return
	_bytes=$(sample mailgov_message_bytes_total '{account="site1"}')
	[ "${_bytes:-0}" -gt 200 ] ||
	    t_fail "site1's bytes: expected > 200, saw '$_bytes'" || return
	_n=$(sample mailgov_policy_latency_seconds_count '')
	[ "${_n:-0}" -ge 2 ] ||
	    t_fail "policy latency count: expected >= 2, saw '$_n'" || return
	_n=$(sample mailgov_commit_latency_seconds_count '')
	[ "${_n:-0}" -ge 1 ] ||
	    t_fail "commit latency count: expected >= 1, saw '$_n'" || return
	t_eq "promtool after traffic" "" \
	    "$(scrape | promtool check metrics 2>&1)"
}

test_held_mail_shows_in_the_gauges() {
	n0=$(pf_sink_count "$SINK")
	swaks_as "$WEB2" 192.0.2.25 25
	swaks_as "$WEB2" 192.0.2.25 25
	! clients_failed || { dump_logs; t_fail "a client failed"; } || return
	settle $((n0 + 2)) || return
	wait_sample mailgov_held_messages '{account="site.held"}' 1 || return
	wait_sample mailgov_holds_total '{account="site.held"}' 1 || return
	_b=$(sample mailgov_held_bytes '{account="site.held"}')
	[ "${_b:-0}" -gt 200 ] ||
	    t_fail "held bytes: expected > 200, saw '$_b'"
}

test_idle_accounts_have_no_series() {
	ctl account add idle --uid "$WEB3" >/dev/null || return
	sleep 1.5	# mailgovd reloads the accounts
	_b=$(scrape)
	printf '%s\n' "$_b" | grep -q 'account="idle"' &&
	    t_fail "an idle account has series: $(printf '%s\n' "$_b" |
	    grep 'account="idle"' | head -2)"
	t_eq "accounts with series" 2 "$(sample mailgov_metrics_accounts '')"
}

test_web_user_cannot_connect() {
	_out=$(as_web "$WEB1" curl -sS --max-time 5 "http://$M/metrics" 2>&1)
	t_eq "curl's exit as a web user (7: could not connect)" 7 "$?" ||
	    return
	t_match "its error" "connect" "$_out"
}

test_head_and_http10_get_200_and_a_close() {
	_h=$(lab curl -sS -I --max-time 5 "http://$M/metrics" | tr -d '\r')
	t_match "HEAD" '^HTTP/1.1 200 OK' "$_h" || return
	t_match "HEAD's length" 'Content-Length: [1-9][0-9]*' "$_h" || return
	t_match "the connection closes" 'Connection: close' "$_h" || return
	t_eq "HTTP/1.0" "HTTP/1.1 200 OK" "$(status 'GET /metrics HTTP/1.0\r\n\r\n')"
}

test_post_gets_405() {
	t_eq "POST" "HTTP/1.1 405 Method Not Allowed" \
	    "$(status 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')"
}

test_other_path_gets_404() {
	t_eq "GET /" "HTTP/1.1 404 Not Found" \
	    "$(status 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')"
}

test_http09_and_garbage_get_400() {
	t_eq "HTTP/0.9" "HTTP/1.1 400 Bad Request" \
	    "$(status 'GET /metrics\r\n\r\n')" || return
	t_eq "binary" "HTTP/1.1 400 Bad Request" \
	    "$(status '\001\002\003\377 x\r\n\r\n')"
}

test_too_long_gets_431_or_414() {
	_h=$(head -c 6000 /dev/zero | tr '\0' a)
	t_eq "a 6000-byte header" \
	    "HTTP/1.1 431 Request Header Fields Too Large" \
	    "$(status "GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: $_h\r\n\r\n")" ||
	    return
	t_eq "a 1000-byte path" "HTTP/1.1 414 URI Too Long" \
	    "$(status "GET /$(head -c 1000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n")"
}

test_slow_client_is_cut_at_the_deadline() {
	_t0=$(date +%s)
	# half a request line, then nothing; the client would wait 8 s
	_r=$(status 'GET /metr')
	_t=$(( $(date +%s) - _t0 ))
	[ "$_t" -le 5 ] ||
	    t_fail "the connection lasted ${_t}s (deadline 2 s)" || return
	t_eq "the answer" "HTTP/1.1 408 Request Timeout" "$_r" || return
	policy_ok
}

test_a_thousand_connections_leave_the_policy_server_answering() {
	lab python3 -c '
import socket, time
s = []
for i in range(1000):
    c = socket.socket()
    c.settimeout(5)
    try:
        c.connect(("127.0.0.1", 9464))
    except OSError:
        pass
    s.append(c)
time.sleep(4)
' &
	_p=$!
	sleep 2
	policy_ok || { kill $_p; return 1; }
	n0=$(pf_sink_count "$SINK")
	swaks_as "$WEB1" 192.0.2.25 25
	! clients_failed || { kill $_p; t_fail "mail failed"; } || return
	settle $((n0 + 1)) || { kill $_p; return 1; }
	wait $_p
	sleep 2.5	# every slot past its deadline
	_b=$(scrape) || t_fail "no scrape after the flood" || return
	t_match "a scrape after the flood" '^# HELP' "$_b" || return
	kill -0 "$(cat "$D/pid")" || t_fail "mailgovd is gone"
}

test_stop_is_clean() {
	stop_daemon || t_fail "mailgovd did not stop" || return
	t_match "stopped" 'stopped' "$(tail -3 "$LOG")"
}

t_main "$@"
