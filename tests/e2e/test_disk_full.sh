#!/bin/sh
# test_disk_full - the database on a full file system, with redo_log = on:
# the policy server still answers (its counts are durable in the
# preallocated redo log), the rows that SQLite cannot take are retried
# every 0.1 s, but the failure is logged once and then once a minute with
# a count, not at every retry; once space is back the rows reach the
# database and the recovery is logged once.
. "$(dirname "$0")/../lib.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
# room for the 16 MB redo log and a small database, nothing more once the
# filler is written
mount -t tmpfs -o size=20m,mode=0755 tmpfs "$D/db" || exit 1
t_on_exit "umount -l '$D/db'"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
PTCP=127.0.0.1:10040
t_config "$CONF" <<EOF
redo_log = on
control_socket = $D/control.sock
policy_unix = ""
policy_tcp = $PTCP
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

# policy N - N END-OF-MESSAGE requests for SASL user alice on one
# connection; prints the answers, one a line
policy() {
	lab python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 10040), timeout=10)
f = s.makefile("rb")
for i in range(int(sys.argv[1])):
    s.sendall(("request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
        "policy_context=main\nsasl_username=alice\nsender=a@x.example\n"
        "instance=full.%d\nrecipient_count=1\nsize=1000\n\n" % i).encode())
    a = []
    while True:
        l = f.readline()
        if not l or l == b"\n":
            break
        a.append(l.decode().strip())
    print(" ".join(a) or "EOF")' "$1"
}

# messages_of NAME - the account's message count in the database
messages_of() {
	ctl usage "$1" --json | sed -n 's/.*"messages": *\([0-9][0-9]*\).*/\1/p'
}

ctl account add alice --sasl alice >/dev/null || exit 1
ctl budget set alice messages 1000/1h >/dev/null || exit 1
: > "$LOG"
ip netns exec "$LAB" "$MAILGOVD" -d -v -f "$CONF" --db "$DB" 2>>"$LOG" &
t_on_exit "kill $!"
t_wait 5 grep -q 'started: queue' "$LOG" ||
    { cat "$LOG"; echo "not ok - mailgovd did not start"; exit 1; }

test_full_disk_failure_logged_once_then_recovery_once() {
	_n0=$(messages_of alice)
	dd if=/dev/zero of="$D/db/filler" bs=64k 2>/dev/null
	t_eq "free blocks" 0 "$(stat -f -c %a "$D/db")" || return
	_out=$(policy 5)
	t_eq "answers while the disk is full" \
	    "action=DUNNO action=DUNNO action=DUNNO action=DUNNO action=DUNNO" \
	    "$(echo "$_out" | tr '\n' ' ' | sed 's/ $//')" || return
	# 3 s: about 30 failed attempts to apply the rows
	sleep 3
	t_match "the failure logged" \
	    'redo log: applying [0-9]+ rows to the database failed \(database .*: disk full\); retried every 100 ms$' \
	    "$(grep 'redo log: applying' "$LOG")" || return
	t_eq "failure lines in 3 s" 1 \
	    "$(grep -c 'redo log: applying .* failed' "$LOG")" || return
	t_eq "database behind while full" "$_n0" "$(messages_of alice)" ||
	    return
	rm -f "$D/db/filler"
	t_wait 5 sh -c "[ \"\$($MAILGOVCTL --config '$CONF' --db '$DB' \
	    usage alice --json | sed -n 's/.*\"messages\": *\([0-9]*\).*/\1/p')\" = $((_n0 + 5)) ]"
	t_eq "the rows reached the database" $((_n0 + 5)) \
	    "$(messages_of alice)" || return
	t_wait 2 grep -q 'redo log: the database takes the rows again' "$LOG"
	t_eq "recovery lines" 1 \
	    "$(grep -c 'redo log: the database takes the rows again' "$LOG")"
}

t_main "$@"
