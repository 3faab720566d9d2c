#!/bin/sh
# mailgovctl budget: setting limits per budget kind, clearing them to the
# configured default, and showing where each limit comes from.
. "$(dirname "$0")/lib_cli.sh"

test_set_then_show_marks_account_and_default_limits() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour 10 recipients_per_day 500/12h connections 3
	t_eq "set status" 0 "$RC" || return
	ctl budget show shop
	t_eq "show status" 0 "$RC" || return
	t_match "header" '^BUDGET +LIMIT +SOURCE$' "$(echo "$OUT" | head -1)" || return
	t_match "msg/h" '^messages_per_hour +10/1h +account$' "$(echo "$OUT" | grep ^messages_per_hour)" || return
	t_match "rcpt/d" '^recipients_per_day +500/12h +account$' "$(echo "$OUT" | grep ^recipients_per_day)" || return
	t_match "conn cap" '^connections +3 +account$' "$(echo "$OUT" | grep '^connections ')" || return
	t_match "msg/d default" '^messages_per_day +1000/1d +default$' "$(echo "$OUT" | grep ^messages_per_day)"
}

test_default_limits_come_from_the_config() {
	setup
	echo "messages_per_day = 77" >> "$CONF"
	ctl account add shop
	ctl budget show shop
	t_match "from config" '^messages_per_day +77/1d +default$' "$(echo "$OUT" | grep ^messages_per_day)"
}

test_value_default_clears_back_to_the_config_default() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour 10
	ctl budget set shop messages_per_hour default
	t_eq "status" 0 "$RC" || return
	ctl budget show shop
	t_match "cleared" '^messages_per_hour +100/1h +default$' "$(echo "$OUT" | grep ^messages_per_hour)"
}

test_unlimited_is_allowed_for_an_account() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_day unlimited
	t_eq "status" 0 "$RC" || return
	ctl --json budget show shop
	t_eq "json null limit" "None unlimited account" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
b = json.load(sys.stdin)["budgets"]["messages_per_day"]
print(b["limit"], b["text"], b["source"])')"
}

test_unlimited_is_refused_for_the_default_account() {
	setup
	ctl account add shop
	ctl budget set default messages_per_hour unlimited
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: messages_per_hour: the default account cannot be unlimited" "$ERR"
}

test_bad_numbers_are_one_line_errors() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour abc
	t_eq "abc" "mailgovctl: messages_per_hour: not a number 'abc'" "$ERR" || return
	t_eq "abc status" 1 "$RC" || return
	ctl budget set shop messages_per_hour -1
	t_eq "negative" "mailgovctl: messages_per_hour: not a number '-1'" "$ERR" || return
	ctl budget set shop messages_per_hour 1e3
	t_eq "exponent" "mailgovctl: messages_per_hour: not a number '1e3'" "$ERR" || return
	ctl budget set shop messages_per_hour 99999999999999999999999
	t_eq "overflow" "mailgovctl: messages_per_hour: too large '99999999999999999999999'" "$ERR" || return
	ctl budget set shop messages_per_hour 10/fortnight
	t_match "window" "^mailgovctl: messages_per_hour: .*'10/fortnight'$" "$ERR" || return
	ctl budget set shop connections 5/1m
	t_match "cap window" "^mailgovctl: connections: a cap takes no window '5/1m'$" "$ERR"
}

test_unknown_kind_is_refused() {
	setup
	ctl account add shop
	ctl budget set shop mails_per_hour 10
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: unknown budget kind 'mails_per_hour'" "$ERR"
}

test_unknown_account_is_refused() {
	setup
	ctl account add shop
	ctl budget set nosuch messages_per_hour 10
	t_eq "set status" 1 "$RC" || return
	t_eq "set message" "mailgovctl: unknown account 'nosuch'" "$ERR" || return
	ctl budget show nosuch
	t_eq "show message" "mailgovctl: unknown account 'nosuch'" "$ERR"
}

test_bad_pair_after_good_ones_writes_nothing() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour 10 messages_per_day abc
	t_eq "status" 1 "$RC" || return
	ctl budget show shop
	t_match "unchanged" '^messages_per_hour +100/1h +default$' "$(echo "$OUT" | grep ^messages_per_hour)"
}

test_odd_argument_count_is_a_usage_error() {
	setup
	ctl budget set shop messages_per_hour
	t_eq "status" 2 "$RC" || return
	t_match "usage" '^usage: mailgovctl budget set NAME KIND VALUE' "$(echo "$ERR" | sed -n 2p)"
}

test_account_show_includes_the_budgets() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour 5/10m
	ctl account show shop
	t_match "in show" '^messages_per_hour +5/10m +account$' "$(echo "$OUT" | grep ^messages_per_hour)"
}

t_main "$@"
