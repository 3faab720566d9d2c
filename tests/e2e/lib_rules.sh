# tests/e2e/lib_rules.sh - helpers shared by the rules tests
# (test_rules_iptables.sh, test_rules_nftables.sh,
# test_attack_listeners.sh).  Sourced after
# tests/lib.sh; round_trip uses the sourcing file's CONF, DB and D.

# ruleset NS - a namespace's whole ruleset as nft lists it, and as
# iptables-save and ip6tables-save do, counters and timestamps left out
ruleset() {
	{
		ip netns exec "$1" nft list ruleset
		echo "# iptables-save"
		ip netns exec "$1" iptables-save
		ip netns exec "$1" ip6tables-save
	} 2>/dev/null | grep -v '^# [GC]' |
	    sed 's/counter packets [0-9]* bytes [0-9]*/counter/;s/\[[0-9]*:[0-9]*\]//'
}

# round_trip NAME SETUP CTL... - in a namespace of its own, prepared by the
# shell commands SETUP, run each mailgovctl command CTL ("rules install",
# "rules remove --backend nftables", ...); the ruleset before the first
# and after the last must read the same.  The namespace is deleted.
round_trip() {
	_name=$1
	_ns="mgrt$$$1"
	_setup=$2
	shift 2
	ip netns add "$_ns" || return 1
	if ! ip netns exec "$_ns" sh -ec "$_setup"; then
		ip netns del "$_ns"
		t_fail "$_name: setup failed"
		return 1
	fi
	_before=$(ruleset "$_ns")
	_bad=""
	for _cmd in "$@"; do
		# shellcheck disable=SC2086 # the command's words
		_out=$(ip netns exec "$_ns" "$MAILGOVCTL" --config "$CONF" \
		    --db "$DB" $_cmd 2>&1) || _bad="$_bad [$_cmd: $_out]"
		case "$_cmd" in
		*install*)
			ip netns exec "$_ns" iptables-save 2>/dev/null |
			    grep -q MAILGOV ||
			    ip netns exec "$_ns" nft list tables 2>/dev/null |
			    grep -q 'inet mailgov$' ||
			    _bad="$_bad [$_cmd: loaded nothing]"
			;;
		esac
	done
	_after=$(ruleset "$_ns")
	ip netns del "$_ns"
	[ -z "$_bad" ] || t_fail "mailgovctl failed:$_bad" || return 1
	[ "$_before" = "$_after" ] && return 0
	t_fail "ruleset after remove differs from before install:" \
	    "$(printf '%s\n' "$_before" > "$D/rt.before"
	    printf '%s\n' "$_after" > "$D/rt.after"
	    diff -u "$D/rt.before" "$D/rt.after" | tail -n +3 | tr '\n' '|')"
}

# --- web-group members -------------------------------------------------
# Users outside web_uids tied to the web group mgwebgrp, in the sandbox's
# /etc (call web_group_users after t_sandbox, and put "web_groups =
# mgwebgrp" in the configuration).  The group also lists root, postfix
# and mailgov, which must never become web users that way.
WEBGRP=64500	# mgwebgrp: no web UID's own group
SUPP=65001	# mgsupp: a supplementary member of mgwebgrp
PRIM=65002	# mgprim: mgwebgrp is its primary group
OTHER=65003	# mgother: no tie to mgwebgrp
LATER=65004	# mglater: made a member while the rules are loaded

web_group_users() {
	cat >> /etc/passwd <<EOP
mgsupp:x:$SUPP:$SUPP::/nonexistent:/usr/sbin/nologin
mgprim:x:$PRIM:$WEBGRP::/nonexistent:/usr/sbin/nologin
mgother:x:$OTHER:$OTHER::/nonexistent:/usr/sbin/nologin
mglater:x:$LATER:$LATER::/nonexistent:/usr/sbin/nologin
EOP
	cat >> /etc/group <<EOG
mgwebgrp:x:$WEBGRP:mgsupp,root,postfix,mailgov
mgsupp:x:$SUPP:
mgother:x:$OTHER:
mglater:x:$LATER:
EOG
}

# as_ids UID GID GROUPS CMD... - CMD in the lab as UID, with primary group
# GID and the supplementary groups GROUPS (a comma list; "" for none), as
# after login, sg or newgrp
as_ids() {
	_u=$1 _g=$2 _gs=$3
	shift 3
	if [ -n "$_gs" ]; then
		ip netns exec "$LAB" setpriv --reuid="$_u" --regid="$_g" \
		    --groups="$_gs" "$@"
	else
		ip netns exec "$LAB" setpriv --reuid="$_u" --regid="$_g" \
		    --clear-groups "$@"
	fi
}

# banner_ids HOST PORT UID GID GROUPS - the server's first line, as
# as_ids UID GID GROUPS
banner_ids() {
	as_ids "$3" "$4" "$5" timeout 5 bash -c \
	    "exec 3<>/dev/tcp/$1/$2 && head -1 <&3" 2>&1 | tr -d '\r'
}

# policy_port_refused - with the rules loaded and no mailgovd, a stand-in
# on the policy port 127.0.0.1:10040: a web user is reset there at once;
# root is not, nor postfix with the groups its daemons take (initgroups:
# mgwebgrp lists it, which makes it no web user)
policy_port_refused() {
	ip netns exec "$LAB" smtp-sink -u postfix -h policy.lab \
	    127.0.0.1:10040 8 >/dev/null 2>&1 &
	_sink=$!
	t_wait 5 lab sh -c "ss -ltn | grep -q '127.0.0.1:10040 '" ||
	    { kill "$_sink"; t_fail "no stand-in on 10040"; return 1; }
	_web=$(banner 127.0.0.1 10040 "$WEB1")
	_member=$(banner_ids 127.0.0.1 10040 "$SUPP" "$SUPP" "$WEBGRP")
	_root=$(banner 127.0.0.1 10040)
	_pf=$(banner_ids 127.0.0.1 10040 postfix postfix \
	    "$(id -G postfix | tr ' ' ,)")
	kill "$_sink"
	wait "$_sink" 2>/dev/null
	t_match "web user on the policy port" 'refused' "$_web" || return 1
	t_match "mgsupp on the policy port" 'refused' "$_member" || return 1
	t_match "root on the policy port" '^220 policy\.lab ' "$_root" ||
	    return 1
	t_match "postfix on the policy port" '^220 policy\.lab ' "$_pf"
}

# --- mailgovd --------------------------------------------------------------

# daemon_start - mailgovd in the lab with a database, sockets and log of
# its own (web_groups = mgwebgrp), the rules already loaded; sets DPID,
# DLOG and DSOCK (the policy service's unix socket).  Stop it with
# daemon_stop.
daemon_start() {
	_dd=$(t_scratch)
	chmod 0755 "$_dd"
	mkdir -p "$_dd/db"
	t_config "$_dd/mailgov.conf" <<EOC
web_groups = mgwebgrp
control_socket = $_dd/control.sock
policy_unix = $_dd/policy.sock
EOC
	DLOG="$_dd/mailgovd.log"
	DSOCK="$_dd/policy.sock"
	: > "$DLOG"
	ip netns exec "$LAB" "$MAILGOVD" -d -v -f "$_dd/mailgov.conf" \
	    --db "$_dd/db/mailgov.db" 2>>"$DLOG" &
	DPID=$!
	t_wait 5 grep -q 'started: queue' "$DLOG" && return 0
	cat "$DLOG" >&2
	kill "$DPID" 2>/dev/null
	t_fail "mailgovd did not start"
}

daemon_stop() {
	kill "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
}

# POLICY_REQUEST - a complete policy request, as the queue instance sends
POLICY_REQUEST='request=smtpd_access_policy
protocol_state=RCPT
protocol_name=ESMTP
client_address=127.0.0.1
client_name=localhost
sender=a@example.com
recipient=b@example.com
'

# policy_tcp UID GID GROUPS - the policy service's first answer line to
# POLICY_REQUEST on 127.0.0.1:10040, as as_ids UID GID GROUPS; empty when
# it hung up
policy_tcp() {
	as_ids "$1" "$2" "$3" timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10040 &&
	    printf "%s\n" "$0" >&3 && head -1 <&3' "$POLICY_REQUEST" 2>/dev/null
}

# policy_unix UID GID GROUPS - the same on the unix socket DSOCK
policy_unix() {
	as_ids "$1" "$2" "$3" timeout 5 php -r '
	    $s = @stream_socket_client("unix://" . $argv[1], $en, $es, 3);
	    if (!$s) { fwrite(STDERR, "connect: $es\n"); exit(1); }
	    fwrite($s, $argv[2] . "\n");
	    $l = fgets($s);
	    if ($l !== false) echo $l;
	' "$DSOCK" "$POLICY_REQUEST" 2>/dev/null
}
