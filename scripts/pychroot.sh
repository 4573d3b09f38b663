#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pychroot.sh SUITE PACKAGE... - a Debian SUITE ("trixie", "sid") root with
# PACKAGEs in it, for the tests that run other releases' interpreters
# (python3.13 from trixie, python3.14 and python3.15 from sid) without mixing
# releases on the host. Built once with debootstrap (minbase) and kept
# outside the checkout, in $LW_CHROOT_DIR (default /var/cache/lockwatch/
# chroot), one folder per suite; a later call with packages not in it yet
# adds them. Prints the root's path. Verified against the host's
# debian-archive-keyring; needs root and the network on the first call.
#
#   root=$(scripts/pychroot.sh sid python3.14 python3.14-dev)
#   chroot "$root" python3.14 -c 'import sys; print(sys.version)'
set -eu
set -o pipefail

[ $# -ge 2 ] || { echo "usage: $0 SUITE PACKAGE..." >&2; exit 2; }
suite=$1
shift
base=${LW_CHROOT_DIR:-/var/cache/lockwatch/chroot}
mirror=${LW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$base/$suite

case $suite in
*[!a-z0-9-]* | "") echo "$0: bad suite '$suite'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null ||
	{ echo "$0: debootstrap is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

mkdir -p "$base"
# one builder at a time, per suite
exec 9>"$base/.$suite.lock"
flock 9

missing()
{
	local p
	for p in "$@"; do
		[ -e "$root/var/lib/dpkg/info/$p.list" ] ||
			[ -e "$root/var/lib/dpkg/info/$p:amd64.list" ] || echo "$p"
	done
}

if [ ! -e "$root/.lockwatch-ready" ]; then
	rm -rf "$root.tmp"
	echo "pychroot: debootstrap $suite into $root (once)" >&2
	debootstrap --variant=minbase --include="$(IFS=,; echo "$*")" \
		--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
		"$suite" "$root.tmp" "$mirror" >"$base/$suite.log" 2>&1 ||
		{ tail -n 20 "$base/$suite.log" >&2; echo "$0: debootstrap $suite failed (log: $base/$suite.log)" >&2; exit 1; }
	touch "$root.tmp/.lockwatch-ready"
	rm -rf "$root"
	mv "$root.tmp" "$root"
fi

want=$(missing "$@")
if [ -n "$want" ]; then
	echo "pychroot: adding $(echo "$want" | tr '\n' ' ')to $suite" >&2
	# shellcheck disable=SC2086 # one package a word
	# a mirror that is a snapshot serves Release files past their
	# Valid-Until: their signatures are still checked
	chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get -o Acquire::Check-Valid-Until=false update -q &&
		 apt-get install -y -q --no-install-recommends $(echo $want)" \
		>>"$base/$suite.log" 2>&1 ||
		{ tail -n 20 "$base/$suite.log" >&2; echo "$0: apt-get in $suite failed" >&2; exit 1; }
fi
echo "$root"
