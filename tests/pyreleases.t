#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pyreleases.t - the CPythons other Debian releases ship, each run in its own
# root (scripts/pychroot.sh: trixie's python3.13, sid's python3.14 and
# python3.15), in a mount namespace of its own with the checkout, the tests'
# temporary folder and /proc bound in: lockwatch reads them through /proc/PID/root and their
# maps. 3.13.5 is read with the 3.13 table: its asyncio deadlocks are found
# and named. 3.14 and 3.15 have no table yet: one line names the exact
# version, and a threading deadlock is still found by the native detector,
# as a hang of every thread.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built

PYHANG=$LW_ROOT/tests/pyhang.py

JQ_DEFS+='
def dl: dl_alerts[0];
def hangs: map(select(.kind == "hang"));
'

# in_root NAME SUITE PYTHON PACKAGE...: IN_ROOT=$LW_TMP/NAME, a python that
# runs PYTHON of SUITE in its root (built or brought up to date first).
in_root()
{
	local name=$1 suite=$2 py=$3 root

	shift 3
	root=$("$LW_ROOT/scripts/pychroot.sh" "$suite" "$@") ||
		tap_bail "scripts/pychroot.sh $suite $*: no $suite root (network? see its log)"
	# its own mount namespace: the binds go with it; exec keeps the pid
	cat >"$LW_TMP/$name" <<EOF
#!/bin/sh
exec unshare --mount --propagation private /bin/sh -c '
	mkdir -p "\$0$LW_ROOT" && mount --bind "$LW_ROOT" "\$0$LW_ROOT" &&
	mkdir -p "\$0$LW_TMP" && mount --bind "$LW_TMP" "\$0$LW_TMP" &&
	mount -t proc proc "\$0/proc" &&
	exec chroot "\$0" "$py" "\$@"' "$root" "\$@"
EOF
	chmod +x "$LW_TMP/$name"
	IN_ROOT=$LW_TMP/$name
}

version_of()
{
	"$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])'
}

# `check` of pyhang.py MODE under PY: exit 1, one deadlock-class alert.
check_mode()
{
	local py=$1 mode=$2 tag=$3 dir

	dir=$(lw_dir "$tag-$mode")
	HANG=$py hang_start "$tag-$mode" "$PYHANG" "$mode" || return 1
	lw_check "$dir" --json "$HANG_PID"
	hang_stop "$HANG_PID"
	t_rc "$dir" 1
	t_json_lines "$dir"
	DIR=$dir
}

test_trixie()
{
	local py=$1 v

	v=$(version_of "$py")
	t_begin "Debian trixie's Python $v, in its own root: the asyncio deadlocks, named"
	[ "${v%.*}" = 3.13 ] || t_fail "trixie's python3.13 is $v"
	check_mode "$py" store trixie &&
		t_jq "store: a self-deadlock of task rebuilder on Store._lock" "$DIR" \
			'(dl_alerts | length == 1) and
			 any(dl.cycle[]; .waiter.name == "rebuilder" and .waits_for.name == "Store._lock")'
	check_mode "$py" abba trixie &&
		t_jq "abba: tasks transfer-ab and transfer-ba over lock_a and lock_b" "$DIR" \
			'(dl_alerts | length == 1) and
			 ([dl.cycle[].waiter.name] | sort == ["transfer-ab", "transfer-ba"]) and
			 ([dl.cycle[].waits_for.name] | sort == ["lock_a", "lock_b"]) and
			 all(dl.cycle[]; .waits_for.type == "asyncio.Lock")'
	check_mode "$py" await trixie &&
		t_jq "await: tasks ping and pong await each other" "$DIR" \
			'(dl_alerts | length == 1) and ([dl.cycle[].waiter.name] | sort == ["ping", "pong"])'
	t_end
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

# one root per suite, with all its interpreters from the start
TRIXIE="python3.13 python3.13-dev"
SID="python3.14 python3.14-dev python3.15 python3.15-dev"

tap_plan 3
# shellcheck disable=SC2086 # package lists
in_root py3.13 trixie /usr/bin/python3.13 $TRIXIE
test_trixie "$IN_ROOT"
# shellcheck disable=SC2086
in_root py3.14 sid /usr/bin/python3.14 $SID
test_unsupported "$IN_ROOT"
# shellcheck disable=SC2086
in_root py3.15 sid /usr/bin/python3.15 $SID
test_unsupported "$IN_ROOT"
# the mount points made in the roots for this run's folder
for root in "${LW_CHROOT_DIR:-/var/cache/lockwatch/chroot}"/*/; do
	rmdir "$root${LW_TMP#/}" 2>/dev/null
done
tap_finish
