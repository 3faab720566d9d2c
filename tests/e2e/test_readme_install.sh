#!/bin/sh
# test_readme_install - the README's Install section, "From source", run
# word for word, as a new admin would, on a machine that never had
# mailgov: an empty /run (as after a boot), an empty /usr/local, no
# mailgov user and no /var/lib/mailgov.  The machine already runs Postfix
# and has PHP, as a hosting server does.  The commands are read from
# README.md itself, so the test fails as soon as the README and the code
# drift apart.  mailgovctl setup points PHP at the installed
# mailgov-sendmail, so PHP's mail() is sent with no option of the test's.
#
# The package steps of the same section are not run here: dpkg would
# install into this machine's own /usr, which the sandbox shares.
# tests/package/test_package.sh installs the package into a fresh root
# and runs its setup --dry-run (make check-package).
#
# `sudo` runs its command as root (the test is root); `sudoedit FILE` is
# the admin's edit: it sets web_uids in the installed mailgov.conf.  The
# source tree is a copy, so `make` and `make install` run as written.
# The tests run in file order and share what the install built.

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_postfix.sh"
T_SANDBOX_NEW_MACHINE=1
export T_SANDBOX_NEW_MACHINE
t_sandbox "$@"
t_topology || exit 1

D=$(t_scratch)
chmod 0755 "$D"
SRC="$D/mailgov"
SINK="$D/sink"
STEPS="$D/steps"
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# readme_steps - the commands of the README's "From source" block, one a
# line, comments dropped
readme_steps() {
	awk '/^##/{ f = ($0 == "### From source") ; next }
	    f && /^    / { sub(/^    /, ""); print }' "$TOP/README.md" |
	    grep -v '^#' | sed 's/[[:space:]]*#.*$//' | grep -v '^[[:space:]]*$'
}

# step LINE - one README line in the lab, in the source copy, as root
step() {
	lab env MAKEFLAGS=-j2 sh -ec '
	    sudo() { "$@"; }
	    sudoedit() { sed -i "s/^#web_uids = .*/web_uids = '"$WEB_RANGE"'/" "$1"; }
	    cd "$0"; eval "$1"' "$SRC" "$1"
}

# daemon_pid - the mailgovd running in the lab
daemon_pid() {
	for _p in $(ip netns pids "$LAB"); do
		[ "$(cat /proc/"$_p"/comm 2>/dev/null)" = mailgovd ] &&
		    echo "$_p" && return 0
	done
	return 1
}

test_readme_has_install_steps() {
	readme_steps > "$STEPS"
	t_log "$(cat "$STEPS")"
	_n=$(wc -l < "$STEPS")
	[ "$_n" -ge 5 ] || t_fail "expected the README's Install steps, saw $_n lines"
	grep -q '^sudo mailgovd' "$STEPS" ||
	    t_fail "the Install steps do not start mailgovd" || return
	grep -q 'sudo mailgovctl setup$' "$STEPS" ||
	    t_fail "the Install steps do not run mailgovctl setup"
}

test_install_steps_run_as_written() {
	mkdir -p "$SRC"
	tar -C "$TOP" --exclude='./build*' --exclude=./.git -cf - . |
	    tar -C "$SRC" -xf - || return
	[ ! -e /run/mailgov ] || t_fail "/run/mailgov exists before the install"
	# the machine's own mail: a running Postfix that relays to the MX
	pf_main_conf
	pf_start
	t_sink "$MX" 192.0.2.25:25 "$SINK" || t_fail "no MX"
	while IFS= read -r _line; do
		t_log "README: $_line"
		_out=$(step "$_line" 2>&1) || {
			t_fail "'$_line' failed: $(printf '%s' "$_out" | tail -5)"
			return 1
		}
	done < "$STEPS"
	daemon_pid >/dev/null || t_fail "mailgovd is not running"
}

test_runtime_directory_made_by_mailgovd() {
	[ -S /run/mailgov/control.sock ] || t_fail "no control socket"
	[ -S /run/mailgov/policy.sock ] || t_fail "no policy socket"
	t_eq "owner of /run/mailgov" "mailgov" "$(stat -c %U /run/mailgov)"
}

test_php_reads_setup_dropin() {
	t_eq "PHP's sendmail_path" \
	    "sendmail_path => /usr/local/bin/mailgov-sendmail -t -i => /usr/local/bin/mailgov-sendmail -t -i" \
	    "$(php -i | grep '^sendmail_path')"
}

test_php_mail_is_delivered_and_counted() {
	as_web "$WEB1" php \
	    -r 'exit(mail("x@example.net", "readme", "body",
		"From: site@lab.mailgov.test") ? 0 : 1);' ||
	    t_fail "PHP mail() failed"
	pf_wait_count 30 1 pf_sink_count "$SINK" || return
	t_wait 5 sh -c "ip netns exec '$LAB' mailgovctl usage mgweb1 --json |
	    grep -q '\"messages\":1,'" ||
	    t_fail "usage: $(lab mailgovctl usage mgweb1 2>&1)"
}

test_direct_socket_is_redirected() {
	_queue=$(banner 127.0.0.1 2525 | cut -d' ' -f1-2)
	_mx=$(banner 192.0.2.25 25 | cut -d' ' -f1-2)
	_web=$(banner 192.0.2.25 25 "$WEB1" | cut -d' ' -f1-2)
	t_match "the queue instance's banner" '^220 ' "$_queue" || return
	[ "$_queue" != "$_mx" ] || t_fail "queue and MX look alike: $_mx"
	t_eq "a web user's banner from the MX's address" "$_queue" "$_web"
}

test_daemon_runs_unprivileged() {
	_p=$(daemon_pid) || { t_fail "mailgovd is not running"; return; }
	t_eq "mailgovd's user" "mailgov" "$(ps -o user= -p "$_p")"
}

test_setup_undo_after_use() {
	_out=$(lab mailgovctl setup --undo 2>&1) ||
	    t_fail "setup --undo failed: $_out" || return
	[ ! -e /etc/php/$(php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')/cli/conf.d/99-mailgov.ini ] ||
	    t_fail "setup --undo left PHP's drop-in"
}

t_main
