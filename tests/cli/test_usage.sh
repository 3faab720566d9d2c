#!/bin/sh
# mailgovctl usage, reset, block, unblock and events: counters and the
# budget left now, clearing state, and the event log.
. "$(dirname "$0")/lib_cli.sh"

# seed_usage ACCOUNT_ID - counters as mailgovd would leave them, with 30
# messages of the hourly budget spent just now
seed_usage() {
	_now=$(($(date +%s%N) / 1000))
	sqlite3 "$DB" "INSERT INTO usage (account, tat0, messages, recipients,
	    bytes, held, released, refused, connections, last_seen) VALUES
	    ($1, $((_now + 30 * 36000000)), 42, 97, 12345, 3, 2, 1, 50,
	    $(date +%s))"
}

test_usage_shows_counters_and_budget_left() {
	setup
	ctl account add shop --uid 64001
	seed_usage 2
	ctl usage shop
	t_eq "status" 0 "$RC" || return
	t_match "counters" '^shop +42 +97 +12345 +3 +2 +1 +50 +[0-9]{4}-' "$(echo "$OUT" | grep '^shop ' | head -1)" || return
	t_match "hour window left" '^shop +messages +100/1h +(69|70)$' "$(echo "$OUT" | grep 'messages  *100/1h')" || return
	t_match "untouched window" '^shop +messages +1000/1d +1000$' "$(echo "$OUT" | grep 'messages  *1000/1d')" || return
	t_match "cap has no remaining" '^shop +connections +10 +-$' "$(echo "$OUT" | grep 'connections ')"
}

test_usage_without_name_lists_every_account() {
	setup
	ctl account add shop
	ctl usage
	t_eq "status" 0 "$RC" || return
	t_eq "accounts" "default shop" "$(echo "$OUT" | sed -n '2,3p' | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')" || return
	t_match "never seen" '^shop( +0){7} +never$' "$(echo "$OUT" | sed -n 3p)"
}

test_usage_json_has_counters_limits_and_remaining() {
	setup
	ctl account add shop
	ctl budget set shop messages 100/1h 1000/1d recipients unlimited
	seed_usage 2
	ctl --json usage shop
	t_eq "status" 0 "$RC" || return
	t_match "fields" "^42 97 12345 \\[\\] (69|70) 1000 10 False$" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
u = json.load(sys.stdin)
b = u["budgets"]
print(u["messages"], u["recipients"], u["bytes"],
      b["recipients"]["windows"], b["messages"]["windows"][0]["remaining"],
      b["messages"]["windows"][1]["remaining"], b["connections"]["limit"],
      "remaining" in b["connections"])')" || return
	ctl --json usage
	t_eq "all is an array" "2" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
}

test_usage_of_unknown_account_is_refused() {
	setup
	ctl account add shop
	ctl usage nosuch
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: unknown account 'nosuch'" "$ERR"
}

test_reset_clears_budget_state_but_keeps_counters() {
	setup
	ctl account add shop
	seed_usage 2
	ctl reset shop
	t_eq "status" 0 "$RC" || return
	ctl usage shop
	t_match "budget full again" '^shop +messages +100/1h +100$' "$(echo "$OUT" | grep 'messages  *100/1h')" || return
	t_match "counters kept" '^shop +42 +97 ' "$(echo "$OUT" | grep '^shop ' | head -1)"
}

test_reset_all_clears_counters_too() {
	setup
	ctl account add shop
	seed_usage 2
	ctl reset shop --all
	t_eq "status" 0 "$RC" || return
	ctl usage shop
	t_match "counters zero" '^shop( +0){7} ' "$(echo "$OUT" | grep '^shop ' | head -1)"
}

test_reset_of_unknown_account_is_refused() {
	setup
	ctl account add shop
	ctl reset nosuch
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: unknown account 'nosuch'" "$ERR"
}

test_block_and_unblock_toggle_the_flag() {
	setup
	ctl account add shop
	ctl block shop
	t_eq "block status" 0 "$RC" || return
	ctl account show shop
	t_match "blocked" '^blocked +yes$' "$(echo "$OUT" | grep ^blocked)" || return
	ctl unblock shop
	t_eq "unblock status" 0 "$RC" || return
	ctl account show shop
	t_match "unblocked" '^blocked +no$' "$(echo "$OUT" | grep ^blocked)"
}

test_block_of_unknown_account_is_refused_and_logs_nothing() {
	setup
	ctl account add shop
	ctl block nosuch
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: unknown account 'nosuch'" "$ERR" || return
	ctl events
	t_eq "no event" 1 "$(echo "$OUT" | wc -l)"
}

test_events_record_admin_changes_oldest_first() {
	setup
	ctl account add shop
	ctl account add other
	ctl block shop
	ctl unblock shop
	ctl reset other --all
	ctl events
	t_eq "status" 0 "$RC" || return
	t_match "header" '^TIME +ACCOUNT +EVENT +DETAIL$' "$(echo "$OUT" | head -1)" || return
	t_eq "kinds" "shop:block shop:unblock other:reset" "$(echo "$OUT" | tail -n +2 | awk '{print $3 ":" $4}' | tr '\n' ' ' | sed 's/ $//')"
}

test_events_filter_by_account_and_limit() {
	setup
	ctl account add shop
	ctl account add other
	ctl block shop
	ctl block other
	ctl unblock shop
	ctl events shop --limit 1
	t_eq "status" 0 "$RC" || return
	t_eq "newest of shop only" "shop:unblock" "$(echo "$OUT" | tail -n +2 | awk '{print $3 ":" $4}' | tr '\n' ' ' | sed 's/ $//')" || return
	ctl --json events --limit 2
	t_eq "json" "other:block shop:unblock" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(" ".join(e["account"] + ":" + e["kind"] for e in json.load(sys.stdin)))')"
}

test_events_bad_limit_is_refused() {
	setup
	ctl account add shop
	for v in -1 1e3 99999999999999999999999 0 abc; do
		ctl events --limit "$v"
		t_eq "status for '$v'" 1 "$RC" || return
		t_match "message for '$v'" "^mailgovctl: limit: .* '$v'$" "$ERR" || return
	done
}

test_events_of_unknown_account_is_refused() {
	setup
	ctl account add shop
	ctl events nosuch
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: unknown account 'nosuch'" "$ERR"
}

test_events_with_hostile_text_stay_valid_json_and_one_line() {
	setup
	ctl account add shop
	# quote, backslash, newline, a control byte, an invalid byte, UTF-8
	sqlite3 "$DB" "INSERT INTO events (ts, account, kind, detail) VALUES
	    (1, 2, 'alert', CAST(X'61225C0A62011FFF63C3A9' AS TEXT))"
	ctl --json events
	t_eq "status" 0 "$RC" || return
	t_eq "decoded" "'a\"\\\\\\nb\\x01\\x1f\\ufffdc\\xe9'" "$(printf '%s' "$OUT" | python3 -c '
import json, sys
print(ascii(json.load(sys.stdin)[0]["detail"]))')" || return
	ctl events
	t_eq "one text line per event" 2 "$(echo "$OUT" | wc -l)"
}

t_main "$@"
