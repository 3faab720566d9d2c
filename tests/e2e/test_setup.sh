#!/bin/sh
# test_setup - mailgovctl setup on a server with Postfix running and PHP
# installed: --dry-run prints every change and makes none; setup sets
# Postfix up, loads the rules and writes PHP's sendmail_path drop-in in
# every cli and fpm conf.d; a second run changes nothing and says so;
# PHP (no -d, no -n) then reads mailgov-sendmail from the drop-in and its
# mail() is delivered and counted; setup --undo stops, changing nothing,
# while the queue instance holds mail, and with --force leaves /etc and
# the rules as they were before; a drop-in that is not mailgov's is never
# touched; a step that fails stops setup with a message saying what is
# done.
#
# The sandbox's /etc has the machine's PHP cli; an fpm conf.d of the same
# version and a second version's fpm conf.d are made here, as a server
# with php-fpm has them.  The tests run in file order and share state.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
SINK="$D/sink"
echo "control_socket = $D/control.sock" | t_config "$CONF"
ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

V=$(cd /etc/php 2>/dev/null && ls -d [0-9]*.[0-9]*/cli/conf.d | head -1)
V=${V%%/*}
[ -n "$V" ] || { echo "not ok - no PHP cli configuration under /etc/php"; exit 1; }
DROPIN=99-mailgov.ini
mkdir -p "/etc/php/$V/fpm/conf.d" /etc/php/5.6/fpm/conf.d
FILES="/etc/php/$V/cli/conf.d/$DROPIN /etc/php/$V/fpm/conf.d/$DROPIN
    /etc/php/5.6/fpm/conf.d/$DROPIN"

# setup would ask a running systemd to restart mailgovd: not this host's
[ ! -d /run/systemd ] || mount -t tmpfs tmpfs /run/systemd

pf_main_conf
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start

# snap - /etc (every name's type and mode, every file's checksum) and
# the rules in the lab, without their packet counters
snap() {
	find /etc -xdev -printf '%y %m %p\n' | sort
	find /etc -xdev -type f -print0 | sort -z | xargs -0 md5sum
	for _t in mangle nat filter; do
		lab iptables -w -t "$_t" -S
		lab ip6tables -w -t "$_t" -S
	done 2>&1
	lab nft list ruleset 2>&1 |
	    sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
}

# setup ARGS... - mailgovctl setup, output in $OUT, status in $RC
setup() {
	OUT=$(ctl setup --sendmail "$SENDMAIL" "$@" 2>&1)
	RC=$?
	t_log "$OUT"
}

test_dry_run_prints_every_change_and_makes_none() {
	snap > "$D/etc.orig"
	grep -q ' /etc/postfix/main.cf$' "$D/etc.orig" &&
	    grep -q '^-P OUTPUT ACCEPT' "$D/etc.orig" ||
	    t_fail "the snapshot lacks main.cf or the rules: $(head -3 "$D/etc.orig")" ||
	    return
	setup --dry-run
	t_eq "dry-run status" 0 "$RC" || return
	t_match "Postfix's changes" '^\+smtpd_end_of_data_restrictions = check_policy_service' "$OUT" || return
	t_match "the rules it would load" '^-A MAILGOV ' "$OUT" || return
	for _f in $FILES; do
		t_match "the drop-in $_f" "^php: would write $_f:" "$OUT" || return
	done
	t_match "a drop-in's content" "^    sendmail_path = \"$SENDMAIL -t -i\"\$" "$OUT" || return
	t_match "the last line" 'nothing was changed$' "$OUT" || return
	snap > "$D/etc.dry"
	diff "$D/etc.orig" "$D/etc.dry" >&2 ||
	    t_fail "--dry-run changed /etc or the rules (diff above)"
}

test_setup_does_every_step() {
	setup
	t_eq "setup status" 0 "$RC" || return
	for _f in $FILES; do
		[ -f "$_f" ] || t_fail "no $_f" || return
		t_eq "$_f's sendmail_path" "sendmail_path = \"$SENDMAIL -t -i\"" \
		    "$(grep '^sendmail_path' "$_f")" || return
	done
	t_match "status: the queue instance" '^queue instance: +running' "$OUT" || return
	t_match "status: the rules" '^rules: +iptables, [0-9]+ lines, as configured$' "$OUT" || return
	t_match "PHP cli reads it" "^php $V cli: sendmail_path = $SENDMAIL -t -i \(mailgov\)\$" "$OUT" || return
	t_match "the last line" '^setup: done$' "$OUT" || return
	ctl postfix check >/dev/null 2>&1 || t_fail "postfix check fails after setup"
}

test_second_setup_changes_nothing_and_says_so() {
	start_daemon || return
	snap > "$D/etc.1"
	setup
	t_eq "second setup status" 0 "$RC" || return
	t_match "it says so" '^setup: already set up; nothing changed$' "$OUT" || return
	t_match "mailgovd seen" '^mailgovd: +running' "$OUT" || return
	t_match "the rules left as they are" '^== 2/4 rules: loaded already \(iptables, [0-9]+ lines, as configured\); unchanged$' "$OUT" || return
	snap > "$D/etc.2"
	diff "$D/etc.1" "$D/etc.2" >&2 ||
	    t_fail "the second setup changed /etc or the rules (diff above)" || return
	setup --dry-run
	t_match "dry-run after setup" '^setup --dry-run: nothing to change$' "$OUT"
}

test_later_sendmail_path_is_named() {
	_f=/etc/php/5.6/fpm/conf.d/99-zz-other.ini
	echo 'sendmail_path = /usr/sbin/sendmail -t -i' > "$_f"
	setup
	rm -f "$_f"
	t_eq "setup status" 0 "$RC" || return
	t_match "the warning" "^mailgovctl: warning: $_f sets sendmail_path too, and PHP reads it after $DROPIN\$" "$OUT"
}

test_pool_override_is_named() {
	mkdir -p /etc/php/5.6/fpm/pool.d
	_p=/etc/php/5.6/fpm/pool.d/shop.conf
	printf '[shop]\nuser = shop\nphp_admin_value[sendmail_path] = /usr/sbin/sendmail -t -i\n' > "$_p"
	printf '[ok]\nphp_value[sendmail_path] = "%s -t -i"\n' "$SENDMAIL" \
	    > /etc/php/5.6/fpm/pool.d/ok.conf
	setup
	_out=$OUT
	rm -rf /etc/php/5.6/fpm/pool.d
	t_eq "setup status" 0 "$RC" || return
	t_match "the overriding pool line is named" \
	    "^mailgovctl: warning: $_p line 3 sets sendmail_path for its pool, which overrides $DROPIN" \
	    "$_out" || return
	t_eq "a pool that names mailgov-sendmail is not" "" \
	    "$(echo "$_out" | grep 'ok.conf')"
}

test_php_reads_the_dropin() {
	_l=$(lab php -i | grep '^sendmail_path')
	t_eq "php -i" "sendmail_path => $SENDMAIL -t -i => $SENDMAIL -t -i" "$_l"
}

test_php_mail_goes_through_the_dropin() {
	as_web "$WEB1" php -r 'exit(mail("x@example.net", "setup", "body",
	    "From: site@lab.mailgov.test") ? 0 : 1);' ||
	    t_fail "PHP mail() failed" || return
	pf_wait_count 30 1 pf_sink_count "$SINK" || { dump_logs; return 1; }
	wait_counter mgweb1 messages 1
}

test_foreign_dropin_is_never_touched() {
	_f=/etc/php/5.6/fpm/conf.d/$DROPIN
	printf '; the admin'"'"'s own\nsendmail_path = /usr/sbin/sendmail -t -i\n' > "$_f"
	_sum=$(md5sum < "$_f")
	setup
	t_eq "setup status with a foreign drop-in" 1 "$RC" || return
	t_match "the error" "^mailgovctl: $_f exists and is not mailgov's" "$OUT" || return
	t_eq "the foreign drop-in" "$_sum" "$(md5sum < "$_f")" || return
	OUT=$(ctl setup --undo --dry-run 2>&1)
	t_eq "undo takes no --dry-run" 2 "$?" || return
	# ours again, for the undo that follows
	rm -f "$_f"
	setup
	t_eq "setup status" 0 "$RC"
}

test_undo_stops_while_mail_is_held() {
	stop_daemon
	# mailgovd down: the queue instance holds what PHP sends
	as_web "$WEB1" php -r 'exit(mail("x@example.net", "held", "body",
	    "From: site@lab.mailgov.test") ? 0 : 1);' ||
	    t_fail "PHP mail() failed" || return
	t_wait 30 sh -c "[ \"\$(postqueue -c $QDIR -j | grep -c '\"queue_name\": \"hold\"')\" = 1 ]" ||
	    t_fail "no message on hold: $(postqueue -c "$QDIR" -p)" || return
	snap > "$D/etc.held"
	OUT=$(ctl setup --undo 2>&1)
	RC=$?
	t_log "$OUT"
	t_eq "undo status" 1 "$RC" || return
	t_match "the message" '^mailgovctl: setup --undo stopped at postfix remove: the rules and the PHP drop-ins are still in place$' "$OUT" || return
	snap > "$D/etc.held2"
	diff "$D/etc.held" "$D/etc.held2" >&2 ||
	    t_fail "the refused undo changed /etc or the rules (diff above)"
}

test_undo_leaves_etc_as_before() {
	stop_daemon
	# --force: the message held above goes
	OUT=$(ctl setup --undo --force 2>&1)
	RC=$?
	t_log "$OUT"
	t_eq "undo status" 0 "$RC" || return
	t_match "the last line" '^setup --undo: done$' "$OUT" || return
	snap > "$D/etc.undone"
	diff "$D/etc.orig" "$D/etc.undone" >&2 ||
	    t_fail "/etc or the rules differ from before setup (diff above)"
}

test_second_undo_changes_nothing() {
	_f=/etc/php/5.6/fpm/conf.d/$DROPIN
	printf '; the admin'"'"'s own\n' > "$_f"
	OUT=$(ctl setup --undo 2>&1)
	RC=$?
	t_log "$OUT"
	t_eq "second undo status" 0 "$RC" || return
	t_match "it says so" '^setup --undo: nothing was set up; nothing changed$' "$OUT" || return
	t_match "the foreign drop-in" "^php: $_f is not mailgov's" "$OUT" || return
	[ -f "$_f" ] || t_fail "undo removed a drop-in that is not mailgov's"
	rm -f "$_f"
}

test_failed_step_stops_with_a_clear_state() {
	sed 's|^rules_dir = .*|rules_dir = /nonexistent|' "$CONF" > "$D/bad.conf"
	OUT=$(lab "$MAILGOVCTL" --config "$D/bad.conf" --db "$DB" setup \
	    --sendmail "$SENDMAIL" 2>&1)
	RC=$?
	t_log "$OUT"
	t_eq "status" 1 "$RC" || return
	t_match "the message" '^mailgovctl: setup stopped at rules install: Postfix is set up, PHP is not; run mailgovctl setup again once fixed$' "$OUT" || return
	for _f in $FILES; do
		[ ! -e "$_f" ] || t_fail "a failed setup wrote $_f" || return
	done
	ctl postfix check >/dev/null 2>&1 || t_fail "Postfix is not set up" ||
	    return
	OUT=$(ctl setup --undo 2>&1) || t_fail "undo: $OUT" || return
	snap > "$D/etc.undone2"
	diff "$D/etc.orig" "$D/etc.undone2" >&2 ||
	    t_fail "/etc or the rules differ from before setup (diff above)"
}

t_main "$@"
