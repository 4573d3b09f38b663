#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pyreleases.t - the CPythons Debian sid ships (python3.14, python3.15), each
# run in its own root (tests/lib-pyroot.sh). They have no table yet: one line
# names the exact version, and a threading deadlock is still found by the
# native detector, as a hang of every thread. (Trixie's 3.13 is read, and
# tested in python.t.)

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"
# shellcheck source=tests/lib-pyroot.sh
. "$(dirname "$0")/lib-pyroot.sh"

lw_require_root_bpf
lw_require_built

PYHANG=$LW_ROOT/tests/pyhang.py

JQ_DEFS+='
def dl: dl_alerts[0];
def hangs: map(select(.kind == "hang"));
'

version_of()
{
	"$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'
}

test_unsupported()
{
	local py=$1 v dir

	v=$(version_of "$py")
	t_begin "Debian sid's Python $v, in its own root: named once as unsupported, its threading deadlock still a hang"
	HANG=$py hang_start "sid-$v" "$PYHANG" threads || { t_end; return; }
	dir=$(lw_dir "sid-$v-check")
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 0
	t_stderr_line "$dir" "pid $HANG_PID: unsupported Python ${v//./\\.}: .*native locks still are"
	t_no_alert "$dir"
	dir=$(lw_dir "sid-$v-watch")
	lw_run "$dir" --json --duration 8 -p "$HANG_PID"
	hang_stop "$HANG_PID"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "one hang of its three threads, mover-ab and mover-ba among them" "$dir" \
		'(hangs | length == 1) and (hangs[0].waits | length == 3) and
		 ([hangs[0].waits[].waiter.name] | index("mover-ab") and index("mover-ba"))'
	t_end
}

tap_plan 2
# shellcheck disable=SC2086 # package lists
in_root py3.14 sid /usr/bin/python3.14 $SID_PKGS
test_unsupported "$IN_ROOT"
# shellcheck disable=SC2086
in_root py3.15 sid /usr/bin/python3.15 $SID_PKGS
test_unsupported "$IN_ROOT"
roots_clean
tap_finish
