#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# vm-init.sh - /init of the initramfs that scripts/vmtest.sh boots under qemu.
#
# Mounts the pseudo filesystems lockwatch needs, runs /lw/scripts/vm-tests.sh
# (the guest's tests) with each line of its output on the console after
# "VMTAP ", dumps the kernel log and reports the runner's exit status through
# console markers, then powers off. The host trusts only the markers: no
# marker means the guest failed.

/bin/busybox --install -s /bin
# the harness's GNU tools (date, pgrep, pkill, bash) before busybox's applets
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TMPDIR=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /tmp /run /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
# lockwatch's maps and ring buffer count against RLIMIT_MEMLOCK on old
# kernels (6.1 charges memcg, but be safe).
ulimit -l unlimited 2>/dev/null
hostname lockwatch-vm

exec </dev/console >/dev/console 2>&1

echo "VMTEST-START: $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "VMTEST-KERNEL: $(uname -r) $(uname -v)"
# line by line (shell builtins write each at once): a guest that stops
# midway still shows all it said
{
	bash /lw/scripts/vm-tests.sh
	echo $? >/tmp/vm-tests.rc
} 2>&1 | while IFS= read -r line; do
	echo "VMTAP $line"
done
rc=$(cat /tmp/vm-tests.rc 2>/dev/null || echo 1)
# The kernel log, for the host's scan for WARNING:/BUG:/Oops: with "quiet"
# on the command line the console shows only errors as they happen.
dmesg | sed 's/^/DMESG: /'
echo "VMTEST-EXIT: $rc"
sync
poweroff -f
# not reached; a panic=-1 kernel reboots, and qemu -no-reboot exits then
sleep 5
echo o >/proc/sysrq-trigger
