#!/bin/sh
# test_rules_iptables - `mailgovctl rules install` with the iptables backend,
# in the lab namespace, with no mailgovd running: every web-user SMTP
# connection still lands on the queue instance's port (the NFQUEUE rule has
# --queue-bypass), other users are untouched, port 465, the relay port and
# the policy port are reset at once, root, mailgov and postfix are no web
# users whatever web group lists them, explicit connection caps hold, and
# install/remove leave every other rule as it was.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_rules.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
CONF="$D/mailgov.conf"
DB="$D/mailgov.db"
web_group_users
t_config "$CONF" <<EOF
web_groups = mgwebgrp
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

# save - the lab's iptables and ip6tables rules, without the timestamps
save() {
	{ lab iptables-save; lab ip6tables-save; } | grep -v '^#'
}

# Rules of other software that install and remove must leave alone.
lab iptables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-xmark 0x1/0x1
lab iptables -t nat -A OUTPUT -p tcp -d 192.0.2.80 --dport 8080 \
    -j REDIRECT --to-ports 80
lab iptables -A OUTPUT -p udp --dport 53 -j ACCEPT
lab ip6tables -A OUTPUT -p udp --dport 53 -j ACCEPT

# The queue instance (lab) and the remote MX, told apart by the greeting.
sink "$LAB" 127.0.0.1:2525 queue.lab
sink "$LAB" '[::1]:2525' queue6.lab
sink "$LAB" 127.0.0.1:10026 relay.lab
sink "$MX" 192.0.2.25:25 mx.remote
sink "$MX" 192.0.2.25:465 mx465.remote
sink "$MX" '[2001:db8::25]:25' mx6.remote

# An account with its own connections budget: UID WEB2.
ctl account add capped --uid "$WEB2" >/dev/null || exit 1
ctl budget set capped connections 2 >/dev/null || exit 1

BEFORE=$(save)
ctl rules install >/dev/null || exit 1

test_web_uid_to_remote_mx_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB1")"
}

test_web_uid_to_localhost_25_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 127.0.0.1 25 "$WEB3")"
}

test_web_uid_submission_port_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 587 "$WEB1")"
}

test_web_uid_to_queue_port_reaches_it() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 127.0.0.1 2525 "$WEB1")"
}

test_root_reaches_the_mx_untouched() {
	t_match "root's banner" '^220 mx\.remote ' "$(banner 192.0.2.25 25)"
}

test_postfix_user_reaches_the_mx_untouched() {
	t_match "postfix's banner" '^220 mx\.remote ' \
	    "$(banner 192.0.2.25 25 postfix)"
}

test_non_web_uid_reaches_the_mx_untouched() {
	# 65000 is outside web_uids
	t_match "banner" '^220 mx\.remote ' "$(banner 192.0.2.25 25 65000)"
}

test_ipv6_web_uid_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue6\.lab ' \
	    "$(banner 2001:db8::25 25 "$WEB1")"
}

test_ipv6_root_reaches_the_mx_untouched() {
	t_match "root's banner" '^220 mx6\.remote ' \
	    "$(banner 2001:db8::25 25)"
}

test_port_465_web_uid_reset_at_once() {
	_t0=$(date +%s%N)
	_out=$(banner 192.0.2.25 465 "$WEB1")
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	t_match "web user on 465" 'refused' "$_out" || return 1
	[ "$_ms" -lt 2000 ] || t_fail "reset took ${_ms} ms, expected < 2000"
}

test_port_465_root_reaches_the_mx() {
	t_match "root on 465" '^220 mx465\.remote ' \
	    "$(banner 192.0.2.25 465)"
}

test_relay_port_refused_to_web_uid() {
	t_match "web user on the relay port" 'refused' \
	    "$(banner 127.0.0.1 10026 "$WEB1")" || return 1
	t_match "web user on the relay port, lab address" 'refused' \
	    "$(banner 192.0.2.1 10026 "$WEB1")"
}

test_relay_port_open_to_root() {
	t_match "root on the relay port" '^220 relay\.lab ' \
	    "$(banner 127.0.0.1 10026)"
}

test_policy_port_refused_to_web_uid() {
	policy_port_refused
}

test_explicit_cap_refuses_third_connection() {
	# two connections held open, then a third
	for _i in 1 2; do
		ip netns exec "$LAB" setpriv --reuid="$WEB2" --regid="$WEB2" \
		    --clear-groups bash -c \
		    'exec 3<>/dev/tcp/192.0.2.25/25 && sleep 8' >/dev/null 2>&1 &
		_held="${_held:-} $!"
	done
	sleep 1
	_third=$(banner 192.0.2.25 25 "$WEB2")
	# another web user is not affected by WEB2's cap
	_other=$(banner 192.0.2.25 25 "$WEB4")
	kill $_held 2>/dev/null
	t_match "third connection" 'refused' "$_third" || return 1
	t_match "another web user" '^220 queue\.lab ' "$_other"
}

test_explicit_cap_rule_names_the_account() {
	t_match "filter rules" \
	    'uid-owner 64002 .*connlimit-above 2 .*mailgov account capped' \
	    "$(lab iptables -S MAILGOV)" || return 1
	t_match "ip6 filter rules" 'uid-owner 64002 .*connlimit-above 2' \
	    "$(lab ip6tables -S MAILGOV)"
}

test_install_twice_is_idempotent() {
	_once=$(save)
	ctl rules install >/dev/null || return 1
	t_eq "ruleset after a second install" "$_once" "$(save)" || return 1
	t_eq "mailgov jumps in nat OUTPUT" 1 \
	    "$(lab iptables -t nat -S OUTPUT | grep -c 'comment mailgov')"
}

test_install_replaces_changed_caps() {
	ctl budget set capped connections 5 >/dev/null || return 1
	ctl rules install >/dev/null || return 1
	_s=$(lab iptables -S MAILGOV)
	ctl budget set capped connections 2 >/dev/null
	ctl rules install >/dev/null
	t_match "cap after change" 'connlimit-above 5 ' "$_s" || return 1
	[ "$(printf '%s\n' "$_s" | grep -c connlimit)" = 1 ] ||
	    t_fail "expected one cap rule, saw: $_s"
}

test_fewer_web_users_leave_no_chain_behind() {
	# each known web user's own rules hang from a tree of chains
	# MAILGOV_U*; a smaller tree's install deletes those it no longer has
	_n0=$(lab iptables -t mangle -S | grep -c '^-N MAILGOV_U')
	[ "$_n0" -gt 1 ] || t_fail "expected a tree of chains, saw $_n0" ||
	    return 1
	cp /etc/passwd "$D/passwd"
	grep -v '^mgweb[1-4]:' "$D/passwd" > /etc/passwd
	ctl rules install >/dev/null
	_n1=$(lab iptables -t mangle -S | grep -c '^-N MAILGOV_U')
	_f1=$(lab iptables -S | grep -c '^-N MAILGOV_U')
	cp "$D/passwd" /etc/passwd
	ctl rules install >/dev/null || return 1
	[ "$_n1" -lt "$_n0" ] || t_fail "chains with 4 users fewer: $_n1," \
	    "before: $_n0" || return 1
	t_eq "chains in filter as in mangle" "$_n1" "$_f1" || return 1
	t_eq "chains after the users came back" "$_n0" \
	    "$(lab iptables -t mangle -S | grep -c '^-N MAILGOV_U')"
}

test_show_prints_what_install_loads() {
	_show=$(ctl rules show)
	t_match "show" '^# iptables-restore' "$_show" || return 1
	t_match "show" 'REDIRECT --to-ports 2525' "$_show" || return 1
	t_match "show" 'connlimit-above 2 ' "$_show"
}

test_remove_restores_ruleset_byte_for_byte() {
	_out=$(ctl rules remove) || return 1
	_after=$(save)
	_nft=$(lab nft list ruleset 2>/dev/null)
	ctl rules install >/dev/null
	t_eq "remove says" "mailgov rules removed" "$_out" || return 1
	t_eq "ruleset after remove" "$BEFORE" "$_after"
}

test_remove_then_web_uid_reaches_mx() {
	ctl rules remove >/dev/null || return 1
	_b=$(banner 192.0.2.25 25 "$WEB1")
	_again=$(ctl rules remove)
	ctl rules install >/dev/null
	t_match "banner without rules" '^220 mx\.remote ' "$_b" || return 1
	t_eq "second remove" "no mailgov rules were installed" "$_again"
}

# --- web-group members are web users ------------------------------------

test_supplementary_web_group_member_lands_on_queue_port() {
	t_match "mgsupp's banner" '^220 queue\.lab ' \
	    "$(banner_ids 192.0.2.25 25 "$SUPP" "$SUPP" "$WEBGRP")"
}

test_supplementary_web_group_member_ipv6_lands_on_queue_port() {
	t_match "mgsupp's banner" '^220 queue6\.lab ' \
	    "$(banner_ids 2001:db8::25 25 "$SUPP" "$SUPP" "$WEBGRP")"
}

test_supplementary_web_group_member_refused_on_relay_port_and_465() {
	t_match "mgsupp on the relay port" 'refused' \
	    "$(banner_ids 127.0.0.1 10026 "$SUPP" "$SUPP" "$WEBGRP")" ||
	    return 1
	t_match "mgsupp on 465" 'refused' \
	    "$(banner_ids 192.0.2.25 465 "$SUPP" "$SUPP" "$WEBGRP")"
}

test_web_group_as_primary_group_lands_on_queue_port() {
	t_match "mgprim's banner" '^220 queue\.lab ' \
	    "$(banner_ids 192.0.2.25 25 "$PRIM" "$WEBGRP" "")"
}

test_member_after_sg_to_web_group_lands_on_queue_port() {
	# sg mgwebgrp: the web group becomes the primary (and file) group
	t_match "mgsupp's banner" '^220 queue\.lab ' \
	    "$(banner_ids 192.0.2.25 25 "$SUPP" "$WEBGRP" "$WEBGRP")"
}

test_process_with_web_group_as_its_group_lands_on_queue_port() {
	# a setgid program, or a PHP pool run with the web group: not a
	# member in /etc/group, but its file group is the web group
	t_match "mgother's banner" '^220 queue\.lab ' \
	    "$(banner_ids 192.0.2.25 25 "$OTHER" "$WEBGRP" "")"
}

test_user_with_other_groups_reaches_the_mx_untouched() {
	t_match "mgother's banner" '^220 mx\.remote ' \
	    "$(banner_ids 192.0.2.25 25 "$OTHER" "$OTHER" "$OTHER,$SUPP")"
}

# --- mailgovd: a web-group member is a web user --------------------------

test_daemon_gives_a_supplementary_member_an_account_of_its_own() {
	daemon_start || return 1
	_b=$(banner_ids 192.0.2.25 25 "$SUPP" "$SUPP" "$WEBGRP")
	sleep 0.5
	daemon_stop
	t_match "mgsupp's banner" '^220 queue\.lab ' "$_b" || return 1
	t_match "daemon log" \
	    "event=redirect account=mgsupp uid=$SUPP dst=192\.0\.2\.25:25" \
	    "$(cat "$DLOG")"
}

test_policy_service_refuses_a_supplementary_member() {
	daemon_start || return 1
	# the rules reset a web user on the policy port first: mailgovd's
	# own check is under test here
	ctl rules remove >/dev/null
	# root and postfix are listed in mgwebgrp, and still served
	_root=$(policy_tcp 0 0 "")
	_postfix=$(policy_tcp postfix postfix "")
	_member=$(policy_tcp "$SUPP" "$SUPP" "$WEBGRP")
	_other=$(policy_tcp "$OTHER" "$OTHER" "$OTHER")
	ctl rules install >/dev/null
	daemon_stop
	t_match "root's answer" '^action=' "$_root" || return 1
	t_match "postfix's answer" '^action=' "$_postfix" || return 1
	t_match "another user's answer" '^action=' "$_other" || return 1
	t_eq "mgsupp's answer" "" "$_member" || return 1
	t_match "daemon log" "refusing 127\.0\.0\.1:[0-9]+ uid $SUPP" \
	    "$(cat "$DLOG")"
}

test_policy_service_refuses_a_process_with_a_web_group_as_its_group() {
	# unix socket: SO_PEERCRED names the process's group, so sg into a
	# web group (or a PHP pool run with it) is a web user too
	daemon_start || return 1
	_other=$(policy_unix "$OTHER" "$OTHER" "")
	_sg=$(policy_unix "$OTHER" "$WEBGRP" "")
	_member=$(policy_unix "$SUPP" "$SUPP" "$WEBGRP")
	daemon_stop
	t_match "mgother's answer" '^action=' "$_other" || return 1
	t_eq "mgother as mgwebgrp" "" "$_sg" || return 1
	t_eq "mgsupp" "" "$_member"
}

# --- remove restores the whole ruleset, nft's view included --------------

test_remove_restores_nft_ruleset_of_an_empty_netns() {
	round_trip empty ":" "rules install" "rules remove"
}

test_remove_restores_nft_ruleset_with_only_a_forward_policy() {
	round_trip fwd "iptables -P FORWARD DROP" "rules install" \
	    "rules remove"
}

test_remove_restores_nft_ruleset_with_nat_postrouting_and_ip6_input() {
	round_trip natin "
	    iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o lo -j MASQUERADE
	    ip6tables -A INPUT -p tcp --dport 22 -j ACCEPT" \
	    "rules install" "rules remove"
}

test_remove_restores_nft_ruleset_with_empty_nat_and_ip6_filter_chains() {
	round_trip natin0 "
	    iptables -t nat -P POSTROUTING ACCEPT
	    ip6tables -P INPUT ACCEPT" "rules install" "rules remove"
}

test_remove_keeps_output_chains_and_their_rules() {
	round_trip output "
	    iptables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-xmark 0x1/0x1
	    iptables -t nat -A OUTPUT -p tcp -d 192.0.2.80 --dport 8080 -j REDIRECT --to-ports 80
	    iptables -A OUTPUT -p udp --dport 53 -j ACCEPT
	    ip6tables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-xmark 0x1/0x1
	    ip6tables -A OUTPUT -p udp --dport 53 -j ACCEPT" \
	    "rules install" "rules remove"
}

test_remove_keeps_empty_output_chains_and_tables_that_were_there() {
	# chains and a table that hold nothing but existed before install
	round_trip empty0 "
	    iptables -P OUTPUT ACCEPT
	    iptables -t nat -P OUTPUT ACCEPT
	    nft add table ip6 nat
	    nft add table ip6 mangle
	    nft add table inet other" \
	    "rules install" "rules remove"
}

test_remove_after_two_installs_restores_nft_ruleset() {
	round_trip twice "iptables -t mangle -A PREROUTING -p tcp -j RETURN" \
	    "rules install" "rules install" "rules remove --backend iptables"
}

test_refresh_reloads_the_loaded_backend() {
	_before=$(save)
	_out=$(ctl rules refresh) || return 1
	t_match "refresh says" '^mailgov rules installed \(iptables' "$_out" ||
	    return 1
	t_eq "ruleset after refresh" "$_before" "$(save)"
}

test_refresh_with_no_rules_loads_nothing() {
	ip netns add "mgrf$$" || return 1
	_out=$(ip netns exec "mgrf$$" "$MAILGOVCTL" --config "$CONF" \
	    --db "$DB" rules refresh 2>&1)
	_rs=$(ruleset "mgrf$$")
	ip netns del "mgrf$$"
	t_eq "refresh says" \
	    "no mailgov rules are installed; nothing to refresh" "$_out" ||
	    return 1
	t_eq "ruleset after refresh" "# iptables-save" "$_rs"
}

test_missing_tool_is_a_clear_error() {
	# a fresh mount and network namespace with the tools hidden
	_out=$(unshare --mount --net sh -c 'mount -t tmpfs tmpfs /usr/sbin &&
	    PATH=/usr/bin:/bin "$0" --config "$1" --db "$2" rules install' \
	    "$MAILGOVCTL" "$CONF" "$DB" 2>&1)
	t_match "error" '^mailgovctl: iptables-restore not found' "$_out"
}

test_failed_load_shows_the_tool_message() {
	mkdir -p "$D/badrules"
	sed 's/^-A MAILGOV -p tcp --syn -m owner/-A MAILGOV --bogus-option -m owner/' \
	    "$TOP/rules/iptables.in" > "$D/badrules/iptables.in"
	sed "s|rules_dir = .*|rules_dir = $D/badrules|" "$CONF" > "$D/bad.conf"
	# in a namespace of its own: nothing of the lab is touched
	_out=$(unshare --net "$MAILGOVCTL" --config "$D/bad.conf" --db "$DB" \
	    rules install 2>&1)
	t_match "error" '^mailgovctl: iptables-restore failed .*bogus' "$_out"
}

test_missing_template_is_a_clear_error() {
	sed "s|rules_dir = .*|rules_dir = $D/norules|" "$CONF" > "$D/none.conf"
	_out=$("$MAILGOVCTL" --config "$D/none.conf" --db "$DB" rules show 2>&1)
	t_match "error" 'norules/iptables.in: No such file' "$_out"
}

t_main "$@"
