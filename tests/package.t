#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# package.t - `make deb`: lintian accepts both packages (no error, no
# warning); on Debian 12 (a root of its own, scripts/pychroot.sh) apt
# installs lockwatch with its dependencies, `lockwatch --version` runs and
# the unit, catalog and man page are where systemd, journalctl and man look,
# and it purges cleanly; lockwatch-dkms installs there too and DKMS builds
# the module against Debian 12's 6.1 headers, and in Debian 13's root
# against its 6.12 headers.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || tap_bail "needs root (chroot)"
command -v lintian >/dev/null || tap_bail "lintian missing (Debian package lintian)"

VERSION=$(sed -n 's/^VERSION := //p' "$LW_ROOT/Makefile")
DEBS=$LW_TMP/deb
ARCH=$(dpkg --print-architecture)

"$LW_ROOT/scripts/deb.sh" "$DEBS" >"$LW_TMP/deb.log" 2>&1 ||
	tap_bail "scripts/deb.sh: $(tail -n 3 "$LW_TMP/deb.log")"
BIN_DEB=$DEBS/lockwatch_${VERSION}_$ARCH.deb
DKMS_DEB=$DEBS/lockwatch-dkms_${VERSION}_all.deb

# in_root ROOT CMD...: CMD in ROOT, with a /proc of its own (dkms needs it)
in_root()
{
	local root=$1

	shift
	unshare --mount --propagation private /bin/sh -c '
		mount -t proc proc "$0/proc" &&
		exec chroot "$0" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"' "$root" "$@"
}

test_lintian()
{
	t_begin "lintian: no error, no warning on either package"
	lintian --suppress-tags package-supports-alternative-init-but-no-init.d-script \
		"$BIN_DEB" "$DKMS_DEB" >"$LW_TMP/lintian" 2>&1
	grep -E '^[EW]: ' "$LW_TMP/lintian" >"$LW_TMP/lintian.bad" &&
		t_fail "lintian: $(head -n 5 "$LW_TMP/lintian.bad" | tr '\n' ' ')"
	dpkg-deb -f "$BIN_DEB" Depends | grep -q "libbpf1" || t_fail "Depends lacks libbpf1"
	t_end
}

# install SUITE ROOT: both packages, with what they depend on
install_debs()
{
	local root=$1

	cp "$BIN_DEB" "$DKMS_DEB" "$root/tmp/" &&
		in_root "$root" apt-get install -y -q --no-install-recommends \
			"/tmp/$(basename "$BIN_DEB")" "/tmp/$(basename "$DKMS_DEB")" >"$LW_TMP/apt.log" 2>&1
}

# t_dkms ROOT KVER: DKMS builds the module for KVER in ROOT
t_dkms()
{
	local root=$1 kver=$2 ko

	in_root "$root" dkms build -m lockwatch -v "$VERSION" -k "$kver" >"$LW_TMP/dkms.log" 2>&1 ||
		t_fail "dkms build for $kver: $(grep -m 3 -i error "$LW_TMP/dkms.log" | tr '\n' ' ')"
	ko=$root/var/lib/dkms/lockwatch/$VERSION/$kver/$(uname -m)/module/lockwatch.ko
	[ -f "$ko" ] || ko=$(find "$root/var/lib/dkms/lockwatch/$VERSION/$kver" -name 'lockwatch.ko*' | head -n 1)
	[ -n "$ko" ] && [ -f "$ko" ] || t_fail "no lockwatch.ko built for $kver"
	[ -z "$ko" ] || modinfo -F vermagic "$ko" | grep -q "^$kver " ||
		t_fail "the module's vermagic is not $kver: $(modinfo -F vermagic "$ko")"
}

test_bookworm()
{
	local root kver

	t_begin "Debian 12: apt installs both, lockwatch runs, DKMS builds for 6.1, purge is clean"
	root=$("$LW_ROOT/scripts/pychroot.sh" bookworm procps dkms linux-headers-amd64 man-db) ||
		{ t_fail "no Debian 12 root (scripts/pychroot.sh bookworm; network?)"; t_end; return; }
	in_root "$root" dpkg -P lockwatch lockwatch-dkms >/dev/null 2>&1
	install_debs "$root" || t_fail "apt-get install: $(tail -n 3 "$LW_TMP/apt.log")"
	[ "$(in_root "$root" lockwatch --version 2>&1)" = "lockwatch $VERSION" ] ||
		t_fail "lockwatch --version in the root: $(in_root "$root" lockwatch --version 2>&1)"
	for f in /usr/lib/systemd/system/lockwatch.service /usr/lib/systemd/catalog/lockwatch.catalog \
		/usr/share/man/man8/lockwatch.8.gz /usr/share/bash-completion/completions/lockwatch; do
		[ -f "$root$f" ] || t_fail "$f not installed"
	done
	in_root "$root" man -w lockwatch 2>/dev/null | grep -q lockwatch.8 || t_fail "man -w lockwatch"
	kver=$(basename "$(ls -d "$root"/usr/src/linux-headers-6.1.*-amd64 | head -n 1)")
	kver=${kver#linux-headers-}
	case $kver in 6.1.*) t_dkms "$root" "$kver" ;; *) t_fail "no 6.1 headers in the root" ;; esac
	in_root "$root" dpkg -P lockwatch-dkms lockwatch >"$LW_TMP/purge.log" 2>&1 ||
		t_fail "dpkg -P: $(tail -n 3 "$LW_TMP/purge.log")"
	[ ! -e "$root/usr/sbin/lockwatch" ] && [ ! -d "$root/usr/src/lockwatch-$VERSION" ] &&
		[ ! -d "$root/var/lib/dkms/lockwatch" ] || t_fail "files left after purge"
	t_end
}

test_trixie()
{
	local root kver

	t_begin "Debian 13: DKMS builds the module against its 6.12 headers"
	root=$("$LW_ROOT/scripts/pychroot.sh" trixie dkms linux-headers-amd64) ||
		{ t_fail "no Debian 13 root (scripts/pychroot.sh trixie; network?)"; t_end; return; }
	in_root "$root" dpkg -P lockwatch-dkms >/dev/null 2>&1
	cp "$DKMS_DEB" "$root/tmp/" &&
		in_root "$root" apt-get install -y -q --no-install-recommends \
			"/tmp/$(basename "$DKMS_DEB")" >"$LW_TMP/apt.log" 2>&1 ||
		t_fail "apt-get install lockwatch-dkms: $(tail -n 3 "$LW_TMP/apt.log")"
	kver=$(basename "$(ls -d "$root"/usr/src/linux-headers-6.12.*-amd64 | head -n 1)")
	kver=${kver#linux-headers-}
	case $kver in 6.12.*) t_dkms "$root" "$kver" ;; *) t_fail "no 6.12 headers in the root" ;; esac
	in_root "$root" dpkg -P lockwatch-dkms >/dev/null 2>&1 || t_fail "dpkg -P lockwatch-dkms"
	t_end
}

tap_plan 3
test_lintian
test_bookworm
test_trixie
tap_finish
