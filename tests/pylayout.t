#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pylayout.t - the offsets lockwatch reads CPython 3.11 with (user/pylayout.c)
# are those of Debian's python3.11-dev headers: tests/pylayout.c prints TAP.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

lw_require_built pylayout
"$LW_PROGS/pylayout"
