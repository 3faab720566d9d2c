#!/bin/sh
# test_units - the systemd units, sysusers.d and tmpfiles.d files that make
# install ships: they parse (systemd-analyze verify), mailgovd.service
# stays sandboxed (systemd-analyze security --offline, which needs no
# running systemd), and sysusers.d and tmpfiles.d make the mailgov user
# and its directories in a scratch root.  Nothing here touches the host.

. "$(dirname "$0")/../lib.sh"

S=$(t_scratch)
UNITS="mailgovd.service mailgov-web-users.service mailgov-web-users.path"

# render - the units as make install writes them, naming this build's
# programs so that verify finds them
render() {
	for _u in "$TOP"/systemd/*.in; do
		sed -e "s|@SBINDIR@|$BUILD|g" -e "s|@BINDIR@|$BUILD|g" "$_u" \
		    > "$S/$(basename "$_u" .in)"
	done
}

need_systemd() {
	command -v systemd-analyze >/dev/null ||
	    t_fail "systemd-analyze is missing (make deps installs systemd)"
}

test_units_verify() {
	need_systemd || return
	render
	for _u in $UNITS; do
		_out=$(cd "$S" && systemd-analyze verify --man=no "$_u" 2>&1)
		[ -z "$_out" ] || t_fail "verify $_u: $_out" || return
	done
}

# exposure UNIT - systemd-analyze's overall exposure, as 10 times the
# number it prints (2.6 -> 26)
exposure() {
	systemd-analyze security --offline=true "$S/$1" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9]*\)\.\([0-9]\).*/\1\2/p'
}

test_mailgovd_service_is_sandboxed() {
	need_systemd || return
	render
	_e=$(exposure mailgovd.service)
	t_log "mailgovd.service exposure: $_e/10"
	[ -n "$_e" ] || t_fail "systemd-analyze security gave no exposure" ||
	    return
	# the example unit this replaced (Type=forking, no sandbox) was 9.6
	[ "$_e" -le 30 ] ||
	    t_fail "mailgovd.service exposure: expected at most 3.0, saw $_e/10"
}

test_web_users_service_is_sandboxed() {
	need_systemd || return
	render
	_e=$(exposure mailgov-web-users.service)
	t_log "mailgov-web-users.service exposure: $_e/10"
	[ -n "$_e" ] && [ "$_e" -le 35 ] ||
	    t_fail "mailgov-web-users.service exposure: expected at most 3.5, saw $_e/10"
}

test_mailgovd_service_is_type_notify() {
	t_match "Type=" '^Type=notify$' "$(grep '^Type=' "$TOP/systemd/mailgovd.service.in")" &&
	    t_match "ExecStart" '^ExecStart=@SBINDIR@/mailgovd -d$' \
	    "$(grep '^ExecStart=' "$TOP/systemd/mailgovd.service.in")"
}

test_sysusers_and_tmpfiles_make_the_user_and_directories() {
	command -v systemd-sysusers >/dev/null || need_systemd || return
	_r="$S/root"
	mkdir -p "$_r/etc"
	systemd-sysusers --root="$_r" "$TOP/systemd/mailgov.sysusers" \
	    >/dev/null 2>&1 || t_fail "systemd-sysusers failed" || return
	_pw=$(grep '^mailgov:' "$_r/etc/passwd")
	t_match "passwd entry" '^mailgov:x:[0-9]+:[0-9]+:[^:]*:/var/lib/mailgov:/usr/sbin/nologin$' "$_pw" ||
	    return
	_uid=$(echo "$_pw" | cut -d: -f3)
	systemd-tmpfiles --root="$_r" --create "$TOP/systemd/mailgov.tmpfiles" \
	    >/dev/null 2>&1 || t_fail "systemd-tmpfiles failed" || return
	t_eq "/var/lib/mailgov" "$_uid 750" \
	    "$(stat -c '%u %a' "$_r/var/lib/mailgov" 2>&1)" &&
	t_eq "/run/mailgov" "$_uid 755" \
	    "$(stat -c '%u %a' "$_r/run/mailgov" 2>&1)"
}

test_make_install_ships_units_and_pages() {
	_d="$S/dest"
	make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$_d" PREFIX=/usr \
	    SHAREDIR=/usr/share/mailgov install >/dev/null 2>"$S/err" ||
	    t_fail "make install: $(cat "$S/err")" || return
	for _f in lib/systemd/system/mailgovd.service \
	    lib/systemd/system/mailgov-web-users.path \
	    lib/systemd/system/mailgov-web-users.service \
	    lib/sysusers.d/mailgov.conf lib/tmpfiles.d/mailgov.conf \
	    share/man/man8/mailgovd.8 share/man/man8/mailgovctl.8 \
	    share/man/man5/mailgov.conf.5 share/man/man7/mailgov.7 \
	    share/man/man1/mailgov-sendmail.1; do
		[ -f "$_d/usr/$_f" ] || t_fail "make install: no /usr/$_f" ||
		    return
	done
	t_match "installed ExecStart" '^ExecStart=/usr/sbin/mailgovd -d$' \
	    "$(grep '^ExecStart=' "$_d/usr/lib/systemd/system/mailgovd.service")"
}

t_main "$@"
