# tests/lib.sh - shared shell test harness.  Sourced by tests/cli/*.sh and
# tests/e2e/*.sh.
#
# A test file defines functions named test_*; t_main runs each in its own
# subshell and prints "ok - NAME" or "not ok - NAME: why".  One function,
# one behaviour.  A failing check says what it expected and what it saw.
#
# End-to-end files call t_sandbox first: the file re-runs itself in a
# private mount namespace where /etc is a scratch copy and /var/spool,
# /var/lib and /run/mailgov are empty tmpfs.  Test users are added to that
# copy of /etc/passwd, Postfix instances live in it, and nothing of the
# host's own configuration, users, spool or ruleset is touched.  Network
# namespaces the tests create are deleted on exit.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${MAILGOV_BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$TOP/$BUILD" ;; esac
MAILGOVCTL="$BUILD/mailgovctl"
MAILGOVD="$BUILD/mailgovd"
SENDMAIL="$BUILD/mailgov-sendmail"

# Web users of the tests.  They exist only in the sandbox's /etc/passwd.
WEB1=64001 WEB2=64002 WEB3=64003 WEB4=64004
WEB_RANGE=64000-64099

t_log() { echo "# $*" >&2; }

# t_fail - report why a check failed; returns 1 so "|| return" works
t_fail() { echo "FAIL: $*" >&2; return 1; }

# t_eq WHAT EXPECTED SEEN
t_eq() {
	[ "$2" = "$3" ] && return 0
	t_fail "$1: expected '$2', saw '$3'"
}

# t_match WHAT REGEX TEXT
t_match() {
	printf '%s' "$3" | grep -Eq -- "$2" && return 0
	t_fail "$1: expected a match for /$2/, saw '$3'"
}

# t_wait SECONDS CMD... - poll CMD every 0.1 s until it succeeds
t_wait() {
	_n=$(($1 * 10)); shift
	while [ "$_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

T_CLEANUP=""
# t_on_exit CMD - run CMD when the file ends (last added runs first)
t_on_exit() { T_CLEANUP="$*; $T_CLEANUP"; }
t_cleanup() { eval "$T_CLEANUP" >/dev/null 2>&1; T_CLEANUP=""; }

# t_main [NAMES...] - run every test_* function (or those named)
t_main() {
	_tests=${*:-$(grep -oE '^test_[a-z0-9_]+' "$0")}
	_fails=0
	for _t in $_tests; do
		_err=$(mktemp)
		if ( set -u; "$_t" ) 2>"$_err"; then
			echo "ok - ${_t#test_}"
		else
			echo "not ok - ${_t#test_}: $(grep FAIL "$_err" | head -3 | tr '\n' ' ')"
			sed "s/^/#   /" "$_err" | tail -150
			_fails=$((_fails + 1))
		fi
		rm -f "$_err"
	done
	t_cleanup
	[ "$_fails" -eq 0 ]
}

# Scratch directories live under one root per test file, removed at exit.
# t_scratch runs inside $(...), where a cleanup it registered itself would
# be lost with the subshell.  The root survives t_sandbox's re-exec (same
# process, same environment), which registers its removal again.
if [ -z "${MAILGOV_TEST_SCRATCH:-}" ]; then
	MAILGOV_TEST_SCRATCH=$(mktemp -d /tmp/mailgov-test.XXXXXX) || exit 1
	chmod 0755 "$MAILGOV_TEST_SCRATCH"	# mailgovd's user reads it
	export MAILGOV_TEST_SCRATCH
fi
t_on_exit "rm -rf '$MAILGOV_TEST_SCRATCH'"
trap 't_cleanup' EXIT

# t_scratch - a scratch directory, removed at exit with the root
t_scratch() {
	mktemp -d "$MAILGOV_TEST_SCRATCH/XXXXXX"
}

# --- sandbox -------------------------------------------------------------

t_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "not ok - $(basename "$0"): needs root (network namespaces)"
		exit 1
	fi
}

# t_sandbox - re-run this file in a private mount namespace (see above)
t_sandbox() {
	t_require_root
	if [ -z "${MAILGOV_SANDBOX:-}" ]; then
		MAILGOV_SANDBOX=1 exec unshare --mount --propagation private \
		    sh "$0" "$@"
	fi
	SANDBOX=$(mktemp -d /tmp/mailgov-sandbox.XXXXXX)
	cp -a /etc "$SANDBOX/etc"
	mount --bind "$SANDBOX/etc" /etc
	mount -t tmpfs -o mode=0755 tmpfs /var/spool
	# A copy (never a bind mount: $SANDBOX is removed at exit) of
	# dpkg's status, which make deps asks in the new-machine sandbox.
	cp /var/lib/dpkg/status "$SANDBOX/dpkg-status" 2>/dev/null
	mount -t tmpfs -o mode=0755 tmpfs /var/lib
	mkdir -p /var/lib/mailgov /var/lib/postfix
	chown postfix:postfix /var/lib/postfix 2>/dev/null || true
	# Test users: web UIDs, plus mailgovd's own user.
	for _u in $WEB1 $WEB2 $WEB3 $WEB4; do
		echo "mgweb$((_u - 64000)):x:$_u:$_u::/nonexistent:/usr/sbin/nologin" >> /etc/passwd
		echo "mgweb$((_u - 64000)):x:$_u:" >> /etc/group
	done
	if [ -n "${T_SANDBOX_NEW_MACHINE:-}" ]; then
		# As after a boot of a machine mailgov was never installed
		# on: an empty /run and /usr/local, no mailgov user, no
		# /var/lib/mailgov.  Network namespaces made later live in
		# this /run, inside this mount namespace.
		rmdir /var/lib/mailgov
		mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates
		cp "$SANDBOX/dpkg-status" /var/lib/dpkg/status
		mount -t tmpfs -o mode=0755 tmpfs /run
		mount -t tmpfs -o mode=0755 tmpfs /usr/local
		sed -i '/^mailgov:/d' /etc/passwd /etc/group /etc/shadow \
		    /etc/gshadow 2>/dev/null
	else
		mkdir -p /run/mailgov 2>/dev/null
		mount -t tmpfs -o mode=0755 tmpfs /run/mailgov
		if ! getent passwd mailgov >/dev/null; then
			echo "mailgov:x:64190:64190::/var/lib/mailgov:/usr/sbin/nologin" >> /etc/passwd
			echo "mailgov:x:64190:" >> /etc/group
		fi
		chown mailgov:mailgov /var/lib/mailgov /run/mailgov
	fi
	t_on_exit "rm -rf '$SANDBOX'"
	trap 't_cleanup' EXIT
	trap 't_cleanup; exit 1' INT TERM
}

# --- network namespaces --------------------------------------------------

# t_topology - two namespaces joined by a veth pair:
#   lab: the hosting server (web users, mailgovd, Postfix, the rules)
#        192.0.2.1/24, 198.51.100.1/24, 2001:db8::1/64
#   mx:  the remote MX and an exempt relay, running smtp-sink
#        192.0.2.25/24, 198.51.100.25/24, 2001:db8::25/64
# Sets LAB and MX to the namespace names.
t_topology() {
	LAB="mglab$$"
	MX="mgmx$$"
	ip netns add "$LAB" || return 1
	t_on_exit "ip netns del '$LAB'"
	t_on_exit "t_ns_kill '$LAB'"
	ip netns add "$MX" || return 1
	t_on_exit "ip netns del '$MX'"
	t_on_exit "t_ns_kill '$MX'"
	ip -n "$LAB" link set lo up
	ip -n "$MX" link set lo up
	ip link add "v$$a" netns "$LAB" type veth peer name "v$$b" netns "$MX"
	ip -n "$LAB" link set "v$$a" up
	ip -n "$MX" link set "v$$b" up
	ip -n "$LAB" addr add 192.0.2.1/24 dev "v$$a"
	ip -n "$LAB" addr add 198.51.100.1/24 dev "v$$a"
	ip -n "$LAB" addr add 2001:db8::1/64 dev "v$$a" nodad
	ip -n "$MX" addr add 192.0.2.25/24 dev "v$$b"
	ip -n "$MX" addr add 198.51.100.25/24 dev "v$$b"
	ip -n "$MX" addr add 2001:db8::25/64 dev "v$$b" nodad
	ip netns exec "$LAB" sysctl -qw net.ipv6.conf.all.disable_ipv6=0
}

# t_ns_kill NS - kill every process left in a namespace
t_ns_kill() {
	for _p in $(ip netns pids "$1" 2>/dev/null); do
		kill -9 "$_p" 2>/dev/null
	done
}

lab() { ip netns exec "$LAB" "$@"; }
mx() { ip netns exec "$MX" "$@"; }

# as_web UID CMD... - run CMD in the lab namespace as a web user
as_web() {
	_uid=$1; shift
	ip netns exec "$LAB" setpriv --reuid="$_uid" --regid="$_uid" \
	    --clear-groups "$@"
}

# t_sink NS ADDR:PORT DIR - smtp-sink that saves each message in DIR
t_sink() {
	mkdir -p "$3"
	chmod 0777 "$3"
	( cd "$3" && ip netns exec "$1" smtp-sink -u postfix -d "%M%S." \
	    "$2" 128 ) >/dev/null 2>&1 &
	t_wait 5 ip netns exec "$1" sh -c "ss -ltn | grep -q ':${2##*:} '"
}

# t_listen NS ADDR:PORT - a plain smtp-sink with no capture (counts only)
t_listen() {
	ip netns exec "$1" smtp-sink "$2" 128 >/dev/null 2>&1 &
	t_wait 5 ip netns exec "$1" sh -c "ss -ltn | grep -q ':${2##*:} '"
}

# t_config FILE [key = value lines on stdin] - a mailgov.conf for tests
t_config() {
	{
		echo "web_uids = $WEB_RANGE"
		echo "rules_dir = $TOP/rules"
		cat
	} > "$1"
}

# --- servers and clients in the lab -----------------------------------

# sink NS ADDR:PORT NAME - an smtp-sink whose greeting names it
sink() {
	ip netns exec "$1" smtp-sink -u postfix -h "$3" "$2" 128 \
	    >/dev/null 2>&1 &
	t_wait 5 ip netns exec "$1" sh -c "ss -ltn | grep -qF '${2%:*}:${2##*:} '"
}

# banner HOST PORT [UID|postfix] - the first line the server sends, as
# that user in the lab (root without a user)
banner() {
	_cmd="exec 3<>/dev/tcp/$1/$2 && head -1 <&3"
	case "${3:-}" in
	"") lab timeout 5 bash -c "$_cmd" ;;
	postfix) lab setpriv --reuid=postfix --regid=postfix --clear-groups \
	    timeout 5 bash -c "$_cmd" ;;
	*) as_web "$3" timeout 5 bash -c "$_cmd" ;;
	esac 2>&1 | tr -d '\r'
}
