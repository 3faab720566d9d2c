#!/bin/sh
# test_postfix_setup - mailgovctl postfix setup|check|remove against real
# Postfix in the sandbox: the queue instance is created and listens on
# loopback 2525 only, setup is idempotent and --dry-run harmless, the
# administrator's settings survive setup and remove, remove restores
# main.cf byte for byte, mail is held (not lost, not delivered) while
# mailgovd is down, web users cannot use either instance's sendmail,
# "postfix users" refuses a web user added after setup, and setup names the
# ports the rules close to web users.
#
# The tests run in file order and share the sandbox's Postfix state.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
t_topology || exit 1

CONF=$SANDBOX/mailgov.conf
t_config "$CONF" </dev/null
ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$SANDBOX/mailgov.db" "$@"; }
pf_main_conf
ORIG=$SANDBOX/orig
mkdir -p "$ORIG"
cp -p /etc/postfix/main.cf /etc/postfix/master.cf "$ORIG/"
SINK=$SANDBOX/sink
t_sink "$MX" 192.0.2.25:25 "$SINK"

# snap - checksums of every file setup may touch
snap() {
	find /etc/postfix /etc/postfix-mailgov -type f 2>/dev/null | sort |
	    xargs md5sum 2>/dev/null
}

test_check_fails_before_setup() {
	out=$(ctl postfix check 2>&1)
	t_eq "check exit before setup" 1 "$?" || return
	t_match "check names the missing instance" "create the instance" \
	    "$out"
}

test_users_before_setup_is_a_clear_error() {
	out=$(ctl postfix users 2>&1)
	t_eq "exit" 1 "$?" || return
	t_match "message" "mailgov-web-users: .*run mailgovctl postfix setup first" \
	    "$out"
}

test_dry_run_shows_diff_and_changes_nothing() {
	before=$(snap)
	out=$(ctl postfix setup --dry-run 2>&1)
	t_eq "dry-run exit" 0 "$?" || return
	t_match "dry-run shows the old list" \
	    "^-smtpd_end_of_data_restrictions = reject_unauth_pipelining" \
	    "$out" || return
	t_match "dry-run shows the new list" \
	    "\+smtpd_end_of_data_restrictions = check_policy_service \{ inet:127.0.0.1:10040, default_action=DUNNO, policy_context=main, timeout=10s \}, reject_unauth_pipelining" \
	    "$out" || return
	t_match "dry-run shows the relay listener" \
	    "^\+127.0.0.1:10026 inet n - n - - smtpd" "$out" || return
	t_match "dry-run shows the queue instance's hold" \
	    "default_action=HOLD, policy_context=queue" "$out" || return
	t_eq "files after dry-run" "$before" "$(snap)" || return
	[ ! -e "$QDIR" ] || t_fail "dry-run created $QDIR"
}

test_setup_creates_queue_instance() {
	out=$(ctl postfix setup 2>&1)
	t_eq "setup exit" 0 "$?" || { echo "$out" >&2; return 1; }
	# the queue instance's 2525 and the main instance's 25 are where the
	# rules send web users; nothing else of Postfix's listens here
	t_match "setup names the ports the rules close" \
	    "ports the rules close to web users: 10026 \(relay_port\), 10040 \(policy_tcp\); load them" \
	    "$out" || return
	l=$(postmulti -l)
	t_match "postmulti -l lists the enabled instance" \
	    "postfix-mailgov +mailgov +y +$QDIR" "$l" || return
	t_eq "queue relayhost" "[127.0.0.1]:10026" \
	    "$(postconf -c "$QDIR" -h relayhost)" || return
	t_match "web users table" "^mgweb1 web" \
	    "$(cat /etc/postfix/mailgov-web-users)" || return
	out=$(ctl postfix check 2>&1)
	t_eq "check after setup" 0 "$?" || { echo "$out" >&2; return 1; }
}

test_setup_twice_changes_nothing() {
	before=$(snap)
	out=$(ctl postfix setup 2>&1)
	t_eq "second setup exit" 0 "$?" || return
	t_match "second setup says so" "nothing changed" "$out" || return
	t_eq "files after the second setup" "$before" "$(snap)" || return
	out=$(ctl postfix setup --dry-run 2>&1)
	t_eq "dry-run after setup" "postfix: nothing to change" "$out"
}

test_unrelated_settings_survive_setup() {
	t_eq "smtpd_banner kept" '$myhostname ESMTP mailgov-test' \
	    "$(postconf -h smtpd_banner)" || return
	t_eq "relayhost kept" "[192.0.2.25]:25" "$(postconf -h relayhost)" ||
	    return
	t_match "admin's list entry kept after ours" \
	    "policy_context=main, timeout=10s \}, reject_unauth_pipelining$" \
	    "$(postconf -h smtpd_end_of_data_restrictions)" || return
	t_eq "authorized_submit_users" \
	    "!texthash:/etc/postfix/mailgov-web-users, static:anyone" \
	    "$(postconf -h authorized_submit_users)"
}

test_queue_instance_listens_on_loopback_2525() {
	pf_queue_log
	pf_start
	t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
	    t_fail "nothing on 127.0.0.1:2525" || return
	l=$(lab ss -ltnH)
	t_match "listens on [::1]:2525" '\[::1\]:2525 ' "$l" || return
	t_match "relay listener 127.0.0.1:10026" '127.0.0.1:10026 ' "$l" ||
	    return
	if printf '%s\n' "$l" | grep -E ':2525 ' | grep -vqE \
	    '127\.0\.0\.1:2525|\[::1\]:2525'; then
		t_fail "2525 bound beyond loopback: $l"
	fi
}

test_held_when_mailgovd_down() {
	n0=$(pf_sink_count "$SINK")
	out=$(pf_smtp 127.0.0.1 2525 site@lab.mailgov.test x@example.net)
	t_match "accepted with mailgovd down" "<- +250 .*queued as" "$out" ||
	    return
	pf_wait_count 15 1 pf_queue_count hold || return
	sleep 2
	t_eq "delivered to the MX" "$n0" "$(pf_sink_count "$SINK")" ||
	    return
	t_eq "anything left the hold queue" 1 "$(pf_queue_count)"
}

test_main_instance_still_delivers() {
	n0=$(pf_sink_count "$SINK")
	out=$(pf_smtp 127.0.0.1 25 root@lab.mailgov.test x@example.net)
	t_match "main accepts with mailgovd down (DUNNO)" "<- +250 " "$out" ||
	    return
	pf_wait_count 15 $((n0 + 1)) pf_sink_count "$SINK"
}

test_web_user_sendmail_refused_in_both_instances() {
	out=$(printf 'Subject: t\n\nx\n' | as_web $WEB1 /usr/sbin/sendmail \
	    -i x@example.net 2>&1)
	t_eq "main sendmail exit" 75 "$?" || return
	t_match "main instance refuses" \
	    "User mgweb1\($WEB1\) is not allowed to submit mail" "$out" ||
	    return
	out=$(printf 'Subject: t\n\nx\n' | as_web $WEB2 /usr/sbin/sendmail \
	    -C "$QDIR" -i x@example.net 2>&1)
	t_match "queue instance refuses" \
	    "User mgweb2\($WEB2\) is not allowed to submit mail" "$out" ||
	    return
	# someone who is not a web user still may
	out=$(printf 'Subject: t\n\nx\n' | lab setpriv --reuid=nobody \
	    --regid=nogroup --clear-groups /usr/sbin/sendmail -i \
	    x@example.net 2>&1)
	t_eq "non-web user sendmail exit" 0 "$?" || { echo "$out" >&2; return 1; }
}

test_web_user_added_later_refused_after_users() {
	echo "mgweb9:x:64009:64009::/nonexistent:/usr/sbin/nologin" \
	    >> /etc/passwd
	echo "mgweb9:x:64009:" >> /etc/group
	out=$(ctl postfix check 2>&1)
	t_eq "check sees the stale table" 1 "$?" || return
	t_match "check says why" "mailgov-web-users: 5 web users .*changed" \
	    "$out" || return
	t_eq "users" "postfix: 5 web users refused by authorized_submit_users; \
updated" "$(ctl postfix users)" || return
	out=$(printf 'Subject: t\n\nx\n' | as_web 64009 /usr/sbin/sendmail \
	    -i x@example.net 2>&1)
	t_match "the new web user is refused" \
	    "User mgweb9\(64009\) is not allowed to submit mail" "$out" ||
	    return
	t_eq "users again" "postfix: 5 web users refused by \
authorized_submit_users; unchanged" "$(ctl postfix users)" || return
	t_eq "check passes" "postfix: set up for mailgov" \
	    "$(ctl postfix check 2>&1)"
}

test_remove_refuses_while_mail_queued() {
	out=$(ctl postfix remove 2>&1)
	t_eq "remove exit with held mail" 1 "$?" || return
	t_match "remove says why" "1 message still queued in postfix-mailgov" \
	    "$out" || return
	t_eq "held message kept" 1 "$(pf_queue_count hold)" || return
	t_match "instance kept" "postfix-mailgov" "$(postmulti -l)"
}

test_remove_restores_main_cf_byte_for_byte() {
	out=$(ctl postfix remove --force 2>&1)
	t_eq "remove --force exit" 0 "$?" || { echo "$out" >&2; return 1; }
	cmp -s "$ORIG/main.cf" /etc/postfix/main.cf ||
	    t_fail "main.cf differs: $(diff "$ORIG/main.cf" /etc/postfix/main.cf)" ||
	    return
	cmp -s "$ORIG/master.cf" /etc/postfix/master.cf ||
	    t_fail "master.cf differs" || return
	[ ! -e "$QDIR" ] || t_fail "$QDIR still there" || return
	[ ! -e /etc/postfix/mailgov-web-users ] ||
	    t_fail "web users table still there" || return
	[ ! -e /etc/postfix/mailgov-saved ] || t_fail "saved copies left" ||
	    return
	out=$(ctl postfix check 2>&1)
	t_eq "check after remove" 1 "$?"
}

test_remove_after_admin_edit_keeps_the_edit() {
	ctl postfix setup >/dev/null 2>&1 || t_fail "setup again" || return
	postconf -e "delay_warning_time = 4h"
	postconf -e "smtpd_end_of_data_restrictions = $(postconf -h \
	    smtpd_end_of_data_restrictions), permit_mynetworks"
	out=$(ctl postfix remove 2>&1)
	t_eq "remove exit" 0 "$?" || { echo "$out" >&2; return 1; }
	t_eq "admin's new key kept" "4h" "$(postconf -h delay_warning_time)" ||
	    return
	t_eq "only mailgov's element removed" \
	    "reject_unauth_pipelining, permit_mynetworks" \
	    "$(postconf -h smtpd_end_of_data_restrictions)" || return
	t_eq "authorized_submit_users back to unset" "" \
	    "$(postconf -n authorized_submit_users)" || return
	t_eq "relay listener gone" "" \
	    "$(postconf -M 127.0.0.1:10026/inet 2>/dev/null)"
}

t_main "$@"
