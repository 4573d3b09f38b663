#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm612.t - the VM stage (vm.t) again on Debian 13's kernel, 6.12, which
# most Debian hosts now run: its package is downloaded in Debian 13's root
# (scripts/pychroot.sh trixie, cached outside the checkout), the module is
# built there against its headers, then scripts/vmtest.sh boots it with
# lockwatch, the test programs and that module. Its TAP is this file's TAP.
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$ROOT/.output/vm/cache

bail()
{
	echo "TAP version 13"
	echo "Bail out! $1"
	exit 1
}

root=$("$ROOT/scripts/pychroot.sh" trixie dkms linux-headers-amd64) ||
	bail "no Debian 13 root (scripts/pychroot.sh trixie; network?)"
kver=$(basename "$(ls -d "$root"/usr/src/linux-headers-6.12.*-amd64 2>/dev/null | tail -n 1)")
kver=${kver#linux-headers-}
case $kver in 6.12.*) ;; *) bail "no 6.12 headers in $root" ;; esac

# the kernel package, once
mkdir -p "$CACHE"
deb=$(find "$CACHE" -maxdepth 1 -name "linux-image-${kver}_*_amd64.deb" | tail -n 1)
if [ -z "$deb" ]; then
	rm -rf "$root/tmp/lwkernel" && mkdir -p "$root/tmp/lwkernel"
	chroot "$root" sh -c "cd /tmp/lwkernel && apt-get download -q linux-image-$kver" \
		>"$CACHE/download-$kver.log" 2>&1 || bail "apt-get download linux-image-$kver in trixie's root"
	mv "$root"/tmp/lwkernel/linux-image-"${kver}"_*_amd64.deb "$CACHE/"
	deb=$(find "$CACHE" -maxdepth 1 -name "linux-image-${kver}_*_amd64.deb" | tail -n 1)
fi
[ -n "$deb" ] || bail "no linux-image-$kver package"

# the module, built against its headers
build=$root/tmp/lwkmod
rm -rf "$build" && mkdir -p "$build/kmod"
cp "$ROOT/Kbuild" "$build/" && cp "$ROOT/kmod/Kbuild" "$ROOT/kmod/lockwatch.c" "$ROOT/kmod/parse.h" "$build/kmod/"
chroot "$root" make -C "/usr/src/linux-headers-$kver" M=/tmp/lwkmod modules \
	>"$CACHE/kmod-$kver.log" 2>&1 || bail "the module does not build against $kver: $(grep -m 3 -i error "$CACHE/kmod-$kver.log" | tr '\n' ' ')"
cp "$build/kmod/lockwatch.ko" "$ROOT/.output/vm/lockwatch-$kver.ko"

VMTEST_KERNEL_DEB=$deb VMTEST_KO=$ROOT/.output/vm/lockwatch-$kver.ko exec "$ROOT/scripts/vmtest.sh"
