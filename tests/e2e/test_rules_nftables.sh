#!/bin/sh
# test_rules_nftables - `mailgovctl rules install --backend nftables` in the
# lab namespace, with no mailgovd running: the table inet mailgov redirects
# web users' SMTP (IPv4 and IPv6) to the queue port, leaves other users
# alone, resets 465, the relay port and the policy port at once, caps
# connections per UID
# (the default) and per account (explicit), and when the kernel has no nft
# queue expression says so and puts the queue step in an xt NFQUEUE rule.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_rules.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
CONF="$D/mailgov.conf"
DB="$D/mailgov.db"
web_group_users
t_config "$CONF" <<EOF
connections = 3
web_groups = mgwebgrp
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }

# hold UID N - N connections to the MX held open by UID; their pids are
# added to HELD
HELD=""
hold() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		ip netns exec "$LAB" setpriv --reuid="$1" --regid="$1" \
		    --clear-groups bash -c \
		    'exec 3<>/dev/tcp/192.0.2.25/25 && sleep 8' >/dev/null 2>&1 &
		HELD="$HELD $!"
		_i=$((_i + 1))
	done
	sleep 1
}

# save - the lab's whole ruleset, without iptables-save's timestamps
save() {
	{
		lab iptables-save
		lab ip6tables-save
		lab nft list ruleset
	} 2>/dev/null | grep -v '^#' |
	    sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
}

# tables - the same, each nft table listed apart in name order: a reload
# of table inet mailgov moves it to the end of `nft list ruleset`.  The
# elements of dynamic sets are state (a UID's rate, its connections), not
# rules, and are left out.
tables() {
	{
		lab iptables-save
		lab ip6tables-save
		lab nft list tables | sort | while read -r _t _f _n; do
			lab nft list table "$_f" "$_n"
		done
	} 2>/dev/null | grep -v '^#' |
	    sed 's/counter packets [0-9]* bytes [0-9]*/counter/' |
	    awk '/^[[:space:]]*elements = [{]/ { skip = !/[}]/; next }
		skip { if (/[}]/) skip = 0; next } { print }'
}

# Rules of other software that install and remove must leave alone,
# native nft ones among them.
lab iptables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-xmark 0x1/0x1
lab iptables -t nat -A OUTPUT -p tcp -d 192.0.2.80 --dport 8080 \
    -j REDIRECT --to-ports 80
lab nft -f - <<EOF
table inet other {
	chain out {
		type filter hook output priority 10; policy accept;
		udp dport 53 counter accept
		meta mark & 0x1 == 0x1 tcp dport 8081 accept
	}
}
EOF

sink "$LAB" 127.0.0.1:2525 queue.lab
sink "$LAB" '[::1]:2525' queue6.lab
sink "$LAB" 127.0.0.1:10026 relay.lab
sink "$MX" 192.0.2.25:25 mx.remote
sink "$MX" 192.0.2.25:465 mx465.remote
sink "$MX" '[2001:db8::25]:25' mx6.remote

# An account with its own connections budget, above the default of 3.
ctl account add capped --uid "$WEB2" >/dev/null || exit 1
ctl budget set capped connections 5 >/dev/null || exit 1
# And one with no cap at all: the default must not apply to it either.
ctl account add uncapped --uid "$WEB4" >/dev/null || exit 1
ctl budget set uncapped connections unlimited >/dev/null || exit 1

BEFORE=$(save)
INSTALL_OUT=$(ctl rules install --backend nftables) || exit 1

# Does this kernel have nft's queue expression?  (The same probe, by hand.)
if printf '%s\n' 'add table inet mgq' \
    'add chain inet mgq c { type route hook output priority mangle; }' \
    'add rule inet mgq c queue num 0 bypass' | lab nft -c -f - 2>/dev/null
then
	NFT_QUEUE=1
else
	NFT_QUEUE=0
fi

test_reports_missing_queue_expression() {
	if [ "$NFT_QUEUE" = 1 ]; then
		t_log "this kernel has nft queue; checking the native rule"
		t_match "table" 'queue num 0 bypass' \
		    "$(lab nft list table inet mailgov)"
		return
	fi
	t_match "install says" '^nft queue expression not available in this kernel; using an xt NFQUEUE rule for the queue step' \
	    "$INSTALL_OUT"
}

test_fallback_xt_nfqueue_rule_exists() {
	[ "$NFT_QUEUE" = 1 ] && return 0
	t_match "mangle MAILGOV (IPv4)" \
	    'uid-owner 64000-64099 .*-j NFQUEUE --queue-num 0 --queue-bypass' \
	    "$(lab iptables -t mangle -S MAILGOV)" || return 1
	t_match "mangle MAILGOV (IPv6)" 'NFQUEUE --queue-num 0 --queue-bypass' \
	    "$(lab ip6tables -t mangle -S MAILGOV)" || return 1
	t_eq "jumps in mangle OUTPUT" 1 \
	    "$(lab iptables -t mangle -S OUTPUT | grep -c 'comment mailgov')"
}

test_show_matches_the_fallback() {
	_show=$(ctl rules show --backend nftables)
	t_match "show" 'table inet mailgov \{' "$_show" || return 1
	[ "$NFT_QUEUE" = 1 ] && return 0
	t_match "show" '^# nft queue expression not available' "$_show" ||
	    return 1
	t_match "show" 'NFQUEUE --queue-num 0 --queue-bypass' "$_show"
}

test_web_uid_to_remote_mx_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 192.0.2.25 25 "$WEB1")"
}

test_web_uid_to_localhost_25_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue\.lab ' \
	    "$(banner 127.0.0.1 25 "$WEB3")"
}

test_ipv6_web_uid_lands_on_queue_port() {
	t_match "web user's banner" '^220 queue6\.lab ' \
	    "$(banner 2001:db8::25 25 "$WEB1")"
}

test_root_reaches_the_mx_untouched() {
	t_match "root's banner" '^220 mx\.remote ' "$(banner 192.0.2.25 25)" ||
	    return 1
	t_match "root's banner (IPv6)" '^220 mx6\.remote ' \
	    "$(banner 2001:db8::25 25)"
}

test_postfix_user_reaches_the_mx_untouched() {
	t_match "postfix's banner" '^220 mx\.remote ' \
	    "$(banner 192.0.2.25 25 postfix)"
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
	t_match "root on the relay port" '^220 relay\.lab ' \
	    "$(banner 127.0.0.1 10026)"
}

test_policy_port_refused_to_web_uid() {
	policy_port_refused
}

test_default_cap_is_per_uid() {
	hold "$WEB3" 3
	_fourth=$(banner 192.0.2.25 25 "$WEB3")
	# another web UID has a count of its own
	_other=$(banner 192.0.2.25 25 "$WEB4")
	kill $HELD 2>/dev/null
	t_match "WEB3's fourth connection" 'refused' "$_fourth" || return 1
	t_match "WEB4 meanwhile" '^220 queue\.lab ' "$_other"
}

test_explicit_cap_replaces_the_default() {
	# connections = 5 for the account, above the default of 3: the 5th
	# passes, the 6th does not
	hold "$WEB2" 4
	_fifth=$(banner 192.0.2.25 25 "$WEB2")
	hold "$WEB2" 1
	_sixth=$(banner 192.0.2.25 25 "$WEB2")
	kill $HELD 2>/dev/null
	t_match "WEB2's fifth connection" '^220 queue\.lab ' "$_fifth" ||
	    return 1
	t_match "WEB2's sixth connection" 'refused' "$_sixth"
}

test_unlimited_account_skips_the_default_cap() {
	hold "$WEB4" 4
	_fifth=$(banner 192.0.2.25 25 "$WEB4")
	kill $HELD 2>/dev/null
	t_match "WEB4's fifth connection" '^220 queue\.lab ' "$_fifth"
}

test_install_twice_is_idempotent() {
	_once=$(tables)
	_out=$(ctl rules install --backend nftables) || return 1
	t_eq "ruleset after a second install" "$_once" "$(tables)" || return 1
	t_eq "tables inet mailgov" 1 \
	    "$(lab nft list tables | grep -c 'inet mailgov$')"
}

test_switching_backends_leaves_one() {
	_out=$(ctl rules install --backend iptables) || return 1
	_ipt_nat=$(lab iptables -t nat -S | grep -c MAILGOV)
	_nft_ipt=$(lab nft list tables | grep -c 'inet mailgov$')
	_out2=$(ctl rules install --backend nftables) || return 1
	_nft_nat=$(lab iptables -t nat -S | grep -c MAILGOV)
	_nft=$(lab nft list tables | grep -c 'inet mailgov$')
	t_match "iptables install says" 'deleted the nftables backend' \
	    "$_out" || return 1
	# -N, the jump, the RETURNs of root, mailgov and postfix (never web
	# users, whatever web group lists them) and of the queue port, the
	# web UIDs' and the web group's redirect
	t_eq "iptables nat MAILGOV lines with iptables" 8 "$_ipt_nat" ||
	    return 1
	t_eq "inet mailgov with iptables" 0 "$_nft_ipt" || return 1
	t_match "nftables install says" 'deleted the iptables backend' \
	    "$_out2" || return 1
	t_eq "iptables nat MAILGOV lines with nftables" 0 "$_nft_nat" ||
	    return 1
	t_eq "inet mailgov with nftables" 1 "$_nft"
}

test_remove_restores_ruleset_byte_for_byte() {
	_out=$(ctl rules remove --backend nftables) || return 1
	_after=$(save)
	ctl rules install --backend nftables >/dev/null
	t_eq "remove says" "mailgov rules removed" "$_out" || return 1
	t_eq "ruleset after remove" "$BEFORE" "$_after"
}

test_remove_without_backend_removes_both() {
	ctl rules remove >/dev/null || return 1
	_after=$(save)
	_b=$(banner 192.0.2.25 25 "$WEB1")
	ctl rules install --backend nftables >/dev/null
	t_eq "ruleset after remove" "$BEFORE" "$_after" || return 1
	t_match "banner without rules" '^220 mx\.remote ' "$_b"
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

test_members_are_matched_by_uid_but_root_postfix_and_mailgov() {
	# mgsupp (listed) and mgprim (primary group): nft shows a set of
	# one interval as the interval
	t_eq "UIDs matched in nat" "64000-64099 65001-65002" \
	    "$(lab nft list chain inet mailgov nat |
	    grep -o 'meta skuid [^ ]*' | cut -d' ' -f3 | tr '\n' ' ' |
	    sed 's/ $//')"
}

test_member_added_later_is_caught_after_rules_refresh() {
	# nft matches a member by UID, listed when the rules are rendered
	sed -i "s/^mgwebgrp:x:$WEBGRP:.*/&,mglater/" /etc/group
	_was=$(banner_ids 192.0.2.25 25 "$LATER" "$LATER" "$WEBGRP")
	_out=$(ctl rules refresh) || return 1
	_now=$(banner_ids 192.0.2.25 25 "$LATER" "$LATER" "$WEBGRP")
	t_log "mglater before the refresh: $_was"
	t_match "refresh says" '^mailgov rules installed \(nftables' "$_out" ||
	    return 1
	t_match "mglater's banner after the refresh" '^220 queue\.lab ' "$_now"
}

# --- remove restores the whole ruleset, in namespaces of their own ------
# (the queue step's xt NFQUEUE rule, on a kernel without nft's queue
# expression, brings iptables' mangle table and its OUTPUT chain)

test_remove_restores_nft_ruleset_of_an_empty_netns() {
	round_trip empty ":" "rules install --backend nftables" \
	    "rules remove --backend nftables"
}

test_remove_restores_nft_ruleset_with_only_a_forward_policy() {
	round_trip fwd "iptables -P FORWARD DROP" \
	    "rules install --backend nftables" "rules remove --backend nftables"
}

test_remove_restores_nft_ruleset_with_other_mangle_chains() {
	round_trip mangle "
	    iptables -t mangle -A PREROUTING -p tcp -j RETURN
	    ip6tables -t mangle -P POSTROUTING ACCEPT
	    iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o lo -j MASQUERADE
	    ip6tables -A INPUT -p tcp --dport 22 -j ACCEPT" \
	    "rules install --backend nftables" "rules remove --backend nftables"
}

test_remove_keeps_output_chains_and_native_tables() {
	round_trip output "
	    iptables -t mangle -A OUTPUT -p tcp --dport 80 -j MARK --set-xmark 0x1/0x1
	    ip6tables -t mangle -P OUTPUT ACCEPT
	    iptables -A OUTPUT -p udp --dport 53 -j ACCEPT
	    nft add table inet other
	    nft add chain inet other out '{ type filter hook output priority 10; }'
	    nft add rule inet other out udp dport 53 accept" \
	    "rules install --backend nftables" "rules remove"
}

test_switching_backends_then_remove_restores_nft_ruleset() {
	round_trip switch "
	    iptables -P FORWARD DROP
	    iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -o lo -j MASQUERADE" \
	    "rules install --backend iptables" \
	    "rules install --backend nftables" \
	    "rules install --backend iptables" \
	    "rules install --backend nftables" "rules remove"
}

t_main "$@"
