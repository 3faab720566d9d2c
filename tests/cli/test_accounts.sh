#!/bin/sh
# mailgovctl account: adding, changing, deleting, showing and listing
# accounts and their identities, against a scratch database.
. "$(dirname "$0")/lib_cli.sh"

test_add_then_show_lists_every_identity() {
	setup
	ctl account add shop --uid 64001 --uid 64010-64019 --gid 5000 \
	    --domain Shop.Example --sasl shop@example.org \
	    --relay 192.0.2.25:587 --relay '[2001:db8::25]:465' --mode defer
	t_eq "add status" 0 "$RC" || return
	t_eq "add prints nothing" "" "$OUT$ERR" || return
	ctl account show shop
	t_eq "show status" 0 "$RC" || return
	t_match "name" '^account +shop$' "$(echo "$OUT" | grep ^account)" || return
	t_match "mode" '^mode +defer$' "$(echo "$OUT" | grep ^mode)" || return
	t_match "uids" '^uids +64001,64010-64019$' "$(echo "$OUT" | grep ^uids)" || return
	t_match "gids" '^gids +5000$' "$(echo "$OUT" | grep ^gids)" || return
	t_match "domain lower-cased" '^domains +shop\.example$' "$(echo "$OUT" | grep ^domains)" || return
	t_match "sasl" '^sasl +shop@example\.org$' "$(echo "$OUT" | grep ^sasl)" || return
	t_match "relays" '^relays +192\.0\.2\.25:587,\[2001:db8::25\]:465$' "$(echo "$OUT" | grep ^relays)"
}

test_show_json_is_one_valid_document() {
	setup
	ctl account add shop --uid 64001-64002 --domain shop.example --relay 192.0.2.25:25
	ctl --json account show shop
	t_eq "status" 0 "$RC" || return
	v=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["name"], d["mode"], d["blocked"], d["uids"][0]["lo"], d["uids"][0]["hi"],
      d["domains"][0], d["relays"][0]["host"], d["relays"][0]["port"],
      d["budgets"]["messages"]["source"])') || return
	t_eq "fields" "shop path False 64001 64002 shop.example 192.0.2.25 25 default" "$v"
}

test_json_flag_after_the_command_works() {
	setup
	ctl account add shop
	ctl account show shop --json
	t_eq "status" 0 "$RC" || return
	t_eq "name" shop "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')"
}

test_list_shows_default_and_added_accounts_sorted() {
	setup
	ctl account add zeta --uid 64003
	ctl account add alpha --uid 64001 --mode hold
	ctl account list
	t_eq "status" 0 "$RC" || return
	t_match "header" '^NAME +MODE +BLOCKED +UIDS' "$(echo "$OUT" | head -1)" || return
	t_eq "order" "alpha default zeta" "$(echo "$OUT" | tail -n +2 | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')" || return
	t_match "alpha row" '^alpha +hold +no +64001 ' "$(echo "$OUT" | grep ^alpha)"
}

test_list_json_is_an_array_of_accounts() {
	setup
	ctl account add alpha --uid 64001
	ctl --json account list
	t_eq "status" 0 "$RC" || return
	t_eq "names" "alpha default" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join(a["name"] for a in json.load(sys.stdin)))')"
}

test_set_adds_and_removes_identities_and_mode() {
	setup
	ctl account add shop --uid 64001 --domain a.example
	ctl account set shop --add-uid 64005 --del-uid 64001 --add-domain b.example \
	    --del-domain a.example --add-sasl u1 --add-relay 192.0.2.25:587 --mode reject
	t_eq "set status" 0 "$RC" || return
	ctl account show shop
	t_match "uids" '^uids +64005$' "$(echo "$OUT" | grep ^uids)" || return
	t_match "domains" '^domains +b\.example$' "$(echo "$OUT" | grep ^domains)" || return
	t_match "sasl" '^sasl +u1$' "$(echo "$OUT" | grep ^sasl)" || return
	t_match "mode" '^mode +reject$' "$(echo "$OUT" | grep ^mode)" || return
	ctl account set shop --del-relay 192.0.2.25:587 --del-sasl u1
	t_eq "second set status" 0 "$RC" || return
	ctl account show shop
	t_match "relays gone" '^relays +-$' "$(echo "$OUT" | grep ^relays)"
}

test_set_with_nothing_to_change_is_a_usage_error() {
	setup
	ctl account add shop
	ctl account set shop
	t_eq "status" 2 "$RC" || return
	t_match "message" '^mailgovctl: account set: nothing to change' "$ERR"
}

test_del_removes_the_account() {
	setup
	ctl account add shop --uid 64001
	ctl account del shop
	t_eq "status" 0 "$RC" || return
	ctl account show shop
	t_eq "show status" 1 "$RC" || return
	t_eq "message" "mailgovctl: unknown account 'shop'" "$ERR"
}

test_del_frees_the_uid_for_another_account() {
	setup
	ctl account add a --uid 64001
	ctl account del a
	ctl account add b --uid 64001
	t_eq "status" 0 "$RC" || return
	t_eq "stderr" "" "$ERR"
}

test_default_account_cannot_be_deleted() {
	setup
	ctl account add x
	ctl account del default
	t_eq "status" 1 "$RC" || return
	t_eq "one line" 1 "$(printf '%s\n' "$ERR" | wc -l)" || return
	t_match "message" '^mailgovctl: .*default' "$ERR"
}

test_unknown_account_is_one_line_error() {
	setup
	ctl account add x
	for sub in "show nosuch" "del nosuch" "set nosuch --mode hold"; do
		# shellcheck disable=SC2086
		ctl account $sub
		t_eq "$sub status" 1 "$RC" || return
		t_eq "$sub message" "mailgovctl: unknown account 'nosuch'" "$ERR" || return
	done
}

test_uid_claimed_by_two_accounts_is_refused() {
	setup
	ctl account add a --uid 64001-64010
	ctl account add b --uid 64005
	t_eq "status" 1 "$RC" || return
	t_eq "one line" 1 "$(printf '%s\n' "$ERR" | wc -l)" || return
	t_match "message" "^mailgovctl: uid 64005 .*already belongs to account 'a'" "$ERR" || return
	ctl account show b
	t_eq "b was not created" 1 "$RC"
}

test_explicit_account_takes_over_an_auto_account() {
	setup
	ctl account add shop
	sqlite3 "$DB" "UPDATE accounts SET is_auto = 1 WHERE name = 'shop';
	    INSERT INTO account_uids (lo, hi, account)
	    SELECT 64001, 64001, id FROM accounts WHERE name = 'shop';
	    INSERT INTO held (queue_id, account, since)
	    SELECT 'AB12CD', id, 100 FROM accounts WHERE name = 'shop';" ||
	    t_fail "seeding an auto account" || return
	ctl account del shop
	t_eq "del status with held mail" 1 "$RC" || return
	t_match "del error" "has 1 held message: release or delete it first" \
	    "$ERR" || return
	ctl account add site --uid 64000-64009
	t_eq "add status" 0 "$RC" || return
	ctl account show shop
	t_eq "auto account gone" 1 "$RC" || return
	t_eq "held mail moved" site "$(sqlite3 "$DB" "SELECT a.name FROM held h
	    JOIN accounts a ON a.id = h.account WHERE h.queue_id = 'AB12CD'")" ||
	    return
	ctl events site
	t_match "event" "took over auto account shop" "$OUT"
}

test_domain_claimed_by_two_accounts_is_refused() {
	setup
	ctl account add a --domain shop.example
	ctl account add b
	ctl account set b --add-domain SHOP.example
	t_eq "status" 1 "$RC" || return
	t_match "message" "^mailgovctl: .*shop\.example.*'a'" "$ERR"
}

test_bad_uid_numbers_are_refused() {
	setup
	for v in -1 1e3 99999999999999999999999 4294967295 '' 12abc 0x10 10-5 5- ' 5'; do
		ctl account add x --uid "$v"
		t_eq "status for '$v'" 1 "$RC" || return
		t_eq "one line for '$v'" 1 "$(printf '%s\n' "$ERR" | wc -l)" || return
		t_match "message for '$v'" "^mailgovctl: uid: .*'" "$ERR" || return
	done
	t_eq "not a number" "mailgovctl: uid: not a number '-1'" \
	    "$(ctl account add x --uid -1; echo "$ERR")" || return
	t_eq "overflow" "mailgovctl: uid: too large '99999999999999999999999'" \
	    "$(ctl account add x --uid 99999999999999999999999; echo "$ERR")" || return
	[ ! -e "$DB" ] || t_fail "a refused command created the database"
}

test_bad_gid_relay_domain_mode_are_refused() {
	setup
	ctl account add x --gid -5
	t_eq "gid" "mailgovctl: gid: not a number '-5'" "$ERR" || return
	ctl account add x --gid nosuchgroup-mailgov
	t_eq "gid name" "mailgovctl: gid: unknown group 'nosuchgroup-mailgov'" "$ERR" || return
	ctl account add x --relay mx.example:25
	t_eq "relay host" "mailgovctl: relay: not a numeric address 'mx.example'" "$ERR" || return
	ctl account add x --relay 192.0.2.25:99999
	t_eq "relay port" "mailgovctl: relay: port: too large '99999'" "$ERR" || return
	ctl account add x --relay 192.0.2.25
	t_eq "relay form" "mailgovctl: relay: not HOST:PORT '192.0.2.25'" "$ERR" || return
	ctl account add x --domain 'bad domain'
	t_eq "domain" "mailgovctl: domain: not a domain name 'bad domain'" "$ERR" || return
	ctl account add x --mode drop
	t_eq "mode" "mailgovctl: mode: not hold, defer, reject or path 'drop'" "$ERR" || return
	t_eq "status" 1 "$RC"
}

test_bad_account_name_is_refused() {
	setup
	ctl account add 'Bad Name'
	t_eq "status" 1 "$RC" || return
	t_match "message" "^mailgovctl: bad account name 'Bad Name'" "$ERR"
}

test_duplicate_account_is_refused() {
	setup
	ctl account add x
	ctl account add x
	t_eq "status" 1 "$RC" || return
	t_match "message" "^mailgovctl: .*'x'" "$ERR"
}

test_failed_add_leaves_nothing_half_written() {
	setup
	ctl account add a --uid 64001
	# the second uid conflicts after the account and first uid are added
	ctl account add x --uid 64005 --domain x.example --uid 64001
	t_eq "status" 1 "$RC" || return
	ctl account show x
	t_eq "no account x" "mailgovctl: unknown account 'x'" "$ERR" || return
	ctl account add y --uid 64005 --domain x.example
	t_eq "uid and domain still free" 0 "$RC"
}

test_bad_value_after_good_ones_writes_nothing() {
	setup
	ctl account add a
	ctl account add x --uid 5 --uid bad-user-mailgov
	t_eq "status" 1 "$RC" || return
	ctl account show x
	t_eq "no account x" 1 "$RC"
}

test_failed_set_leaves_nothing_half_written() {
	setup
	ctl account add a --uid 64001
	ctl account add b --uid 64002
	ctl account set b --add-uid 64003 --mode hold --add-uid 64001
	t_eq "status" 1 "$RC" || return
	ctl account show b
	t_match "uids unchanged" '^uids +64002$' "$(echo "$OUT" | grep ^uids)" || return
	t_match "mode unchanged" '^mode +path$' "$(echo "$OUT" | grep ^mode)"
}

test_unknown_option_is_a_usage_error() {
	setup
	ctl account add x --colour red
	t_eq "status" 2 "$RC" || return
	t_match "message" "^mailgovctl: account add: unknown option or extra argument '--colour'" "$(echo "$ERR" | head -1)" || return
	t_match "usage follows" '^usage: mailgovctl account add NAME' "$(echo "$ERR" | sed -n 2p)"
}

test_missing_option_value_is_a_usage_error() {
	setup
	ctl account add x --uid
	t_eq "status" 2 "$RC" || return
	t_eq "message" "mailgovctl: --uid needs a value" "$(echo "$ERR" | head -1)"
}

t_main "$@"
