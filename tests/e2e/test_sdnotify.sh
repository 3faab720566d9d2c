#!/bin/sh
# test_sdnotify - mailgovd speaks systemd's notification protocol as
# mailgovd.service (Type=notify, WatchdogSec=) expects: READY=1 only once
# its listeners are up, WATCHDOG=1 from its timer when WATCHDOG_USEC asks
# for it and never otherwise, STOPPING=1 on SIGTERM.  A perl listener
# stands in for systemd's notification socket.  Both run in the lab
# namespace, whose processes the harness kills at the end; the tests run
# in file order and share the daemon the first one starts.
. "$(dirname "$0")/../lib.sh"
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
install -d -m 0755 "$D/db"
CONF="$D/mailgov.conf"
DB="$D/db/mailgov.db"
LOG="$D/mailgovd.log"
SOCK="$D/notify.sock"
GOT="$D/notified"
t_config "$CONF" <<EOF
control_socket = $D/run/control.sock
policy_unix = $D/run/policy.sock
EOF
chmod 0644 "$CONF"

# listen - the notification socket; each datagram becomes a line of $GOT
listen() {
	rm -f "$SOCK" "$GOT"
	: > "$GOT"
	lab perl -MIO::Socket::UNIX -e '
	    my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM,
		Local => $ARGV[0]) or die "$ARGV[0]: $!";
	    chmod 0777, $ARGV[0];	# mailgovd sends as its user
	    open(my $fh, ">>", $ARGV[1]) or die;
	    $fh->autoflush(1);
	    while (defined $s->recv(my $m, 256)) {
		print $fh "$m\n";
		last if $m eq "STOPPING=1";
	    }' "$SOCK" "$GOT" &
	t_wait 5 test -S "$SOCK"
}

# start ENV... - mailgovd in the foreground with these variables
start() {
	: > "$LOG"
	ip netns exec "$LAB" env NOTIFY_SOCKET="$SOCK" "$@" \
	    "$MAILGOVD" -d -f "$CONF" --db "$DB" 2>>"$LOG" &
	echo $! > "$D/pid"
}

stop() {
	_p=$(cat "$D/pid")
	kill "$_p" 2>/dev/null
	t_wait 10 sh -c "! kill -0 $_p 2>/dev/null"
}

count() { grep -c "^$1\$" "$GOT"; }

test_ready_once_the_listeners_are_up() {
	listen || t_fail "no notification socket" || return
	start WATCHDOG_USEC=2000000
	t_wait 10 grep -q '^READY=1$' "$GOT" ||
	    t_fail "no READY=1; log: $(cat "$LOG")" || return
	# READY means a client finds each listener at once
	lab ss -ltn | grep -q '127.0.0.1:10040 ' ||
	    t_fail "READY=1 before the policy port listens" || return
	[ -S "$D/run/policy.sock" ] && [ -S "$D/run/control.sock" ] ||
	    t_fail "READY=1 before the unix sockets exist" || return
	t_eq "READY=1 datagrams" 1 "$(count READY=1)"
}

test_watchdog_from_the_timer() {
	sleep 3
	_n=$(count WATCHDOG=1)
	[ "$_n" -ge 2 ] ||
	    t_fail "WATCHDOG_USEC=2 s: expected a WATCHDOG=1 a second, saw $_n in 3 s"
}

test_stopping_on_sigterm() {
	stop || t_fail "mailgovd did not stop" || return
	t_wait 5 grep -q '^STOPPING=1$' "$GOT" ||
	    t_fail "no STOPPING=1 after SIGTERM: $(cat "$GOT")"
}

test_no_watchdog_unless_asked() {
	listen || t_fail "no notification socket" || return
	start
	t_wait 10 grep -q '^READY=1$' "$GOT" ||
	    t_fail "no READY=1; log: $(cat "$LOG")" || return
	sleep 2.5
	t_eq "WATCHDOG=1 without WATCHDOG_USEC" 0 "$(count WATCHDOG=1)"
	stop
}

t_main "$@"
