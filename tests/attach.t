#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# attach.t - state at attach: "lockwatch check PID" and "lockwatch -p PID" on
# processes whose threads deadlocked before lockwatch started
# (tests/deadlock.c), so no event will ever come from them; a healthy busy
# process, one with 1000 threads (check answers within 1 s), processes that
# cannot be inspected, a deadlock inside a new PID namespace, and binaries
# the host cannot open by path (deleted, or in another mount namespace).

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock hang

ABBA_EDGES="poster:mutex:journal:auditor auditor:mutex:ledger:poster"

# t_tasks_of DIR PID: every thread the alert names is a thread of PID now
# (global TIDs, not TIDs of some other PID namespace).
t_tasks_of()
{
	local dir=$1 pid=$2 tid

	for tid in $(jq -s '.[] | select(.kind == "deadlock") | .cycle[] |
			.waiter.tid, .held_by.tid' "$dir/out" 2>/dev/null | sort -u); do
		[ -d "/proc/$pid/task/$tid" ] || t_fail "tid $tid in the alert is no thread of pid $pid"
	done
}

# t_still_hung PID N: lockwatch left the process as it was: N threads, asleep
# in futex(2), neither stopped nor traced.
t_still_hung()
{
	proc_hung "$1" "$2" || t_fail "pid $1 is no longer hung as before (stopped, traced or gone?)"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$1/status" 2>/dev/null ||
		t_fail "pid $1 is traced"
}

# One "deadlock abba" for the first three tests: check --json, check, -p.
start_abba()
{
	bg_start "$DL" abba
	ABBA_PID=$BG_PID
	wait_hung "$ABBA_PID" 3
}

test_check_json()
{
	local dir pid=$ABBA_PID

	dir=$(lw_dir check-json)
	t_begin "check --json PID: abba deadlocked before lockwatch started: exit 1, the cycle"
	proc_hung "$pid" 3 || t_fail "deadlock abba (pid $pid) did not hang"
	lw_check "$dir" --json "$pid"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_cycle "$dir" $ABBA_EDGES
	t_jq "alert: one process, pid $pid, comm deadlock" "$dir" \
		'alert.processes | length == 1 and .[0].pid == $p and .[0].comm == "deadlock"' \
		--argjson p "$pid"
	t_jq "cycle: lock key is anon:PID:ADDR" "$dir" \
		'all(alert.cycle[]; .waits_for.key == "anon:\(.waiter.pid):\(.waits_for.addr)")'
	t_frames "$dir" deadlock.c poster take_journal poster
	t_frames "$dir" deadlock.c auditor take_ledger auditor
	t_tasks_of "$dir" "$pid"
	t_still_hung "$pid" 3
	t_end
}

test_check_text()
{
	local dir pid=$ABBA_PID edge='thread [0-9]+ \(%s\) waits for mutex %s at 0x[0-9a-f]+, held by thread [0-9]+ \(%s\)'

	dir=$(lw_dir check-text)
	t_begin "check PID: the same deadlock in text, one DEADLOCK line"
	lw_check "$dir" "$pid"
	t_rc "$dir" 1
	[ "$(grep -c DEADLOCK "$dir/out")" -eq 1 ] || t_fail "not exactly one DEADLOCK line"
	# shellcheck disable=SC2059
	t_grep "edge poster -> journal -> auditor" "$dir" "$(printf "$edge" poster journal auditor)"
	# shellcheck disable=SC2059
	t_grep "edge auditor -> ledger -> poster" "$dir" "$(printf "$edge" auditor ledger poster)"
	t_grep "poster's stack" "$dir" 'take_journal'
	t_grep "file:line in the stacks" "$dir" 'deadlock\.c:[0-9]+'
	t_end
}

test_attach_after()
{
	local dir pid=$ABBA_PID

	dir=$(lw_dir attach-after)
	t_begin "-p PID attached after the deadlock formed: reported at once, exit 1"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -p "$pid"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_cycle "$dir" $ABBA_EDGES
	t_jq "alert: pid $pid" "$dir" 'alert.processes[0].pid == $p' --argjson p "$pid"
	t_jq "summary: deadlocks == 1" "$dir" 'summary.deadlocks == 1'
	t_frames "$dir" deadlock.c poster take_journal
	awk -v t="$(lw_elapsed "$dir")" 'BEGIN { exit !(t < 10) }' ||
		t_fail "took $(lw_elapsed "$dir") s: not reported at attach"
	t_still_hung "$pid" 3
	bg_stop "$pid"
	t_end
}

test_check_self()
{
	local dir pid

	dir=$(lw_dir check-self)
	t_begin "check PID --json: a self-deadlock is a cycle of one"
	bg_start "$DL" self
	pid=$BG_PID
	wait_hung "$pid" 2 || t_fail "deadlock self (pid $pid) did not hang"
	lw_check "$dir" "$pid" --json
	t_rc "$dir" 1
	t_cycle "$dir" rebuilder:mutex:store_lock:rebuilder
	t_jq "waiter and holder are the same thread" "$dir" \
		'alert.cycle[0] | .waiter.tid == .held_by.tid'
	t_frames "$dir" deadlock.c rebuilder store_set_hash store_rebuild
	bg_stop "$pid"
	t_end
}

test_check_pi()
{
	local dir pid

	dir=$(lw_dir check-pi)
	t_begin "check PID --json: a PI AB-BA that deadlocked before lockwatch started"
	bg_start "$DL" abba-pi
	pid=$BG_PID
	# poster in FUTEX_LOCK_PI, auditor parked by glibc after EDEADLK, main in join.
	wait_hung "$pid" 3 || t_fail "deadlock abba-pi (pid $pid) did not hang"
	lw_check "$dir" "$pid" --json
	t_rc "$dir" 1
	t_cycle "$dir" poster:pi_mutex:journal:auditor auditor:pi_mutex:ledger:poster
	t_frames "$dir" deadlock.c auditor take_ledger
	t_frames "$dir" deadlock.c poster take_journal
	t_tasks_of "$dir" "$pid"
	bg_stop "$pid"
	t_end
}

test_check_busy()
{
	local dir

	dir=$(lw_dir check-busy)
	t_begin "check PID --json: a healthy busy process: exit 0, no alert"
	hang_start busy busy 30
	lw_check "$dir" "$HANG_PID" --json
	t_rc "$dir" 0
	t_no_alert "$dir"
	[ -d "/proc/$HANG_PID" ] || t_fail "hang busy is gone"
	hang_stop "$HANG_PID"
	t_end
}

test_check_many()
{
	local dir ms tasks

	dir=$(lw_dir check-many)
	t_begin "check PID --json: 1000 threads, 500 blocked on a held lock: exit 0 within 1 s"
	if hang_start many many; then
		tasks=("/proc/$HANG_PID/task"/*)
		[ "${#tasks[@]}" -eq 1001 ] || t_fail "hang many has ${#tasks[@]} threads, not 1001"
		lw_check "$dir" "$HANG_PID" --json
		t_rc "$dir" 0
		t_json_lines "$dir"
		t_jq "no deadlock-class alert" "$dir" 'dl_alerts | length == 0'
		t_jq "it read them: 500 waiters on big_lock, held by a thread of it" "$dir" \
			'summary.blocked | map(select(.waits_for.name == "big_lock")) |
			 length == 1 and .[0].count == 500 and
			 .[0].waits_for.holder.pid == $p and .[0].waits_for.holder.tid > $p' \
			--argjson p "$HANG_PID"
		ms=$(lw_ms "$dir")
		echo "# check on 1001 threads took $ms ms"
		[ "$ms" -lt 1000 ] || t_fail "check took $ms ms (limit 1000)"
	fi
	hang_stop "$HANG_PID"
	t_end
}

# expect_check_error NAME PID: "check PID" exits 3 with one stderr line.
expect_check_error()
{
	local dir

	dir=$(lw_dir "err$((TAP_NUM + 1))")
	t_begin "$1"
	lw_check "$dir" "$2"
	t_rc "$dir" 3
	t_stderr_line "$dir" "$2"
	[ ! -s "$dir/out" ] || t_fail "stdout is not empty"
	t_end
}

# check_short NAME KIB PID: "check PID" under an address-space limit of KIB
# (what ulimit -v sets: malloc, the stack and libraries' maps fail there).
check_short()
{
	local dir

	dir=$(lw_dir "$1")
	run_cmd "$dir" "$LW_TIMEOUT" prlimit --as=$(($2 * 1024)) "$LW_BIN" check "$3"
	echo "$dir"
}

test_check_short_memory()
{
	local dir kib rc full=0 short=0 where pid

	if nm "$LW_BIN" 2>/dev/null | grep -q __asan_init; then
		# only under make check SANITIZE=1, never on CI
		tap_skip "check PID with too little memory" "ASan's shadow needs an unlimited address space"
		return
	fi
	t_begin "check PID with too little memory, at every limit from 20 to 72 MiB: the report or one line and exit 5, never a crash"
	bg_start "$DL" abba
	pid=$BG_PID
	wait_hung "$pid" 3 || t_fail "deadlock abba did not hang"
	for kib in $(seq 20480 1024 73728); do
		dir=$(check_short "short$kib" "$kib" "$pid")
		rc=$(cat "$dir/rc")
		where="at $kib KiB: exit $rc, $(tr '\n' '|' <"$dir/err" | cut -c1-200)"
		case $rc in
		1)	# all it found, as far as memory let it read
			grep -qE "DEADLOCK: 2 threads of pid $pid .* wait for each other" "$dir/out" &&
				grep -q '(poster) waits for mutex' "$dir/out" &&
				grep -q '(auditor) waits for mutex' "$dir/out" ||
				t_fail "$where, without the deadlock"
			grep -q 'take_journal' "$dir/out" && full=$((full + 1)) ;;
		5)	tail -n 1 "$dir/err" | grep -qE '^lockwatch: (out of memory|a library gave up)' ||
				t_fail "$where, without saying why"
			short=$((short + 1)) ;;
		127)	# the dynamic loader could not map a library: lockwatch never ran
			grep -q 'error while loading shared libraries' "$dir/err" ||
				t_fail "$where" ;;
		*)	t_fail "$where" ;;
		esac
	done
	echo "# $full runs reported the deadlock with stacks, $short ran out (exit 5)"
	[ "$full" -gt 0 ] || t_fail "no limit was large enough for a whole report"
	[ "$short" -gt 0 ] || t_fail "no limit was small enough to run out"
	bg_stop "$pid"
	t_end
}

test_check_unknown()
{
	local pid

	pid=$(unused_pid)
	expect_check_error "check $pid (no such process): exit 3" "$pid"
}

test_check_zombie()
{
	local zfile=$LW_TMP/zombie.pid zpid

	if ! zombie_start "$zfile"; then
		t_begin "check ZOMBIE: exit 3"
		t_fail "could not make a zombie"
		t_end
		bg_stop "$ZOMBIE_PARENT"
		return
	fi
	zpid=$(cat "$zfile")
	expect_check_error "check $zpid (a zombie): exit 3" "$zpid"
	bg_stop "$ZOMBIE_PARENT"
}

test_check_kthread()
{
	local pid

	if ! pid=$(kernel_thread); then
		tap_skip "check KTHREAD: exit 3" "no kernel thread visible in this PID namespace"
		return
	fi
	expect_check_error "check $pid (kernel thread $(cat "/proc/$pid/comm")): exit 3" "$pid"
}

# inner_pid PID: the child of PID (unshare) that runs deadlock.
inner_pid()
{
	pgrep -P "$1" -x deadlock
}

# shellcheck disable=SC2317 # called through wait_until
has_inner()
{
	inner_pid "$1" >/dev/null
}

test_check_pidns()
{
	local dir ns inner=

	dir=$(lw_dir check-pidns)
	t_begin "check PID --json: abba inside a new PID namespace (unshare --pid --fork)"
	bg_start unshare --pid --fork --mount-proc --kill-child "$DL" abba
	ns=$BG_PID
	if wait_until 10 has_inner "$ns"; then
		inner=$(inner_pid "$ns")
	fi
	if [ -z "$inner" ]; then
		t_fail "unshare did not start deadlock abba"
	else
		grep -Eq '^NSpid:[[:space:]]+'"$inner"'[[:space:]]+1$' "/proc/$inner/status" ||
			t_fail "pid $inner is not pid 1 of a new PID namespace"
		wait_hung "$inner" 3 || t_fail "deadlock abba (pid $inner) did not hang"
		lw_check "$dir" "$inner" --json
		t_rc "$dir" 1
		# shellcheck disable=SC2086
		t_cycle "$dir" $ABBA_EDGES
		t_jq "alert: one process, pid $inner (the host's PID)" "$dir" \
			'alert.processes | length == 1 and .[0].pid == $p' --argjson p "$inner"
		t_tasks_of "$dir" "$inner"
		kill -KILL "$inner" 2>/dev/null
	fi
	bg_stop "$ns"
	t_end
}

# A service upgraded while it hung: its binary on disk is gone, the mapped
# one is what the symbols and the unwind tables must come from.
test_check_deleted_exe()
{
	local dir pid bin=$LW_TMP/deadlock-old

	dir=$(lw_dir check-deleted-exe)
	t_begin "check PID --json: abba whose executable was deleted after it started"
	cp "$DL" "$bin"
	bg_start "$bin" abba
	pid=$BG_PID
	wait_hung "$pid" 3 || t_fail "deadlock abba (pid $pid) did not hang"
	rm -f "$bin"
	lw_check "$dir" "$pid" --json
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_cycle "$dir" $ABBA_EDGES
	t_frames "$dir" deadlock.c poster take_journal poster
	t_frames "$dir" deadlock.c auditor take_ledger auditor
	bg_stop "$pid"
	t_end
}

# in_mount_ns PID PATH: PID runs PATH (its comm is that of PATH).
# shellcheck disable=SC2317 # called through wait_until
in_mount_ns()
{
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$(basename "$2")" ]
}

# A container's binary: at a path that exists only in the process's own mount
# namespace, reachable from outside through /proc/PID/root.
test_check_mount_ns()
{
	local dir pid mnt=$LW_TMP/mnt

	dir=$(lw_dir check-mount-ns)
	if ! unshare --mount true 2>/dev/null; then
		tap_skip "check PID --json: abba in its own mount namespace" "unshare --mount not permitted"
		return
	fi
	t_begin "check PID --json: abba run from a tmpfs mounted in its own mount namespace"
	mkdir -p "$mnt"
	# unshare and sh exec: the PID ends up running deadlock itself.
	bg_start unshare --mount --propagation private sh -c \
		'mount -t tmpfs lw-test "$1" && cp "$2" "$1/deadlock" && exec "$1/deadlock" abba' \
		sh "$mnt" "$DL"
	pid=$BG_PID
	wait_until 10 in_mount_ns "$pid" "$mnt/deadlock" || t_fail "deadlock did not start"
	wait_hung "$pid" 3 || t_fail "deadlock abba (pid $pid) did not hang"
	[ ! -e "$mnt/deadlock" ] || t_fail "$mnt/deadlock is visible outside the namespace"
	lw_check "$dir" "$pid" --json
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_cycle "$dir" $ABBA_EDGES
	t_frames "$dir" deadlock.c poster take_journal poster
	t_frames "$dir" deadlock.c auditor take_ledger auditor
	bg_stop "$pid"
	t_end
}

tap_plan 14
start_abba
test_check_json
test_check_text
test_attach_after
test_check_self
test_check_pi
test_check_busy
test_check_many
test_check_short_memory
test_check_unknown
test_check_zombie
test_check_kthread
test_check_pidns
test_check_deleted_exe
test_check_mount_ns
tap_finish
