#!/bin/sh
# mailgovctl against a bad environment: configuration errors, a locked,
# read-only, corrupt or newer database, and the command line itself.
. "$(dirname "$0")/lib_cli.sh"

# lock_db - hold the write lock of $DB from another sqlite3 process until
# unlock_db; waits until the lock is really taken
lock_db() {
	mkfifo "$D/fifo"
	sqlite3 "$DB" <"$D/fifo" >/dev/null 2>&1 &
	LOCKER=$!
	exec 3>"$D/fifo"
	echo "PRAGMA busy_timeout = 3000; BEGIN EXCLUSIVE;
	    INSERT INTO events (ts, kind) VALUES (1, 'lock');" >&3
	t_wait 10 sh -c "! sqlite3 '$DB' 'PRAGMA busy_timeout = 0; BEGIN IMMEDIATE;' 2>/dev/null" ||
	    t_fail "could not take the lock"
}

unlock_db() {
	exec 3>&-
	wait "$LOCKER" 2>/dev/null
}

test_unknown_config_key_is_one_line_error() {
	setup
	printf 'db = %s\n# comment\nfoo = 1\n' "$DB" > "$CONF"
	ctl account list
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: $CONF:3: unknown key 'foo'" "$ERR"
}

test_missing_config_given_with_option_is_an_error() {
	setup
	"$MAILGOVCTL" --db "$DB" --config "$D/nosuch.conf" account list >/dev/null 2>"$D/err"
	t_eq "status" 1 "$?" || return
	t_match "message" "^mailgovctl: $D/nosuch.conf: " "$(cat "$D/err")"
}

test_db_path_comes_from_the_config() {
	setup
	echo "db = $D/fromconf.db" >> "$CONF"
	"$MAILGOVCTL" --config "$CONF" account add shop || return
	[ -f "$D/fromconf.db" ] || t_fail "database not created at the config's db path"
}

test_listing_missing_database_does_not_create_it() {
	setup
	ctl account list
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: database $DB does not exist" "$ERR" || return
	[ ! -e "$DB" ] || t_fail "a listing created the database"
}

test_locked_database_is_one_line_error_and_writes_nothing() {
	setup
	ctl account add a
	lock_db || return
	ctl account add shop --uid 64001
	_rc=$RC _err=$ERR
	unlock_db
	t_eq "status" 1 "$_rc" || return
	t_eq "message" "mailgovctl: database is locked (another process holds it)" "$_err" || return
	ctl account show shop
	t_eq "nothing written" 1 "$RC"
}

test_locked_database_still_answers_listings() {
	setup
	ctl account add shop
	lock_db || return
	ctl account list
	_rc=$RC
	unlock_db
	t_eq "status" 0 "$_rc"
}

test_read_only_database_refuses_writes_but_lists() {
	setup
	ctl account add shop
	ctl account list
	# as on a live system, the WAL index (-shm) is there: without it
	# SQLite cannot read a WAL database from read-only media at all
	mkdir "$D/ro"
	for f in "$DB" "$DB-wal" "$DB-shm"; do
		[ ! -e "$f" ] || cp "$f" "$D/ro/"
	done
	DB=$D/ro/mailgov.db
	if [ "$(id -u)" = 0 ]; then
		# root ignores file modes: use a read-only bind mount instead
		unshare -m sh -c "mount --bind -o ro '$D/ro' '$D/ro' &&
		    '$MAILGOVCTL' --db '$DB' --config '$CONF' account add x;
		    echo \$? > '$D/rc.w';
		    '$MAILGOVCTL' --db '$DB' --config '$CONF' account list;
		    echo \$? > '$D/rc.r'" >"$D/out" 2>"$D/err"
	else
		chmod 0444 "$DB"
		chmod 0555 "$D/ro"
		"$MAILGOVCTL" --db "$DB" --config "$CONF" account add x 2>"$D/err"
		echo $? > "$D/rc.w"
		"$MAILGOVCTL" --db "$DB" --config "$CONF" account list >"$D/out"
		echo $? > "$D/rc.r"
		chmod 0755 "$D/ro"
	fi
	t_eq "write status" 1 "$(cat "$D/rc.w")" || return
	t_eq "message" "mailgovctl: database $DB is read-only" "$(cat "$D/err")" || return
	t_eq "list status" 0 "$(cat "$D/rc.r")" || return
	t_match "listed" '^shop ' "$(grep ^shop "$D/out")"
}

test_corrupt_database_is_one_line_error() {
	setup
	head -c 8192 /dev/urandom > "$DB"
	ctl account add shop
	t_eq "write status" 1 "$RC" || return
	t_eq "write message" "mailgovctl: database $DB is corrupt or not a mailgov database" "$ERR" || return
	ctl account list
	t_eq "read status" 1 "$RC" || return
	t_eq "read message" "mailgovctl: database $DB is corrupt or not a mailgov database" "$ERR"
}

test_text_file_is_not_a_database() {
	setup
	echo "hello" > "$DB"
	ctl usage
	t_eq "status" 1 "$RC" || return
	t_match "message" "^mailgovctl: database $DB is corrupt or not a mailgov database$" "$ERR"
}

test_newer_schema_is_refused() {
	setup
	ctl account add shop
	sqlite3 "$DB" "UPDATE schema_version SET version = 999"
	ctl account add other
	t_eq "status" 1 "$RC" || return
	t_eq "one line" 1 "$(printf '%s\n' "$ERR" | wc -l)" || return
	t_match "message" "^mailgovctl: database schema version 999 is newer" "$ERR" || return
	ctl account list
	t_eq "read status" 1 "$RC"
}

test_no_command_is_a_usage_error() {
	setup
	ctl
	t_eq "status" 2 "$RC" || return
	t_eq "message" "mailgovctl: no command given" "$(echo "$ERR" | head -1)"
}

test_unknown_command_is_a_usage_error() {
	setup
	ctl frobnicate
	t_eq "status" 2 "$RC" || return
	t_eq "message" "mailgovctl: unknown command 'frobnicate'" "$(echo "$ERR" | head -1)"
}

test_unknown_global_option_is_a_usage_error() {
	setup
	"$MAILGOVCTL" --verbose account list >/dev/null 2>"$D/err"
	t_eq "status" 2 "$?" || return
	t_eq "message" "mailgovctl: unknown option '--verbose'" "$(head -1 "$D/err")"
}

test_help_lists_every_command() {
	"$MAILGOVCTL" --help > /dev/null || return
	out=$("$MAILGOVCTL" --help)
	for c in "account add" "account set" "account del" "account show" \
	    "account list" "budget set" "budget show" "usage" "reset" \
	    "block" "unblock" "events"; do
		t_match "help has $c" "^  $c( |\$)" "$(echo "$out" | grep "^  $c")" || return
	done
}

test_command_help_prints_its_usage() {
	out=$("$MAILGOVCTL" budget --help)
	t_eq "status" 0 "$?" || return
	t_eq "usage" "usage: mailgovctl budget set NAME KIND VALUE... [KIND VALUE...]...
       mailgovctl budget show NAME [--json]" "$out" || return
	t_eq "help CMD is the same" "$out" "$("$MAILGOVCTL" help budget)"
}

test_help_needs_no_config_or_database() {
	"$MAILGOVCTL" --config /nonexistent/mailgov.conf account --help >/dev/null
	t_eq "status" 0 "$?"
}

t_main "$@"
