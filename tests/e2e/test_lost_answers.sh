#!/bin/sh
# test_lost_answers - a message is charged once whatever happens to the
# answer that accepted it, and held mail keeps its account across a crash.
#
# - The database stalls (here: another process holds its write lock, which
#   is what a full disk or a slow fsync looks like to the group commit)
#   with redo_log = off.  The queue instance's END-OF-MESSAGE answer waits
#   for its charge to be durable, Postfix stops waiting, asks again, and
#   then holds the message (default_action).  When the database is back,
#   the message is released as its account's, without a second charge.
# - mailgovd is killed (-9) between a transaction's recipient and its end
#   of data.  Postfix holds the message; when mailgovd is back, the
#   account header prepended at the recipient makes it the sender's, not
#   the default account's, and the header does not leave the host.
# - A web user who copies another account's header into its own mail,
#   sent while mailgovd is down, names nobody: its mail goes to default.
#
# Real rules, Postfix, mailgovd, PHP's mail() and mailgov-sendmail, as a
# web user.  The tests run in file order and share the daemon and Postfix.

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
t_config "$CONF" <<EOF2
control_socket = $D/control.sock
redo_log = off
release_interval = 1s
EOF2

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# lock_db - hold the database's write lock until unlock_db
lock_db() {
	rm -f "$D/unlock"
	python3 -c '
import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2] + ".locked", "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.1)
c.execute("ROLLBACK")' "$DB" "$D/unlock" &
	t_wait 10 test -e "$D/unlock.locked"
}
unlock_db() {
	touch "$D/unlock"
	wait
	rm -f "$D/unlock" "$D/unlock.locked"
}
t_on_exit "touch '$D/unlock'"

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add late --uid "$WEB1" >/dev/null || exit 1
ctl account add other --uid "$WEB2" >/dev/null || exit 1
ctl budget set late messages 2/1h >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_an_answer_postfix_stopped_waiting_for_is_charged_once() {
	n0=$(pf_sink_count "$SINK")
	lock_db || return
	# Postfix waits 10 s, asks once more, then holds the message
	php_mail "$WEB1" 1 || { unlock_db; dump_logs; t_fail "mail() failed"; return; }
	t_eq "on hold in the queue instance" 1 "$(pf_queue_count hold)" ||
	    { unlock_db; dump_logs; return 1; }
	unlock_db
	t_wait 10 grep -q 'the client left before the answer accepting it' \
	    "$LOG" || { dump_logs; t_fail "the lost answer was not noticed"; return; }
	# released in its turn, although the budget was charged for it
	pf_wait_count 20 $((n0 + 1)) pf_sink_count "$SINK" ||
	    { dump_logs; return 1; }
	wait_counter late released 1 || return
	t_eq "late's held" 1 "$(counter late held)" || return
	t_eq "late's messages" 1 "$(counter late messages)" || return
	t_eq "default's held" 0 "$(counter default held)" || return
	# charged once: the second of the two an hour still leaves at once
	php_mail "$WEB1" 1 || return
	settle $((n0 + 2)) || return
	t_eq "delivered" $((n0 + 2)) "$(pf_sink_count "$SINK")" || return
	t_eq "nothing on hold" 0 "$(pf_queue_count hold)" || return
	wait_counter late messages 2
}

# smtp_held UID GO [HEADER] - a web user's SMTP transaction to the MX
# (redirected to the queue instance) that stops after RCPT TO until the
# file GO exists, then sends the data (with HEADER, if given)
smtp_held() {
	as_web "$1" /usr/bin/python3 -c '
import os, smtplib, sys, time
s = smtplib.SMTP("192.0.2.25", 25, timeout=30)
s.ehlo("site.example")
s.mail("site@lab.mailgov.test")
code, _ = s.rcpt("x@example.net")
print("rcpt", code, flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.1)
hdr = sys.argv[2] + "\r\n" if len(sys.argv) > 2 else ""
code, msg = s.data((hdr + "Subject: mailgov crash\r\n\r\nbody\r\n").encode())
print("data", code, msg.decode(), flush=True)
s.quit()' "$2" ${3:+"$3"}
}

# mark_of QUEUE_ID - the account header of a queued message, as root
mark_of() {
	postcat -c "$QDIR" -h -q "$1" 2>/dev/null | sed -n 's/^X-Mailgov-Account: *//p'
}

test_mail_held_by_a_crash_keeps_its_account() {
	n0=$(pf_sink_count "$SINK")
	h0=$(counter late held)
	d0=$(counter default held)
	rm -f "$D/go"
	smtp_held "$WEB1" "$D/go" > "$D/crash.out" 2>&1 &
	_c=$!
	t_wait 10 grep -q '^rcpt 250' "$D/crash.out" ||
	    { cat "$D/crash.out"; dump_logs; t_fail "no RCPT answer"; return; }
	kill -9 "$(cat "$D/pid")"
	t_wait 5 sh -c "! kill -0 $(cat "$D/pid") 2>/dev/null"
	touch "$D/go"
	wait $_c
	t_match "the client's answer" '^data 250 ' "$(cat "$D/crash.out")" ||
	    { dump_logs; return 1; }
	t_eq "on hold in the queue instance" 1 "$(pf_queue_count hold)" ||
	    return
	_id=$(pf_held_ids)
	t_match "its account header" "^late $_id [0-9a-f]{32}\$" \
	    "$(mark_of "$_id")" || return
	start_daemon || return
	t_wait 10 grep -q "adopted queue_id=$_id account=late .*its account header names it" \
	    "$LOG" || { dump_logs; t_fail "not adopted by late"; return; }
	wait_counter late held $((h0 + 1)) || return
	t_eq "default's held" "$d0" "$(counter default held)" || return
	# released as late's budget allows (late sent 2 of 2 an hour above)
	t_eq "still held" 1 "$(held late)" || return
	ctl hold release late >/dev/null || return
	pf_wait_count 20 $((n0 + 1)) pf_sink_count "$SINK" ||
	    { dump_logs; return 1; }
	t_eq "the header left the host" 0 \
	    "$(grep -rlc '^X-Mailgov-Account' "$SINK" | wc -l)"
}

test_a_copied_header_names_nobody() {
	rm -f "$D/go"
	# a real header of late's, as the web user could have seen it in a
	# copy of late's mail
	smtp_held "$WEB1" "$D/go" > "$D/real.out" 2>&1 &
	_c=$!
	t_wait 10 grep -q '^rcpt 250' "$D/real.out" || return
	kill -9 "$(cat "$D/pid")"
	t_wait 5 sh -c "! kill -0 $(cat "$D/pid") 2>/dev/null"
	touch "$D/go"
	wait $_c
	_real=$(pf_held_ids)
	_hdr="X-Mailgov-Account: $(mark_of "$_real")"
	t_match "late's header" "^X-Mailgov-Account: late $_real " "$_hdr" ||
	    return
	# while mailgovd is down, other sends with that header
	rm -f "$D/go"
	touch "$D/go"
	smtp_held "$WEB2" "$D/go" "$_hdr" > "$D/forged.out" 2>&1
	t_match "the forger's answer" '^data 250 ' "$(cat "$D/forged.out")" ||
	    return
	_forged=$(pf_held_ids | grep -v "^$_real\$")
	t_match "held" '^[0-9A-Za-z]+$' "$_forged" || return
	d0=$(counter default held)
	start_daemon || return
	t_wait 10 grep -q "adopted queue_id=$_forged account=default .*no valid account header" \
	    "$LOG" || { dump_logs; t_fail "the forged header was believed"; return; }
	t_wait 10 grep -q "adopted queue_id=$_real account=late " "$LOG" ||
	    return
	wait_counter default held $((d0 + 1))
}

t_main "$@"
