# tests/e2e/lib_rules.sh - helpers shared by the rules tests
# (test_rules_iptables.sh, test_rules_nftables.sh).  Sourced after
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
