#!/bin/sh
# test_notify - notifications: an account over its budget runs
# alert_command (as mailgovd's user, never root, with the MAILGOV_*
# variables and nothing else) and mails a report through the main
# Postfix instance that reaches the MX, naming the account, what is held
# and the release command, to alert_mail and to the account's contact;
# a contact written into the database with a line break, and a hostile
# sender in the alert, put no header into it.  An alert_command that
# hangs is killed with its process group at alert_command_timeout while
# mailgovd keeps serving; one that is missing is logged once a minute,
# not once per alert.
#
# Real rules, Postfix, mailgovd, PHP and mailgov-sendmail as web users,
# smtp-sink as the MX.  The tests run in file order and share Postfix.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
mkdir -p "$D/db" "$D/out"
chmod 0777 "$D/out"		# alert_command runs as mailgovd's user
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
SINK="$D/sink"
OUT="$D/out"

# The alert program: its environment, uid and gids into a file per run;
# with $OUT/hang present it hangs, with a sleeper of its own beside it.
cat > "$D/alert" <<EOF
#!/bin/sh
f=$OUT/alert.\$\$
{ env; echo "uid=\$(id -u) gid=\$(id -g) groups=\$(id -G)"; } > \$f.tmp
mv \$f.tmp \$f
[ -e $OUT/slow ] && sleep 3
if [ -e $OUT/hang ]; then
	sleep 3600 &
	echo \$! > $OUT/sleeper.pid
	echo \$\$ > $OUT/hanger.pid
	sleep 3601
fi
EOF
chmod 0755 "$D/alert"

# conf ALERT_COMMAND - the configuration, with that alert_command
conf() {
	t_config "$CONF" <<EOF
control_socket = $D/control.sock
release_interval = 1s
alert_limit = 1000
alert_command = $1
alert_command_timeout = 2s
alert_mail = ops@example.net
alert_mail_interval = 1m
EOF
}
conf "$D/alert"

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# report_for ACCOUNT - the file the MX saved for ACCOUNT's report
report_for() {
	grep -l "^X-Mailgov-Account: $1\$" "$SINK"/* 2>/dev/null | head -1
}

# runs - the alert program's runs so far
runs() {
	ls "$OUT" | grep -c '^alert\.[0-9]*$' || true
}

# gone PIDFILE - the process it names no longer runs (or is a zombie)
gone() {
	_g=$(cat "$1" 2>/dev/null)
	[ -n "$_g" ] || return 1
	[ ! -r "/proc/$_g/stat" ] || sed 's/.*) //' "/proc/$_g/stat" |
	    grep -q '^[ZX]'
}

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add shop --uid "$WEB1" --contact webmaster@shop.example \
    >/dev/null || exit 1
ctl budget set shop messages 1/1h >/dev/null || exit 1
ctl account add evil --uid "$WEB2" >/dev/null || exit 1
ctl budget set evil messages 1/1h >/dev/null || exit 1
ctl account add gone --uid "$WEB3" >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

# the hacked site's script: PHP names it (mail.add_x_header), and the
# alert's MAILGOV_SCRIPT carries that claim
mkdir -p "$D/www"
cat > "$D/www/wso.php" <<'PHP'
<?php
for ($i = 0; $i < 3; $i++)
	if (!mail("x@example.net", "mailgov php $i", "body $i",
	    "From: site@lab.mailgov.test"))
		exit(1);
PHP
chmod 0755 "$D/www"
chmod 0644 "$D/www/wso.php"

test_over_budget_runs_alert_command_as_mailgovs_user() {
	(cd "$D/www" && as_web "$WEB1" php -n -d mail.add_x_header=1 \
	    -d "sendmail_path=$SENDMAIL -t -i" wso.php) ||
	    { dump_logs; t_fail "mail() failed"; } || return
	settle 3 || { dump_logs; return 1; }
	t_eq "held for shop" 2 "$(held shop)" || return
	t_wait 10 sh -c "ls '$OUT' | grep -q '^alert\.[0-9]*\$'" ||
	    { dump_logs; t_fail "alert_command did not run"; } || return
	_f=$(grep -l '^MAILGOV_EVENT=budget_over$' "$OUT"/alert.* | head -1)
	[ -n "$_f" ] || t_fail "no run for budget_over: $(cat "$OUT"/alert.*)" ||
	    return
	_e=$(cat "$_f")
	t_match "MAILGOV_ACCOUNT" '^MAILGOV_ACCOUNT=shop$' "$_e" || return
	t_match "MAILGOV_SCRIPT" '^MAILGOV_SCRIPT=wso\.php$' "$_e" || return
	t_match "MAILGOV_DETAIL" \
	    '^MAILGOV_DETAIL=kind=messages limit=1/1h action=hold context=queue ' \
	    "$_e" || return
	t_match "MAILGOV_RELEASE" '^MAILGOV_RELEASE=mailgovctl hold release shop$' \
	    "$_e" || return
	t_match "MAILGOV_HOST" '^MAILGOV_HOST=.+$' "$_e" || return
	t_match "MAILGOV_TIME" '^MAILGOV_TIME=[0-9]+$' "$_e" || return
	t_match "PATH" '^PATH=/usr/sbin:/usr/bin:/sbin:/bin$' "$_e" || return
	# PATH, the MAILGOV_* variables and what sh sets itself (PWD, ...)
	t_eq "nothing else inherited" "" \
	    "$(echo "$_e" | grep '^[A-Za-z_]*=' | grep -v '^uid=' | grep -Ev '^(PATH|MAILGOV_(EVENT|ACCOUNT|SCRIPT|DETAIL|HELD|TIME|HOST|RELEASE)|PWD|SHLVL|_|OLDPWD)=')" ||
	    return
	_u=$(id -u mailgov) _g=$(id -g mailgov)
	t_match "not root: mailgovd's user and group, no other group" \
	    "^uid=$_u gid=$_g groups=$_g\$" "$_e"
}

test_the_report_reaches_the_mx_and_the_contact() {
	t_wait 20 sh -c "grep -lq '^X-Mailgov-Account: shop\$' '$SINK'/* 2>/dev/null" ||
	    { dump_logs; t_fail "no report at the MX"; } || return
	_r=$(cat "$(report_for shop)")
	t_match "to alert_mail" 'ops@example\.net' "$_r" || return
	t_match "to the contact" 'webmaster@shop\.example' "$_r" || return
	t_match "one message to both" \
	    '^To: ops@example\.net, webmaster@shop\.example' "$_r" || return
	t_match "the subject" \
	    '^Subject: \[mailgov\] account shop is over its messages budget' \
	    "$_r" || return
	t_match "what is held" '  on hold:  2 messages, [0-9]+ bytes; the oldest since 20' \
	    "$_r" || return
	t_match "how to release it" 'To release it now:  mailgovctl hold release shop' \
	    "$_r" || return
	t_match "automated" '^Auto-Submitted: auto-generated' "$_r" || return
	t_match "logged" 'event=report account=shop to=ops@example.net,webmaster@shop.example' \
	    "$(cat "$LOG")" || return
	# through the main instance's relay listener, from the null sender:
	# not governed, nothing held, no bounce to loop on
	t_match "from the null sender, by the relay listener" \
	    'mailgov-relay/smtpd.*' "$(grep -B3 'from=<>' "$PFLOG/main.log")" ||
	    return
	t_eq "still held for shop, nothing more" 2 "$(held shop)"
}

test_a_hostile_sender_and_a_bad_stored_contact_inject_no_header() {
	# past mailgovctl, straight into the database
	sqlite3 "$DB" "UPDATE accounts SET contact = 'x@example.net' ||
	    char(13,10) || 'Bcc: victim@example.org' WHERE name = 'evil'" ||
	    return
	for _i in 1 2; do
		as_web "$WEB2" swaks --server 192.0.2.25 --port 25 \
		    --timeout 20 --to x@example.net \
		    --from '"a>Bcc: victim2@example.org"@lab.mailgov.test' \
		    >/dev/null 2>&1
	done
	t_wait 20 sh -c "grep -lq '^X-Mailgov-Account: evil\$' '$SINK'/* 2>/dev/null" ||
	    { dump_logs; t_fail "no report for evil at the MX"; } || return
	_f=$(report_for evil)
	_h=$(sed '/^$/q' "$_f")
	t_eq "no Bcc header" "" "$(echo "$_h" | grep -i '^bcc:')" || return
	t_match "only alert_mail" '^To: ops@example\.net$' "$_h" || return
	t_eq "the victims only in the detail line" "" \
	    "$(grep -i 'victim' "$_f" | grep -v '^  detail:')" || return
	t_match "the bad contact logged" 'bad contact in the database' \
	    "$(cat "$LOG")"
}

test_a_hanging_alert_command_is_killed_and_mailgovd_serves_on() {
	touch "$OUT/hang"
	ctl block gone >/dev/null || return
	php_mail "$WEB3" 1 2>/dev/null
	t_wait 10 test -s "$OUT/hanger.pid" ||
	    { dump_logs; t_fail "the alert program did not start"; } || return
	# while it hangs, the daemon answers
	ctl usage gone --json >/dev/null ||
	    t_fail "mailgovctl usage failed while it hangs" || return
	php_mail "$WEB1" 1 ||
	    { dump_logs; t_fail "mail() failed while it hangs"; } || return
	t_eq "the new message held at once" 3 "$(held shop)" || return
	t_wait 10 gone "$OUT/hanger.pid" ||
	    t_fail "the hanging alert program still runs" || return
	t_wait 5 gone "$OUT/sleeper.pid" ||
	    t_fail "what it forked still runs" || return
	t_match "the kill logged" \
	    "alert_command $D/alert: killed after 2 s \\(event=[a-z_]+ account=gone\\)" \
	    "$(cat "$LOG")" || return
	rm -f "$OUT/hang"
	kill -0 "$(cat "$D/pid")" || t_fail "mailgovd is gone"
}

test_at_most_four_alert_programs_run_at_once() {
	touch "$OUT/slow"
	n0=$(runs)
	c0=$(grep -c '^mailgovd: event=[a-z_]* account=gone' "$LOG")
	# blocked: each attempt is an alert, each run takes 3 s
	for _i in 1 2 3 4 5 6 7 8; do php_mail "$WEB3" 1 2>/dev/null & done
	wait
	t_wait 10 sh -c "[ \$(grep -c '^mailgovd: event=[a-z_]* account=gone' '$LOG') -ge $((c0 + 6)) ]" ||
	    { dump_logs; t_fail "expected 6 more alerts at least"; } || return
	sleep 4
	rm -f "$OUT/slow"
	t_eq "runs" $((n0 + 4)) "$(runs)" || return
	t_match "the drop logged, counted" \
	    'alert_command: 4 programs already running; [0-9]+ alerts dropped this minute' \
	    "$(cat "$LOG")"
}

test_a_missing_alert_command_is_logged_once_a_minute() {
	stop_daemon || t_fail "mailgovd did not stop" || return
	conf "$D/no-such-program"
	start_daemon || return
	n0=$(runs)
	# a blocked account: every attempt is an alert
	for _i in 1 2 3 4; do php_mail "$WEB3" 1 2>/dev/null; done
	t_wait 10 sh -c "[ \$(grep -c '^mailgovd: event=[a-z_]* account=gone' '$LOG') -ge 4 ]" ||
	    { dump_logs; t_fail "expected 4 alerts"; } || return
	sleep 1
	t_eq "lines about the missing program" 1 \
	    "$(grep -c "alert_command $D/no-such-program" "$LOG")" || return
	t_eq "no run" "$n0" "$(runs)" || return
	kill -0 "$(cat "$D/pid")" || t_fail "mailgovd is gone"
}

t_main "$@"
