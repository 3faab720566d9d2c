#!/bin/sh
# mailgovctl reading a database whose rows break every rule the schema
# meant to keep: NULLs, out-of-range and extreme numbers, text and reals in
# integer columns, huge strings, control bytes, rows that point at no
# account.  The constraints are dropped first (writable_schema) so the rows
# really get in.  Every listing must end with status 0 or 1 (1 with a
# "mailgovctl: " message), never a signal, never a sanitizer report (under
# MAILGOV_BUILD=build-asan), and its output must stay clean: valid JSON,
# no raw control bytes in text.
. "$(dirname "$0")/../lib.sh"

S=$(t_scratch)

# setup - a fresh database with two real accounts, then the hostile rows
setup() {
	D=$(mktemp -d "$S/t.XXXXXX")
	DB=$D/mailgov.db
	CONF=$D/mailgov.conf
	t_config "$CONF" </dev/null
	"$MAILGOVCTL" --db "$DB" --config "$CONF" account add shop \
	    --uid 64001 --domain shop.example --relay 192.0.2.5:25 >/dev/null ||
	    t_fail "account add shop" || return
	"$MAILGOVCTL" --db "$DB" --config "$CONF" account add blog >/dev/null ||
	    t_fail "account add blog" || return
	sqlite3 -bail "$DB" "PRAGMA writable_schema = ON;
	    UPDATE sqlite_master SET sql = replace(replace(sql, 'NOT NULL', ''),
	    'CHECK (', 'CHECK (1 OR ') WHERE type = 'table';" ||
	    t_fail "dropping the constraints" || return
	hostile_rows | sqlite3 -bail "$DB" || t_fail "hostile rows" || return
	: > "$D/log"
}

# hostile_rows - the SQL of the damage; accounts 10..13 and one with the
# smallest id are hostile, 2 (shop) gets hostile usage, budgets and rows
hostile_rows() {
	cat <<'EOF'
PRAGMA foreign_keys = OFF;
INSERT INTO accounts VALUES (10, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO accounts VALUES (11, 'big' || hex(randomblob(40000)), 'x', 99999999999, -5, 'yesterday', 'a@' || hex(randomblob(40000)));
INSERT INTO accounts VALUES (12, X'00414243', 2.5, -1, 9223372036854775807, -9223372036854775808, X'0041');
INSERT INTO accounts VALUES (13, 'ctl' || char(1, 27, 10, 13, 9) || '"x\', 1, 3, 1, 1e300, 'a@b.example' || char(13, 10) || 'Bcc: v@example.org');
INSERT INTO accounts VALUES (-9223372036854775808, 'minid', 0, 0, 0, 0, 5);
INSERT INTO account_uids VALUES (-5, 'abc', 10);
INSERT INTO account_uids VALUES (99999999999, 1, 11);
INSERT INTO account_uids VALUES (NULL, NULL, NULL);
INSERT INTO account_uids VALUES (100, 50, 99);
INSERT INTO account_uids VALUES (200, 9999999999999, 12);
INSERT INTO account_uids VALUES (300, 300, 'x');
INSERT INTO account_gids VALUES (-1, 11);
INSERT INTO account_gids VALUES (4294967295, 12);
INSERT INTO account_gids VALUES (NULL, 13);
INSERT INTO account_domains VALUES (hex(randomblob(30000)), 11);
INSERT INTO account_domains VALUES ('d.example', 'seven');
INSERT INTO account_domains VALUES (X'ff00fe', 12);
INSERT INTO account_domains VALUES ('', 13);
INSERT INTO account_sasl VALUES ('u', 11);
INSERT INTO account_sasl VALUES ('v', 12345);
INSERT INTO account_sasl VALUES (X'0a1b', 13);
INSERT INTO account_relays VALUES (10, NULL, NULL);
INSERT INTO account_relays VALUES (11, '::1', 99999);
INSERT INTO account_relays VALUES (12, hex(randomblob(2000)), -1);
INSERT INTO account_relays VALUES (13, 'a:b:c', 'x');
INSERT INTO account_relays VALUES (13, X'00', 25);
INSERT INTO account_relays VALUES (2, '192.0.2.9', 9223372036854775807);
INSERT INTO budgets VALUES (11, 0, 0, -1, 0, -1);
INSERT INTO budgets VALUES (11, 1, 0, 9223372036854775807, 9223372036854775807, 9223372036854775807);
INSERT INTO budgets VALUES (12, 2, 0, 'x', 'y', 'z');
INSERT INTO budgets VALUES (13, 99, 0, 1, 1, 1);
INSERT INTO budgets VALUES (13, 3, 0, 1.5, -1e20, 1e20);
INSERT INTO budgets VALUES (12, 4, 0, 1, 0, 0);
INSERT INTO budgets VALUES (12, 0, 7, 1, 1000, 0);
INSERT INTO budgets VALUES (12, 1, 9223372036854775807, 1, 1000, 0);
INSERT INTO budgets VALUES (13, 0, -1, 1, 1000, 0);
INSERT INTO budgets VALUES (2, 0, 0, 1, -9223372036854775808, 1);
INSERT INTO budgets VALUES ('x', 'y', 'z', 1, 1, 1);
INSERT INTO budgets VALUES (11, -1, 0, 1, 1, 1);
INSERT INTO usage VALUES (10, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO usage VALUES (11, -1, -1, -1, -1, -1, -1, -9223372036854775808, -1, -1, -1, -1, -1, -1, -9223372036854775808, -9223372036854775808, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
INSERT INTO usage VALUES (12, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807, 9223372036854775807);
INSERT INTO usage VALUES (13, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 1e300, 'z', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
INSERT INTO usage VALUES (2, -9223372036854775808, 9223372036854775807, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808, -9223372036854775808);
INSERT INTO usage VALUES (77, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
INSERT INTO held VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, '', '', '', '');
INSERT INTO held VALUES ('ABC', 11, -9223372036854775808, -1, -1, 99, NULL, -1, 0, '', '', '', '');
INSERT INTO held VALUES (hex(randomblob(5000)), 12, 9223372036854775807, 9223372036854775807, 9223372036854775807, 0, hex(randomblob(70000)), 'yes', 0, '', '', '', '');
INSERT INTO held VALUES ('X' || char(10) || 'Y', 13, 'now', 'many', 'big', 'held', X'00ff', 9223372036854775807, 0, '', '', '', '');
INSERT INTO held VALUES ('Q' || char(10, 27) || 'Z', 13, 5, 1, 1, 0, 's' || char(27), X'00', 0, '', '', '', '');
INSERT INTO held VALUES ('DEF', 999, 1, 1, 1, 0, 'a@b', 0, 0, '', '', '', '');
INSERT INTO held VALUES ('GHI', 2, 1e300, -1e300, 1.5, 0, 'x' || char(27) || '[31m', 1.5, -5, 'e' || char(10) || 'x', hex(randomblob(600000)), X'1b5b33316d', 'evil' || char(10, 27) || '.php');
INSERT INTO held VALUES ('JKL', 2, -1, 9223372036854775807, -9223372036854775808, 0, '', 2, 9223372036854775807, NULL, 1e300, X'00', '');
INSERT INTO held VALUES (X'00', NULL, 0, 0, 0, 0, '', 1, 0, '', '', '', '');
INSERT INTO events VALUES (NULL, NULL, NULL, NULL, NULL);
INSERT INTO events VALUES (100, -9223372036854775808, 11, 'hold', hex(randomblob(100000)));
INSERT INTO events VALUES (101, 9223372036854775807, 999, X'0001', X'00');
INSERT INTO events VALUES (102, 'ts', 'acct', 5, 6.5);
INSERT INTO events VALUES (103, 1e300, 13, 'k' || char(27) || '[31m', 'd' || char(10, 13, 1));
INSERT INTO events VALUES (104, -1, 2, '', NULL);
EOF
}

# ctl ARGS... - one mailgovctl run; its status must be 0, or 1 with a
# message; no sanitizer may have spoken.  Sets OUT, ERR, RC.
ctl() {
	"$MAILGOVCTL" --db "$DB" --config "$CONF" "$@" >"$D/out" 2>"$D/err"
	RC=$?
	OUT=$(cat "$D/out")
	ERR=$(cat "$D/err")
	echo "mailgovctl $*: exit $RC" >> "$D/log"
	[ "$RC" -lt 128 ] || t_fail "$*: killed by signal $((RC - 128))" ||
	    return
	case "$ERR" in
	*Sanitizer*|*"runtime error:"*)
		printf '%s\n' "$ERR" | head -30 >&2
		t_fail "$*: sanitizer report"
		return ;;
	esac
	case "$RC" in
	0) ;;
	1) t_match "$*: error message" '^mailgovctl: ' "$ERR" || return ;;
	*) t_fail "$*: exit $RC (expected 0 or 1): $ERR"; return ;;
	esac
}

# each_listing CHECK - CHECK ARGS... for every listing of the hostile
# rows: all accounts, a real one, a damaged one and a missing one
each_listing() {
	for _args in "account list" "account show shop" "account show minid" \
	    "account show nosuch" "usage" "usage shop" "usage blog" \
	    "events" "events shop" "events --limit 2" "hold list" \
	    "hold list shop" "budget show shop"; do
		# shellcheck disable=SC2086
		"$@" $_args || return
	done
}

# text_ok ARGS... - a text listing: no raw control byte but the newline
# (grep sees lines without theirs)
text_ok() {
	ctl "$@" || return
	if printf '%s' "$OUT" | LC_ALL=C grep -q '[[:cntrl:]]'; then
		t_fail "$*: a raw control byte in the output: $(printf '%s' \
		    "$OUT" | LC_ALL=C grep '[[:cntrl:]]' | od -c | head -5)"
		return
	fi
}

# json_ok ARGS... - a JSON listing: one valid document when it succeeds
json_ok() {
	ctl --json "$@" || return
	[ "$RC" -eq 0 ] || return 0
	_jerr=$(printf '%s' "$OUT" | python3 -c '
import json, sys
json.load(sys.stdin)' 2>&1 | tail -1)
	[ -z "$_jerr" ] || t_fail "$*: invalid JSON: $_jerr"
}

test_text_listings_survive_hostile_rows() {
	setup || return
	each_listing text_ok
}

test_json_listings_survive_hostile_rows() {
	setup || return
	each_listing json_ok
}

test_real_accounts_still_listed_among_hostile_rows() {
	setup || return
	ctl account list || return
	t_match "shop listed" '^shop  ' "$OUT" || return
	t_match "blog listed" '^blog  ' "$OUT" || return
	ctl account show shop || return
	t_eq "show status" 0 "$RC" || return
	t_match "shop's uid" 'uids +64001' "$OUT"
}

test_missing_account_among_hostile_rows_is_a_clear_error() {
	setup || return
	ctl account show nosuch || return
	t_eq "status" 1 "$RC" || return
	t_match "message" "mailgovctl: unknown account 'nosuch'" "$ERR"
}

test_account_with_a_negative_id_is_a_clear_error() {
	setup || return
	ctl account show minid || return
	t_eq "status" 1 "$RC" || return
	t_match "message" "mailgovctl: account 'minid': bad id " "$ERR"
}

t_main "$@"
