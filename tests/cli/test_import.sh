#!/bin/sh
# mailgovctl account export and import: bounds, the one transaction, and
# hostile input, against scratch databases (the cases that fit one line
# each are in tests/golden/ctl/account_import_errors.in).
. "$(dirname "$0")/lib_cli.sh"

HDR='{"format":"mailgov-accounts","version":1,"accounts":['

# dump - the database's content, to compare before and after
dump() { sqlite3 "$DB" .dump; }

test_a_refused_file_changes_nothing() {
	setup
	ctl account add shop --uid 64001 --domain shop.example
	ctl budget set shop messages 5/1h
	before=$(dump)
	# valid until its last account, which names another's domain
	printf '%s\n' "$HDR" '{"name":"shop","mode":"hold","uids":[],' \
	    '"budgets":{"messages":"default"}},' \
	    '{"name":"new","domains":["a.example"]},' \
	    '{"name":"thief","domains":["shop.example"]}]}' > "$D/x.json"
	ctl account import "$D/x.json"
	t_eq "status" 1 "$RC" || return
	t_eq "one error line" 1 "$(printf '%s\n' "$ERR" | wc -l)" || return
	t_match "names the account and field" \
	    "line 5: account 'thief': domains: domain 'shop.example' already belongs to account 'shop'" \
	    "$ERR" || return
	t_eq "nothing printed" "" "$OUT" || return
	t_eq "database unchanged" "$before" "$(dump)"
}

test_a_file_over_16_mib_is_refused_unread() {
	setup
	head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > "$D/big"
	ctl account import "$D/big"
	t_eq "status" 1 "$RC" || return
	t_match "error" 'larger than 16777216 bytes' "$ERR"
}

test_deep_nesting_and_many_members_are_refused() {
	setup
	printf '%s' "$HDR" '{"name":"x","uids":[[[[1]]]]}]}' > "$D/x.json"
	ctl account import "$D/x.json"
	t_eq "status" 1 "$RC" || return
	t_match "depth" 'nested deeper than 5' "$ERR" || return
	{
		printf '%s{"name":"x"' "$HDR"
		i=0
		while [ $i -lt 70 ]; do printf ',"k%d":1' $i; i=$((i + 1)); done
		printf '}]}\n'
	} > "$D/y.json"
	ctl account import "$D/y.json"
	t_eq "status" 1 "$RC" || return
	t_match "members" 'more than 64 members' "$ERR"
}

test_hostile_database_strings_export_as_valid_json_and_are_refused_back() {
	setup
	ctl account add shop
	sqlite3 "$DB" "INSERT INTO account_domains (domain, account) VALUES \
	    ('evil' || char(10) || '\"x', (SELECT id FROM accounts WHERE \
	    name = 'shop'))" || return
	ctl account export
	t_eq "export status" 0 "$RC" || return
	printf '%s' "$OUT" | python3 -c 'import json, sys; json.load(sys.stdin)' ||
	    t_fail "the export is not valid JSON: $OUT" || return
	printf '%s\n' "$OUT" > "$D/e.json"
	DB=$D/other.db ctl account import "$D/e.json"
	t_eq "import status" 1 "$RC" || return
	t_match "refused, printable" "domains: not a domain name 'evil[\\]x0a\"x'" \
	    "$ERR"
}

test_ten_thousand_accounts_round_trip_quickly() {
	setup
	{
		printf '%s\n' "$HDR"
		i=0
		while [ $i -lt 10000 ]; do
			[ $i -gt 0 ] && printf ',\n'
			printf '{"name":"a%d","uids":[%d],"domains":["a%d.example"],"budgets":{"messages":"%d/1h"}}' \
			    $i $((100000 + i)) $i $((i % 50 + 1))
			i=$((i + 1))
		done
		printf ']}\n'
	} > "$D/many.json"
	s=$(date +%s)
	ctl account import "$D/many.json"
	t_eq "status" 0 "$RC" || return
	t_match "summary" '10000 added, 0 changed, 0 unchanged' "$OUT" || return
	ctl account import "$D/many.json"
	t_match "again" 'nothing to change \(10000 accounts' "$OUT" || return
	e=$(date +%s)
	[ $((e - s)) -le 20 ] || t_fail "two imports took $((e - s)) s" ||
	    return
	ctl account export
	t_eq "exported" 10001 "$(printf '%s\n' "$OUT" | grep -c '^{"name"')"
}

t_main "$@"
