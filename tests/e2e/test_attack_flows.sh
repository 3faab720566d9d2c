#!/bin/sh
# test_attack_flows - a web user attacks the kernel path from its shell,
# with Python and every unprivileged socket option, while mailgovd runs
# behind the rules (iptables here; test_attack_flows_nftables.sh runs the
# same with the nftables backend).
#
# The flow table (flow_max = 1024, so 64 flows per UID): one UID binding
# thousands of 127.x.y.z source addresses, whether its connections are
# refused (over its cap) or made and closed at once, leaves room for
# another UID, whose flow is stored and attributed to it; the flows of
# closed connections go within seconds, those of open ones stay.
#
# The connection cap: a capped account's SYNs that wait in the queue
# together are not counted as its connections, so its first ones pass;
# when the queue overflows and lets SYNs through unseen (fail-open), the
# kernel's own per-UID cap still holds; a flooding UID is slowed before
# the queue (syn_rate) while another user connects at once.
. "$(dirname "$0")/../lib.sh"
t_sandbox "$@"
t_topology || exit 1

BACKEND=${MAILGOV_TEST_BACKEND:-iptables}
D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
SOCK="$D/control.sock"
LOG="$D/mailgovd.log"
VICTIM=$WEB2
CHURN=64005		# connects and closes, over and over
CAPPED=$WEB4		# an account capped at 3 connections
OVERFLOW=64006		# floods a full queue
FLOODER=64007		# floods, slowed by syn_rate
for _u in $CHURN $OVERFLOW $FLOODER; do
	echo "mgweb$((_u - 64000)):x:$_u:$_u::/nonexistent:/usr/sbin/nologin" \
	    >> /etc/passwd
done
# No kernel rate limit for the flow-table attacks: they are about the
# table, and must not take minutes.
t_config "$CONF" <<EOF
control_socket = $SOCK
policy_unix = none
policy_tcp = none
flow_max = 1024
connections = 5
new_connections = 100000/1m
syn_rate = 0
alert_limit = 1
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

# control CMD - one command on mailgovd's control socket, its answer
control() {
	php -r '
	    $s = @stream_socket_client("unix://" . $argv[1], $en, $es, 3);
	    if (!$s) { fwrite(STDERR, "connect: $es\n"); exit(1); }
	    fwrite($s, $argv[2] . "\n");
	    while (($l = fgets($s)) !== false && $l !== "\n") echo $l;
	' "$SOCK" "$1"
}

# flows_of UID - how many live flows the table holds for UID
flows_of() {
	control flows | grep -c " uid=$1 "
}

# The attacker.  Every connection goes to 127.0.0.1:25 (redirected to the
# queue port) from its own source address in 127/8, so each is a new key.
#   churn N        N connections one after another, each closed at once
#                  (FIN, not a reset); prints "ok=.. refused=.."
#   hold N SECS    N connections made one after another and held SECS;
#                  prints "ok=.. refused=.." once they are made
#   flood N SECS   N non-blocking connects at once; after SECS prints
#                  "established=.." and closes them
#   storm N SECS   for SECS, N non-blocking connects pending at all times
#                  (a new one as soon as one is refused or made), at most
#                  20000; prints "established=.." (those made, held to the
#                  end) and "attempts=.."
cat > "$D/attack.py" <<'PY'
import errno, select, socket, struct, sys, time

mode, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
base = int(sys.argv[4]) if len(sys.argv) > 4 else 0
DST = ("127.0.0.1", 25)

def src(i):
    i += base
    return "127.%d.%d.%d" % (1 + i // 62500 % 250, i // 250 % 250, 1 + i % 250)

def sock(i, reset=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    s.bind((src(i), 0))
    return s

def report(**kw):
    print(" ".join("%s=%d" % kv for kv in sorted(kw.items())), flush=True)

if mode in ("churn", "hold"):
    ok = refused = 0
    held = []
    for i in range(n):
        s = sock(i, mode == "hold")
        s.settimeout(3)
        try:
            s.connect(DST)
            ok += 1
            if mode == "hold":
                held.append(s)
            else:
                s.close()
        except OSError:
            refused += 1
            s.close()
    report(ok=ok, refused=refused)
    time.sleep(secs if mode == "hold" else 0)
elif mode == "flood":
    socks = []
    for i in range(n):
        s = sock(i)
        s.setblocking(False)
        s.connect_ex(DST)
        socks.append(s)
    time.sleep(secs)
    est = 0
    for s in socks:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            continue
        try:
            s.getpeername()
            est += 1
        except OSError:
            pass
    report(established=est)
elif mode == "storm":
    pend, est, i = {}, [], 0
    p = select.poll()
    end = time.monotonic() + secs
    while time.monotonic() < end:
        while len(pend) < n and i < 20000:
            s = sock(i)
            i += 1
            s.setblocking(False)
            s.connect_ex(DST)
            pend[s.fileno()] = s
            p.register(s, select.POLLOUT)
        for fd, ev in p.poll(10):
            s = pend.pop(fd)
            p.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                est.append(s)
            else:
                s.close()
    report(established=len(est), attempts=i)
PY

# attack UID MODE N SECS [BASE] - the attacker, as UID in the lab
attack() {
	_u=$1; shift
	as_web "$_u" timeout 60 python3 "$D/attack.py" "$@"
}

# start_daemon [CONF] - mailgovd in the lab, logging to $LOG
start_daemon() {
	: > "$LOG"
	ip netns exec "$LAB" "$MAILGOVD" -d -v -f "${1:-$CONF}" --db "$DB" \
	    2>>"$LOG" &
	DPID=$!
	t_on_exit "kill $DPID"
	t_wait 5 grep -q 'started: queue' "$LOG" || {
		cat "$LOG" >&2
		t_fail "mailgovd did not start"
		return 1
	}
}

# victim_holds - the victim holds one connection open for 6 s; its flow
# must be in the table, under its own UID and account
victim_flow() {
	as_web "$VICTIM" bash -c 'exec 3<>/dev/tcp/127.0.0.1/25 && sleep 6' &
	_vp=$!
	sleep 0.5
	_f=$(control flows | grep " uid=$VICTIM ")
	wait "$_vp" 2>/dev/null
	t_match "the victim's flow" \
	    "dst=127\\.0\\.0\\.1:25 uid=$VICTIM account=mgweb2 verdict=redirect" \
	    "$_f"
}

sink "$LAB" 127.0.0.1:2525 queue.lab
ctl account add capped --uid "$CAPPED" >/dev/null || exit 1
ctl budget set capped connections 3 >/dev/null || exit 1
# the churning UID's connections are not capped: this is about the table
ctl account add churn --uid "$CHURN" >/dev/null || exit 1
ctl budget set churn connections unlimited >/dev/null || exit 1
ctl rules install --backend "$BACKEND" >/dev/null || exit 1
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }
t_log "backend $BACKEND; $(grep -o 'flow table.*' "$LOG")"

# --- the flow table ---------------------------------------------------------

test_refused_syns_take_no_flow() {
	# WEB1 holds its 5 connections (its cap), then tries 1100 more from
	# as many source addresses: every one is refused
	attack "$WEB1" hold 5 20 >"$D/held" &
	_hp=$!
	t_wait 5 grep -q 'ok=' "$D/held" || t_fail "the 5 held connections" ||
	    return 1
	t_eq "held" "ok=5 refused=0" "$(cat "$D/held")" || return 1
	_r=$(attack "$WEB1" churn 1100 0 5)
	t_eq "over the cap" "ok=0 refused=1100" "$_r" || return 1
	t_eq "flows of the refused UID" 5 "$(flows_of "$WEB1")" || return 1
	victim_flow || return 1
	kill "$_hp" 2>/dev/null
	wait "$_hp" 2>/dev/null
	return 0
}

test_one_uid_holds_only_its_share() {
	# 1100 connections made and closed from 1100 addresses: each is a
	# new key; with every flow kept, a 1024-flow table would be full
	_r=$(attack "$CHURN" churn 1100 0)
	t_eq "churn" "ok=1100 refused=0" "$_r" || return 1
	_n=$(flows_of "$CHURN")
	[ "$_n" -le 64 ] || t_fail "the churning UID holds $_n flows, more" \
	    "than its share of 64" || return 1
	victim_flow || return 1
	t_match "status" 'flows=[0-9]' "$(control status)"
}

test_flows_go_with_their_connections() {
	# the churn above closed every connection: within the linger (10 s)
	# and a census their flows are gone
	_i=0
	while [ "$(flows_of "$CHURN")" -gt 0 ] && [ "$_i" -lt 150 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	t_eq "flows of closed connections after $((_i / 10)) s" 0 \
	    "$(flows_of "$CHURN")" || return 1
	# while an open connection keeps its flow past the linger
	attack "$CHURN" hold 2 16 2000 >"$D/held2" &
	_hp=$!
	t_wait 5 grep -q 'ok=2' "$D/held2" || t_fail "hold 2" || return 1
	sleep 13
	_n=$(flows_of "$CHURN")
	kill "$_hp" 2>/dev/null
	wait "$_hp" 2>/dev/null
	t_eq "flows of 2 connections open for 13 s" 2 "$_n"
}

# --- the connection cap -----------------------------------------------------

test_capped_account_connects_through_its_own_storm() {
	# An account capped at 3 keeps 30 SYNs waiting in the queue for 1.5 s:
	# the SYNs still waiting are not connections, so its first 3 pass
	_r=$(attack "$CAPPED" storm 30 1.5)
	t_match "a storm of SYNs, cap 3" '^attempts=[0-9]+ established=3$' \
	    "$_r"
}

test_flooding_uid_slowed_before_the_queue() {
	t_config "$D/rate.conf" <<EOF
connections = 5
syn_rate = 5
syn_burst = 5
EOF
	lab "$MAILGOVCTL" --config "$D/rate.conf" --db "$DB" rules install \
	    --backend "$BACKEND" >/dev/null || t_fail "rules with syn_rate" ||
	    return 1
	_p0=$(control status | sed -n 's/^packets=//p')
	attack "$FLOODER" flood 100 0.5 >"$D/flood" &
	_ap=$!
	sleep 0.2
	_t0=$(date +%s%N)
	_b=$(banner 127.0.0.1 25 "$VICTIM")
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	wait "$_ap"
	_p1=$(control status | sed -n 's/^packets=//p')
	ctl rules install --backend "$BACKEND" >/dev/null
	t_match "the victim's banner during the flood" '^220 queue\.lab ' \
	    "$_b" || return 1
	[ "$_ms" -lt 1000 ] || t_fail "the victim waited ${_ms} ms" ||
	    return 1
	# the burst (5), 5 a second for half a second, the victim's SYN
	[ $((_p1 - _p0)) -le 12 ] || t_fail "$((_p1 - _p0)) of 100 SYNs" \
	    "reached the queue at syn_rate 5, burst 5"
}

test_zz_no_uid_over_its_cap_when_the_queue_overflows() {
	# with mailgovd stopped, a 16-place queue fills and the kernel lets
	# the rest through unseen (fail-open): only the rules' per-UID cap
	# (connections = 5) is left to hold them
	kill "$DPID"
	wait "$DPID" 2>/dev/null
	{ cat "$CONF"; echo "queue_maxlen = 16"; } > "$D/small.conf"
	start_daemon "$D/small.conf" || return 1
	kill -STOP "$DPID"
	attack "$OVERFLOW" flood 60 2.5 >"$D/overflow" &
	_ap=$!
	sleep 0.6
	kill -CONT "$DPID"
	wait "$_ap"
	_e=$(sed -n 's/established=//p' "$D/overflow")
	[ -n "$_e" ] && [ "$_e" -le 5 ] || t_fail "a UID capped at 5 got" \
	    "$_e connections through an overflowing queue"
}

t_main "$@"
