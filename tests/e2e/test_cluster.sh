#!/bin/sh
# test_cluster - one budget per account across three web nodes.  A real
# redis-server, three nodes each with its own mailgovd, Postfix main and
# queue instances, rules and web users, and an MX (tests/e2e/lib_cluster.sh).
# The accounts are the same on every node: one file, exported nowhere and
# imported everywhere with mailgovctl account import.
#
# The first tests run with budget_store = local and are the baseline: the
# lab works, and each node spends its own budget, so three nodes send
# three times what the account may (the problem the cluster store fixes).
# The redis_* tests need budget_store = redis; on a mailgovd whose
# configuration does not know that key, each prints "ok - NAME # skip"
# (found at run time, so they run for real once the key exists).
#
# The tests run in file order and share the lab.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
CL=$(t_scratch)
chmod 0755 "$CL"
. "$(dirname "$0")/lib_cluster.sh"

# The lab's accounts, one web user each, the same on every node.
cat > "$CL/accounts.json" <<EOF
{"format":"mailgov-accounts","version":1,"accounts":[
{"name":"base","uids":[$WEB1],"budgets":{"messages":"10/1h"}},
{"name":"shared","uids":[$WEB2],"budgets":{"messages":"10/60s"}},
{"name":"outage","uids":[$WEB3],"budgets":{"messages":"10/1h"}},
{"name":"stopped","uids":[$WEB4],"budgets":{"messages":"100/1h"}}
]}
EOF

cl_topology || { echo "not ok - the lab's namespaces"; exit 1; }
t_sink "$(cl_ns mx)" 192.0.2.25:25 "$CL/sink" ||
    { echo "not ok - smtp-sink did not start"; exit 1; }
redis_start >/dev/null || { echo "not ok - redis-server did not start"; exit 1; }
# the nodes are set up side by side: Postfix's set-up is most of the time
# (and only their pids are waited for: smtp-sink and Redis run on)
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
cl_store local || { cl_dump; echo "not ok - mailgovd did not start"; exit 1; }

# --- the lab, and the baseline with budgets kept on each node --------

test_each_node_has_its_own_postfix_and_database() {
	for _k in $CL_NODES; do
		t_eq "node $_k's hostname" "node$_k.mailgov.test" \
		    "$(node "$_k" postconf -h myhostname)" || return
		t_wait 5 node "$_k" sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
		    t_fail "node $_k: no queue instance on 127.0.0.1:2525" ||
		    return
		t_match "node $_k's rules" 'NFQUEUE' \
		    "$(node "$_k" iptables -t mangle -S)" || return
	done
	# a change on one node is not seen on another
	nctl 1 account add only-on-one >/dev/null || return
	nctl 2 account show only-on-one >/dev/null 2>&1 &&
	    t_fail "node 2 sees an account made on node 1"
	nctl 1 account del only-on-one >/dev/null
}

test_every_node_reaches_redis_and_a_wrong_password_is_refused() {
	for _k in $CL_NODES; do
		t_eq "node $_k: PING" PONG "$(node "$_k" redis-cli -h \
		    "$CL_REDIS" -p "$CL_REDIS_PORT" -a "$CL_REDIS_PASS" \
		    --no-auth-warning ping 2>&1)" || return
	done
	t_match "a wrong password" 'WRONGPASS|invalid password' \
	    "$(node 1 redis-cli -h "$CL_REDIS" -p "$CL_REDIS_PORT" -a wrong \
	    --no-auth-warning ping 2>&1)" || return
	# the machine's own Redis port on loopback is nobody's here
	node 1 redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 &&
	    t_fail "a Redis answers on node 1's loopback"
	return 0
}

test_the_same_file_imported_again_changes_nothing() {
	for _k in $CL_NODES; do
		t_match "node $_k" 'nothing to change \(4 accounts' \
		    "$(nctl "$_k" account import "$CL/accounts.json")" ||
		    return
	done
	nctl 1 account export > "$CL/e1.json" || return
	for _k in 2 3; do
		nctl "$_k" account export > "$CL/e$_k.json" || return
		cmp -s "$CL/e1.json" "$CL/e$_k.json" ||
		    t_fail "node $_k exports other accounts than node 1" ||
		    return
	done
}

# Budgets on each node: 10 an hour, and three nodes let 30 out.
test_local_each_node_spends_its_own_budget() {
	_p=""
	for _k in $CL_NODES; do
		cl_php "$_k" "$WEB1" 5 & _p="$_p $!"
	done
	wait $_p	# not mailgovd, started here by a restart
	cl_settle 15 || { cl_dump; return 1; }
	t_eq "delivered with 5 a node (the cluster allows 10)" 15 \
	    "$(cl_sent_all)" || return
	_p=""
	for _k in $CL_NODES; do
		cl_php "$_k" "$WEB1" 7 & _p="$_p $!"
	done
	wait $_p	# not mailgovd, started here by a restart
	cl_settle 36 || { cl_dump; return 1; }
	for _k in $CL_NODES; do
		t_eq "node $_k delivered" 10 "$(cl_sent "$_k")" || return
		t_eq "node $_k holds" 2 "$(cl_held "$_k")" || return
	done
	t_eq "delivered in all" 30 "$(cl_sent_all)"
}

test_local_block_stays_on_its_node() {
	for _k in $CL_NODES; do cl_drop_held "$_k"; done
	rm -f "$CL"/sink/*
	nctl 1 block stopped >/dev/null || return
	cl_php 1 "$WEB4" 1 2>/dev/null
	cl_php 2 "$WEB4" 1 || return
	cl_settle 1 || { cl_dump; return 1; }
	t_eq "sent by the blocking node" 0 "$(cl_sent 1)" || return
	t_eq "sent by another node" 1 "$(cl_sent 2)" || return
	nctl 1 unblock stopped >/dev/null
}

# --- budget_store = redis -----------------------------------------------

# redis_setup - every node on the shared store, the MX and holds empty
redis_setup() {
	for _k in $CL_NODES; do cl_drop_held "$_k"; done
	rm -f "$CL"/sink/*
	cl_store redis || { cl_dump; return 1; }
}

test_redis_fifteen_messages_ten_leave_five_held_then_released() {
	redis_setup || return
	_p=""
	for _k in $CL_NODES; do
		cl_php "$_k" "$WEB2" 5 & _p="$_p $!"
	done
	wait $_p	# not mailgovd, started here by a restart
	cl_settle 15 || { cl_dump; return 1; }
	t_eq "delivered (one budget of 10)" 10 "$(cl_sent_all)" || return
	t_eq "held on the three nodes" 5 \
	    "$(( $(cl_held 1) + $(cl_held 2) + $(cl_held 3) ))" || return
	# 10/60s: one message back every 6 s, the oldest first on any node
	pf_wait_count 60 15 cl_sent_all || { cl_dump; return 1; }
	t_eq "left on hold" 0 \
	    "$(( $(cl_held 1) + $(cl_held 2) + $(cl_held 3) ))"
}

test_redis_down_fallback_share_none_lost_and_counts_catch_up() {
	redis_setup || return
	for _k in $CL_NODES; do cl_php "$_k" "$WEB3" 1 || return; done
	cl_settle 3 || { cl_dump; return 1; }
	t_eq "delivered with Redis up" 3 "$(cl_sent_all)" || return
	redis_stop
	for _k in $CL_NODES; do
		_before=$(cl_sent "$_k")
		cl_php "$_k" "$WEB3" 5
		echo "$_before" > "$CL/before$_k"
	done
	cl_settle 18 || { cl_dump; return 1; }
	# 10 / cluster_nodes = 3 a node while the store is away
	for _k in $CL_NODES; do
		_d=$(( $(cl_sent "$_k") - $(cat "$CL/before$_k") ))
		[ "$_d" -le 3 ] ||
		    t_fail "node $_k sent $_d without Redis (share 3)" || return
	done
	_during=$(cl_sent_all)
	t_eq "delivered or held (none lost)" 18 "$(( _during +
	    $(cl_held 1) + $(cl_held 2) + $(cl_held 3) ))" || return
	redis_start >/dev/null || return
	# the nodes write what they charged meanwhile into the new server
	t_wait 20 sh -c "[ -n \"\$(ip netns exec $(cl_ns redis) redis-cli \
	    -h $CL_REDIS -p $CL_REDIS_PORT -a $CL_REDIS_PASS --no-auth-warning \
	    --scan --pattern '$CL_PREFIX*')\" ]" ||
	    t_fail "no key under $CL_PREFIX in the restarted Redis" || return
	# caught up: the shared budget knows the outage's mail, so what
	# leaves now stays within what is left of 10
	for _k in $CL_NODES; do cl_php "$_k" "$WEB3" 1 || return; done
	cl_settle 21 || { cl_dump; return 1; }
	sleep 3
	_left=$(( 10 - _during )); [ "$_left" -ge 0 ] || _left=0
	_after=$(( $(cl_sent_all) - _during ))
	[ "$_after" -le "$_left" ] || t_fail "after the restart $_after left," \
	    "the shared budget had $_left" || return
	t_eq "delivered or held (none lost)" 21 "$(( $(cl_sent_all) +
	    $(cl_held 1) + $(cl_held 2) + $(cl_held 3) ))"
}

test_redis_wrong_password_is_one_clear_error_line() {
	redis_setup || return
	cl_daemon_stop 3
	sed -i "s/^redis_password = .*/redis_password = wrong-one/" "$CL/n3.conf"
	cl_daemon_start 3 || return
	sleep 5		# several retries with back-off
	_lines=$(grep -ciE 'redis.*(auth|password)|(auth|password).*redis' \
	    "$CL/n3.log")
	t_eq "error lines about the password" 1 "$_lines" || {
		tail -20 "$CL/n3.log" >&2; return 1; }
	cl_daemon_stop 3
	cl_conf 3 redis </dev/null
	cl_daemon_start 3
}

test_redis_block_on_one_node_stops_the_account_on_all_three() {
	redis_setup || return
	nctl 1 block stopped >/dev/null || return
	sleep 1.5	# within a second on every node
	for _k in $CL_NODES; do cl_php "$_k" "$WEB4" 1 2>/dev/null; done
	sleep 3
	t_eq "delivered for a blocked account" 0 "$(cl_sent_all)" || return
	nctl 1 unblock stopped >/dev/null
}

# The redis_* tests need a mailgovd that knows budget_store.
_base=$(grep -oE '^test_[a-z0-9_]+' "$0" | grep -v '^test_redis_')
_redis=$(grep -oE '^test_redis_[a-z0-9_]+' "$0")
if cl_redis_built; then
	t_main $_base $_redis
else
	_rc=0
	t_main $_base || _rc=1
	for _t in $_redis; do
		echo "ok - ${_t#test_} # skip: budget_store=redis not built"
	done
	exit $_rc
fi
