#!/bin/sh
# bench/scale.sh - mailgovd at hosting scale: 100,000 accounts and a flow
# table of 1,048,576 flows, beside a 1,000-account daemon in the same run.
#   - a scratch database with 100,000 accounts (a UID and a SASL name
#     each), made in one sqlite3 transaction; one with 1,000 the same way
#   - each daemon started with flow_max = 1048576: time from exec to
#     ready ("started" logged, every listener up), VmRSS and VmHWM
#   - policy requests (bench/loadgen, END-OF-MESSAGE, policy_context=main)
#     for random SASL users over TCP loopback, interleaved round by round:
#     100k accounts with all 100k users active, 100k accounts with 1k
#     users active, 1k accounts with 1k users active; req/s, p50, p99
#   - the flow table alone (bench/flowbench, linked with libmailgov.a):
#     1M flows inserted and looked up, ns per operation and resident
#     memory.  Filling the daemon's table with 1M real connections would
#     take minutes here; bench/kernel.sh measures the per-SYN path.
#
# Databases live on tmpfs with sync = normal: this measures lookups and
# memory, not the disk (bench/run.sh does that).  Runs in tests/lib.sh's
# sandbox (private mount namespace, scratch /etc) and a network namespace
# of its own; traffic goes only to its 127.0.0.1.  Bounded by a timeout;
# everything it starts is stopped at the end.  Needs root.
#
# Environment: BENCH_ACCOUNTS (100000), BENCH_SMALL (1000), BENCH_SECONDS
# (5), BENCH_ROUNDS (3), BENCH_CONNS (16), MAILGOV_BUILD (build).
set -u
if [ "$(id -u)" != 0 ]; then
	echo "bench/scale.sh: needs root (namespaces, NFQUEUE)" >&2
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
BIG=${BENCH_ACCOUNTS:-100000}
SMALL=${BENCH_SMALL:-1000}
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-16}
FLOWS=1048576

t_sandbox "$@"
NS="mgscale$$"
ip netns add "$NS" || exit 1
t_on_exit "ip netns del '$NS'"
t_on_exit "t_ns_kill '$NS'"
ip -n "$NS" link set lo up
inns() { ip netns exec "$NS" "$@"; }

D=$(t_scratch)
chmod 0755 "$D"
W=/var/lib/mailgov-bench	# tmpfs in the sandbox
mkdir -p "$W"
RES="$D/results"
: > "$RES"

cc -O2 -o "$D/loadgen" "$TOP/bench/loadgen.c" || exit 1
cp "$BUILD/mailgovd" "$BUILD/mailgovctl" "$BUILD/libmailgov.a" "$D/" ||
    exit 1
cc -O2 $(for p in lib ledger kernel queue; do printf -- "-I%s/include/%s " "$TOP" $p; done) -o "$D/flowbench" "$TOP/bench/flowbench.c" \
    "$D/libmailgov.a" || exit 1

now_ms() { echo $(($(date +%s%N) / 1000000)); }
vm() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# make_db NAME N - N accounts acct0.., UID 100000+i, SASL user<i>
make_db() {
	_db="$W/$1/mailgov.db"
	mkdir -p "$W/$1"
	_t0=$(now_ms)
	# the schema as mailgovd knows it, then rows straight in
	"$D/mailgovctl" --db "$_db" account add seed >/dev/null &&
	    "$D/mailgovctl" --db "$_db" account del seed >/dev/null || return 1
	sqlite3 "$_db" >/dev/null <<EOF || return 1
PRAGMA foreign_keys = ON;
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $2 - 1)
INSERT INTO accounts (id, name, created)
    SELECT 10 + i, 'acct' || i, CAST(strftime('%s', 'now') AS INTEGER) FROM n;
INSERT INTO account_uids (lo, hi, account)
    SELECT 100000 + id - 10, 100000 + id - 10, id FROM accounts WHERE id >= 10;
INSERT INTO account_sasl (username, account)
    SELECT 'user' || (id - 10), id FROM accounts WHERE id >= 10;
UPDATE generation SET n = n + 1;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
	echo "db $1 accounts=$2 make_ms=$(($(now_ms) - _t0))" | tee -a "$RES"
	# read back through the store API: the last account is whole
	"$D/mailgovctl" --db "$_db" account show "acct$(($2 - 1))" |
	    grep -q "user$(($2 - 1))" ||
	    { echo "bench: account acct$(($2 - 1)) not as made" >&2; return 1; }
	chown -R mailgov "$W/$1"
}

# start NAME PORT QUEUE - a daemon; prints start-up time and memory
start() {
	_d="$W/$1"
	cat > "$_d/mailgov.conf" <<EOF
db = $_d/mailgov.db
user = mailgov
web_uids = 100000-199999
policy_unix = none
policy_tcp = 127.0.0.1:$2
control_socket = $_d/control.sock
queue_num = $3
flow_max = $FLOWS
sync = normal
messages = 1000000000/1h 1000000000/1d
recipients = 1000000000/1d
EOF
	_t0=$(now_ms)
	inns "$D/mailgovd" -d -f "$_d/mailgov.conf" 2>"$_d/log" &
	_n=1000		# 10 s
	until grep -q 'started: queue' "$_d/log"; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] && sleep 0.01 && continue
		cat "$_d/log" >&2
		echo "bench: mailgovd $1 did not start" >&2
		return 1
	done
	_ms=$(($(now_ms) - _t0))
	_pid=$(pgrep -f -x "$D/mailgovd -d -f $_d/mailgov.conf" | head -1)
	eval "PID_$1=$_pid"
	echo "start $1 $(sed -n 's/.*started: \(.*\)/\1/p' "$_d/log" | tr -d ,)" \
	    "ready_ms=$_ms rss_mb=$(vm "$_pid" VmRSS) hwm_mb=$(vm "$_pid" VmHWM)" |
	    tee -a "$RES"
}

# load NAME PORT USERS
load() {
	_out=$(inns "$D/loadgen" -p "$2" -c "$CONNS" -w 1 -d "$SECS" -n "$3" \
	    -x main 2>&1)
	echo "load $1 users=$3 $_out" | tee -a "$RES"
}

echo "# $BIG and $SMALL accounts; flow_max $FLOWS; $ROUNDS rounds of 1s +" \
    "${SECS}s at $CONNS conns; $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
make_db big "$BIG" || exit 1
make_db small "$SMALL" || exit 1
start big 19101 31 || exit 1
start small 19102 32 || exit 1

r=1
while [ "$r" -le "$ROUNDS" ]; do
	load big 19101 "$BIG"
	load big 19101 "$SMALL"
	load small 19102 "$SMALL"
	r=$((r + 1))
done
for s in big small; do
	eval "_pid=\$PID_$s"
	echo "after $s rss_mb=$(vm "$_pid" VmRSS) hwm_mb=$(vm "$_pid" VmHWM)" |
	    tee -a "$RES"
done

# stop both; every request was charged: the totals are in the databases
for s in big small; do
	eval "_pid=\$PID_$s"
	kill "$_pid"
	_n=100
	while [ -d "/proc/$_pid" ] && [ $_n -gt 0 ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "db $s after: $(sqlite3 "$W/$s/mailgov.db" \
	    "SELECT 'messages=' || SUM(messages) || ' accounts_used=' || COUNT(*) FROM usage WHERE messages > 0;")" |
	    tee -a "$RES"
done
sent() { grep -- "^load $1 " "$RES" | sed -n 's/.* reqs=\([0-9]*\).*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }'; }
echo "# requests sent: big $(sent big), small $(sent small) (warm-up not included)"

echo "# flow table alone, $FLOWS flows"
"$D/flowbench" -n "$FLOWS" > "$D/flow" || exit 1
tr '\n' ' ' < "$D/flow"; echo

# --- table -----------------------------------------------------------------

# field PATTERN NAME - NAME=value from the first line matching PATTERN
field() { grep -- "$1" "$RES" | head -1 | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"; }
# median PATTERN NAME - over every line matching PATTERN
median() {
	grep -- "$1" "$RES" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	    else if (NR) print (v[NR / 2] + v[NR / 2 + 1]) / 2; else print 0 }'
}
flow() { sed -n "s/^$1=//p" "$D/flow"; }

echo
echo "| | $SMALL accounts | $BIG accounts |"
echo "|---|---|---|"
echo "| database made in (ms) | $(field '^db small' make_ms) | $(field '^db big' make_ms) |"
echo "| start-up to ready (ms) | $(field '^start small' ready_ms) | $(field '^start big' ready_ms) |"
echo "| VmRSS after start (MB) | $(field '^start small' rss_mb) | $(field '^start big' rss_mb) |"
echo "| VmRSS after the load (MB) | $(field '^after small' rss_mb) | $(field '^after big' rss_mb) |"
echo "| VmHWM after the load (MB) | $(field '^after small' hwm_mb) | $(field '^after big' hwm_mb) |"
echo "| accounts charged by the load | $(field '^db small after' accounts_used) | $(field '^db big after' accounts_used) |"
echo
echo "| policy load ($CONNS conns, medians of $ROUNDS) | req/s | p50 ms | p99 ms | unanswered |"
echo "|---|---|---|---|---|"
for k in "small users=$SMALL" "big users=$SMALL" "big users=$BIG"; do
	p="^load $k "
	printf '| %s | %s | %s | %s | %s |\n' "$k" "$(median "$p" rps)" \
	    "$(median "$p" p50_us | awk '{ printf "%.2f", $1 / 1000 }')" \
	    "$(median "$p" p99_us | awk '{ printf "%.2f", $1 / 1000 }')" \
	    "$(grep -- "$p" "$RES" | sed -n 's/.* unanswered=\([0-9]*\).*/\1/p' | sort -n | tail -1)"
done
s=$(median "^load small users=$SMALL " rps)
echo
echo "req/s vs $SMALL accounts: $BIG accounts, $SMALL users active:" \
    "$(awk "BEGIN { printf \"%.2f\", $(median "^load big users=$SMALL " rps) / $s }");" \
    "$BIG accounts, all active:" \
    "$(awk "BEGIN { printf \"%.2f\", $(median "^load big users=$BIG " rps) / $s }")"
echo
echo "| flow table alone ($(flow flows) flows) | |"
echo "|---|---|"
echo "| insert (ns) | $(flow insert_ns) |"
echo "| lookup, present (ns) | $(flow lookup_hit_ns) |"
echo "| lookup, absent (ns) | $(flow lookup_miss_ns) |"
echo "| expiry (ns per flow) | $(flow expire_ns) |"
echo "| delete (ns) | $(flow delete_ns) |"
echo "| insert into a full table | $(flow insert_when_full) |"
echo "| VmRSS empty -> full (MB) | $(flow rss_after_new_kb | awk '{ printf "%.1f", $1 / 1024 }') -> $(flow rss_full_kb | awk '{ printf "%.1f", $1 / 1024 }') |"
echo "| resident bytes per flow | $(flow bytes_per_flow) |"
exit 0
