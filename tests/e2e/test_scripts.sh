#!/bin/sh
# test_scripts - which script sent it: PHP's mail() from a script in a
# site's directory is named (PID, executable, cwd, script) in mailgovctl
# hold list, in the alert, in usage --scripts and top; what the sender says
# about itself is a claim that never moves the charge, and hostile
# claims (a forged script header naming another site's file, a cwd and
# a command line of a megabyte with newlines) come out clean and short.
# Real rules, Postfix, mailgovd, PHP and mailgov-sendmail, as web users.
#
# The tests run in file order and share the daemon and Postfix.

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
t_config "$CONF" <<EOF
control_socket = $D/control.sock
alert_limit = 1000
release_interval = 1h
EOF

ctl() { lab "$MAILGOVCTL" --config "$CONF" --db "$DB" "$@"; }
. "$(dirname "$0")/lib_queue.sh"

# site UID NAME - a site's directory, the web user's own
site() {
	mkdir -p "$D/www/$2"
	chown "$1:$1" "$D/www/$2"
	chmod 0755 "$D/www" "$D/www/$2"
	echo "$D/www/$2"
}

# php_in DIR UID SCRIPT ARGS... - run SCRIPT (in DIR) as UID from DIR,
# with PHP's script header on, as a hosting server sets it
php_in() {
	_dir=$1 _uid=$2; shift 2
	(cd "$_dir" && as_web "$_uid" php -n -d display_errors=stderr \
	    -d mail.add_x_header=1 -d "sendmail_path=$SENDMAIL -t -i" "$@")
}

pf_main_conf
ctl postfix setup >/dev/null || { echo "not ok - postfix setup failed"; exit 1; }
pf_queue_log
t_sink "$MX" 192.0.2.25:25 "$SINK"
pf_start
t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    { echo "not ok - the queue instance did not start"; exit 1; }
ctl account add shop --uid "$WEB1" >/dev/null || exit 1
ctl budget set shop messages 1/1h >/dev/null || exit 1
ctl account add mallory --uid "$WEB2" >/dev/null || exit 1
ctl budget set mallory messages 1/1h >/dev/null || exit 1
ctl account add victim --uid "$WEB3" >/dev/null || exit 1
ctl rules install >/dev/null || { echo "not ok - rules install failed"; exit 1; }
start_daemon || { echo "not ok - mailgovd did not start"; exit 1; }

SHOP=$(site "$WEB1" shop)
cat > "$SHOP/mailer.php" <<'PHP'
<?php
for ($i = 0; $i < 3; $i++)
	mail("x@example.net", "mailgov script $i", "body $i",
	    "From: shop@lab.mailgov.test");
PHP

test_php_mail_names_its_script_in_hold_list() {
	php_in "$SHOP" "$WEB1" mailer.php 2>"$D/php.err" ||
	    { cat "$D/php.err" >&2; return 1; }
	settle 3 || { dump_logs; return 1; }
	t_eq "messages held" 2 "$(held shop)" || return
	_j=$(ctl hold list shop --json)
	t_match "script in hold list --json" '"script": "mailer.php"' "$_j" ||
	    return
	t_match "cwd in hold list --json" "\"cwd\": \"$SHOP\"" "$_j" || return
	t_match "executable in hold list --json" \
	    '"exe": "/usr/bin/php[0-9.]*"' "$_j" || return
	t_match "pid in hold list --json" '"pid": [1-9][0-9]*' "$_j" || return
	t_match "hold list text" "$SHOP +mailer\\.php" "$(ctl hold list shop)"
}

test_the_alert_names_the_script() {
	t_wait 5 grep -q "event=budget_over account=shop .*script=mailer.php" \
	    "$LOG" || { tail -20 "$LOG" >&2;
	    t_fail "no alert naming the script"; return; }
	_l=$(grep "event=budget_over account=shop " "$LOG" | tail -1)
	t_match "alert keys" \
	    " pid=[1-9][0-9]* exe=/usr/bin/php[0-9.]* cwd=$SHOP script=mailer\\.php" \
	    "$_l"
}

test_usage_scripts_counts_messages_per_script() {
	t_wait 5 sh -c "ip netns exec '$LAB' '$MAILGOVCTL' --config '$CONF' \
	    --db '$DB' usage shop --scripts | grep -Eq '^mailer\\.php +3 '" || {
		ctl usage shop --scripts >&2
		t_fail "usage shop --scripts did not count 3 for mailer.php"
	}
}

# top's SCRIPT column: the busiest script of the hour, from the counts
test_top_names_the_busiest_script() {
	_o=$(ctl top -n 1) || { t_fail "top -n 1 failed"; return; }
	t_match "top's row for shop" '^shop [0-9]+ [^ ]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ mailer\.php \|' \
	    "$_o"
}

# A web user names another site's file in the header PHP would write.
# The header is a claim: it is shown as such, and the charge stays with
# the UID the kernel reported.
test_a_forged_script_header_moves_nothing() {
	_m=$(site "$WEB2" mallory)
	cat > "$_m/x.php" <<'PHP'
<?php
for ($i = 0; $i < 2; $i++)
	mail("x@example.net", "forged $i", "body",
	    "From: a@lab.mailgov.test\r\nX-PHP-Originating-Script: " .
	    "64003:/var/www/victim/contact.php");
PHP
	_before=$(counter victim messages)
	(cd "$_m" && as_web "$WEB2" php -n -d mail.add_x_header=0 \
	    -d "sendmail_path=$SENDMAIL -t -i" x.php) 2>"$D/php.err" ||
	    { cat "$D/php.err" >&2; return 1; }
	settle 5 || { dump_logs; return 1; }
	t_eq "held for mallory" 1 "$(held mallory)" || return
	t_eq "held for victim" 0 "$(held victim)" || return
	t_eq "victim's messages" "${_before:-0}" \
	    "$(counter victim messages)" || return
	t_match "the claim is shown under mallory" \
	    '"script": "/var/www/victim/contact.php"' \
	    "$(ctl hold list mallory --json)"
}

# A cwd of a megabyte, its names full of newlines and escapes, and a
# command line of a megabyte: the daemon keeps running, each field is
# short and clean, the log gets no forged line, the listings stay one
# row per message and valid JSON.
test_a_hostile_cwd_and_cmdline_stay_short_and_clean() {
	_h=$(site "$WEB2" hostile)
	cat > "$_h/deep.php" <<'PHP'
<?php
/* a 1 MB cwd: no shell can run with it (it would export it as PWD and
 * exec fails), so mailgov-sendmail is run directly, as PHP code can */
$name = str_repeat("n\nevent=forged account=victim \x1b[31m", 5);
for ($i = 0; $i < 6000; $i++) {
	if (!@mkdir($name) && !is_dir($name)) break;
	if (!chdir($name)) break;
}
$p = proc_open([$argv[1], "-t", "-i"], [0 => ["pipe", "r"]], $pipes,
    null, []);
fwrite($pipes[0], "To: x@example.net\r\nFrom: a@lab.mailgov.test\r\n" .
    "X-PHP-Originating-Script: 1:\x1b]0;" .
    str_repeat("evil event=forged ", 40) . "\r\n\r\nbody\r\n");
fclose($pipes[0]);
fwrite(STDERR, "depth $i, mailgov-sendmail exited " . proc_close($p) . "\n");
PHP
	_arg=$(printf 'event=forged \nx%.0s' $(seq 8000))
	(cd "$_h" && as_web "$WEB2" php -n -d display_errors=stderr \
	    deep.php "$SENDMAIL" "$_arg" "$_arg" "$_arg" "$_arg" "$_arg" \
	    "$_arg" "$_arg" "$_arg") 2>"$D/php.err" ||
	    { cat "$D/php.err" >&2; return 1; }
	settle 6 || { cat "$D/php.err" >&2; dump_logs; return 1; }
	kill -0 "$(cat "$D/pid")" || { t_fail "mailgovd died"; return; }
	t_eq "held for mallory" 2 "$(held mallory)" || return
	t_eq "forged log lines" 0 "$(grep -c '^event=forged' "$LOG")" ||
	    return
	t_eq "forged alert keys" 0 \
	    "$(grep 'event=budget_over account=mallory' "$LOG" |
	    grep -c ' account=victim')" || return
	_t=$(ctl hold list mallory)
	t_eq "hold list lines (header and 2 rows)" 3 \
	    "$(printf '%s\n' "$_t" | wc -l)" || return
	t_eq "hold list lines under 800 bytes" 0 \
	    "$(printf '%s\n' "$_t" | awk 'length > 800' | wc -l)" || return
	ctl hold list mallory --json | python3 -c '
import json, sys
for r in json.load(sys.stdin)["held"]:
    for k, v in r["origin"].items():
        if isinstance(v, str):
            assert len(v) < 160, (k, len(v))
            assert all(0x20 < ord(c) < 0x7f for c in v), (k, v)
' || { t_fail "hold list --json: a field too long or not clean"; return; }
	t_match "the cmdline is cut" '"cmdline": "[^"]*\.\.\."' \
	    "$(ctl hold list mallory --json)"
}

t_main "$@"
