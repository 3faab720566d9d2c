#!/bin/sh
# test_cluster_restart - what a node owes Redis survives a restart, and a
# Redis known by name is followed when the name moves.  The lab of
# test_cluster.sh (tests/e2e/lib_cluster.sh), with two of its web nodes:
# a real redis-server (persistent, as docs/cluster.md asks), each node
# with its own mailgovd, Postfix instances, rules and web users.
#
# - Redis stopped, node 1 sends within its fallback share, its mailgovd
#   is restarted (TERM), sends more, is killed (-9) and started again,
#   all while Redis is still down; node 2 sends too.  Redis back: the
#   account's shared window in Redis holds every one of those charges
#   (read with redis-cli, against what the budget implies), and what
#   leaves afterwards stays within what the budget has left.
# - node 1 reaches Redis by a name (its /etc/hosts); the name is moved to
#   a second server and the connection broken: node 1 reconnects to the
#   new address, without a restart; a name that no longer resolves is one
#   clear line and no crash.
#
# The tests run in file order and share the lab.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
CL=$(t_scratch)
chmod 0755 "$CL"
. "$(dirname "$0")/lib_cluster.sh"
CL_NODES="1 2"		# two of the lab's nodes are enough here
REDIS2=192.0.2.31	# a second server, for the name to move to
RNAME=redis.mailgov.test
# outage: 10 an hour, shared by cluster_nodes = 3: 3 a node without Redis
KEY="${CL_PREFIX}b:{outage}:tat"	# "messages:3600=TAT ..."
T_US=360000000		# one message of 10/1h comes back every 360 s

cat > "$CL/accounts.json" <<EOF
{"format":"mailgov-accounts","version":1,"accounts":[
{"name":"outage","uids":[$WEB3],"budgets":{"messages":"10/1h"}},
{"name":"named","uids":[$WEB4],"budgets":{"messages":"100/1h"}}
]}
EOF

cl_redis_built || { echo "ok - cluster_restart # skip: budget_store=redis not built"; exit 0; }
cl_topology || { echo "not ok - the lab's namespaces"; exit 1; }
t_sink "$(cl_ns mx)" 192.0.2.25:25 "$CL/sink" ||
    { echo "not ok - smtp-sink did not start"; exit 1; }
redis_start >/dev/null || { echo "not ok - redis-server did not start"; exit 1; }
t_on_exit "redis_stop"
_pids=""
for _k in $CL_NODES; do
	t_on_exit "cl_node_stop $_k"
	( cl_node_up "$_k" && nctl "$_k" account import "$CL/accounts.json" &&
	    touch "$CL/n$_k.ready" ) >"$CL/n$_k.up" 2>&1 &
	_pids="$_pids $!"
done
wait $_pids
for _k in $CL_NODES; do
	[ -e "$CL/n$_k.ready" ] || { sed 's/^/# /' "$CL/n$_k.up"
	    echo "not ok - node $_k: Postfix, rules or the import"; exit 1; }
done
cl_store redis || { cl_dump; echo "not ok - mailgovd did not start"; exit 1; }
t_on_exit "cl_daemon_stop 1; cl_daemon_stop 2"

# used_in_redis - messages the shared hour window of outage holds now, as
# GCRA keeps them: (theoretical arrival time - Redis's now) / T, rounded
# up; 0 without a key
used_in_redis() {
	_tat=$(rcli GET "$KEY" | tr ' ' '\n' |
	    sed -n 's/^messages:3600=\([0-9]*\)$/\1/p') || return 1
	[ -n "$_tat" ] || { echo 0; return 0; }
	_t=$(rcli TIME | tr -d '\r' | tr '\n' ' ')
	_now=$(( ${_t%% *} * 1000000 + $(echo "$_t" | cut -d' ' -f2) ))
	[ "$_tat" -gt "$_now" ] || { echo 0; return 0; }
	echo $(( (_tat - _now + T_US - 1) / T_US ))
}

key_exists() { [ "$(rcli EXISTS "$KEY")" = 1 ]; }

# owed_on_1 - what node 1's database says it owes Redis for outage's hour
owed_on_1() {
	node 1 sqlite3 /var/lib/mailgov/mailgov.db "SELECT owed0 FROM usage
	    JOIN accounts ON accounts.id = usage.account WHERE
	    name = 'outage'" 2>&1
}
paid_on_1() { [ "$(owed_on_1)" = 0 ]; }

# kill9 N - node N's mailgovd killed, no chance to write anything more
kill9() {
	_p=$(cat "$CL/n$1.pid")
	kill -9 "$_p"
	t_wait 10 sh -c "! kill -0 $_p 2>/dev/null"
	rm -f "$CL/n$1.pid"
}

test_restart_during_an_outage_keeps_what_the_node_owes() {
	cl_php 1 "$WEB3" 1 || return
	cl_settle 1 || { cl_dump; return 1; }
	t_wait 10 key_exists ||
	    t_fail "no $KEY after a charge with Redis up" || return
	t_eq "in Redis before the outage" 1 "$(used_in_redis)" || return
	redis_stop
	t_wait 10 grep -q 'budgets fall back' "$CL/n1.log" ||
	    t_fail "node 1 did not notice Redis had gone" || return
	# node 1: two, a clean restart, one more, then killed outright
	cl_php 1 "$WEB3" 2 || return
	cl_settle 3 || { cl_dump; return 1; }
	cl_daemon_stop 1
	cl_daemon_start 1 || return
	cl_php 1 "$WEB3" 1 || return
	cl_settle 4 || { cl_dump; return 1; }
	kill9 1
	cl_daemon_start 1 || return
	# node 2 spends its share too, and is never restarted
	cl_php 2 "$WEB3" 1 || return
	cl_settle 5 || { cl_dump; return 1; }
	t_eq "delivered during the outage (within 3 a node)" 5 \
	    "$(cl_sent_all)" || return
	t_eq "held" 0 "$(( $(cl_held 1) + $(cl_held 2) ))" || return
	# owed in node 1's database, durable: the restarts kept it
	t_eq "node 1 owes Redis (in its usage row, after the restarts)" 3 \
	    "$(owed_on_1)" || return
	redis_start >/dev/null || return
	# each node on its own back-off (5 s at most by now)
	for _k in $CL_NODES; do
		t_wait 20 grep -q 'writing what 1 accounts' "$CL/n$_k.log" ||
		    t_fail "node $_k did not catch up" || return
	done
	sleep 1
	# 1 before the outage, 3 from node 1 across its restarts, 1 from node 2
	t_eq "messages the shared window holds" 5 "$(used_in_redis)" || {
		cl_dump; return 1; }
	t_wait 10 paid_on_1 ||
	    t_fail "node 1 still owes after the catch-up" || return
	# what is left of 10 is 5: of 6 more, 5 leave and 1 is held
	cl_php 1 "$WEB3" 6 || return
	cl_settle 11 || { cl_dump; return 1; }
	t_eq "delivered in all (one budget of 10)" 10 "$(cl_sent_all)" ||
	    return
	t_eq "held (none lost)" 1 "$(( $(cl_held 1) + $(cl_held 2) ))"
}

# node1_by_name ADDR - node 1's /etc/hosts puts RNAME at ADDR (written in
# place: mailgovd's mount of the node's /etc sees it)
node1_by_name() {
	grep -v " $RNAME\$" "$CL/n1/etc/hosts" > "$CL/hosts.new"
	[ -n "$1" ] && echo "$1 $RNAME" >> "$CL/hosts.new"
	cat "$CL/hosts.new" > "$CL/n1/etc/hosts"
}

# r2cli ARGS... - redis-cli against the second server
r2cli() {
	ip netns exec "$(cl_ns redis)" redis-cli -h "$REDIS2" \
	    -p "$CL_REDIS_PORT" -a "$CL_REDIS_PASS" --no-auth-warning "$@"
}

# clients_from SERVER - the lab's node 1 among SERVER's clients (0 or 1)
clients_from() {
	ip netns exec "$(cl_ns redis)" redis-cli -h "$1" -p "$CL_REDIS_PORT" \
	    -a "$CL_REDIS_PASS" --no-auth-warning CLIENT LIST 2>/dev/null |
	    grep -c 'addr=192\.0\.2\.11:' || true
}
# on SERVER - node 1 is a client of SERVER
on() { [ "$(clients_from "$1")" = 1 ]; }
charged_on_2() {
	r2cli EXISTS "${CL_PREFIX}b:{named}:tat" | grep -qx 1
}

test_redis_name_is_resolved_again_on_reconnect() {
	rcli ping >/dev/null 2>&1 || redis_start >/dev/null || return
	ip -n "$(cl_ns redis)" addr add "$REDIS2/24" dev eth0 || return
	mkdir -p "$CL/redis2"
	ip netns exec "$(cl_ns redis)" redis-server --bind "$REDIS2" \
	    --port "$CL_REDIS_PORT" --requirepass "$CL_REDIS_PASS" \
	    --dir "$CL/redis2" --save '' --appendonly no --daemonize yes \
	    --pidfile "$CL/redis2/pid" --logfile "$CL/redis2/log" || return
	t_on_exit "kill \$(cat '$CL/redis2/pid') 2>/dev/null"
	# names from the hosts file alone: the lab has no DNS server, and a
	# lookup that waits for one is a timeout, not the answer tested here
	sed -i 's/^hosts:.*/hosts: files/' "$CL/n1/etc/nsswitch.conf"
	node1_by_name "$CL_REDIS"
	cl_daemon_stop 1
	sed -i "s/^redis = .*/redis = $RNAME:$CL_REDIS_PORT/" "$CL/n1.conf"
	cl_daemon_start 1 || return
	t_wait 10 on "$CL_REDIS" ||
	    t_fail "node 1 did not reach $CL_REDIS by name" || return
	t_eq "node 1 on the second server before the move" 0 \
	    "$(clients_from "$REDIS2")" || return
	# the name moves (a failover), the old server drops its clients
	node1_by_name "$REDIS2"
	rcli CLIENT KILL TYPE normal SKIPME yes >/dev/null
	t_wait 15 on "$REDIS2" || {
		tail -5 "$CL/n1.log" >&2
		t_fail "node 1 did not follow $RNAME to $REDIS2"; return 1; }
	t_match "the move, in one line" \
	    "now at $REDIS2:$CL_REDIS_PORT \\(was $CL_REDIS:$CL_REDIS_PORT\\)" \
	    "$(cat "$CL/n1.log")" || return
	t_eq "node 1 on the old server after the move" 0 \
	    "$(clients_from "$CL_REDIS")" || return
	# and its mail is charged there
	cl_php 1 "$WEB4" 1 || return
	t_wait 10 charged_on_2 ||
	    t_fail "node 1's charge is not in the new server" || return
	# a name that no longer resolves: one clear line, no crash
	node1_by_name ""
	r2cli CLIENT KILL TYPE normal >/dev/null
	t_wait 10 grep -q "redis $RNAME:$CL_REDIS_PORT: cannot resolve the name" \
	    "$CL/n1.log" || { tail -5 "$CL/n1.log" >&2
		t_fail "no line about the name"; return 1; }
	sleep 2
	kill -0 "$(cat "$CL/n1.pid")" ||
	    t_fail "mailgovd died on a name that does not resolve" || return
	node1_by_name "$CL_REDIS"
	t_wait 15 on "$CL_REDIS" ||
	    t_fail "node 1 did not come back once the name resolved"
}

t_main $(grep -oE '^test_[a-z0-9_]+' "$0")
