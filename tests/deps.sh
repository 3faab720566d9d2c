#!/bin/sh
# Installs every Debian package that building, testing, benchmarking and the
# demo need.  Idempotent and non-interactive: Postfix is preseeded to "No
# configuration", so installing it changes no mail setting of the machine.
# "deps.sh package" adds what make check-package needs: lintian, and
# mmdebstrap for the fresh Debian root.
set -eu
PKGS="build-essential pkg-config clang libnetfilter-queue-dev libmnl-dev
libsqlite3-dev libcap-ng-dev libcap-ng-utils sqlite3 iptables nftables
iproute2 util-linux procps psmisc postfix swaks php-cli postfwd valgrind
sasl2-bin mandoc man-db debhelper systemd tmux curl prometheus libhiredis-dev
redis-server"
if [ "${1:-}" = package ]; then
	PKGS="$PKGS lintian mmdebstrap"
fi

# dpkg-shlibdeps maps each library the programs link to its package by
# the package's file list; images that dropped those lists (a slimmed
# /var/lib/dpkg/info) get them back by a reinstall.
if [ "${1:-}" = package ]; then
	relist=""
	for p in libc6 libcap-ng0 libmnl0 libnetfilter-queue1 libsqlite3-0; do
		[ "$(dpkg-query -L "$p" 2>/dev/null | wc -l)" -gt 1 ] ||
		    relist="$relist $p"
	done
	if [ -n "$relist" ]; then
		echo "deps: restoring the file lists of$relist"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --reinstall $relist
	fi
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections
echo "postfix postfix/mailname string mailgov.test" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
