#!/bin/sh
# rules_dir: without it mailgovctl renders the templates built into it, so
# `rules show` works from a build tree with nothing installed; with it, the
# admin's templates win; a rules_dir without them is a clear error.
. "$(dirname "$0")/lib_cli.sh"

# conf FILE [rules_dir] - a configuration with web users, and rules_dir
# only when given
conf() {
	echo "web_uids = $WEB_RANGE" > "$1"
	[ -z "${2:-}" ] || echo "rules_dir = $2" >> "$1"
}

# bare ARGS... - mailgovctl with no share directory at all: a private
# mount namespace hides /usr/local/share and /usr/share
bare() {
	unshare --mount sh -c 'mount -t tmpfs tmpfs /usr/local/share &&
	    mount -t tmpfs tmpfs /usr/share && exec "$@"' sh \
	    "$MAILGOVCTL" --db "$DB" --config "$CONF" "$@" \
	    >"$D/out" 2>"$D/err"
	RC=$?
	OUT=$(cat "$D/out")
	ERR=$(cat "$D/err")
}

test_show_needs_no_installed_templates() {
	setup
	conf "$CONF"
	bare rules show
	t_eq "status of rules show (iptables), stderr: $ERR" 0 "$RC" || return
	t_match "the rendered iptables rules" '^-A MAILGOV .*--uid-owner 64000-64099' "$OUT" ||
	    return
	bare rules show --backend nftables
	t_eq "status of rules show (nftables), stderr: $ERR" 0 "$RC" || return
	t_match "the rendered nft table" 'table inet mailgov' "$OUT"
}

test_builtin_is_the_source_tree_template() {
	setup
	conf "$CONF"
	ctl rules show
	_builtin=$OUT
	conf "$CONF" "$TOP/rules"
	ctl rules show
	t_eq "status with rules_dir = the source tree's rules" 0 "$RC" || return
	[ -n "$_builtin" ] && [ "$_builtin" = "$OUT" ] ||
	    t_fail "the built-in and rules/ render differently: $(printf '%s\n' "$_builtin" | diff - "$D/out" | head -5)"
}

test_rules_dir_overrides_the_builtin() {
	setup
	mkdir "$D/mine"
	cp "$TOP/rules/iptables.in" "$TOP/rules/nftables.in" "$D/mine/"
	sed -i 's/^\*nat$/# the admin'"'"'s own templates\n*nat/' "$D/mine/iptables.in"
	conf "$CONF" "$D/mine"
	bare rules show
	t_eq "status, stderr: $ERR" 0 "$RC" || return
	t_match "the admin's template" "^# the admin's own templates" "$OUT"
	conf "$CONF"
	bare rules show
	case "$OUT" in
	*"the admin's own"*) t_fail "without rules_dir the admin's template is still used" ;;
	esac
}

test_bad_rules_dir_is_a_clear_error() {
	setup
	conf "$CONF" "$D/nosuch"
	bare rules show
	t_eq "status" 1 "$RC" || return
	t_eq "message" "mailgovctl: $D/nosuch/iptables.in: No such file or directory (rules_dir in the configuration; without it the built-in templates are used)" "$ERR" ||
	    return
	t_eq "output" "" "$OUT"
	mkdir "$D/half"
	cp "$TOP/rules/iptables.in" "$D/half/"
	conf "$CONF" "$D/half"
	bare rules show --backend nftables
	t_eq "status with no nftables.in" 1 "$RC" || return
	t_match "message" "^mailgovctl: $D/half/nftables.in: No such file" "$ERR"
}

t_main "$@"
