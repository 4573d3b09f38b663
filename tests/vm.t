#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm.t - everything again on a second kernel: boots Debian's 6.1 under qemu
# (scripts/vmtest.sh) with lockwatch, the test programs and kmod/lockwatch.ko,
# runs the detector tests and loads and unloads the module, and fails on any
# kernel warning. Its TAP is this file's TAP.
exec "$(dirname "$0")/../scripts/vmtest.sh"
