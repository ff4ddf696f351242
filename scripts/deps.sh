#!/bin/sh
# Install the Debian packages s48 needs to build and test, only those missing.
# apt-get update runs only when something must be installed.
set -eu
PKGS="build-essential pkg-config libetpan-dev libgmime-3.0-dev libgnutls28-dev
libcurl4-gnutls-dev libsqlite3-dev libconfig-dev libjansson-dev libcmocka-dev
libsystemd-dev libytnef0-dev dovecot-imapd postfix sqlite3 tzdata curl openssl python3 valgrind strace
clang-14 libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		# python3 may come from elsewhere (pyenv): accept any on PATH
		if [ "$p" = python3 ] && command -v python3 >/dev/null 2>&1; then
			continue
		fi
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
# The packaged servers must not run as system services: tests start private ones.
for s in postfix dovecot; do
	$SUDO service "$s" stop >/dev/null 2>&1 || true
done
