#!/bin/sh
# mailgovctl budget: setting a kind's windows, clearing them to the
# configured default, showing where each comes from, and the older
# spellings (one window each, with a line naming the new spelling).
. "$(dirname "$0")/lib_cli.sh"

test_set_then_show_marks_account_and_default_limits() {
	setup
	ctl account add shop
	ctl budget set shop messages 10/1h 50/1d recipients 500/12h connections 3
	t_eq "set status" 0 "$RC" || return
	t_eq "no deprecation line" "" "$ERR" || return
	ctl budget show shop
	t_eq "show status" 0 "$RC" || return
	t_match "header" '^BUDGET +LIMIT +SOURCE$' "$(echo "$OUT" | head -1)" || return
	t_match "messages" '^messages +10/1h 50/1d +account$' "$(echo "$OUT" | grep '^messages ')" || return
	t_match "recipients" '^recipients +500/12h +account$' "$(echo "$OUT" | grep '^recipients ')" || return
	t_match "conn cap" '^connections +3 +account$' "$(echo "$OUT" | grep '^connections ')" || return
	t_match "new conn default" '^new_connections +30/1m +default$' "$(echo "$OUT" | grep ^new_connections)"
}

test_default_limits_come_from_the_config() {
	setup
	echo "messages = 77/1d 5/1m" >> "$CONF"
	ctl account add shop
	ctl budget show shop
	t_match "from config" '^messages +77/1d 5/1m +default$' "$(echo "$OUT" | grep '^messages ')"
}

test_value_default_clears_back_to_the_config_default() {
	setup
	ctl account add shop
	ctl budget set shop messages 10/1h
	ctl budget set shop messages default
	t_eq "status" 0 "$RC" || return
	ctl budget show shop
	t_match "cleared" '^messages +100/1h 1000/1d +default$' "$(echo "$OUT" | grep '^messages ')"
}

test_unlimited_is_allowed_for_an_account() {
	setup
	ctl account add shop
	ctl budget set shop recipients unlimited connections unlimited
	t_eq "status" 0 "$RC" || return
	ctl --json budget show shop
	t_eq "json: no windows, a null cap" "[] unlimited account None" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
b = json.load(sys.stdin)["budgets"]
r, c = b["recipients"], b["connections"]
print(r["windows"], r["text"], r["source"], c["limit"])')"
}

test_show_json_lists_every_window() {
	setup
	ctl account add shop
	ctl budget set shop messages 5/1m 100/1h 1000/1d
	ctl --json budget show shop
	t_eq "windows" "5/1m:60 100/1h:3600 1000/1d:86400 | 5/1m 100/1h 1000/1d" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
m = json.load(sys.stdin)["budgets"]["messages"]
print(" ".join("%s:%d" % (w["text"], w["period"]) for w in m["windows"]), "|", m["text"])')"
}

test_unlimited_is_refused_for_the_default_account() {
	setup
	ctl account add shop
	ctl budget set default messages unlimited
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: messages: the default account cannot be unlimited" "$ERR"
}

test_bad_numbers_are_one_line_errors() {
	setup
	ctl account add shop
	ctl budget set shop messages abc
	t_eq "abc" "mailgovctl: messages: not a number 'abc'" "$ERR" || return
	t_eq "abc status" 1 "$RC" || return
	ctl budget set shop messages -1/1h
	t_eq "negative" "mailgovctl: messages: not a number '-1/1h'" "$ERR" || return
	ctl budget set shop messages 1e3/1h
	t_eq "exponent" "mailgovctl: messages: not a number '1e3/1h'" "$ERR" || return
	ctl budget set shop messages 99999999999999999999999/1h
	t_eq "overflow" "mailgovctl: messages: too large '99999999999999999999999/1h'" "$ERR" || return
	ctl budget set shop messages 10/fortnight
	t_match "window" "^mailgovctl: messages: .*'10/fortnight'$" "$ERR" || return
	ctl budget set shop connections 5/1m
	t_match "cap window" "^mailgovctl: connections: a cap takes no window '5/1m'$" "$ERR"
}

test_windows_are_checked() {
	setup
	ctl account add shop
	ctl budget set shop messages 0
	t_eq "no window" "mailgovctl: messages: a rate needs a window: N/DURATION, e.g. 100/1h '0'" "$ERR" || return
	ctl budget set shop messages 5/0s
	t_eq "zero window" "mailgovctl: messages: window too short (min 1s) '5/0s'" "$ERR" || return
	ctl budget set shop messages 5/1h 9/60m
	t_eq "same length" "mailgovctl: messages: two windows of the same length '9/60m'" "$ERR" || return
	ctl budget set shop messages 1/1s 2/1m 3/1h 4/1d 5/7d
	t_eq "five" "mailgovctl: messages: too many windows (max 4) '5/7d'" "$ERR" || return
	ctl budget set shop recipients_per_message 5 6
	t_eq "two caps" "mailgovctl: recipients_per_message: a cap takes one value '6'" "$ERR" || return
	t_eq "status" 1 "$RC" || return
	ctl budget set shop messages 1/1s 2/1m 3/1h 4/1d
	t_eq "four windows" 0 "$RC"
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
	ctl budget set nosuch messages 10/1h
	t_eq "set status" 1 "$RC" || return
	t_eq "set message" "mailgovctl: unknown account 'nosuch'" "$ERR" || return
	ctl budget show nosuch
	t_eq "show message" "mailgovctl: unknown account 'nosuch'" "$ERR"
}

test_bad_value_after_good_ones_writes_nothing() {
	setup
	ctl account add shop
	ctl budget set shop messages 10/1h recipients abc
	t_eq "status" 1 "$RC" || return
	ctl budget show shop
	t_match "unchanged" '^messages +100/1h 1000/1d +default$' "$(echo "$OUT" | grep '^messages ')"
}

test_kind_without_value_is_a_usage_error() {
	setup
	ctl budget set shop messages
	t_eq "status" 2 "$RC" || return
	t_match "usage" '^usage: mailgovctl budget set NAME KIND VALUE' "$(echo "$ERR" | sed -n 2p)"
}

test_account_show_includes_the_budgets() {
	setup
	ctl account add shop
	ctl budget set shop messages 5/10m
	ctl account show shop
	t_match "in show" '^messages +5/10m +account$' "$(echo "$OUT" | grep '^messages ')"
}

test_older_spelling_sets_one_window_and_says_the_new_one() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour 10
	t_eq "status" 0 "$RC" || return
	t_eq "line" "mailgovctl: messages_per_hour is deprecated: write 'budget set shop messages 10/1h 1000/1d'" "$ERR" || return
	ctl budget show shop
	t_match "the hour window only" '^messages +10/1h 1000/1d +account$' "$(echo "$OUT" | grep '^messages ')" || return
	ctl budget set shop messages_per_day unlimited connections_per_minute 9
	t_eq "two lines" 2 "$(echo "$ERR" | grep -c 'is deprecated')" || return
	ctl budget show shop
	t_match "day dropped" '^messages +10/1h +account$' "$(echo "$OUT" | grep '^messages ')" || return
	t_match "per minute" '^new_connections +9/1m +account$' "$(echo "$OUT" | grep '^new_connections ')"
}

test_older_spelling_default_goes_back_to_the_default() {
	setup
	ctl account add shop
	ctl budget set shop messages_per_hour 10 messages_per_day 20
	ctl budget set shop messages_per_hour default messages_per_day default
	t_eq "status" 0 "$RC" || return
	ctl budget show shop
	t_match "default" '^messages +100/1h 1000/1d +default$' "$(echo "$OUT" | grep '^messages ')"
}

test_older_spelling_in_the_config_says_the_new_one() {
	setup
	echo "messages_per_day = 77" >> "$CONF"
	ctl account add shop
	t_match "line" "mailgov.conf:[0-9]+: messages_per_day is deprecated: write messages = 100/1h 77/1d" "$ERR" || return
	ctl budget show shop
	t_match "from config" '^messages +100/1h 77/1d +default$' "$(echo "$OUT" | grep '^messages ')"
}

t_main "$@"
