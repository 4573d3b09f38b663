#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deb.sh [OUTDIR] - Debian packages of a built tree (`make deb` runs it):
#
#   lockwatch_VERSION_amd64.deb      what `make install PREFIX=/usr` lays out
#                                    (binary, man page, unit, journal catalog,
#                                    bash completion), its library dependencies
#                                    from dpkg-shlibdeps
#   lockwatch-dkms_VERSION_all.deb   the kernel module's source for DKMS, which
#                                    builds it for each installed kernel
#
# into OUTDIR (default .output/deb), built with dpkg-deb from the tree as it
# is: no debian/ folder, the control files written here.
set -eu
set -o pipefail

cd "$(dirname "$0")/.."
OUT=${1:-.output/deb}
VERSION=$(sed -n 's/^VERSION := //p' Makefile)
MAINTAINER="lockwatch developers <lockwatch@lists.debian.net>"
ARCH=$(dpkg --print-architecture)
DATE=$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")

[ -x lockwatch ] || { echo "deb.sh: run make first" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# copyright and changelog, as Debian policy wants them in every package
docs()
{
	local root=$1 pkg=$2 doc=$1/usr/share/doc/$2

	mkdir -p "$doc"
	cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: lockwatch

Files: *
Copyright: 2026 lockwatch developers
License: GPL-2
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in /usr/share/common-licenses/GPL-2.
EOF
	# a native package (no Debian revision): changelog.gz
	cat <<EOF | gzip -9n >"$doc/changelog.gz"
$pkg ($VERSION) unstable; urgency=medium

  * Built from the lockwatch tree (scripts/deb.sh).

 -- $MAINTAINER  $DATE
EOF
	chmod 0644 "$doc/copyright" "$doc/changelog.gz"
}

# DEBIAN/md5sums and the package itself
finish()
{
	local root=$1 name=$2

	(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
		xargs -0 md5sum >DEBIAN/md5sums)
	chmod 0644 "$root/DEBIAN/md5sums"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$OUT/$name" >/dev/null
	echo "$OUT/$name"
}

# --- lockwatch ---
root=$OUT/lockwatch
make -s install DESTDIR="$root" PREFIX=/usr >/dev/null
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$root/usr/sbin/lockwatch"
gzip -9n "$root/usr/share/man/man8/lockwatch.8"
docs "$root" lockwatch
mkdir -p "$root/DEBIAN" "$OUT/shlibs/debian"
# dpkg-shlibdeps reads debian/control from where it runs
printf 'Source: lockwatch\n\nPackage: lockwatch\nArchitecture: any\n' \
	>"$OUT/shlibs/debian/control"
depends=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O "$root/usr/sbin/lockwatch" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
cat >"$root/DEBIAN/control" <<EOF
Package: lockwatch
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Suggests: lockwatch-dkms
Section: devel
Priority: optional
Homepage: https://github.com/lockwatch/lockwatch
Description: deadlock detector for running processes
 lockwatch attaches to running processes (or the whole host, or a command
 it starts) with eBPF, keeps a live wait-for graph of threads, asyncio
 tasks and locks, and reports deadlocks, locks whose owner is gone,
 lock-order inversions, long waits and holds and stalled event loops as
 they happen, naming threads, tasks, locks and where each is stuck.
 Python (asyncio and threading) is read from unmodified CPython.
 .
 Alerts go to the terminal, JSON lines, the journal, syslog, a log file and
 a Prometheus metrics file; a systemd unit watches the whole host.
EOF
finish "$root" "lockwatch_${VERSION}_${ARCH}.deb"

# --- lockwatch-dkms ---
root=$OUT/lockwatch-dkms
src=$root/usr/src/lockwatch-$VERSION
mkdir -p "$src/kmod" "$root/DEBIAN"
install -m 0644 Kbuild "$src/Kbuild"
install -m 0644 kmod/Kbuild kmod/lockwatch.c kmod/parse.h "$src/kmod/"
cat >"$src/dkms.conf" <<EOF
PACKAGE_NAME="lockwatch"
PACKAGE_VERSION="$VERSION"
MAKE[0]="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build modules"
CLEAN="make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build clean"
BUILT_MODULE_NAME[0]="lockwatch"
BUILT_MODULE_LOCATION[0]="kmod/"
DEST_MODULE_LOCATION[0]="/updates/dkms"
AUTOINSTALL="yes"
EOF
chmod 0644 "$src/dkms.conf"
docs "$root" lockwatch-dkms
cat >"$root/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
	dkms add -m lockwatch -v $VERSION >/dev/null 2>&1 || true
	# every installed kernel with its headers
	dkms autoinstall >/dev/null 2>&1 || true
fi
EOF
cat >"$root/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] || [ "\$1" = upgrade ] || [ "\$1" = deconfigure ]; then
	dkms remove -m lockwatch -v $VERSION --all >/dev/null 2>&1 || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
cat >"$root/DEBIAN/control" <<EOF
Package: lockwatch-dkms
Version: $VERSION
Architecture: all
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: dkms
Recommends: lockwatch
Section: kernel
Priority: optional
Homepage: https://github.com/lockwatch/lockwatch
Description: deadlock detector for running processes - kernel module (DKMS)
 The optional kernel module of lockwatch: it publishes the wait-for graph
 lockwatch keeps under /sys/kernel/lockwatch. DKMS builds it for each
 installed kernel that has its headers.
EOF
finish "$root" "lockwatch-dkms_${VERSION}_all.deb"
