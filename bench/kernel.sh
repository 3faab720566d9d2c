#!/bin/sh
# bench/kernel.sh - what the kernel path adds to a web user's TCP
# connection set-up.  Three configurations, measured in one run, round by
# round, so that machine noise hits each alike:
#   a  no mailgov rules at all: a web UID connects straight to a listener
#      on 127.0.0.1:2525, in a namespace that never had a netfilter rule
#   b  `mailgovctl rules install`, mailgovd NOT running: the SYN passes
#      the NFQUEUE rule by queue-bypass and nat redirects it (the
#      fail-safe path); the web UID connects to 192.0.2.25:25, which
#      lands on the lab's 127.0.0.1:2525
#   c  the same rules with mailgovd running: NFQUEUE, mailgovd's verdict,
#      then the redirect; same target as b
# bench/connlat makes the connections (closed loop, 1 and 8 at a time),
# bench/banner is the listener (accept, "220" line, close).  Reported:
# connections/s, p50/p99 of connect() until established and until the
# banner is read, and the ratios c/a and c/b.
#
# Then another user's latency during a flood, with mailgovd running:
#   q   a second web user (the victim) connects BENCH_PROBE_RATE times a
#       second, and nobody else does
#   f   the same while a third web user floods: bench/synflood keeps 256
#       connects from as many 127/8 addresses in flight, each one
#       refused by the kernel's syn_rate or by mailgovd (over budget)
#   f0  the same flood with syn_rate = 0: no kernel limit, every SYN of
#       the flood reaches mailgovd
# Reported: the victim's connect() p50/p99 and errors, the ratios f/q and
# f0/q, the flood's attempts and how many of its SYNs reached the queue.
#
# Runs in a private mount namespace (tests/lib.sh's t_sandbox: scratch
# /etc with the test web users) and network namespaces of its own (lab,
# mx from t_topology, plus a bare one for a); traffic goes only to their
# addresses.  Everything it starts and creates is removed at the end; a
# timeout bounds the whole run.  Needs root.
#
# Environment: BENCH_CONNS_TOTAL (20000 per measurement), BENCH_CONC
# ("1 8"), BENCH_ROUNDS (5), BENCH_MAXSECS (12, cap per measurement),
# BENCH_BACKEND (iptables or nftables), BENCH_FLOOD_ROUNDS (3; 0 skips
# the flood), BENCH_PROBE_RATE (150 a second), BENCH_PROBE_SECS (8),
# BENCH_SYN_RATE (200: syn_rate of the rules; burst twice that),
# MAILGOV_BUILD (build).
set -u
if [ "$(id -u)" != 0 ]; then
	echo "bench/kernel.sh: needs root (network namespaces)" >&2
	exit 1
fi
if [ -z "${MAILGOV_BENCH_BOUND:-}" ]; then
	MAILGOV_BENCH_BOUND=1 exec timeout --kill-after=10 600 sh "$0" "$@"
fi

. "$(dirname "$0")/../tests/lib.sh"
# lib.sh finds the top from tests/*/; this file lives one level higher
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MAILGOV_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
TOTAL=${BENCH_CONNS_TOTAL:-20000}
CONC=${BENCH_CONC:-1 8}
ROUNDS=${BENCH_ROUNDS:-5}
MAXSECS=${BENCH_MAXSECS:-12}
BACKEND=${BENCH_BACKEND:-iptables}
FROUNDS=${BENCH_FLOOD_ROUNDS:-3}
PRATE=${BENCH_PROBE_RATE:-150}
PSECS=${BENCH_PROBE_SECS:-8}
SYNRATE=${BENCH_SYN_RATE:-200}

t_sandbox "$@"
t_topology || exit 1
BASE="mgbase$$"
ip netns add "$BASE" || exit 1
t_on_exit "ip netns del '$BASE'"
t_on_exit "t_ns_kill '$BASE'"
ip -n "$BASE" link set lo up

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
RES="$D/results"
: > "$RES"

cc -O2 -pthread -o "$D/connlat" "$TOP/bench/connlat.c" || exit 1
cc -O2 -pthread -o "$D/banner" "$TOP/bench/banner.c" || exit 1
cc -O2 -o "$D/synflood" "$TOP/bench/synflood.c" || exit 1
# copies: a rebuild during the run must not swap the binaries under it
cp "$BUILD/mailgovd" "$BUILD/mailgovctl" "$D/" || exit 1
MAILGOVD="$D/mailgovd"
MAILGOVCTL="$D/mailgovctl"

# Wide ephemeral range and TIME_WAIT reuse in both namespaces; connlat
# closes with a reset, so neither side keeps TIME_WAIT anyway.
for ns in "$LAB" "$BASE"; do
	ip netns exec "$ns" sysctl -qw \
	    net.ipv4.ip_local_port_range="1024 65535" \
	    net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096 \
	    net.ipv4.tcp_max_syn_backlog=4096 || exit 1
	ip netns exec "$ns" "$D/banner" -a 127.0.0.1 -p 2525 &
	t_wait 5 ip netns exec "$ns" sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
	    { echo "bench: no listener in $ns" >&2; exit 1; }
done

t_config "$CONF" <<EOF
control_socket = $D/control.sock
policy_unix = none
policy_tcp = none
syn_rate = $SYNRATE
syn_burst = $((SYNRATE * 2))
EOF
# the same rules without the kernel's rate limit, for f0
{ grep -v '^syn_' "$CONF"; echo "syn_rate = 0"; } > "$D/norate.conf"
ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
# The bench's web user has an account with no connection budget: the
# daemon must never refuse (or count sockets for) these connections, and
# the kernel does not limit its rate (new_connections unlimited).
ctl account add bench --uid "$WEB1" >/dev/null || exit 1
ctl budget set bench connections unlimited \
    new_connections unlimited >/dev/null || exit 1
# The victim: a budget it never reaches, and the kernel's syn_rate.
ctl account add victim --uid "$WEB2" >/dev/null || exit 1
ctl budget set victim connections unlimited \
    new_connections 10000000/1m >/dev/null || exit 1
# The flooder ($WEB3) has the default budget of its auto account.
ctl rules install --backend "$BACKEND" >/dev/null || exit 1

DPID=""
# start_daemon - mailgovd in the lab, in the foreground, log in $LOG
start_daemon() {
	: > "$LOG"
	ip netns exec "$LAB" "$MAILGOVD" -d -f "$CONF" --db "$DB" 2>>"$LOG" &
	DPID=$!
	t_wait 5 grep -q 'started: queue' "$LOG" || {
		cat "$LOG" >&2
		echo "bench: mailgovd did not start" >&2
		exit 1
	}
}
# stop_daemon - TERM and wait: config b must have no reader on the queue
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=""
}
t_on_exit 'stop_daemon'

# daemon_cpu [main] - ns mailgovd has run so far, all its threads (or
# its main thread: the event loop that answers NFQUEUE)
daemon_cpu() {
	if [ -n "${1:-}" ]; then
		cut -d' ' -f1 /proc/"$DPID"/task/"$DPID"/schedstat
	else
		cat /proc/"$DPID"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'
	fi
}

CONNS_C=0
# measure CONFIG NS ADDR PORT CONC - one closed-loop run as the web user
measure() {
	_out=$(ip netns exec "$2" setpriv --reuid="$WEB1" --regid="$WEB1" \
	    --clear-groups "$D/connlat" -a "$3" -p "$4" -c "$5" -w 500 \
	    -n "$TOTAL" -t "$MAXSECS" 2>&1)
	echo "$1 $_out" | tee -a "$RES"
	_n=$(echo "$_out" | sed -n 's/.* n=\([0-9]*\) .*/\1/p')
	CONNS_C=$((CONNS_C + ${_n:-0} + 500))
}

echo "# $ROUNDS rounds; up to $TOTAL connections (or ${MAXSECS}s) per" \
    "measurement; backend $BACKEND; $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for c in $CONC; do
		measure a "$BASE" 127.0.0.1 2525 "$c"
	done
	for c in $CONC; do
		measure b "$LAB" 192.0.2.25 25 "$c"
	done
	start_daemon
	cpu0=$(daemon_cpu) main0=$(daemon_cpu main)
	CONNS_C=0
	for c in $CONC; do
		measure c "$LAB" 192.0.2.25 25 "$c"
	done
	# connlat's warm-up connections went through the daemon too
	echo "cpu ns=$(($(daemon_cpu) - cpu0)) conns=$CONNS_C" \
	    "main=$(($(daemon_cpu main) - main0))" >> "$RES"
	# the connections of c went through mailgovd: it logged the
	# bench account's redirects (rate-limited alerts)
	grep -q 'event=redirect account=bench ' "$LOG" || {
		cat "$LOG" >&2
		echo "bench: mailgovd saw none of c's connections" >&2
		exit 1
	}
	stop_daemon
	r=$((r + 1))
done

# --- another user's latency during a flood -----------------------------------

# status_packets - the packets mailgovd has read from the queue so far
status_packets() {
	lab php -r '
	    $s = @stream_socket_client("unix://" . $argv[1], $en, $es, 3);
	    if (!$s) exit(1);
	    fwrite($s, "status\n");
	    while (($l = fgets($s)) !== false && $l !== "\n")
		if (strncmp($l, "packets=", 8) == 0) echo substr($l, 8);
	' "$D/control.sock"
}

# probe CONFIG [flood] - the victim's latency, during a flood or not
probe() {
	_p0=$(status_packets)
	_fp=""
	if [ -n "${2:-}" ]; then
		ip netns exec "$LAB" setpriv --reuid="$WEB3" --regid="$WEB3" \
		    --clear-groups "$D/synflood" -a 127.0.0.1 -p 25 -P 256 -s \
		    -t $((PSECS + 1)) > "$D/flood.out" 2>&1 &
		_fp=$!
		sleep 0.5
	fi
	_out=$(ip netns exec "$LAB" setpriv --reuid="$WEB2" --regid="$WEB2" \
	    --clear-groups "$D/connlat" -a 192.0.2.25 -p 25 -c 1 -w 0 \
	    -r "$PRATE" -n $((PRATE * PSECS)) -t $((PSECS + 2)) 2>&1)
	_fl="attempts=0 refused=0 made=0"
	if [ -n "$_fp" ]; then
		wait "$_fp"
		_fl=$(cat "$D/flood.out")
	fi
	_p1=$(status_packets)
	echo "$1 $_out queued=$((_p1 - _p0)) $_fl" | tee -a "$RES"
}

if [ "$FROUNDS" -gt 0 ]; then
	start_daemon
	r=1
	while [ "$r" -le "$FROUNDS" ]; do
		probe q
		probe f flood
		lab "$MAILGOVCTL" --config "$D/norate.conf" --db "$DB" rules \
		    install --backend "$BACKEND" >/dev/null || exit 1
		probe f0 flood
		ctl rules install --backend "$BACKEND" >/dev/null || exit 1
		r=$((r + 1))
	done
	stop_daemon
fi

# --- table -----------------------------------------------------------------

# median CONFIG CONC FIELD
median() {
	grep "^$1 conns=$2 " "$RES" | sed -n "s/.* $3=\([0-9.]*\).*/\1/p" |
	    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	    else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2; else print 0 }'
}
# sum CONFIG CONC FIELD
sum() {
	grep "^$1 conns=$2 " "$RES" | sed -n "s/.* $3=\([0-9]*\).*/\1/p" |
	    awk '{ s += $1 } END { print s + 0 }'
}
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }

echo
echo "| config | conc | conn/s | connect p50 us | connect p99 us | banner p50 us | banner p99 us | errors |"
echo "|---|---|---|---|---|---|---|---|"
for c in $CONC; do
	for k in a b c; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" "$c" \
		    "$(median $k $c cps)" "$(median $k $c connect_p50_us)" \
		    "$(median $k $c connect_p99_us)" \
		    "$(median $k $c banner_p50_us)" \
		    "$(median $k $c banner_p99_us)" "$(sum $k $c errors)"
	done
done
echo
echo "| conc | conn/s c/a | conn/s c/b | connect p50 c/a | connect p50 c/b | connect p99 c/a | connect p99 c/b |"
echo "|---|---|---|---|---|---|---|"
for c in $CONC; do
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
	    "$(ratio "$(median c $c cps)" "$(median a $c cps)")" \
	    "$(ratio "$(median c $c cps)" "$(median b $c cps)")" \
	    "$(ratio "$(median c $c connect_p50_us)" "$(median a $c connect_p50_us)")" \
	    "$(ratio "$(median c $c connect_p50_us)" "$(median b $c connect_p50_us)")" \
	    "$(ratio "$(median c $c connect_p99_us)" "$(median a $c connect_p99_us)")" \
	    "$(ratio "$(median c $c connect_p99_us)" "$(median b $c connect_p99_us)")"
done
# CPU time of mailgovd's threads, kernel work done in them included (the
# verdict's sendmsg carries the reinjected SYN through the handshake)
awk '/^cpu / { sub("ns=", "", $2); sub("conns=", "", $3); sub("main=", "", $4)
    n += $3; t += $2; m += $4 }
    END { if (n) printf "\nmailgovd CPU during c, per connection: %.1f us all threads, %.1f us main thread (%d connections)\n", t / n / 1000, m / n / 1000, n }' "$RES"
if [ "$FROUNDS" -gt 0 ]; then
	# fmedian CONFIG FIELD - the median over the flood rounds
	fmedian() {
		grep "^$1 conns=" "$RES" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" |
		    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
		    else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2; else print 0 }'
	}
	echo
	echo "Another user's connect() while a third floods ($FROUNDS rounds," \
	    "$PRATE connections/s for ${PSECS}s each; syn_rate $SYNRATE):"
	echo
	echo "| config | victim p50 us | victim p99 us | victim errors | flood attempts | SYNs queued | SYNs queued/s |"
	echo "|---|---|---|---|---|---|---|"
	for k in q f f0; do
		printf '| %s | %s | %s | %s | %s | %s | %.0f |\n' "$k" \
		    "$(fmedian $k connect_p50_us)" "$(fmedian $k connect_p99_us)" \
		    "$(grep "^$k conns=" "$RES" | sed -n 's/.* errors=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')" \
		    "$(fmedian $k attempts)" "$(fmedian $k queued)" \
		    "$(awk "BEGIN { print $(fmedian $k queued) / $PSECS }")"
	done
	echo
	echo "| ratio | p50 | p99 |"
	echo "|---|---|---|"
	for k in f f0; do
		printf '| %s/q | %s | %s |\n' "$k" \
		    "$(ratio "$(fmedian $k connect_p50_us)" "$(fmedian q connect_p50_us)")" \
		    "$(ratio "$(fmedian $k connect_p99_us)" "$(fmedian q connect_p99_us)")"
	done
fi
errs=$(awk '$1 !~ /^f/ { for (i = 2; i <= NF; i++) if ($i ~ /^errors=/) { sub("errors=", "", $i); s += $i } } END { print s + 0 }' "$RES")
[ "$errs" -eq 0 ] || { echo "bench: $errs connections failed" >&2; exit 1; }
exit 0
