# tests/e2e/lib_postfix.sh - Postfix helpers shared by the end-to-end
# tests.  Sourced after tests/lib.sh, inside t_sandbox (so /etc/postfix is
# the sandbox's copy and /var/spool, /var/lib are private) and after
# t_topology (Postfix runs in the LAB namespace; the MX is 192.0.2.25).

QDIR=/etc/postfix-mailgov
PFLOG=/var/lib/mailgov-test-log

# pf_main_conf - a minimal main instance: local names, everything else
# relayed to the MX; plus a few settings mailgov must leave alone.  The
# machine's Postfix package may have been installed without any main.cf.
pf_main_conf() {
	mkdir -p "$PFLOG"
	cat > /etc/postfix/main.cf <<EOF
# main.cf for mailgov's end-to-end tests
compatibility_level = 3.6
myhostname = lab.mailgov.test
mydomain = mailgov.test
myorigin = \$myhostname
mydestination = \$myhostname, localhost
relayhost = [192.0.2.25]:25
inet_interfaces = loopback-only
inet_protocols = ipv4, ipv6
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP mailgov-test
smtpd_end_of_data_restrictions = reject_unauth_pipelining
maillog_file = $PFLOG/main.log
EOF
	if [ ! -s /etc/postfix/master.cf ]; then
		cp /usr/share/postfix/master.cf.dist /etc/postfix/master.cf
	fi
	rm -rf /etc/postfix-mailgov /etc/postfix/mailgov-saved \
	    /etc/postfix/mailgov-web-users
	mkdir -p /var/spool/postfix
	postfix check 2>/dev/null
}

# pf_queue_log - the queue instance logs to a file of its own
pf_queue_log() {
	postconf -c "$QDIR" -e "maillog_file = $PFLOG/queue.log"
}

# pf_start - start every enabled instance in the LAB namespace
pf_start() {
	lab postfix start >/dev/null 2>&1 || lab postfix reload >/dev/null 2>&1
	t_on_exit "ip netns exec '$LAB' postfix stop"
	t_wait 10 lab sh -c "ss -ltn | grep -q '127.0.0.1:25 '"
}

# pf_stop - stop every instance
pf_stop() {
	lab postfix stop >/dev/null 2>&1
}

# pf_queue_count [QUEUE_NAME] - messages in the queue instance (in one
# named queue, e.g. hold)
pf_queue_count() {
	postqueue -c "$QDIR" -j 2>/dev/null |
	    grep -c "\"queue_name\": \"${1:-[a-z]*}\"" || true
}

# pf_main_count - messages in the main instance's queue
pf_main_count() {
	postqueue -j 2>/dev/null | grep -c queue_name || true
}

# pf_held_ids - queue IDs on hold in the queue instance
pf_held_ids() {
	postqueue -c "$QDIR" -j 2>/dev/null | grep '"queue_name": "hold"' |
	    sed 's/.*"queue_id": "\([0-9A-Za-z]*\)".*/\1/'
}

# pf_sink_count DIR - messages the MX's smtp-sink saved
pf_sink_count() {
	find "$1" -type f 2>/dev/null | wc -l
}

# pf_wait_count SECONDS EXPECTED CMD... - poll CMD's output until it prints
# EXPECTED (a count); fails with what it saw last
pf_wait_count() {
	_pw_n=$(($1 * 5)); _pw_want=$2; shift 2
	while [ "$_pw_n" -gt 0 ]; do
		_pw_seen=$("$@")
		[ "$_pw_seen" = "$_pw_want" ] && return 0
		sleep 0.2
		_pw_n=$((_pw_n - 1))
	done
	t_fail "$*: expected $_pw_want, saw $_pw_seen"
}

# pf_smtp ADDR PORT FROM TO [SWAKS ARGS...] - one message with swaks from
# the LAB namespace as root; prints swaks' transcript
pf_smtp() {
	_a=$1 _p=$2 _f=$3 _t=$4; shift 4
	lab swaks --server "$_a" --port "$_p" --from "$_f" --to "$_t" \
	    --timeout 20 --header "Subject: mailgov test" "$@" 2>&1
}
