#!/bin/sh
# test_attack_listeners - a hacked site's web UID looks for an SMTP server
# on this host that relays without counting.  The main instance has a
# content filter's reinjection listener on 127.0.0.1:10025 and [::1]:10025
# (added to master.cf before "mailgovctl postfix setup", open to every
# local client, no policy check), which relays to the MX; mailgovd's
# policy service listens on 127.0.0.1:10040.  After "postfix setup" and
# "rules install" every such port resets a web user's connection at once,
# on both backends, while root and other users still reach them, and a
# web user's SMTP to port 25 is still redirected to the queue instance,
# where it is counted.  A listener added later is closed by "rules
# refresh".
#
# The tests run in file order and share the daemon and Postfix.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
. "$(dirname "$0")/lib_rules.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
SINK="$D/sink"
web_group_users
t_config "$CONF" <<EOF
web_groups = mgwebgrp
control_socket = $D/control.sock
messages = 100/1h
alert_limit = 1000
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# reinject ADDR:PORT - a content filter's reinjection listener in the main
# instance, as amavis and others document it: every local client may relay
# through it, and none of the main instance's restrictions (mailgov's
# policy check among them) apply
reinject() {
	postconf -Me "$1/inet=$1 inet n - n - - smtpd \
	    -o syslog_name=postfix/reinject -o content_filter= \
	    -o smtpd_client_restrictions= -o smtpd_helo_restrictions= \
	    -o smtpd_sender_restrictions= -o smtpd_recipient_restrictions= \
	    -o smtpd_end_of_data_restrictions= \
	    -o {smtpd_relay_restrictions=permit_mynetworks, reject} \
	    -o {mynetworks=127.0.0.0/8, [::1]/128}"
}

pf_main_conf
reinject 127.0.0.1:10025
reinject '[::1]:10025'
SETUP_OUT=$(ctl postfix setup 2>&1) ||
    { echo "not ok - postfix setup failed: $SETUP_OUT"; exit 1; }
pf_queue_log
# the queue instance's greeting tells it apart from the main instance's
postconf -c "$QDIR" -e "smtpd_banner = queue.lab ESMTP"
t_sink "$MX" 192.0.2.25:25 "$SINK"
# an MX on a port in smtp_ports that the sink does not take
sink "$MX" 192.0.2.25:2525 mx.remote
pf_start
for _l in '127.0.0.1:2525' '127.0.0.1:10025' '\[::1\]:10025'; do
	t_wait 10 lab sh -c "ss -ltn | grep -q '$_l '" ||
	    { echo "not ok - nothing listens on $_l"; exit 1; }
done
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }
t_wait 5 lab sh -c "ss -ltn | grep -q '127.0.0.1:10040 '" ||
    { echo "not ok - the policy service is not on 127.0.0.1:10040"; exit 1; }
# the filter a listener added later hands mail to
sink "$LAB" 127.0.0.1:10024 filter.lab

BACKENDS="iptables nftables"

# use BACKEND - the rules of BACKEND loaded (the other one's taken out)
use() {
	_out=$(ctl rules install --backend "$1" 2>&1) ||
	    t_fail "rules install --backend $1: $_out"
}

# connects HOST PORT UID GID GROUPS - "connected", or what the client saw
connects() {
	as_ids "$3" "$4" "$5" timeout 5 bash -c \
	    "exec 3<>/dev/tcp/$1/$2 && echo connected" 2>&1 | tr -d '\r'
}

# reset WHAT HOST PORT UID [GID GROUPS] - the connection is refused at
# once (a TCP reset: no banner, no wait)
reset() {
	_t0=$(date +%s%N)
	_r=$(connects "$2" "$3" "$4" "${5:-$4}" "${6:-}")
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	t_match "$1" 'Connection refused' "$_r" || return 1
	[ "$_ms" -lt 2000 ] || t_fail "$1: reset took ${_ms} ms"
}

test_setup_names_the_ports_the_rules_close() {
	t_match "setup says" \
	    'ports the rules close to web users: 10025 \(127\.0\.0\.1:10025 in /etc/postfix/master\.cf\), 10026 \(relay_port\), 10040 \(policy_tcp\)' \
	    "$SETUP_OUT"
}

test_show_closes_the_reinjection_and_policy_ports() {
	_show=$(ctl rules show 2>&1)
	t_match "show says" '^# closed to web users: 10025 .*10026 .*10040 ' \
	    "$_show" || return 1
	t_match "the rule" \
	    '--dports 10025,10026,10040 -m addrtype --dst-type LOCAL -m owner --uid-owner 64000-64099 -j REJECT' \
	    "$_show" || return 1
	_show=$(ctl rules show --backend nftables 2>&1)
	t_match "the nft rule" \
	    'meta skuid 64000-64099 fib daddr type local tcp dport \{ 10025, 10026, 10040 \} reject with tcp reset' \
	    "$_show"
}

test_web_uid_reset_on_the_reinjection_port() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		reset "$_be: 127.0.0.1:10025" 127.0.0.1 10025 "$WEB1" ||
		    return 1
		reset "$_be: [::1]:10025" ::1 10025 "$WEB1" || return 1
	done
}

test_web_uid_reset_on_the_policy_port() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		reset "$_be: 127.0.0.1:10040" 127.0.0.1 10040 "$WEB2" ||
		    return 1
	done
}

test_web_group_members_reset_on_both_ports() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		# a supplementary member, and a process running with the group
		reset "$_be: mgsupp on 10025" 127.0.0.1 10025 "$SUPP" "$SUPP" \
		    "$WEBGRP" || return 1
		reset "$_be: mgsupp on 10040" 127.0.0.1 10040 "$SUPP" "$SUPP" \
		    "$WEBGRP" || return 1
		reset "$_be: mgother as mgwebgrp on [::1]:10025" ::1 10025 \
		    "$OTHER" "$WEBGRP" "" || return 1
	done
}

test_web_uid_cannot_relay_through_the_reinjection_port() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		n0=$(pf_sink_count "$SINK")
		_r=$(as_web "$WEB3" swaks --server 127.0.0.1 --port 10025 \
		    --timeout 10 --from site@lab.mailgov.test \
		    --to x@example.net 2>&1)
		t_match "$_be: swaks" 'Connection refused' "$_r" || return 1
		sleep 2
		t_eq "$_be: on the MX" "$n0" "$(pf_sink_count "$SINK")" ||
		    return 1
	done
}

# Postfix's daemons take the postfix user's supplementary groups
# (initgroups), and lib_rules.sh's mgwebgrp lists postfix: with iptables'
# --suppl-groups, they would be web users, reset on the relay and policy
# ports and redirected from the MX to the queue instance.
test_postfix_listed_in_a_web_group_is_no_web_user() {
	_groups=$(id -G postfix | tr ' ' ,)
	case ",$_groups," in
	*",$WEBGRP,"*) ;;
	*) t_fail "postfix is not in mgwebgrp: $_groups"; return 1 ;;
	esac
	for _be in $BACKENDS; do
		use "$_be" || return 1
		for _p in 10025 10026 10040; do
			t_eq "$_be: postfix on $_p" connected \
			    "$(connects 127.0.0.1 $_p postfix postfix \
			    "$_groups")" || return 1
		done
		t_match "$_be: postfix to the MX" '^220 mx\.remote ' \
		    "$(as_ids postfix postfix "$_groups" timeout 5 bash -c \
		    'exec 3<>/dev/tcp/192.0.2.25/2525 && head -1 <&3' 2>&1 |
		    tr -d '\r')" || return 1
	done
}

test_root_and_other_users_still_reach_them() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		t_match "$_be: root on 10025" '^220 lab\.mailgov\.test ' \
		    "$(banner 127.0.0.1 10025)" || return 1
		t_match "$_be: root on [::1]:10025" '^220 lab\.mailgov\.test ' \
		    "$(banner ::1 10025)" || return 1
		t_match "$_be: a non-web user on 10025" \
		    '^220 lab\.mailgov\.test ' \
		    "$(banner 127.0.0.1 10025 65000)" || return 1
		t_match "$_be: root's policy answer" '^action=' \
		    "$(policy_tcp 0 0 "")" || return 1
		t_match "$_be: postfix's policy answer" '^action=' \
		    "$(policy_tcp postfix postfix "")" || return 1
	done
}

test_web_uid_port_25_still_redirected_to_the_queue() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		t_match "$_be: 127.0.0.1:25" '^220 queue\.lab ' \
		    "$(banner 127.0.0.1 25 "$WEB1")" || return 1
		t_match "$_be: the MX's 25" '^220 queue\.lab ' \
		    "$(banner 192.0.2.25 25 "$WEB1")" || return 1
		t_match "$_be: [::1]:25" '^220 queue\.lab ' \
		    "$(banner ::1 25 "$WEB1")" || return 1
	done
}

test_web_uid_mail_goes_through_the_queue_and_is_counted() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		n0=$(pf_sink_count "$SINK")
		swaks_as "$WEB4" 192.0.2.25 25
		! clients_failed || t_fail "$_be: the client failed" ||
		    return 1
		pf_wait_count 20 $((n0 + 1)) pf_sink_count "$SINK" || {
			dump_logs
			return 1
		}
	done
	# counts no answer waits for reach the database within a second
	t_wait 5 sh -c "$MAILGOVCTL --config '$CONF' --db '$DB' usage mgweb4 \
	    --json | grep -Eq '\"messages\": ?2[,}]'"
	t_match "counted for mgweb4" '"messages": ?2[,}]' \
	    "$(ctl usage mgweb4 --json)" || return 1
	t_match "through the queue instance" \
	    'postfix-mailgov/smtpd\[[0-9]+\]: [0-9A-Za-z]+: client=' \
	    "$(cat "$PFLOG/queue.log")"
}

# later ADD|DROP - a reinjection listener on 10027, and a listener whose
# content filter is an SMTP server of its own (the sink on 10024), added
# to the running main instance or taken out again
later() {
	if [ "$1" = ADD ]; then
		reinject 127.0.0.1:10027
		postconf -Me "127.0.0.1:10028/inet=127.0.0.1:10028 inet n - n \
		    - - smtpd -o content_filter=scan:[127.0.0.1]:10024"
	else
		postconf -MX 127.0.0.1:10027/inet 127.0.0.1:10028/inet
	fi
	lab postfix reload >/dev/null 2>&1
	if [ "$1" = ADD ]; then
		t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:10027 '"
	else
		t_wait 10 lab sh -c "! ss -ltn | grep -q '127.0.0.1:10027 '"
	fi
}

test_listener_added_later_is_closed_by_rules_refresh() {
	for _be in $BACKENDS; do
		use "$_be" || return 1
		later ADD || t_fail "$_be: nothing listens on 10027" ||
		    return 1
		_was=$(banner 127.0.0.1 10027 "$WEB1")
		_out=$(ctl rules refresh 2>&1)
		_now=$(connects 127.0.0.1 10027 "$WEB1" "$WEB1" "")
		_filter=$(connects 127.0.0.1 10024 "$WEB1" "$WEB1" "")
		_root=$(banner 127.0.0.1 10024)
		later DROP
		t_match "$_be: before the refresh" '^220 lab\.mailgov\.test ' \
		    "$_was" || return 1
		t_match "$_be: refresh says" \
		    '10024 \(content_filter of 127\.0\.0\.1:10028 in /etc/postfix/master\.cf\), 10025 .*10027 \(127\.0\.0\.1:10027 in /etc/postfix/master\.cf\), 10028 ' \
		    "$_out" || return 1
		t_match "$_be: 10027 after the refresh" 'Connection refused' \
		    "$_now" || return 1
		t_match "$_be: the filter's own port" 'Connection refused' \
		    "$_filter" || return 1
		t_match "$_be: root on the filter's port" '^220 filter\.lab ' \
		    "$_root" || return 1
	done
}

t_main "$@"
