#!/bin/sh
# examples/demo.sh - mailgov end to end, narrated: a hosting server with
# three web users, a remote MX, and what mailgov does with their mail.
#
# Run as root on Debian 12 after `make` (or just `sudo make demo`).  It
# builds its own lab: a private mount namespace with a scratch copy of
# /etc (where the web users, mailgov.conf and both Postfix instances
# live) and two network namespaces, LAB (the hosting server) and MX (a
# remote mail server, smtp-sink saving every message).  The machine's
# own ruleset, users and Postfix are never touched, and everything is
# removed at the end.
#
# Every step checks what it says happened; if it did not, the demo stops
# with "DEMO FAILED" and the reason, and exits 1.
TOP=$(cd "$(dirname "$0")/.." && pwd)
case "${MAILGOV_BUILD:-build}" in
/*) MAILGOV_BUILD=${MAILGOV_BUILD} ;;
*) MAILGOV_BUILD="$TOP/${MAILGOV_BUILD:-build}" ;;
esac
export MAILGOV_BUILD
ROOT=$TOP
. "$ROOT/tests/lib.sh"
TOP=$ROOT	# lib.sh derives TOP from tests/*/FILE; the demo is elsewhere
. "$TOP/tests/e2e/lib_postfix.sh"

for _p in "$MAILGOVD" "$MAILGOVCTL" "$SENDMAIL"; do
	[ -x "$_p" ] || { echo "demo: $_p is missing: run make first" >&2
	    exit 1; }
done
t_sandbox "$@"

SHOP=$WEB1 BLOG=$WEB2 WEB=$WEB3 LATE=$WEB4
D=$(t_scratch)
chmod 0755 "$D"
LOG="$D/mailgovd.log"		# mailgovd's own log (-d: stderr)
MXDIR="$D/mx"			# one file per message the MX received
PATH="$MAILGOV_BUILD:$PATH"
export PATH

# --- narration -----------------------------------------------------------

STEP=0
# step TITLE - a numbered heading
step() {
	STEP=$((STEP + 1))
	_OKED=""
	printf '\n\n=== %s. %s ===\n\n' "$STEP" "$*"
}

# say TEXT - a paragraph of explanation
say() {
	[ -n "${_OKED:-}" ] && echo
	_OKED=""
	printf '%s\n' "$*" | fold -s -w 76
	echo
}

# run PROMPT CMD - show CMD the way an admin types it, run it, indent its
# output; returns CMD's status
run() {
	printf '  %s %s\n' "$1" "$2"
	case "$1" in
	'lab#') lab sh -c "$2" ;;
	'mx#') mx sh -c "$2" ;;
	*) as_web "$(echo "$1" | tr -cd 0-9)" sh -c "$2" ;;
	esac > "$D/out" 2>&1
	_rc=$?
	sed 's/^/      /' "$D/out"
	echo
	return $_rc
}
# lab_ CMD, web_ UID CMD - the two prompts of the demo
lab_() { run 'lab#' "$1"; }
web_() { run "lab\$ (uid $1)" "$2"; }

# ok WHAT - a check that held
ok() { printf '  [ok] %s\n' "$*"; _OKED=1; }

# die WHY - a check that did not hold: say so, show the daemon's last
# words, and stop
die() {
	printf '\nDEMO FAILED in step %s: %s\n' "$STEP" "$*" >&2
	if [ -s "$LOG" ]; then
		echo "--- last lines of mailgovd's log:" >&2
		tail -15 "$LOG" >&2
	fi
	if [ -s "$PFLOG/queue.log" ]; then
		echo "--- last lines of the queue instance's log:" >&2
		tail -15 "$PFLOG/queue.log" >&2
	fi
	if [ -s "$PFLOG/main.log" ]; then
		echo "--- last lines of the main instance's log:" >&2
		tail -8 "$PFLOG/main.log" >&2
	fi
	exit 1
}

# expect WHAT EXPECTED SEEN
expect() {
	[ "$2" = "$3" ] || die "$1: expected $2, saw $3"
	ok "$1: $3"
}

# --- what the demo looks at ----------------------------------------------

# at_mx SENDER - how many messages from SENDER the MX has received
at_mx() {
	grep -l "^X-Mail-Args: <$1>" "$MXDIR"/* 2>/dev/null | wc -l
}

# held - how many messages the queue instance holds (Postfix's own view)
held() { pf_queue_count hold; }

# queued - how many messages either instance still has in any queue
queued() { echo $(($(pf_queue_count) + $(pf_main_count))); }

# until_ SECONDS CMD... - poll until CMD succeeds; 1 if it never does
until_() { t_wait "$@"; }

# mx_has SENDER N - has the MX received at least N messages from SENDER
mx_has() { [ "$(at_mx "$1")" -ge "$2" ]; }

# held_at_least N - does the queue instance hold at least N messages
held_at_least() { [ "$(held)" -ge "$1" ]; }

# logged REGEX - mailgovd's log lines matching REGEX
logged() { grep -E -- "$1" "$LOG"; }

# started_since N - has mailgovd logged more than N start-ups
started_since() { [ "$(grep -c 'started: queue' "$LOG")" -gt "$1" ]; }

# start_mailgovd - in the foreground of a background job, log to $LOG
start_mailgovd() {
	_starts=$(grep -c 'started: queue' "$LOG" 2>/dev/null)
	# ip netns exec execs mailgovd: $! is the daemon itself
	ip netns exec "$LAB" mailgovd -d 2>>"$LOG" &
	DPID=$!
	t_on_exit "kill $DPID"
	until_ 10 started_since "${_starts:-0}" || die "mailgovd did not start"
}

# php_mail UID FROM COUNT SUBJECT - COUNT mail() calls by a web user's
# PHP, through mailgov-sendmail as sendmail_path; prints one line each
php_mail() {
	web_ "$1" "php -d sendmail_path='mailgov-sendmail -t -i' -r '
	    for (\$i = 1; \$i <= $3; \$i++) {
	        \$ok = mail(\"customer\$i@remote.example\", \"$4 #\$i\",
	            \"Hello from $2\", \"From: $2\", \"-f$2\");
	        printf(\"mail() #%d: %s\\n\", \$i, \$ok ? \"accepted\" : \"FAILED\");
	    }'"
}

# --- 1. the lab ----------------------------------------------------------

step "The lab: a hosting server and a remote MX"
say "Two network namespaces joined by a cable: LAB is the hosting server\
 (192.0.2.1), MX a remote mail server (192.0.2.25) that saves every\
 message it receives. Web users 64001..64004 exist only in the lab's\
 private copy of /etc."
t_topology || die "cannot create the network namespaces"
t_sink "$MX" 192.0.2.25:25 "$MXDIR" || die "the MX's smtp-sink did not start"
ok "MX listening on 192.0.2.25:25"

say "The hosting server's own Postfix: a plain main.cf that relays\
 everything to the MX (the same one the end-to-end tests use)."
pf_main_conf
lab_ "postconf -n" || die "the main instance's configuration is broken"

say "mailgov's configuration: who is a web user, and where the rule\
 templates are (this tree's rules/). Everything else is the default."
mkdir -p /etc/mailgov
t_config /etc/mailgov/mailgov.conf </dev/null
lab_ "cat /etc/mailgov/mailgov.conf"

say "mailgovctl postfix setup adds mailgov's part to the main instance\
 (policy check, relay listener on 127.0.0.1:10026, web users refused by\
 postdrop) and creates the queue instance (127.0.0.1:2525) that web\
 users' mail is redirected to."
lab_ "mailgovctl postfix setup" || die "mailgovctl postfix setup failed"
pf_queue_log
pf_start
lab_ "postmulti -l" || die "postmulti cannot list the instances"
until_ 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:2525 '" ||
    die "the queue instance does not listen on 127.0.0.1:2525"
ok "queue instance listening on 127.0.0.1:2525"
until_ 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:10026 '" ||
    die "the main instance does not listen on its relay port 10026"
ok "main instance's relay listener on 127.0.0.1:10026"

say "The firewall rules: web users' SMTP connections go to mailgovd\
 (NFQUEUE) and, unless mailgovd allows them, to the queue instance."
lab_ "mailgovctl rules install" || die "mailgovctl rules install failed"
lab_ "iptables -t nat -S MAILGOV" || die "no MAILGOV chain in the nat table"

say "mailgovd, in the foreground for the demo (-d), its log in a file."
start_mailgovd
lab_ "grep started: $LOG"
ok "mailgovd running (pid $DPID)"

# --- 2. accounts ---------------------------------------------------------

step "Accounts and budgets"
say "Two hosting accounts. shop (web user $SHOP) gets a small budget so\
 that the demo can show it running out and refilling: 5 messages per\
 minute, one coming back every 12 seconds, and 1000 per day. blog (web\
 user $BLOG) keeps the default budget. Web user $WEB gets no account at\
 all."
lab_ "mailgovctl account add shop --uid $SHOP --domain shop.example" ||
    die "account add shop failed"
lab_ "mailgovctl budget set shop messages 5/1m 1000/1d" ||
    die "budget set shop failed"
lab_ "mailgovctl account add blog --uid $BLOG" || die "account add blog failed"
lab_ "mailgovctl account list" || die "account list failed"
lab mailgovctl account list | grep -q '^shop ' || die "shop is not listed"
say "mailgovd notices the changes in the database within a second."
sleep 2

# --- 3. PHP mail() over budget -------------------------------------------

step "shop's PHP sends 8 messages with mail(); its budget is 5"
say "PHP's sendmail_path is mailgov-sendmail, which hands each message to\
 the queue instance on 127.0.0.1:2525. mailgovd learns from the kernel\
 which user owns the connection, charges shop, and answers HOLD once\
 the budget is spent. The script sees every mail() succeed: nothing is\
 refused and nothing is lost."
php_mail "$SHOP" noreply@shop.example 8 "Your order" ||
    die "PHP's mail() failed"
ACCEPTED=$(grep -c ': accepted' "$D/out")
expect "mail() calls accepted" 8 "$ACCEPTED"
until_ 20 mx_has noreply@shop.example 5 || true
lab_ "mailgovctl hold list"
lab_ "mailgovctl usage shop"
AT_ONCE=$(at_mx noreply@shop.example)
HELD_OVER=$(held)
expect "shop's messages at the MX" 5 "$AT_ONCE"
expect "messages held by the queue instance" 3 "$HELD_OVER"
lab_ "grep -E 'account=shop' $LOG | grep -E 'event=(budget_over|hold)' | head -5"

# --- 4. a raw SMTP connection --------------------------------------------

step "A script of web user $WEB talks SMTP straight to the remote MX"
say "A compromised site rarely uses mail(): it opens its own connection to\
 port 25 of some MX. Here web user $WEB, which has no account, runs swaks\
 against 192.0.2.25:25. The greeting shows who really answers: the\
 queue instance of the lab, not the MX."
web_ "$WEB" "swaks --server 192.0.2.25:25 --from spam@web.example \
--to victim@remote.example --body 'cheap pills' 2>&1 | grep -E '^(=== Connected|<-  220 |<-  250 2.0.0)'" ||
    die "swaks failed"
until_ 20 mx_has spam@web.example 1 || true
lab_ "grep -E 'event=redirect' $LOG"
logged "event=redirect account=mgweb$((WEB - 64000)) uid=$WEB dst=192\.0\.2\.25:25" \
    >/dev/null || die "no redirect of uid $WEB to 192.0.2.25:25 in the log"
ok "the connection to 192.0.2.25:25 was redirected and logged"
say "The message still went out, through Postfix, counted against an\
 account created on the spot and named after the login."
lab_ "mailgovctl account list"
lab_ "mailgovctl usage mgweb$((WEB - 64000))"
expect "web user $WEB's messages at the MX (via Postfix)" 1 \
    "$(at_mx spam@web.example)"
lab mailgovctl account list | grep -q "^mgweb$((WEB - 64000)) " ||
    die "no automatic account mgweb$((WEB - 64000))"
ok "automatic account mgweb$((WEB - 64000)) exists"

# --- 5. block ------------------------------------------------------------

step "blog is compromised: block it"
say "Before the block, blog's PHP sends mail like anyone else."
php_mail "$BLOG" news@blog.example 1 "Newsletter" || die "blog's mail() failed"
lab_ "mailgovctl block blog" || die "mailgovctl block failed"
sleep 2		# mailgovd picks up a change in the database within a second
say "Now every SMTP connection of blog's user is reset at once, whether\
 PHP's mail() or a script of its own; mailgov-sendmail says why, and\
 PHP's mail() returns false."
php_mail "$BLOG" news@blog.example 1 "Newsletter"
grep -q 'mail() #1: FAILED' "$D/out" || die "blog's mail() still succeeds"
grep -q 'Connection refused' "$D/out" ||
    die "mailgov-sendmail did not report a refused connection"
ok "blog's mail() failed with a refused connection"
_t0=$(date +%s%N)
web_ "$BLOG" "swaks --server 192.0.2.25:25 --from news@blog.example \
--to victim@remote.example 2>&1 | grep -E '^\*\*\*'"
_ms=$((($(date +%s%N) - _t0) / 1000000))
grep -q 'Connection refused' "$D/out" || die "blog's connection was not reset"
ok "blog's raw connection refused after ${_ms} ms"
BLOG_REFUSED=$(logged 'event=reject account=blog reason=blocked' | wc -l)
lab_ "grep -E 'event=reject account=blog' $LOG | head -3"
logged 'event=reject account=blog reason=blocked' >/dev/null ||
    die "no reject of blog in mailgovd's log"
until_ 10 mx_has news@blog.example 1
expect "blog's messages at the MX" 1 "$(at_mx news@blog.example)"

# --- status and top --------------------------------------------------------

step "What the admin sees: mailgovctl status and top"
say "mailgovctl status checks mailgovd, NFQUEUE, both Postfix instances,\
 the rules (as the configuration gives them now) and the mail on hold,\
 and exits non-zero when something is wrong, for a monitoring system."
lab_ "mailgovctl status" || die "mailgovctl status found a problem"
say "mailgovctl top is a live view, refreshed every second: who sends and\
 how fast, hottest first. Here is one frame of it, from an 80x24 tmux\
 pane."
TMUX_SOCK="$D/tmux.sock"
LANG=C.UTF-8 tmux -u -S "$TMUX_SOCK" new-session -d -s top -x 80 -y 24 \
    "ip netns exec $LAB env LANG=C.UTF-8 $MAILGOVCTL top" ||
    die "tmux did not start"
t_on_exit "tmux -S '$TMUX_SOCK' kill-server"
until_ 10 sh -c "tmux -S '$TMUX_SOCK' capture-pane -p -t top | grep -q '^shop '" ||
    die "top does not show shop"
tmux -S "$TMUX_SOCK" capture-pane -p -t top > "$D/top"
# the pane's empty lines below the rows left out
awk 'NF { for (; n > 0; n--) print ""; print; next } { n++ }' "$D/top" |
    sed 's/^/      /'
echo
tmux -S "$TMUX_SOCK" send-keys -t top q
sed -n 4p "$D/top" | grep -q '^shop ' || die "shop is not the first row"
ok "shop, which sent the most, is the first row"

# --- 6. refill and release -----------------------------------------------

step "shop's budget refills: the held messages are released"
say "Nobody does anything. Every second mailgovd looks at the held mail;\
 as shop's budget comes back (one message every 12 seconds), it releases\
 the oldest held message and charges it."
_seen=""
_n=0
while [ "$_n" -lt 90 ]; do
	_now="at the MX: $(at_mx noreply@shop.example) of shop's messages; held: $(held)"
	[ "$_now" != "$_seen" ] && printf '  %s  %s\n' "$(date +%T)" "$_now"
	_seen=$_now
	[ "$(at_mx noreply@shop.example)" -ge 8 ] && [ "$(held)" = 0 ] && break
	sleep 1
	_n=$((_n + 1))
done
echo
lab_ "mailgovctl hold list"
lab_ "mailgovctl usage shop"
lab_ "grep -E 'release: released' $LOG"
RELEASED=$(($(at_mx noreply@shop.example) - AT_ONCE))
expect "shop's messages at the MX" 8 "$(at_mx noreply@shop.example)"
expect "messages held" 0 "$(held)"

# --- 7. mailgovd down ----------------------------------------------------

step "mailgovd stops: mail is held, not lost"
say "With mailgovd stopped, the rules still redirect web users' SMTP to\
 the queue instance (NFQUEUE's bypass), and the queue instance, getting\
 no policy answer, holds every message (default_action=HOLD)."
kill "$DPID"
until_ 10 sh -c "! kill -0 $DPID" || die "mailgovd did not stop"
ok "mailgovd stopped"
php_mail "$SHOP" noreply@shop.example 1 "Password reset" ||
    die "shop's mail() failed while mailgovd was down"
ACCEPTED=$((ACCEPTED + $(grep -c ': accepted' "$D/out")))
until_ 15 held_at_least 1 || die "the message was not held"
lab_ "postqueue -c $QDIR -p"
expect "messages held" 1 "$(held)"
expect "shop's messages at the MX" 8 "$(at_mx noreply@shop.example)"

say "mailgovd starts again, finds the held message it never saw, and\
 releases it under the default account's budget."
start_mailgovd
until_ 60 mx_has noreply@shop.example 9 ||
    die "the message held while mailgovd was down was not released"
lab_ "mailgovctl hold list"
expect "shop's messages at the MX" 9 "$(at_mx noreply@shop.example)"
expect "messages held" 0 "$(held)"
lab_ "grep -E 'adopted|released queue_id=[0-9A-Za-z]+ account=default' $LOG"

# --- 8. summary ----------------------------------------------------------

step "Summary"
_queued=$(queued)
row() { printf '  %-54s %8s %5s\n' "$@"; }
row "" expected seen
row "shop: mail() calls accepted" 9 "$ACCEPTED"
row "shop: delivered at once" 5 "$AT_ONCE"
row "shop: held over budget" 3 "$HELD_OVER"
row "shop: released as the budget refilled, delivered" 3 "$RELEASED"
row "shop: held while mailgovd was down, delivered later" 1 \
    "$(($(at_mx noreply@shop.example) - AT_ONCE - RELEASED))"
row "uid $WEB: raw SMTP to the MX, redirected, delivered" 1 \
    "$(at_mx spam@web.example)"
row "blog: delivered (all before the block)" 1 "$(at_mx news@blog.example)"
row "blog: connections reset after the block" 2 "$BLOG_REFUSED"
row "messages still in a queue (lost or stuck)" 0 "$_queued"
echo
[ "$_queued" = 0 ] || die "$_queued messages are still queued"
lab_ "mailgovctl usage"
say "Cleaning up: Postfix, mailgovd and smtp-sink stop, the namespaces\
 and the scratch /etc go away."
t_cleanup
echo "demo: done"
