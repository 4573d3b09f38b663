#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmrt.t - the VM stage (vm.t) again on Debian 12's PREEMPT_RT kernel
# (linux-image-rt-amd64, 6.1-rt), where tracing programs may do less: before
# 6.1's BPF allocator such a kernel refused hash maps that allocate at run
# time (BPF_F_NO_PREALLOC, the waits, holds and orders maps) in tracing
# programs, and its tracepoints and uprobes run preemptible. The package is
# downloaded once (apt-get download, cached in .output/vm/cache), the module
# built against its headers (scripts/install-deps.sh installs them), then
# scripts/vmtest.sh boots it with lockwatch, the test programs and that
# module, and checks the guest runs that kernel. Its TAP is this file's TAP.
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=$ROOT/.output/vm/cache

bail()
{
	echo "TAP version 13"
	echo "Bail out! $1"
	exit 1
}

kdir=
for d in /usr/src/linux-headers-6.1.*-rt-amd64; do
	[ -d "$d" ] && kdir=$d
done
[ -n "$kdir" ] || bail "no linux-headers-6.1.*-rt-amd64 (scripts/install-deps.sh installs them)"
kver=${kdir#/usr/src/linux-headers-}

# the kernel package, once
mkdir -p "$CACHE"
deb=$(find "$CACHE" -maxdepth 1 -name "linux-image-${kver}_*_amd64.deb" | tail -n 1)
if [ -z "$deb" ]; then
	(cd "$CACHE" && apt-get download -q "linux-image-$kver") >"$CACHE/download-$kver.log" 2>&1 ||
		bail "apt-get download linux-image-$kver failed (see $CACHE/download-$kver.log)"
	deb=$(find "$CACHE" -maxdepth 1 -name "linux-image-${kver}_*_amd64.deb" | tail -n 1)
fi
[ -n "$deb" ] || bail "no linux-image-$kver package"

# the module, built against its headers in a tree of its own
build=$ROOT/.output/vm/kmod-$kver
rm -rf "$build" && mkdir -p "$build/kmod"
cp "$ROOT/Kbuild" "$build/" && cp "$ROOT/kmod/Kbuild" "$ROOT/kmod/lockwatch.c" "$ROOT/kmod/parse.h" "$build/kmod/"
make -C "$kdir" M="$build" modules >"$CACHE/kmod-$kver.log" 2>&1 ||
	bail "the module does not build against $kver: $(grep -m 3 -i error "$CACHE/kmod-$kver.log" | tr '\n' ' ')"

# --lock-order's tests take five times as long there as on the plain kernel
# (~27 s each under TCG, measured): 600 s for the whole guest run
VMTEST_TIMEOUT=${VMTEST_TIMEOUT:-800} VMTEST_KERNEL_DEB=$deb VMTEST_KO=$build/kmod/lockwatch.ko \
	exec "$ROOT/scripts/vmtest.sh"
