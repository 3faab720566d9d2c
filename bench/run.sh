#!/bin/sh
# bench/run.sh - the policy server benchmark (`make bench`).
#
# Measures, in one run and interleaved round by round so that machine
# noise hits every server alike:
#   trivial   a C epoll server that always answers DUNNO (the ceiling)
#   postfwd1  postfwd 1.35, single process, rate(sasl_username/100/3600)
#   mailgovd  the real daemon, policy on TCP loopback, scratch database on
#             disk, 1000 SASL users mapped to 1000 accounts, budgets high
#             enough never to trigger; with sync=full and sync=normal, each
#             without and with the redo log (redo_log = on)
#   mailgovd-metrics  mailgovd-redo-normal's configuration with
#             metrics_listen on, scraped once a second while it is measured
#             (the ratio to mailgovd-redo-normal is the cost of the metrics)
#   mailgovd-redis  the same as redo-full (the defaults) but with
#             budget_store = redis: every message charged in a
#             redis-server on 127.0.0.1 (docs/cluster.md), with the Redis
#             commands per message from INFO commandstats
#   mailgovd-redis-normal  redo-normal's configuration with
#             budget_store = redis (the cost of Redis where no fsync hides
#             it)
# at 16 and 128 connections, with bench/loadgen (closed loop,
# END-OF-MESSAGE requests shaped like Postfix 3.7's).  Prints one line per
# measurement, then a table of medians and the ratios.
#
# Everything runs in a private network namespace (only its 127.0.0.1 is
# used) and a private mount namespace (a scratch /etc with the mailgov
# user); every server is stopped at the end.  Needs root.
#
# Environment: BENCH_SECONDS (10), BENCH_WARMUP (2), BENCH_ROUNDS (3),
# BENCH_CONNS ("16 128"), BENCH_USERS (1000), MAILGOV_BUILD (build),
# BENCH_SERVERS (the servers to run, by name; all when empty),
# BENCH_SLICES (10) and BENCH_SLICE_SECONDS (3): after the rounds, the
# metrics pair once more in that many short slices, taking turns, so
# that a machine whose speed drifts over tens of seconds weighs on both
# alike.
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
BUILD=${MAILGOV_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
SECS=${BENCH_SECONDS:-10}
WARM=${BENCH_WARMUP:-2}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-16 128}
USERS=${BENCH_USERS:-1000}
SERVERS=${BENCH_SERVERS:-}
SLICES=${BENCH_SLICES:-10}
SLICE_SECS=${BENCH_SLICE_SECONDS:-3}

# want NAME - is server NAME in this run
want() {
	[ -z "$SERVERS" ] && return 0
	case " $SERVERS " in *" $1 "*) return 0 ;; esac
	return 1
}

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network and mount namespaces)" >&2
	exit 1
fi
if [ -z "${MAILGOV_BENCH_NS:-}" ]; then
	MAILGOV_BENCH_NS=1 exec timeout --kill-after=10 1800 \
	    unshare --mount --net --propagation private sh "$0" "$@"
fi
ip link set lo up

# On disk, not tmpfs: an fsync here costs what it costs in production.
WORK=$(mktemp -d /var/tmp/mailgov-bench.XXXXXX)
chmod 0755 "$WORK"
PIDS=""
REDO_PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -f "$WORK/postfwd.pid" ] && kill "$(cat "$WORK/postfwd.pid")" 2>/dev/null
	[ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A scratch /etc with the daemon's user, seen only in this namespace.
cp -a /etc "$WORK/etc"
mount --bind "$WORK/etc" /etc
if ! getent passwd mailgov >/dev/null; then
	echo "mailgov:x:64090:64090::/nonexistent:/usr/sbin/nologin" >> /etc/passwd
	echo "mailgov:x:64090:" >> /etc/group
fi
mkdir -p /run/mailgov
mount -t tmpfs -o mode=0755 tmpfs /run/mailgov
chown mailgov /run/mailgov

cc -O2 -o "$WORK/loadgen" bench/loadgen.c || exit 1
cc -O2 -o "$WORK/trivial" bench/trivial.c || exit 1
cc -O2 -o "$WORK/scrape" bench/scrape.c || exit 1
LOADGEN="$WORK/loadgen"
# copies: a rebuild during the run must not swap the binaries under it
cp "$BUILD/mailgovd" "$BUILD/mailgovctl" "$WORK/" || exit 1
BUILD="$WORK"

P_TRIVIAL=19001 P_POSTFWD=19002 P_FULL=19003 P_NORMAL=19004
P_RFULL=19005 P_RNORMAL=19006 P_METRICS=19007 P_SCRAPE=19464 P_REDIS=19008
P_REDISD=19010 P_REDISN=19009

# wait_port PORT - until something listens (5 s)
wait_port() {
	_n=50
	while [ $_n -gt 0 ]; do
		ss -ltn | grep -q "127.0.0.1:$1 " && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "bench: nothing listens on 127.0.0.1:$1" >&2
	return 1
}

# --- servers -------------------------------------------------------------

"$WORK/trivial" -p $P_TRIVIAL &
PIDS="$PIDS $!"
wait_port $P_TRIVIAL || exit 1

HAVE_POSTFWD=0
if ! want postfwd1; then
	:
elif [ -x /usr/sbin/postfwd1 ]; then
	# an absolute -f: with a relative one postfwd may run with no rules
	echo 'id=RATE01; protocol_state==END-OF-MESSAGE; action=rate(sasl_username/100/3600/450 4.7.1 rate limit exceeded)' \
	    > "$WORK/postfwd.cf"
	/usr/sbin/postfwd1 -d -f "$WORK/postfwd.cf" -i 127.0.0.1 \
	    -p $P_POSTFWD -P -u nobody -g nogroup \
	    --pidfile "$WORK/postfwd.pid" >/dev/null 2>&1
	if wait_port $P_POSTFWD; then
		# prove the limit works: 5 users x 101 messages must give
		# exactly 500 DUNNO and 5 refusals
		v=$("$LOADGEN" -p $P_POSTFWD -n 5 -v 101 -x main)
		echo "# postfwd1 rate check: $v"
		case "$v" in
		*"dunno=500 other=5 "*) HAVE_POSTFWD=1 ;;
		*) echo "bench: postfwd1's rate limit did not trigger as" \
		    "expected; leaving it out" >&2 ;;
		esac
	fi
else
	echo "# postfwd1 not installed (Debian package postfwd): left out"
fi

HAVE_REDIS=0
if command -v redis-server >/dev/null; then
	mkdir -p "$WORK/redisd"
	redis-server --bind 127.0.0.1 --port $P_REDISD --save "" \
	    --appendonly no --dir "$WORK/redisd" --daemonize yes \
	    --pidfile "$WORK/redis.pid" --logfile "$WORK/redisd/log" \
	    >/dev/null && wait_port $P_REDISD && HAVE_REDIS=1
else
	echo "# redis-server not installed (Debian package redis-server): left out"
fi
rcli() { redis-cli -h 127.0.0.1 -p $P_REDISD "$@"; }
REDIS_PREFIX=mailgov:	# the default redis_prefix, set below all the same

# mailgovd_start NAME PORT QUEUE SYNC REDO [EXTRA] - a daemon on its own
# database; EXTRA: more configuration lines
mailgovd_start() {
	want "mailgovd-$1" || return 0
	_d="$WORK/$1"
	mkdir -p "$_d"
	cat > "$_d/mailgov.conf" <<EOF
db = $_d/mailgov.db
user = mailgov
policy_unix = ""
policy_tcp = 127.0.0.1:$2
control_socket = $_d/control.sock
queue_num = $3
sync = $4
redo_log = $5
messages = 1000000000/1h 1000000000/1d
recipients = 1000000000/1d
${6:-}
EOF
	cp "$WORK/accounts.db" "$_d/mailgov.db"
	chown -R mailgov "$_d"
	"$BUILD/mailgovd" -d -f "$_d/mailgov.conf" 2>"$_d/log" &
	PIDS="$PIDS $!"
	[ "$5" = on ] && REDO_PIDS="$REDO_PIDS $!"
	wait_port "$2" || { cat "$_d/log" >&2; return 1; }
}

# USERS accounts, one SASL user each, made once on tmpfs (an fsync per
# account would take minutes on a slow disk) and copied to each daemon
echo "# making $USERS accounts ..."
_i=0
while [ $_i -lt "$USERS" ]; do
	"$BUILD/mailgovctl" --db /run/mailgov/accounts.db \
	    account add "acct$_i" --sasl "user$_i" >/dev/null || exit 1
	_i=$((_i + 1))
done
sqlite3 /run/mailgov/accounts.db "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
cp /run/mailgov/accounts.db "$WORK/accounts.db"
mailgovd_start full $P_FULL 11 full off || exit 1
mailgovd_start normal $P_NORMAL 12 normal off || exit 1
mailgovd_start redo-full $P_RFULL 13 full on || exit 1
mailgovd_start redo-normal $P_RNORMAL 14 normal on || exit 1
mailgovd_start metrics $P_METRICS 15 normal on \
    "metrics_listen = 127.0.0.1:$P_SCRAPE" || exit 1
if [ $HAVE_REDIS = 1 ]; then
	mailgovd_start redis $P_REDIS 16 full on "budget_store = redis
redis = 127.0.0.1:$P_REDISD
redis_prefix = $REDIS_PREFIX
cluster_nodes = 2" || exit 1
	mailgovd_start redis-normal $P_REDISN 17 normal on "budget_store = redis
redis = 127.0.0.1:$P_REDISD
redis_prefix = n$REDIS_PREFIX
cluster_nodes = 2" || exit 1
	sleep 0.5	# connected and the script loaded
fi

# --- measurements ----------------------------------------------------------

RES="$WORK/results"
: > "$RES"
measure() {	# NAME PORT CONNS [WARMUP SECS FILE]
	want "$1" || return 0
	_scraper=""
	if [ "$1" = mailgovd-metrics ]; then
		# what Prometheus does, but every second instead of every 15,
		# from one long-lived process as Prometheus is (bench/scrape.c)
		"$WORK/scrape" -p $P_SCRAPE -i 1000 >> "$WORK/scrapes" &
		_scraper=$!
	fi
	_out=$("$LOADGEN" -p "$2" -c "$3" -w "${4:-$WARM}" -d "${5:-$SECS}" \
	    -n "$USERS" -x main 2>&1)
	if [ -n "$_scraper" ]; then
		kill "$_scraper" 2>/dev/null
		wait "$_scraper"
	fi
	echo "$1 $_out" | tee -a "${6:-$RES}"
}

[ $HAVE_REDIS = 1 ] && rcli CONFIG RESETSTAT >/dev/null
echo "# $ROUNDS rounds of ${WARM}s warm-up + ${SECS}s, $USERS users, $(nproc) CPUs"
r=1
while [ $r -le "$ROUNDS" ]; do
	for c in $CONNS; do
		measure trivial $P_TRIVIAL "$c"
		[ $HAVE_POSTFWD = 1 ] && measure postfwd1 $P_POSTFWD "$c"
		measure mailgovd-full $P_FULL "$c"
		measure mailgovd-normal $P_NORMAL "$c"
		measure mailgovd-redo-full $P_RFULL "$c"
		# the metrics pair back to back, in turns first, so that a
		# drift during the run weighs on both alike
		if [ $((r % 2)) = 1 ]; then
			measure mailgovd-redo-normal $P_RNORMAL "$c"
			measure mailgovd-metrics $P_METRICS "$c"
		else
			measure mailgovd-metrics $P_METRICS "$c"
			measure mailgovd-redo-normal $P_RNORMAL "$c"
		fi
		if [ $HAVE_REDIS = 1 ]; then
			measure mailgovd-redis $P_REDIS "$c"
			measure mailgovd-redis-normal $P_REDISN "$c"
		fi
	done
	r=$((r + 1))
done

# the metrics pair again, in short slices taking turns
SLICED="$WORK/sliced"
: > "$SLICED"
if want mailgovd-metrics && want mailgovd-redo-normal && [ "$SLICES" -gt 0 ]; then
	echo "# the metrics pair: $SLICES slices of 1s warm-up + ${SLICE_SECS}s each"
	for c in $CONNS; do
		i=1
		while [ $i -le "$SLICES" ]; do
			if [ $((i % 2)) = 1 ]; then
				measure mailgovd-redo-normal $P_RNORMAL "$c" 1 "$SLICE_SECS" "$SLICED"
				measure mailgovd-metrics $P_METRICS "$c" 1 "$SLICE_SECS" "$SLICED"
			else
				measure mailgovd-metrics $P_METRICS "$c" 1 "$SLICE_SECS" "$SLICED"
				measure mailgovd-redo-normal $P_RNORMAL "$c" 1 "$SLICE_SECS" "$SLICED"
			fi
			i=$((i + 1))
		done
	done
fi

# every request was charged and is on disk: usage must show it.  The
# redo log daemons are stopped first: SQLite has their rows within 0.1 s,
# and all of them once they have stopped.
for p in $REDO_PIDS; do kill "$p" 2>/dev/null; done
for p in $REDO_PIDS; do
	while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
done
[ -s "$WORK/scrapes" ] && awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "=")
	v[kv[1]] = kv[2] }
	n += v["scrapes"]; f += v["failed"]; b = v["bytes"]
	if (v["slowest_us"] > w) w = v["slowest_us"] }
    END { printf "# mailgovd-metrics: %d scrapes of %d bytes, %d failed, the slowest %.1f ms\n", n, b, f, w / 1000 }' "$WORK/scrapes"
for s in full normal redo-full redo-normal metrics redis redis-normal; do
	[ -d "$WORK/$s" ] || continue
	n=$(sqlite3 "$WORK/$s/mailgov.db" "SELECT SUM(messages) FROM usage;" 2>/dev/null)
	echo "# mailgovd-$s: $n messages counted in its database"
done
# Redis's work per message: the client's commands (EVALSHA) and the
# script's own (TIME, GET, SET), from INFO commandstats
if [ $HAVE_REDIS = 1 ]; then
	n=0
	for s in redis redis-normal; do
		[ -d "$WORK/$s" ] || continue
		_n=$(sqlite3 "$WORK/$s/mailgov.db" "SELECT SUM(messages) FROM usage;" 2>/dev/null)
		n=$((n + ${_n:-0}))
	done
	rcli INFO commandstats | tr -d '\r' | awk -F'[:=,]' -v n="${n:-0}" '
	    /^cmdstat_(evalsha|eval|script)/ { client += $3 }
	    /^cmdstat_evalsha/ { us += $5 }
	    /^cmdstat_(get|mget|set|del|time)/ { inner += $3 }
	    END { if (n > 0) printf "# mailgovd-redis and -redis-normal: %.2f Redis commands per message from mailgovd, %.2f run inside the script; %.1f us of redis-server time per message\n", client / n, inner / n, us / n }'
	# The keys are PREFIX "b:{" ACCOUNT "}:tat", one per account, and
	# PREFIX "b:{" ACCOUNT "}:blocked" (src/cluster/cluster.c), PREFIX the
	# default redis_prefix.  A key expires when its windows have nothing
	# left to remember: with the bench's budgets (10^9 an hour and a
	# day) that is about 1 ms after its last charge, so once the load
	# stops almost none are left, and the
	# server's expired_keys (this redis-server serves the bench alone)
	# says how many were written and expired meanwhile.
	keys=$(rcli --scan --pattern "${REDIS_PREFIX}b:{*}:*" | wc -l)
	expired=$(rcli INFO stats | tr -d '\r' | sed -n 's/^expired_keys://p')
	echo "# mailgovd-redis: $keys budget keys in Redis now, ${expired:-?} expired since the start (both daemons) (a key lives about 1 ms past its last charge with these budgets); $(cat "$WORK"/redis*/log 2>/dev/null | grep -c 'budgets fall back') fallbacks logged"
	cat "$WORK"/redis*/log 2>/dev/null | grep 'redis' | sed 's/^/#   /' | head -5
fi

# --- table -----------------------------------------------------------------

# median NAME CONNS FIELD
median() {
	grep "^$1 conns=$2 " "$RES" | sed -n "s/.* $3=\([0-9]*\).*/\1/p" |
	    sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}
# maxof NAME CONNS FIELD
maxof() {
	grep "^$1 conns=$2 " "$RES" | sed -n "s/.* $3=\([0-9]*\).*/\1/p" |
	    sort -n | tail -1
}

echo
echo "| server | conns | req/s (median) | p50 ms | p99 ms | unanswered conns (worst) |"
echo "|---|---|---|---|---|---|"
for c in $CONNS; do
	for s in trivial postfwd1 mailgovd-full mailgovd-normal \
	    mailgovd-redo-full mailgovd-redo-normal mailgovd-metrics mailgovd-redis \
	    mailgovd-redis-normal; do
		grep -q "^$s conns=$c " "$RES" || continue
		rps=$(median $s $c rps)
		p50=$(median $s $c p50_us)
		p99=$(median $s $c p99_us)
		un=$(maxof $s $c unanswered)
		printf '| %s | %s | %s | %s | %s | %s |\n' "$s" "$c" "$rps" \
		    "$(awk "BEGIN { printf \"%.2f\", $p50 / 1000 }")" \
		    "$(awk "BEGIN { printf \"%.2f\", $p99 / 1000 }")" "$un"
	done
done
echo
for c in $CONNS; do
	t=$(median trivial $c rps)
	[ "$t" = - ] && continue	# trivial not in this run
	for s in mailgovd-full mailgovd-normal mailgovd-redo-full \
	    mailgovd-redo-normal mailgovd-metrics mailgovd-redis \
	    mailgovd-redis-normal; do
		grep -q "^$s conns=$c " "$RES" || continue
		m=$(median $s $c rps)
		line="$s at $c conns: $(awk "BEGIN { printf \"%.2f\", $m / $t }") x trivial"
		if [ $HAVE_POSTFWD = 1 ]; then
			pf=$(median postfwd1 $c rps)
			line="$line, $(awk "BEGIN { printf \"%.1f\", $m / $pf }") x postfwd1"
		fi
		echo "$line"
	done
	if grep -q "^mailgovd-redis conns=$c " "$RES" &&
	    grep -q "^mailgovd-redo-full conns=$c " "$RES"; then
		echo "mailgovd-redis at $c conns: $(awk "BEGIN { printf \"%.2f\", $(median mailgovd-redis $c rps) / $(median mailgovd-redo-full $c rps) }") x mailgovd-redo-full (the same daemon with local budgets)"
	fi
	if grep -q "^mailgovd-redis-normal conns=$c " "$RES" &&
	    grep -q "^mailgovd-redo-normal conns=$c " "$RES"; then
		echo "mailgovd-redis-normal at $c conns: $(awk "BEGIN { printf \"%.2f\", $(median mailgovd-redis-normal $c rps) / $(median mailgovd-redo-normal $c rps) }") x mailgovd-redo-normal (the same daemon with local budgets)"
	fi
done
# paired FILE CONNS - the median of the ratios metrics / redo-normal of
# the pairs measured back to back in FILE, with the lowest and highest
paired() {
	awk -v c="conns=$2" '
	    $2 == c && ($1 == "mailgovd-metrics" || $1 == "mailgovd-redo-normal") {
		split($4, kv, "="); v[$1, ++n[$1]] = kv[2]
	    }
	    END {
		for (i = 1; i <= n["mailgovd-metrics"] && i <= n["mailgovd-redo-normal"]; i++)
			print v["mailgovd-metrics", i] / v["mailgovd-redo-normal", i]
	    }' "$1" | sort -n | awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		printf "%.3f (%d pairs, %.3f to %.3f)",
		    NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2,
		    NR, a[1], a[NR] }'
}
# the metrics' cost: the same daemon with and without them, same rounds
for c in $CONNS; do
	if grep -q "^mailgovd-metrics conns=$c " "$RES" &&
	    grep -q "^mailgovd-redo-normal conns=$c " "$RES"; then
		on=$(median mailgovd-metrics $c rps)
		off=$(median mailgovd-redo-normal $c rps)
		echo "metrics on/off at $c conns: $(awk "BEGIN { printf \"%.3f\", $on / $off }") ($on / $off req/s); median of the round-by-round ratios $(paired "$RES" "$c")"
	fi
	grep -q "^mailgovd-metrics conns=$c " "$SLICED" &&
	    echo "metrics on/off at $c conns, short slices: median ratio $(paired "$SLICED" "$c")"
done
