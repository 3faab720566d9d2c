#!/bin/sh
# mailgovctl and the database's file modes: a new database is 0640 whatever
# the umask; root tightens a file (and its -wal and -shm) that an older
# mailgov left readable by all; anyone else gets one line and no file.
# The web-user tests switch to a web UID and need root.
. "$(dirname "$0")/lib_cli.sh"

WEB=64001
chmod 0755 "$S"		# the web user must reach the files to be refused

# web CMD... - run CMD as the web user (numeric: no passwd entry needed)
web() {
	setpriv --reuid="$WEB" --regid="$WEB" --clear-groups "$@"
}

# as_root_or_skip - the web-user tests need setpriv, i.e. root
as_root_or_skip() {
	[ "$(id -u)" = 0 ] && return 0
	t_log "skipped: needs root to become uid $WEB"
	return 1
}

# hold_open - keep a connection on $DB open (so -wal and -shm stay) until
# release_db
hold_open() {
	mkfifo "$D/fifo"
	sqlite3 "$DB" <"$D/fifo" >/dev/null 2>&1 &
	HOLDER=$!
	exec 3>"$D/fifo"
	echo "SELECT count(*) FROM accounts;" >&3
	t_wait 5 test -e "$DB-shm" || t_fail "no -shm appeared"
}

release_db() {
	exec 3>&-
	wait "$HOLDER" 2>/dev/null
}

test_new_database_is_0640_whatever_the_umask() {
	setup
	umask 0
	ctl account add shop
	t_eq "status" 0 "$RC" || return
	t_eq "mode" 640 "$(stat -c %a "$DB")"
}

test_new_database_owner_may_still_write_under_a_strict_umask() {
	setup
	umask 0277
	ctl account add shop
	t_eq "mode" 640 "$(stat -c %a "$DB")" || return
	ctl account add other
	t_eq "second write" 0 "$RC"
}

test_root_tightens_files_readable_by_all() {
	setup
	ctl account add shop
	hold_open || { release_db; return 1; }
	chmod 0644 "$DB" "$DB-wal" "$DB-shm"
	ctl account list
	_modes=$(stat -c %a "$DB" "$DB-wal" "$DB-shm" | tr '\n' ' ')
	release_db
	t_eq "listing status" 0 "$RC" || return
	t_eq "modes of the database, -wal and -shm" "640 640 640 " "$_modes"
}

test_web_user_listings_are_one_line_and_make_no_file() {
	as_root_or_skip || return 0
	setup
	chmod 0755 "$D"
	ctl account add shop --sasl shop@example.test --domain shop.example
	if web cat "$DB" >/dev/null 2>&1; then
		t_fail "the web user read the file ($(stat -c %a "$DB"))"
		return
	fi
	rm -f "$D/out" "$D/err"
	_before=$(ls -A "$D")
	for _c in "account list" "account show shop" "hold list" "events" \
	    "usage" "account add evil" "budget set shop messages 1/1h"; do
		web "$MAILGOVCTL" --db "$DB" --config "$CONF" $_c \
		    >"$D/out" 2>"$D/err"
		_rc=$?
		t_eq "$_c: status" 1 "$_rc" || return
		t_eq "$_c: message" \
		    "mailgovctl: cannot read $DB: permission denied (run as root)" \
		    "$(cat "$D/err")" || return
		t_eq "$_c: output" "" "$(cat "$D/out")" || return
	done
	rm -f "$D/out" "$D/err"
	t_eq "files" "$_before" "$(ls -A "$D")"
}

test_web_user_cannot_create_a_database_in_a_root_directory() {
	as_root_or_skip || return 0
	setup
	chmod 0755 "$D"
	web "$MAILGOVCTL" --db "$D/new.db" --config "$CONF" account add x \
	    2>"$D/err"
	t_eq "status" 1 "$?" || return
	t_eq "message" \
	    "mailgovctl: cannot create $D/new.db: permission denied (run as root)" \
	    "$(cat "$D/err")" || return
	[ ! -e "$D/new.db" ] || t_fail "the database was created"
}

t_main "$@"
