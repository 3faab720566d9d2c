#!/bin/sh
# test_package - the Debian package on a clean system: build it with
# dpkg-buildpackage from the tracked files, check it with lintian, make a
# fresh Debian 12 root with mmdebstrap from Debian's archive, dpkg -i the
# package there and let apt bring its dependencies, then check what the
# package says it ships: the programs run, the mailgov user and its
# directories exist, the units are installed and enabled, the man pages
# and conffiles are where they should be, and nothing of Postfix or the
# firewall changed; setup --dry-run names the package's paths.  Last,
# remove and purge it (which runs setup --undo).
#
# Needs root, network access to the archive, and about 2 minutes: run by
# make check-package, not make check.  Every command in the root runs in
# a mount and network namespace of its own (unshare), so /proc is mounted
# only for it, and iptables there sees an empty namespace, never the
# host's ruleset.  The tests run in file order and share the build and the
# root.

. "$(dirname "$0")/../lib.sh"
t_require_root

W=$(t_scratch)
R="$W/root"
SUITE=bookworm
MIRRORS="deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main"
PAGES="man1/mailgov-sendmail.1 man5/mailgov.conf.5 man7/mailgov.7
man8/mailgovctl.8 man8/mailgovd.8"

# in_root NETNS CMD... - CMD chrooted in the root with a /proc of its
# own, in a mount namespace (and with NETNS=--net a network namespace)
# of its own, so nothing stays mounted and nothing reaches the host's
# ruleset
in_root() {
	_net=$1
	shift
	unshare --mount $_net --propagation private sh -c '
	    mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$R" \
	    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}
inroot() { in_root --net "$@"; }
# inroot_net CMD... - with the host's network, for apt alone
inroot_net() { in_root "" "$@"; }

# timed NAME CMD... - run CMD, log how long it took
timed() {
	_n=$1; shift
	_t0=$(date +%s)
	"$@"
	_rc=$?
	echo "$_n $(( $(date +%s) - _t0 ))" >> "$W/times"
	t_log "$_n took $(( $(date +%s) - _t0 )) s"
	return $_rc
}

# source_tree DIR - the tracked files as they are in the work tree
source_tree() {
	mkdir -p "$1"
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$TOP" ls-files -z | tar -C "$TOP" --null -T - -cf - |
		    tar -C "$1" -xf -
	else
		tar -C "$TOP" --exclude='./build*' -cf - . | tar -C "$1" -xf -
	fi
}

deb() { ls "$W"/mailgov_*_amd64.deb 2>/dev/null | head -1; }

test_package_builds() {
	source_tree "$W/src" || t_fail "cannot copy the source tree" || return
	( cd "$W/src" && timed build dpkg-buildpackage -us -uc -b ) \
	    > "$W/build.log" 2>&1 ||
	    t_fail "dpkg-buildpackage failed: $(grep -i error "$W/build.log" | tail -3)" ||
	    return
	[ -n "$(deb)" ] || t_fail "no mailgov_*_amd64.deb in $(ls "$W")"
}

test_lintian_shows_no_errors() {
	[ -n "$(deb)" ] || t_fail "no package was built" || return
	lintian -I --pedantic "$W"/mailgov_*_amd64.changes > "$W/lintian.log" 2>&1
	echo "# lintian: $(grep -v 'root privileges' "$W/lintian.log" | tr '\n' ' ')"
	! grep -q '^E:' "$W/lintian.log" ||
	    t_fail "lintian errors: $(grep '^E:' "$W/lintian.log" | tr '\n' ' ')"
}

test_conffiles_are_marked() {
	[ -n "$(deb)" ] || t_fail "no package was built" || return
	t_eq "conffiles" "/etc/mailgov/mailgov.conf" \
	    "$(dpkg-deb --ctrl-tarfile "$(deb)" | tar -xOf - ./conffiles)"
}

test_fresh_root_is_made() {
	timed mmdebstrap mmdebstrap --variant=important --components=main \
	    "$SUITE" "$R" "$MIRRORS" > "$W/mmdebstrap.log" 2>&1 ||
	    t_fail "mmdebstrap: $(tail -3 "$W/mmdebstrap.log")" || return
	t_match "the root's release" '^12' "$(cat "$R/etc/debian_version")"
}

# install_deb - dpkg -i, which leaves the package unconfigured for want
# of its dependencies, then apt brings them from the archive
install_deb() {
	inroot_net apt-get update -q || return
	inroot dpkg -i /tmp/mailgov.deb
	inroot_net apt-get install -f -y -q
}

test_package_installs_with_its_dependencies() {
	[ -n "$(deb)" ] && [ -d "$R/usr" ] ||
	    t_fail "no package or no root" || return
	cp "$(deb)" "$R/tmp/mailgov.deb"
	# Postfix as make deps installs it: no configuration of its own
	echo "postfix postfix/main_mailer_type select No configuration" |
	    inroot debconf-set-selections
	timed install install_deb > "$W/install.log" 2>&1
	t_eq "status" "install ok installed" \
	    "$(inroot dpkg-query -W -f='${Status}' mailgov 2>&1)" || return
	grep -q "mailgovctl setup --dry-run" "$W/install.log" ||
	    t_fail "postinst did not print the admin's next steps"
}

test_programs_run() {
	_out=$(inroot mailgovctl --help 2>&1) ||
	    t_fail "mailgovctl --help exited $?: $_out" || return
	t_match "mailgovctl --help" '^usage: mailgovctl' "$_out" || return
	_out=$(inroot mailgovd -h 2>&1) ||
	    t_fail "mailgovd -h exited $?: $_out" || return
	t_match "mailgovd -h" '^usage: mailgovd' "$_out" || return
	inroot mailgov-sendmail </dev/null >/dev/null 2>&1
	t_eq "mailgov-sendmail without recipients" 64 "$?" || return
	# the templates built in (and a copy where the package says)
	[ -f "$R/usr/share/mailgov/rules/iptables.in" ] ||
	    t_fail "no /usr/share/mailgov/rules/iptables.in" || return
	_out=$(inroot mailgovctl rules show 2>&1) ||
	    t_fail "mailgovctl rules show exited $?: $_out" || return
	t_match "rules show" 'NFQUEUE' "$_out"
}

test_user_and_directories_exist() {
	_pw=$(inroot getent passwd mailgov)
	t_match "passwd" '^mailgov:x:[0-9]+:[0-9]+:[^:]*:/var/lib/mailgov:/usr/sbin/nologin$' "$_pw" ||
	    return
	t_eq "/var/lib/mailgov" "mailgov mailgov 750" \
	    "$(inroot stat -c '%U %G %a' /var/lib/mailgov 2>&1)"
}

test_units_are_installed_and_enabled() {
	for _u in mailgovd.service mailgov-web-users.path \
	    mailgov-web-users.service; do
		[ -f "$R/lib/systemd/system/$_u" ] ||
		    t_fail "no /lib/systemd/system/$_u" || return
	done
	for _u in mailgovd.service mailgov-web-users.path; do
		[ -L "$R/etc/systemd/system/multi-user.target.wants/$_u" ] ||
		    t_fail "$_u is not enabled" || return
	done
	t_match "ExecStart" '^ExecStart=/usr/sbin/mailgovd -d$' \
	    "$(grep '^ExecStart=' "$R/lib/systemd/system/mailgovd.service")" ||
	    return
	_out=$(inroot systemd-analyze verify --man=no \
	    /lib/systemd/system/mailgovd.service \
	    /lib/systemd/system/mailgov-web-users.path 2>&1) ||
	    t_fail "systemd-analyze verify: $_out"
	[ -f "$R/usr/lib/sysusers.d/mailgov.conf" ] &&
	    [ -f "$R/usr/lib/tmpfiles.d/mailgov.conf" ] ||
	    t_fail "no sysusers.d or tmpfiles.d file"
}

test_man_pages_are_installed() {
	for _p in $PAGES; do
		_f="$R/usr/share/man/$_p.gz"
		[ -f "$_f" ] || t_fail "no /usr/share/man/$_p.gz" || return
		inroot dpkg -L mailgov | grep -qx "/usr/share/man/$_p.gz" ||
		    t_fail "dpkg -L mailgov does not list $_p.gz" || return
		if command -v man >/dev/null; then
			MANWIDTH=80 man -l "$_f" 2>&1 | grep -q '^NAME' ||
			    t_fail "man -l $_p.gz renders no NAME" || return
		fi
	done
}

test_postfix_and_rules_untouched() {
	for _f in /etc/postfix-mailgov /etc/postfix/mailgov-web-users \
	    /etc/postfix/mailgov-saved /etc/postfix/main.cf; do
		[ ! -e "$R$_f" ] || t_fail "the install made $_f" || return
	done
}

# setup --dry-run on the package's paths: PHP is pointed at the
# package's mailgov-sendmail, and nothing changes.  The root's Postfix
# has no main.cf ("No configuration"): Debian's own is put there for it,
# and taken away after.  postconf wants an interface up: the namespace's
# loopback.
test_setup_dry_run_uses_the_package_paths() {
	cp "$R/usr/share/postfix/main.cf.debian" "$R/etc/postfix/main.cf" &&
	    mkdir -p "$R/etc/php/8.2/cli/conf.d" ||
	    t_fail "cannot prepare the root" || return
	_out=$(inroot sh -c 'ip link set lo up && mailgovctl setup --dry-run' 2>&1)
	_rc=$?
	rm -f "$R/etc/postfix/main.cf"
	rm -r "$R/etc/php"
	t_log "$_out"
	t_eq "setup --dry-run status" 0 "$_rc" || return
	t_match "the drop-in" '^    sendmail_path = "/usr/bin/mailgov-sendmail -t -i"$' \
	    "$_out" || return
	[ ! -e "$R/etc/postfix-mailgov" ] ||
	    t_fail "setup --dry-run made /etc/postfix-mailgov"
}

test_remove_keeps_the_configuration() {
	inroot dpkg -r mailgov > "$W/remove.log" 2>&1 ||
	    t_fail "dpkg -r: $(tail -3 "$W/remove.log")" || return
	grep -q "Purging the package" "$W/remove.log" ||
	    t_fail "prerm did not say the rules and Postfix stay" || return
	[ -f "$R/etc/mailgov/mailgov.conf" ] ||
	    t_fail "remove deleted the conffile" || return
	[ -x "$R/var/lib/mailgov/purge/mailgovctl" ] ||
	    t_fail "no copy of mailgovctl kept for the purge"
}

test_purge_removes_everything() {
	inroot dpkg --purge mailgov > "$W/purge.log" 2>&1 ||
	    t_fail "dpkg --purge: $(tail -3 "$W/purge.log")" || return
	grep -q "undoing mailgovctl setup" "$W/purge.log" &&
	    grep -q "nothing was set up; nothing changed" "$W/purge.log" ||
	    t_fail "postrm did not run setup --undo: $(tail -5 "$W/purge.log")" ||
	    return
	for _f in /etc/mailgov /var/lib/mailgov /usr/sbin/mailgovd; do
		[ ! -e "$R$_f" ] || t_fail "purge left $_f" || return
	done
}

test_report_times() {
	[ -s "$W/times" ] || t_fail "nothing was timed" || return
	t_log "seconds: $(tr '\n' ' ' < "$W/times")"
	echo "# times (s): $(tr '\n' ' ' < "$W/times")"
}

t_main "$@"
