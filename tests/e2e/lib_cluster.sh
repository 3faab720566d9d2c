# tests/e2e/lib_cluster.sh - a lab of three web nodes, one Redis and one
# MX, for the cluster tests.  Sourced after tests/lib.sh, inside t_sandbox.
#
#   hub    a namespace holding only the bridge every other one is on
#   redis  192.0.2.30, a real redis-server on port 16379 (its own
#          namespace, its own directory: never the machine's Redis)
#   mx     192.0.2.25, smtp-sink saving every message in $CL/sink
#   node N 192.0.2.1N (N = 1, 2, 3): a hosting server with its own
#          mailgovd, Postfix main and queue instances (mailgovctl postfix
#          setup), rules (mailgovctl rules install) and web users
#
# Each node's files are its own: /etc, /var/spool, /var/lib and
# /run/mailgov are bind mounts of $CL/nN/{etc,spool,lib,run}, made in a
# private mount namespace for every command run on the node (node N CMD).
# The mounts only ever go from the scratch tree onto the system paths,
# inside that namespace, never the other way: removing the scratch tree
# can never reach the machine's files.  Every command of one node sees
# the same files, so a Postfix master started by one command and a
# postqueue run by the next share their queue.

CL_NODES="1 2 3"
CL_REDIS=192.0.2.30
CL_REDIS_PORT=16379
CL_REDIS_PASS=lab-secret-1
CL_PREFIX=mglab:
CL_WEB_RANGE=64000-64099

# cl_ns WHAT - the namespace name of hub, redis, mx or a node number
cl_ns() { echo "mgc$$$1"; }

# cl_join NS ADDR - NS on the hub's bridge with ADDR/24
cl_join() {
	_h=$(cl_ns hub)
	_v="c$$${1##mgc$$}"
	ip link add "$_v" netns "$_h" type veth peer name eth0 netns "$1" ||
	    return 1
	ip -n "$_h" link set "$_v" master br0 up
	ip -n "$1" link set lo up
	ip -n "$1" link set eth0 up
	ip -n "$1" addr add "$2/24" dev eth0
}

# cl_topology - every namespace, joined by the hub's bridge
cl_topology() {
	for _w in hub redis mx $CL_NODES; do
		ip netns add "$(cl_ns "$_w")" || return 1
		t_on_exit "ip netns del '$(cl_ns "$_w")'"
		t_on_exit "t_ns_kill '$(cl_ns "$_w")'"
	done
	ip -n "$(cl_ns hub)" link add br0 type bridge || return 1
	ip -n "$(cl_ns hub)" link set br0 up
	cl_join "$(cl_ns redis)" "$CL_REDIS" || return 1
	cl_join "$(cl_ns mx)" 192.0.2.25 || return 1
	for _tn in $CL_NODES; do
		cl_join "$(cl_ns "$_tn")" "192.0.2.1$_tn" || return 1
	done
}

# node N CMD... - CMD on node N: its network namespace, its files
node() {
	_nn=$1; shift
	nsenter --net="/run/netns/$(cl_ns "$_nn")" -- \
	    unshare --mount --propagation private sh -c '
		r=$1; shift
		mount --bind "$r/etc" /etc &&
		mount --bind "$r/spool" /var/spool &&
		mount --bind "$r/lib" /var/lib &&
		mount --bind "$r/run" /run/mailgov || exit 71
		exec "$@"' sh "$CL/n$_nn" "$@"
}

# node_web N UID CMD... - CMD on node N as a web user
node_web() {
	_nw=$1 _nu=$2; shift 2
	node "$_nw" setpriv --reuid="$_nu" --regid="$_nu" --clear-groups "$@"
}

# nctl N ARGS... - mailgovctl on node N, with that node's configuration
nctl() {
	_nc=$1; shift
	node "$_nc" "$MAILGOVCTL" --config "$CL/n$_nc.conf" "$@"
}

# cl_node_files N - node N's own /etc (a copy of the sandbox's, with its
# test users), spool, /var/lib and /run/mailgov
cl_node_files() {
	_r="$CL/n$1"
	mkdir -p "$_r/spool/postfix" "$_r/lib/mailgov" "$_r/lib/postfix" \
	    "$_r/lib/mailgov-test-log" "$_r/run" || return 1
	cp -a /etc "$_r/etc" || return 1
	chmod 0755 "$_r" "$_r/spool" "$_r/lib" "$_r/run"
	chown mailgov:mailgov "$_r/lib/mailgov" "$_r/run"
	chown postfix:postfix "$_r/lib/postfix"
	rm -rf "$_r/etc/postfix-mailgov" "$_r/etc/postfix/mailgov-saved" \
	    "$_r/etc/postfix/mailgov-web-users"
	cat > "$_r/etc/postfix/main.cf" <<EOF
# main.cf of lab node $1
compatibility_level = 3.6
myhostname = node$1.mailgov.test
mydomain = mailgov.test
myorigin = \$myhostname
mydestination = \$myhostname, localhost
relayhost = [192.0.2.25]:25
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP mailgov-test
maillog_file = /var/lib/mailgov-test-log/main.log
EOF
	[ -s "$_r/etc/postfix/master.cf" ] ||
	    cp /usr/share/postfix/master.cf.dist "$_r/etc/postfix/master.cf"
}

# cl_conf N STORE [KEY = VALUE lines on stdin] - node N's mailgov.conf,
# with the budget store local, or redis with the lab's server
cl_conf() {
	{
		echo "web_uids = $CL_WEB_RANGE"
		echo "rules_dir = $TOP/rules"
		echo "connections = 50"
		echo "new_connections = 600/1m"
		echo "alert_limit = 1000"
		echo "release_interval = 1s"
		if [ "$2" = redis ]; then
			echo "budget_store = redis"
			echo "redis = $CL_REDIS:$CL_REDIS_PORT"
			echo "redis_password = $CL_REDIS_PASS"
			echo "redis_prefix = $CL_PREFIX"
			echo "cluster_nodes = 3"
		fi
		cat
	} > "$CL/n$1.conf"
}

# cl_node_up N - Postfix set up and started, rules installed on node N;
# the caller registers cl_node_stop (this may run in a subshell)
cl_node_up() {
	cl_node_files "$1" || return 1
	cl_conf "$1" local </dev/null
	nctl "$1" postfix setup >"$CL/n$1.setup" 2>&1 ||
	    { cat "$CL/n$1.setup" >&2; return 1; }
	node "$1" postconf -c /etc/postfix-mailgov -e \
	    "maillog_file = /var/lib/mailgov-test-log/queue.log" || return 1
	node "$1" postfix start >/dev/null 2>&1 || return 1
	t_wait 10 node "$1" sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
	    return 1
	nctl "$1" rules install >/dev/null
}

# cl_node_stop N - Postfix down on node N (mailgovd goes with its netns)
cl_node_stop() {
	node "$1" postfix stop
}

# cl_daemon_start N - node N's mailgovd in the foreground, its pid kept
cl_daemon_start() {
	_l="$CL/n$1.log"
	: > "$_l"
	# nsenter, unshare and sh each exec the next: $! is mailgovd's pid
	nsenter --net="/run/netns/$(cl_ns "$1")" -- \
	    unshare --mount --propagation private sh -c '
		r=$1; shift
		mount --bind "$r/etc" /etc &&
		mount --bind "$r/spool" /var/spool &&
		mount --bind "$r/lib" /var/lib &&
		mount --bind "$r/run" /run/mailgov || exit 71
		exec "$@"' sh "$CL/n$1" "$MAILGOVD" -d -v \
	    -f "$CL/n$1.conf" 2>>"$_l" &
	echo $! > "$CL/n$1.pid"
	t_wait 5 grep -q 'started: queue' "$_l" ||
	    t_fail "node $1: mailgovd did not start: $(tail -5 "$_l")"
}

# cl_daemon_stop N - TERM node N's mailgovd and wait for it to go
cl_daemon_stop() {
	_p=$(cat "$CL/n$1.pid" 2>/dev/null)
	[ -n "$_p" ] || return 0
	kill "$_p" 2>/dev/null
	t_wait 10 sh -c "! kill -0 $_p 2>/dev/null"
	rm -f "$CL/n$1.pid"
}

# cl_store STORE - every node's mailgovd running with that budget store
# (local or redis); a no-op when it already is
cl_store() {
	[ "$(cat "$CL/store" 2>/dev/null)" = "$1" ] && return 0
	for _sn in $CL_NODES; do
		cl_daemon_stop "$_sn"
		cl_conf "$_sn" "$1" </dev/null
		cl_daemon_start "$_sn" || return 1
	done
	echo "$1" > "$CL/store"
}

# redis_start / redis_stop - the lab's Redis, persistent as docs/cluster.md
# asks (an append-only file, here synced on every write): a restart keeps
# the counts it had, and the nodes must add what they charged meanwhile
redis_start() {
	mkdir -p "$CL/redis"
	ip netns exec "$(cl_ns redis)" redis-server --bind "$CL_REDIS" \
	    --port "$CL_REDIS_PORT" --requirepass "$CL_REDIS_PASS" \
	    --dir "$CL/redis" --save '' --appendonly yes --appendfsync always \
	    --daemonize no \
	    --logfile "$CL/redis.log" &
	echo $! > "$CL/redis.pid"
	t_wait 10 rcli ping
}

redis_stop() {
	_p=$(cat "$CL/redis.pid" 2>/dev/null)
	[ -n "$_p" ] || return 0
	kill "$_p" 2>/dev/null
	t_wait 10 sh -c "! kill -0 $_p 2>/dev/null"
}

# rcli ARGS... - redis-cli against the lab's Redis, from its namespace;
# fails unless the answer is not an error
rcli() {
	_o=$(ip netns exec "$(cl_ns redis)" redis-cli -h "$CL_REDIS" \
	    -p "$CL_REDIS_PORT" -a "$CL_REDIS_PASS" --no-auth-warning "$@" \
	    2>&1) || return 1
	printf '%s\n' "$_o"
	case "$_o" in ERR*|NOAUTH*|WRONGPASS*|*"Connection refused"*) return 1 ;; esac
}

# cl_php N UID COUNT - COUNT messages through PHP's mail() on node N
cl_php() {
	node_web "$1" "$2" php -n -d "sendmail_path=$SENDMAIL -t -i" -r '
	    for ($i = 0; $i < (int)$argv[1]; $i++)
		if (!mail("x@example.net", "mailgov cluster $i", "body $i",
		    "From: site@node.mailgov.test"))
			exit(1);' "$3"
}

# cl_held N - messages on hold in node N's queue instance
cl_held() {
	node "$1" postqueue -c /etc/postfix-mailgov -j 2>/dev/null |
	    grep -c '"queue_name": "hold"' || true
}

# cl_flight N - messages in flight on node N: in either instance, not held
cl_flight() {
	_q=$(node "$1" postqueue -c /etc/postfix-mailgov -j 2>/dev/null |
	    grep -vc '"queue_name": "hold"' || true)
	_m=$(node "$1" postqueue -j 2>/dev/null | grep -c queue_name || true)
	echo $((_q + _m))
}

# cl_sent N - messages node N delivered to the MX (each names its node)
cl_sent() {
	grep -l "node$1\.mailgov\.test" "$CL"/sink/* 2>/dev/null | wc -l
}

# cl_sent_all - messages on the MX
cl_sent_all() {
	find "$CL/sink" -type f 2>/dev/null | wc -l
}

# cl_settle N_EXPECTED - wait until that many messages are delivered or
# held in all, with none in flight on any node
cl_settle() {
	_s=0
	while [ $_s -lt 150 ]; do
		_t=$(cl_sent_all) _f=0
		for _en in $CL_NODES; do
			_t=$((_t + $(cl_held "$_en")))
			_f=$((_f + $(cl_flight "$_en")))
		done
		[ "$_t" -ge "$1" ] && [ "$_f" -eq 0 ] && return 0
		sleep 0.2
		_s=$((_s + 1))
	done
	t_fail "expected $1 messages delivered or held, saw $_t ($_f in flight)"
}

# cl_drop_held N - delete what node N holds (between tests)
cl_drop_held() {
	node "$1" postsuper -c /etc/postfix-mailgov -d ALL hold >/dev/null 2>&1
}

# cl_dump - every node's mailgovd and queue log, for a failure
cl_dump() {
	for _dn in $CL_NODES; do
		echo "--- node $_dn mailgovd" >&2
		tail -25 "$CL/n$_dn.log" >&2
		echo "--- node $_dn queue instance" >&2
		tail -15 "$CL/n$_dn/lib/mailgov-test-log/queue.log" >&2
	done
}

# cl_redis_built - does this mailgovd know budget_store?  Asked of its
# configuration parser alone: a file whose first line is budget_store and
# whose second is a key no build knows.  An error naming the first means
# the Redis store is not built; one naming the second means it is.
cl_redis_built() {
	_pc="$CL/probe.conf"
	printf 'budget_store = local\nmailgov_probe_no_such_key = 1\n' \
	    > "$_pc"
	_po=$(timeout 5 "$MAILGOVD" -d -f "$_pc" --db "$CL/probe.db" 2>&1)
	case "$_po" in
	*"unknown key 'budget_store'"*) return 1 ;;
	esac
	return 0
}
