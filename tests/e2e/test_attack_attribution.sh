#!/bin/sh
# test_attack_attribution - a hacked site's web UID tries to make mailgov
# charge its mail to another account, or to nobody.  Each test runs the
# attack as a web user with Python, against real rules, Postfix and
# mailgovd:
#  - it takes over another UID's source port (SO_REUSEADDR) right after
#    that UID's connection, to inherit the flow's verdict and account;
#  - it reaches the policy server over TCP with its socket bound to a
#    device (SO_BINDTODEVICE), which hides it from a plain SOCK_DIAG
#    lookup, and forges a request;
#  - it opens as many policy connections as it can.
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
PY=/usr/bin/python3
t_config "$CONF" <<EOF
control_socket = $D/control.sock
messages = 100/1h
alert_limit = 1000
release_interval = 1s
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# The client both sides use: connect from 192.0.2.1:PORT (SO_REUSEADDR)
# to the MX's address, and either just say QUIT and close with a reset
# ("touch"), or send one message ("send").  Prints the last reply.
cat > "$D/smtp.py" <<'EOF'
import socket, struct, sys
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(20)
s.bind(("192.0.2.1", port))
try:
    s.connect(("192.0.2.25", 25))
    f = s.makefile("rwb")
    def cmd(line):
        if line is not None:
            f.write(line.encode() + b"\r\n"); f.flush()
        while True:
            r = f.readline().decode()
            if not r:
                raise OSError("connection closed")
            if r[3:4] != "-":
                return r.strip()
    r = cmd(None)
    if mode == "send":
        for line in ("EHLO web", "MAIL FROM:<site@lab.mailgov.test>",
                     "RCPT TO:<x@example.net>", "DATA"):
            r = cmd(line)
        r = cmd("Subject: taken over\r\n\r\nbody\r\n.")
    cmd("QUIT")
except OSError as e:
    print("error:", e)
    sys.exit(1)
# no TIME_WAIT: the port is free for the next socket at once
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print(r)
EOF
chmod 0644 "$D/smtp.py"

# The policy client: one connection bound to a device, one forged request.
cat > "$D/forge.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
s.settimeout(5)
try:
    s.connect(("127.0.0.1", 10040))
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
              b"policy_context=main\nsasl_username=victim\n"
              b"client_address=127.0.0.1\nrecipient_count=1\n\n")
    print(s.recv(512).decode().strip() or "closed")
except OSError as e:
    print("error:", e)
EOF

# Many policy connections; prints how many were answered.
cat > "$D/slots.py" <<'EOF'
import socket, time
socks = []
for i in range(100):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", 10040))
        socks.append(s)
    except OSError:
        pass
time.sleep(1)
answered = 0
for s in socks:
    try:
        s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n\n")
        if s.recv(64).startswith(b"action="):
            answered += 1
    except OSError:
        pass
print(answered)
EOF

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add victim --uid "$WEB1" --sasl victim >/dev/null || exit 1
ctl account add blocked --uid "$WEB2" >/dev/null || exit 1
ctl block blocked >/dev/null || exit 1
ctl account add over --uid "$WEB3" >/dev/null || exit 1
ctl budget set over messages 1/1h >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

# take_over UID PORT - the victim touches the MX from PORT, then UID sends
# one message from the same port; prints the attacker's last reply
take_over() {
	_v=$(as_web "$WEB1" "$PY" "$D/smtp.py" touch "$2") ||
	    { t_fail "the victim's connection failed: $_v"; return 1; }
	as_web "$1" "$PY" "$D/smtp.py" send "$2"
}

test_blocked_uid_cannot_inherit_anothers_flow() {
	n0=$(pf_sink_count "$SINK")
	v0=$(counter victim messages)
	for _p in 40001 40002 40003; do
		_r=$(take_over "$WEB2" "$_p")
		printf '%s' "$_r" | grep -q '^250 ' &&
		    t_fail "the blocked account's message was accepted: $_r"
	done
	sleep 2
	t_eq "delivered" "$n0" "$(pf_sink_count "$SINK")" || return
	t_eq "victim's messages" "$v0" "$(counter victim messages)" || return
	t_match "the SYN was decided for the blocked UID" \
	    "reason=blocked uid=$WEB2" "$(cat "$LOG")"
}

test_over_budget_uid_is_charged_its_own_account() {
	# one message spends over's budget
	swaks_as "$WEB3" 192.0.2.25 25
	! clients_failed || t_fail "a client failed" || return
	settle 1 || return
	n0=$(pf_sink_count "$SINK")
	v0=$(counter victim messages)
	for _p in 40011 40012 40013; do
		take_over "$WEB3" "$_p" >/dev/null
	done
	settle $((n0 + 3)) || return
	t_eq "delivered" "$n0" "$(pf_sink_count "$SINK")" || return
	t_eq "victim's messages" "$v0" "$(counter victim messages)" || return
	t_eq "held for over" 3 "$(held over)" || return
	t_eq "held for victim" 0 "$(held victim)"
}

test_redirected_sessions_found_through_conntrack() {
	# the proof for a redirected session is its socket, found by the
	# original destination that conntrack keeps
	# four sessions of over's above: one plain, three taken over
	_n=$(grep -Ec "identity: port [0-9]+: uid $WEB3 \\(conntrack\\)" "$LOG")
	[ "$_n" -ge 4 ] ||
	    t_fail "expected 4 or more conntrack attributions, saw $_n"
}

test_policy_tcp_refuses_a_socket_bound_to_a_device() {
	# the userspace check alone: no rules in front of it
	ctl rules remove >/dev/null || return
	_r=$(as_web "$WEB2" "$PY" "$D/forge.py")
	ctl rules install >/dev/null || t_fail "rules install" || return
	printf '%s' "$_r" | grep -q 'action=' &&
	    t_fail "a web user's forged request was answered: $_r"
	t_match "the refusal is logged" "refusing 127.0.0.1:[0-9]+" \
	    "$(cat "$LOG")"
}

test_one_local_uid_cannot_take_every_policy_slot() {
	_n=$(lab setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$PY" "$D/slots.py")
	t_eq "connections answered for one UID" 64 "$_n" || return
	# Postfix still gets its answers
	_r=$(lab setpriv --reuid=postfix --regid=postfix --clear-groups \
	    "$PY" -c 'import socket
s = socket.create_connection(("127.0.0.1", 10040), 5)
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n\n")
print(s.recv(64).decode().strip())')
	t_eq "Postfix's answer" "action=DUNNO" "$_r"
}

t_main "$@"
