#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pylayout.t - the offsets lockwatch reads CPython with (user/pylayout.c) are
# those of the interpreters' own internal headers, and so are the words of
# _Py_DebugOffsets it takes them from (3.13+): Debian's python3.11-dev
# always (tests/pylayout.c, built by make), trixie's python3.13-dev (3.13.5)
# and sid's python3.14-dev and python3.15-dev (in their roots;
# tests/lib-pyroot.sh), and the include/ of every other CPython 3.11, 3.12 or
# 3.13 install this machine has (pyenv's), built here.

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-pyroot.sh
. "$(dirname "$0")/lib-pyroot.sh"

lw_require_built pylayout

# t_layout NAME PROG: PROG's TAP, one line per offset, all "ok".
t_layout()
{
	local name=$1 prog=$2 out

	t_begin "CPython $name: lockwatch's layout table matches the headers"
	out=$("$prog" 2>&1)
	grep -q '^ok ' <<<"$out" || t_fail "no offset checked: $out"
	grep '^not ok' <<<"$out" | while read -r line; do tap_diag "$line"; done
	! grep -q '^not ok' <<<"$out" || t_fail "$(grep -c '^not ok' <<<"$out") offsets differ"
	t_end
}

OTHERS=()
for inc in /root/.pyenv/versions/3.1[123].*/include/python3.1[123]; do
	[ -f "$inc/internal/pycore_frame.h" ] && OTHERS+=("$inc")
done
# shellcheck disable=SC2086 # package lists
TRIXIE=$("$LW_ROOT/scripts/pychroot.sh" trixie $TRIXIE_PKGS) ||
	tap_bail "scripts/pychroot.sh trixie: no trixie root (network? see its log)"
# shellcheck disable=SC2086
SID=$("$LW_ROOT/scripts/pychroot.sh" sid $SID_PKGS) ||
	tap_bail "scripts/pychroot.sh sid: no sid root (network? see its log)"
OTHERS+=("$TRIXIE/usr/include/python3.13" "$SID/usr/include/python3.14" "$SID/usr/include/python3.15")
tap_plan $((1 + ${#OTHERS[@]}))
t_layout "3.11 (Debian's python3.11-dev)" "$LW_PROGS/pylayout"
for inc in "${OTHERS[@]}"; do
	prog=$LW_TMP/pylayout-${inc//\//_}
	# a root's own headers come after this system's (its pyconfig.h is
	# under its multiarch folder)
	cc -O1 -Wall -I"$LW_ROOT/user" -I"$inc" -idirafter "${inc%/python3.*}" \
		"$LW_ROOT/tests/pylayout.c" \
		"$LW_ROOT/user/source/python/pylayout.c" -o "$prog" 2>"$prog.err" || true
	[ -x "$prog" ] || prog="false compile failed: $(head -c 300 "$prog.err")"
	t_layout "${inc##*/} (${inc%/include/*})" "$prog"
done
tap_finish
