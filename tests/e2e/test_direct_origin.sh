#!/bin/sh
# test_direct_origin - the process behind a direct socket: a PHP script
# (stream_socket_client) and a Python one (smtplib) that speak SMTP
# themselves to the remote MX are redirected to the queue instance, held
# over budget, and named in mailgovctl hold list and in the alert by the
# process the kernel's socket leads to (PID, executable, cwd, command
# line).  A socket handed to another web user's process names nobody of
# that user; a client that closes at once is unknown, never a crash.  The
# helper that reads /proc holds CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH
# only, and mailgovd itself neither.
# Real rules, Postfix, mailgovd, PHP and Python, as web users.
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
t_config "$CONF" <<EOF
control_socket = $D/control.sock
alert_limit = 1000
release_interval = 1h
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# site UID NAME - a site's directory, the web user's own
site() {
	mkdir -p "$D/www/$2"
	chown "$1:$1" "$D/www/$2"
	chmod 0755 "$D/www" "$D/www/$2"
	echo "$D/www/$2"
}

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
# account NAME UID - an account that may send one message an hour
account() {
	ctl account add "$1" --uid "$2" >/dev/null &&
	    ctl budget set "$1" messages 1/1h >/dev/null
}
account shop "$WEB1" && account mallory "$WEB2" && account py "$WEB3" &&
    account lender "$WEB4" || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

# The PHP client: N messages in one session on its own socket to the
# MX, one command at a time, as a hacked site's mailer does.
SHOP=$(site "$WEB1" shop)
cat > "$SHOP/direct.php" <<'PHP'
<?php
$s = stream_socket_client("tcp://192.0.2.25:25", $errno, $errstr, 20);
if (!$s) { fwrite(STDERR, "connect: $errstr\n"); exit(1); }
function rd($s) {
	while (($l = fgets($s, 1024)) !== false)
		if (strlen($l) < 4 || $l[3] != '-')
			return $l;
	return "";
}
function cmd($s, $c) { fwrite($s, "$c\r\n"); return rd($s); }
rd($s);
cmd($s, "EHLO " . (getenv("EHLO") ?: "shop.example"));
for ($i = 0; $i < (int)$argv[1]; $i++) {
	cmd($s, "MAIL FROM:<shop@lab.mailgov.test>");
	cmd($s, "RCPT TO:<x@example.net>");
	cmd($s, "DATA");
	$r = cmd($s, "Subject: direct $i\r\n\r\nbody $i\r\n.");
	if ($r[0] != '2') { fwrite(STDERR, "message $i: $r"); exit(1); }
}
cmd($s, "QUIT");
PHP

# A Python client: smtplib, one session per message.
PY=$(site "$WEB3" py)
cat > "$PY/blast.py" <<'PY'
import smtplib, sys
for i in range(int(sys.argv[1])):
    with smtplib.SMTP("192.0.2.25", 25, timeout=20) as s:
        s.sendmail("py@lab.mailgov.test", ["x@example.net"],
                   "Subject: py %d\r\n\r\nbody %d\r\n" % (i, i))
PY

TOTAL=0
# sent N - N more messages leave or are held; wait for them
sent() {
	TOTAL=$((TOTAL + $1))
	settle "$TOTAL"
}

test_a_php_socket_is_named_in_hold_list() {
	(cd "$SHOP" && as_web "$WEB1" php -n -d display_errors=stderr \
	    direct.php 3) 2>"$D/php.err" || { cat "$D/php.err" >&2; return 1; }
	sent 3 || { dump_logs; return 1; }
	t_eq "messages held" 2 "$(held shop)" || return
	_j=$(ctl hold list shop --json)
	t_match "executable in hold list --json" \
	    '"exe": "/usr/bin/php[0-9.]*"' "$_j" || return
	t_match "cwd in hold list --json" "\"cwd\": \"$SHOP\"" "$_j" ||
	    return
	t_match "the script in the command line" \
	    '"cmdline": "php%20-n%20-d%20display_errors=stderr%20direct\.php%203"' \
	    "$_j" || return
	t_match "pid in hold list --json" '"pid": [1-9][0-9]*' "$_j" || return
	t_match "hold list text" "[1-9][0-9]* +$SHOP " "$(ctl hold list shop)"
}

test_the_alert_names_the_socket_process() {
	t_wait 5 grep -q "event=budget_over account=shop .*origin=socket" \
	    "$LOG" || { tail -20 "$LOG" >&2;
	    t_fail "no alert naming the socket's process"; return; }
	_l=$(grep "event=budget_over account=shop " "$LOG" | tail -1)
	t_match "alert keys" \
	    " origin=socket pid=[1-9][0-9]* exe=/usr/bin/php[0-9.]* cwd=$SHOP script=-" \
	    "$_l"
}

test_usage_scripts_counts_the_executable() {
	t_wait 5 sh -c "ip netns exec '$LAB' '$MAILGOVCTL' --config '$CONF' \
	    --db '$DB' usage shop --scripts | grep -Eq '^/usr/bin/php[0-9.]* +3 '" || {
		ctl usage shop --scripts >&2
		t_fail "usage shop --scripts did not count 3 for php"
	}
}

# A script's own socket that greets as mailgov-sendmail, naming another
# process: the kernel's socket wins over the claim.
test_a_forged_sendmail_greeting_does_not_hide_the_script() {
	(cd "$SHOP" && as_web "$WEB1" env \
	    'EHLO=mailgov-sendmail,pid=1,exe=/usr/sbin/cron,cwd=/,script=innocent.php' \
	    php -n -d display_errors=stderr direct.php 1) \
	    2>"$D/php.err" || { cat "$D/php.err" >&2; return 1; }
	sent 1 || { dump_logs; return 1; }
	t_eq "messages held" 3 "$(held shop)" || return
	_j=$(ctl hold list shop --json)
	t_eq "rows naming cron" 0 "$(printf '%s\n' "$_j" |
	    grep -c 'cron\|innocent')" || return
	t_eq "rows naming php" 3 "$(printf '%s\n' "$_j" |
	    grep -c '"exe": "/usr/bin/php[0-9.]*"')"
}

# One message per session: each held one is named from its own session.
# The helper starts at the SYN; when its answer comes after the message
# was held, the held row is named then (event=named in the log).
test_a_python_smtplib_client_is_named() {
	(cd "$PY" && as_web "$WEB3" /usr/bin/python3 blast.py 3) \
	    2>"$D/py.err" || { cat "$D/py.err" >&2; return 1; }
	sent 3 || { dump_logs; return 1; }
	t_eq "messages held" 2 "$(held py)" || return
	t_wait 5 sh -c "ip netns exec '$LAB' '$MAILGOVCTL' --config '$CONF' \
	    --db '$DB' hold list py --json |
	    grep -c '\"exe\": \"/usr/bin/python3' | grep -qx 2"
	_j=$(ctl hold list py --json)
	t_eq "held rows naming python" 2 "$(printf '%s\n' "$_j" |
	    grep -c '"exe": "/usr/bin/python3[0-9.]*"')" || {
		grep "process helper" "$LOG" | tail -5 >&2
		printf '%s\n' "$_j" >&2
		return 1
	}
	t_eq "held rows with its cwd" 2 "$(printf '%s\n' "$_j" |
	    grep -c "\"cwd\": \"$PY\"")" || return
	t_match "the script in the command line" \
	    '"cmdline": "/usr/bin/python3%20blast\.py%203"' "$_j"
}

# lender's process opens the socket and hands it to mallory's, then
# exits; mallory's speaks SMTP on it.  The kernel names lender as the
# socket's owner: lender is charged, and the helper looks only at
# lender's processes, so mallory's is never named for it: lender's
# process that opened it is, or nobody once it is gone.
test_a_socket_handed_to_another_uid_names_nobody_of_it() {
	_m=$(site "$WEB2" mallory)
	cat > "$_m/take.py" <<'PY'
import array, os, socket, sys
os.write(3, b"%d\n" % os.getpid())
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind("\0mailgov-test-handoff-" + sys.argv[1])
l.listen(1)
os.write(3, b"ready\n")
os.close(3)
c, _ = l.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(1, socket.CMSG_LEN(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
while c.recv(16):
    pass    # the giver has exited: only this process holds the socket
s = socket.socket(fileno=fds[0])
s.setblocking(True)     # the giver's timeout left it non-blocking
f = s.makefile("rwb")
def cmd(line=None):
    if line is not None:
        f.write(line + b"\r\n"); f.flush()
    while True:
        r = f.readline()
        if len(r) < 4 or r[3:4] != b"-":
            return r
cmd()
cmd(b"EHLO mallory.example")
for i in range(2):
    cmd(b"MAIL FROM:<a@lab.mailgov.test>")
    cmd(b"RCPT TO:<x@example.net>")
    cmd(b"DATA")
    r = cmd(b"Subject: handed %d\r\n\r\nbody\r\n." % i)
    sys.stderr.write("message %d: %s\n" % (i, r.decode()))
cmd(b"QUIT")
PY
	cat > "$D/give.py" <<'PY'
import socket, sys
s = socket.create_connection(("192.0.2.25", 25), timeout=20)
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.connect("\0mailgov-test-handoff-" + sys.argv[1])
u.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
    bytes(memoryview(__import__("array").array("i", [s.fileno()]))))])
PY
	chmod 0644 "$D/give.py"
	(cd "$_m" && as_web "$WEB2" /usr/bin/python3 take.py $$ \
	    3>"$D/take.out" 2>"$D/take.err") &
	_bg=$!
	t_wait 5 grep -q ready "$D/take.out" ||
	    { t_fail "the taker did not start"; return; }
	_pid=$(head -1 "$D/take.out")
	as_web "$WEB4" /usr/bin/python3 "$D/give.py" $$ 2>"$D/give.err" ||
	    { cat "$D/give.err" >&2; t_fail "the giver failed"; return; }
	wait "$_bg" || { cat "$D/take.err" >&2; t_fail "the taker failed";
	    return; }
	sent 2 || { dump_logs; return 1; }
	t_eq "held for lender (the socket's owner)" 1 "$(held lender)" ||
	    return
	t_eq "held for mallory" 0 "$(held mallory)" || return
	_j=$(ctl hold list lender --json)
	t_eq "mallory's process named" 0 "$(printf '%s\n' "$_j" |
	    grep -c "\"pid\": $_pid\\b")" || return
	t_eq "mallory's cwd named" 0 "$(printf '%s\n' "$_j" |
	    grep -c "\"cwd\": \"$_m\"")" || return
	t_eq "mallory's script named" 0 "$(printf '%s\n' "$_j" |
	    grep -c 'take\.py')" || return
	# the giver held it when its SYN left, and is named if the helper
	# was that quick; else nobody is
	printf '%s\n' "$_j" | grep -Eq '"pid": 0, "exe": ""|give\.py' ||
	    t_fail "neither nobody nor lender's own process: $_j"
}

# The whole session written at once and the socket closed: the policy
# requests come after the client is gone.  Nothing is named, nothing
# breaks, and the next client is named again.
test_a_client_that_closes_at_once_is_unknown() {
	as_web "$WEB3" /usr/bin/python3 -c '
import socket
s = socket.create_connection(("192.0.2.25", 25), timeout=20)
s.sendall(b"EHLO gone.example\r\nMAIL FROM:<py@lab.mailgov.test>\r\n"
    b"RCPT TO:<x@example.net>\r\nDATA\r\nSubject: gone\r\n\r\nbody\r\n"
    b".\r\nQUIT\r\n")
s.close()' 2>"$D/gone.err" || { cat "$D/gone.err" >&2; return 1; }
	sleep 2
	settle 0 || return
	kill -0 "$(cat "$D/pid")" || { t_fail "mailgovd died"; return; }
	if [ "$(held py)" -gt 2 ]; then
		ctl hold list py --json | grep -q '"pid": 0, "exe": ""' ||
		    { t_fail "the closed client's row names someone"; return; }
	fi
	# wherever it went (held, refused, or the default account's)
	TOTAL=$(( $(pf_sink_count "$SINK") + $(pf_queue_count hold) ))
	(cd "$PY" && as_web "$WEB3" /usr/bin/python3 blast.py 1) \
	    2>"$D/py.err" || { cat "$D/py.err" >&2; return 1; }
	sent 1 || { dump_logs; return 1; }
	t_match "the next client is named" \
	    '"exe": "/usr/bin/python3[0-9.]*"' "$(ctl hold list py --json)"
}

# The helper keeps CAP_SYS_PTRACE (0x80000) and CAP_DAC_READ_SEARCH (0x4)
# only, none in its bounding set, with no_new_privs, as mailgovd's user;
# mailgovd itself has CAP_NET_ADMIN alone.
test_the_helper_holds_only_its_two_capabilities() {
	_h=$(sed -n 's/.*process helper: pid \([0-9]*\).*/\1/p' "$LOG" |
	    head -1)
	[ -n "$_h" ] || { t_fail "no helper pid in the log"; return; }
	_st=$(cat "/proc/$_h/status") || { t_fail "helper $_h is gone"; return; }
	t_match "helper CapEff" 'CapEff:[[:space:]]+0000000000080004' "$_st" ||
	    return
	t_match "helper CapPrm" 'CapPrm:[[:space:]]+0000000000080004' "$_st" ||
	    return
	t_match "helper CapBnd" 'CapBnd:[[:space:]]+0000000000000000' "$_st" ||
	    return
	t_match "helper CapInh" 'CapInh:[[:space:]]+0000000000000000' "$_st" ||
	    return
	t_match "helper NoNewPrivs" 'NoNewPrivs:[[:space:]]+1' "$_st" || return
	t_match "helper not root" 'Uid:[[:space:]]+[1-9][0-9]*[[:space:]]' \
	    "$_st" || return
	_st=$(cat "/proc/$(cat "$D/pid")/status")
	t_match "mailgovd CapEff" 'CapEff:[[:space:]]+0000000000001000' "$_st"
}

t_main "$@"
