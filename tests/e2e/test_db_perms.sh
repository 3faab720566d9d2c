#!/bin/sh
# test_db_perms - the database is root's and the daemon user's alone, even
# in a directory the admin made 0755 (install -d): with mailgovd running,
# a web user can read neither the file nor its -wal, -shm and -redo, and
# mailgovctl's account, hold and event listings refuse it in one line,
# making no file.  Files an older mailgov made 0644, left behind by a
# crash, are tightened when mailgovd starts on them.
. "$(dirname "$0")/../lib.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
install -d -m 0755 "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
t_config "$CONF" <<EOF
redo_log = on
control_socket = $D/control.sock
EOF
chmod 0644 "$CONF"

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

start_daemon() {
	: > "$LOG"
	ip netns exec "$LAB" "$MAILGOVD" -d -v -f "$CONF" --db "$DB" \
	    2>>"$LOG" &
	echo $! > "$D/pid"
	t_on_exit "kill $!"
	t_wait 5 grep -q 'started: queue' "$LOG" || {
		cat "$LOG" >&2
		t_fail "mailgovd did not start"
	}
}

# stop_daemon [SIGNAL] - stop it and wait until it is gone
stop_daemon() {
	_p=$(cat "$D/pid")
	kill ${1:-} "$_p" 2>/dev/null
	t_wait 10 sh -c "! kill -0 $_p 2>/dev/null"
}

# mode FILE - octal mode and owner
mode() { stat -c '%a %U' "$1"; }

ctl account add shop --uid "$WEB2" --sasl shop@lab.mailgov.test \
    --domain shop.example >/dev/null || exit 1
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

test_files_belong_to_the_daemon_user_and_nobody_else_reads_them() {
	for _f in "$DB" "$DB-wal" "$DB-shm" "$DB-redo"; do
		[ -f "$_f" ] || t_fail "$_f missing while mailgovd runs" ||
		    return
		case $(mode "$_f") in
		6[04]0\ mailgov) ;;
		*) t_fail "$_f: expected 0640 or 0600 owned by mailgov, saw $(mode "$_f")"
		    return ;;
		esac
	done
}

test_web_user_cannot_read_the_database_or_its_side_files() {
	for _f in "$DB" "$DB-wal" "$DB-shm" "$DB-redo"; do
		[ -f "$_f" ] || t_fail "$_f missing while mailgovd runs" ||
		    return
		if as_web "$WEB1" cat "$_f" >/dev/null 2>&1; then
			t_fail "web user read $_f ($(mode "$_f"))"
			return
		fi
	done
	# and not by name through SQLite either
	_out=$(as_web "$WEB1" python3 -c '
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("SELECT count(*) FROM account_sasl").fetchone()[0])' \
	    "$DB" 2>&1) && t_fail "web user read the SASL names: $_out"
	return 0
}

test_web_user_listings_refused_in_one_line_making_no_file() {
	_before=$(ls -A "$D/db")
	for _c in "account list" "hold list" "events" "usage" \
	    "account add evil"; do
		as_web "$WEB1" "$MAILGOVCTL" --config "$CONF" --db "$DB" $_c \
		    >"$D/out" 2>"$D/err"
		_rc=$?
		t_eq "mailgovctl $_c: status" 1 "$_rc" || return
		t_eq "mailgovctl $_c: message" \
		    "mailgovctl: cannot read $DB: permission denied (run as root)" \
		    "$(cat "$D/err")" || return
		t_eq "mailgovctl $_c: output" "" "$(cat "$D/out")" || return
	done
	t_eq "files beside the database" "$_before" "$(ls -A "$D/db")" ||
	    return
	# nor may it make a database of its own in that directory
	as_web "$WEB1" "$MAILGOVCTL" --config "$CONF" --db "$D/db/new.db" \
	    account add evil >/dev/null 2>"$D/err"
	t_eq "create: message" \
	    "mailgovctl: cannot create $D/db/new.db: permission denied (run as root)" \
	    "$(cat "$D/err")" || return
	t_eq "files after a refused create" "$_before" "$(ls -A "$D/db")"
}

test_root_still_lists_while_the_daemon_runs() {
	t_match "account list" '^shop ' "$(ctl account list | grep ^shop)"
}

test_files_left_readable_by_all_are_tightened_at_start() {
	# an older mailgov's files, left behind by kill -9
	stop_daemon -9 || t_fail "mailgovd did not stop" || return
	for _f in "$DB" "$DB-wal" "$DB-shm" "$DB-redo"; do
		[ -f "$_f" ] || t_fail "$_f not left behind by kill -9" ||
		    return
		chmod 0644 "$_f"
	done
	start_daemon || return
	for _f in "$DB" "$DB-wal" "$DB-shm" "$DB-redo"; do
		case $(mode "$_f") in
		6[04]0\ mailgov) ;;
		*) t_fail "$_f: expected 0640 or 0600 owned by mailgov after the start, saw $(mode "$_f")"
		    return ;;
		esac
		if as_web "$WEB1" cat "$_f" >/dev/null 2>&1; then
			t_fail "web user read $_f after the start"
			return
		fi
	done
	t_match "accounts kept" '^shop ' "$(ctl account list | grep ^shop)"
}

t_main "$@"
