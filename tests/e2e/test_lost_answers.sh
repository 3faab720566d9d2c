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
ctl budget set late messages_per_hour 2/1h >/dev/null || exit 1
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

t_main "$@"
