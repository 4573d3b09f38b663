#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# memcheck.t - lockwatch's `check` and `dump` under valgrind's memcheck: no
# invalid read or write, no use of an uninitialised value, no definite leak
# (valgrind exits 99 on any), on a C deadlock (the /proc and memory readers,
# libdw's unwinding and symbols) and on Python ones (the CPython reader).
# The whole suite under ASan and UBSan is `make check SANITIZE=1`.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock
command -v valgrind >/dev/null || tap_bail "valgrind missing (Debian package valgrind)"
# make check SANITIZE=1 builds lockwatch with ASan, which valgrind cannot run
! nm "$LW_BIN" 2>/dev/null | grep -q __asan_init ||
	tap_skip_all "lockwatch is built with ASan (make check SANITIZE=1): valgrind runs the plain build"

PY=${LW_PYTHON:-/usr/bin/python3.11}
PYHANG=$LW_ROOT/tests/pyhang.py
# a slow run: valgrind runs lockwatch some 20 times slower
LW_TIMEOUT=240

# lockwatch, as lw_run starts it, under memcheck
VG=$LW_TMP/vg-lockwatch
cat >"$VG" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \\
	--errors-for-leak-kinds=definite "$LW_BIN" "\$@"
EOF
chmod +x "$VG"

# t_clean DIR: valgrind said nothing (its lines start with ==PID==)
t_clean()
{
	! grep -q '^==[0-9]*==' "$1/err" || t_fail "valgrind: $(grep -m 3 '^==[0-9]*==' "$1/err" | tr '\n' ' ')"
}

test_check_c()
{
	local dir

	t_begin "check --json on a C deadlock, under valgrind: the cycle, nothing from memcheck"
	bg_start "$DL" abba
	wait_hung "$BG_PID" 3 || t_fail "deadlock abba did not hang"
	dir=$(lw_dir vg-check-c)
	LW_BIN=$VG lw_check "$dir" --json "$BG_PID"
	t_rc "$dir" 1
	t_clean "$dir"
	t_cycle "$dir" poster:mutex:journal:auditor auditor:mutex:ledger:poster
	t_jq "stacks symbolized: take_journal at deadlock.c" "$dir" \
		'any(alert.threads[].stack[]; .function == "take_journal" and (.file | endswith("deadlock.c")))'
	bg_stop "$BG_PID"
	t_end
}

test_check_python()
{
	local dir

	t_begin "check on an asyncio task waiting for its own lock, under valgrind: found, nothing from memcheck"
	HANG=$PY hang_start vg-store "$PYHANG" store || { t_end; return; }
	dir=$(lw_dir vg-check-py)
	LW_BIN=$VG lw_check "$dir" "$HANG_PID"
	t_rc "$dir" 1
	t_clean "$dir"
	t_grep "the task and its lock" "$dir" "asyncio.Lock"
	hang_stop "$HANG_PID"
	t_end
}

test_dump_python()
{
	local dir

	t_begin "dump --json of two Python threads in a lock cycle, under valgrind: every thread, nothing from memcheck"
	HANG=$PY hang_start vg-threads "$PYHANG" threads || { t_end; return; }
	dir=$(lw_dir vg-dump-py)
	LW_BIN=$VG lw_run "$dir" dump --json "$HANG_PID"
	t_rc "$dir" 1
	t_clean "$dir"
	t_jq "mover-ab and mover-ba are in the dump" "$dir" \
		'[.[] | select(.kind == "dump") | .threads[].name] | index("mover-ab") != null and
		 index("mover-ba") != null'
	hang_stop "$HANG_PID"
	t_end
}

tap_plan 3
test_check_c
test_check_python
test_dump_python
tap_finish
