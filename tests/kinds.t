#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kinds.t - every kind of wait real programs hang in (tests/hang.c), found in
# processes already hung when "lockwatch check PID" arrives: rwlock writers
# AB-BA, threads joining each other, a thread joining a worker that needs the
# mutex it holds, a lock whose owner exited.  True negatives, by "check" and
# by watching: threads parked for seconds on a barrier and a semaphore, a
# robust mutex recovered after its owner died, and (watching only) a process
# that forges mutex owners with other processes' TIDs and garbage.  The three
# watched runs go in the background first; the checks run beside them.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built hang

WATCHED="barrier-sem robust forged"
WATCH_SECS=5

# --- deadlocks found by check ---

# check_deadlock MODE EDGE...: "check PID --json" on "hang MODE" once hung
# exits 1 and reports exactly the cycle EDGE... (see t_cycle).
check_deadlock()
{
	local mode=$1

	shift
	CHECK_DIR=$(lw_dir "check-$mode")
	hang_start "$mode" "$mode"
	lw_check "$CHECK_DIR" "$HANG_PID" --json
	t_rc "$CHECK_DIR" 1
	t_cycle "$CHECK_DIR" "$@"
	t_jq "alert: one process, pid $HANG_PID, comm hang" "$CHECK_DIR" \
		'alert.processes | length == 1 and .[0].pid == $p and .[0].comm == "hang"' \
		--argjson p "$HANG_PID"
}

test_rwlock_abba()
{
	t_begin "rwlock-abba: two writers, two rwlocks in opposite order: exit 1, the cycle"
	check_deadlock rwlock-abba north:rwlock:inventory:south \
		south:rwlock:catalog:north
	t_frames "$CHECK_DIR" hang.c north restock_inventory north
	t_frames "$CHECK_DIR" hang.c south update_catalog south
	hang_stop "$HANG_PID"
	t_end
}

test_join_each_other()
{
	t_begin "join-each-other: two threads joining each other: a cycle of 2 thread_exit waits"
	check_deadlock join-each-other left:thread_exit:right:right \
		right:thread_exit:left:left
	t_frames "$CHECK_DIR" hang.c left wait_for_right
	t_frames "$CHECK_DIR" hang.c right wait_for_left
	hang_stop "$HANG_PID"
	t_end
}

test_join_holding()
{
	t_begin "join-holding: owner joins worker holding registry, which worker waits for"
	check_deadlock join-holding owner:thread_exit:worker:worker \
		worker:mutex:registry:owner
	t_frames "$CHECK_DIR" hang.c owner wait_for_worker owner
	t_frames "$CHECK_DIR" hang.c worker register_entry worker
	hang_stop "$HANG_PID"
	t_end
}

test_orphan()
{
	local dir pid leaker

	dir=$(lw_dir check-orphan)
	t_begin "orphan: config_lock held by a thread that exited: exit 1, orphaned_lock"
	hang_start orphan orphan
	pid=$HANG_PID
	leaker=${HANG_NRS[1]:-0}
	[ ! -d "/proc/$pid/task/$leaker" ] || t_fail "the leaker ($leaker) still runs"
	lw_check "$dir" "$pid" --json
	t_rc "$dir" 1
	t_json_lines "$dir"
	t_jq "exactly one orphaned_lock alert, no deadlock alert" "$dir" \
		'(orphans | length) == 1 and (alerts | length) == 0'
	t_jq "alert: summary is text" "$dir" 'orphan.summary | type == "string" and length > 0'
	t_jq "processes: pid $pid" "$dir" \
		'orphan.processes | length == 1 and .[0].pid == $p' --argjson p "$pid"
	t_jq "waits: exactly one (the reader)" "$dir" 'orphan.waits | length == 1'
	t_jq "waits: thread reader waits for mutex config_lock" "$dir" \
		'orphan.waits[0] | .waiter.type == "thread" and .waiter.name == "reader" and
		 .waiter.pid == $p and (.waiter.tid | type == "number") and
		 .waits_for.type == "mutex" and .waits_for.name == "config_lock" and
		 (.waits_for.addr | test("^0x[0-9a-f]+$"))' --argjson p "$pid"
	t_jq "waits: held by thread $leaker (leaker), exited" "$dir" \
		'orphan.waits[0].held_by | .type == "thread" and .pid == $p and .tid == $l and
		 .exited == true and (.name == "leaker" or .name == "")' \
		--argjson p "$pid" --argjson l "$leaker"
	t_jq "locks: config_lock, holder $leaker" "$dir" \
		'any(orphan.locks[]; .name == "config_lock" and .type == "mutex" and
		     .holder.pid == $p and .holder.tid == $l)' --argjson p "$pid" --argjson l "$leaker"
	t_jq "threads: the reader" "$dir" 'any(orphan.threads[]; .name == "reader")'
	t_frames "$dir" hang.c reader read_config reader
	hang_stop "$pid"
	t_end
}

# --- true negatives by check, at the moments that look worst ---

# parked PID PREFIX N: at least N threads whose name starts with PREFIX sleep
# in futex(2).
# shellcheck disable=SC2317 # called through wait_until
parked()
{
	local pid=$1 prefix=$2 n=$3 t count=0

	for t in /proc/"$pid"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		"$prefix"*) task_blocked "$pid" "${t##*/}" && count=$((count + 1)) ;;
		esac
	done
	[ "$count" -ge "$n" ]
}

# check_negative MODE PREFIX N: three times, once N PREFIX* threads are
# parked, "check PID --json" on "hang MODE" exits 0 with no alert.
check_negative()
{
	local mode=$1 prefix=$2 n=$3 i dir

	hang_start "check-$mode" "$mode" 5
	for i in 1 2 3; do
		dir=$(lw_dir "check-$mode-$i")
		wait_until 5 parked "$HANG_PID" "$prefix" "$n" ||
			t_fail "check $i: $n $prefix* threads never parked in futex(2)"
		lw_check "$dir" "$HANG_PID" --json
		t_rc "$dir" 0
		t_no_alert "$dir"
		sleep 0.7
	done
	hang_stop "$HANG_PID"
}

test_check_barrier_sem()
{
	t_begin "barrier-sem: check while 4 workers are parked on a semaphore or barrier: exit 0"
	check_negative barrier-sem worker- 4
	t_end
}

test_check_robust()
{
	t_begin "robust: check while heir waits for a robust mutex its owner dies holding: exit 0"
	check_negative robust heir 1
	t_end
}

# --- true negatives by watching ---

watch_start()
{
	local mode

	for mode in $WATCHED; do
		# room to end on its own (barrier-sem ends its 2.4 s round), so
		# that its self-check's status is the one lockwatch passes on
		LW_TIMEOUT=$((WATCH_SECS + 40)) lw_run "$(lw_dir "watch-$mode")" --json \
			--duration $((WATCH_SECS + 8)) -- "$HANG" "$mode" "$WATCH_SECS" &
	done
}

check_watched()
{
	local mode=$1 dir=$LW_TMP/watch-$1 min

	# futex waits each makes in WATCH_SECS at the least: barrier-sem two
	# rounds of 4 semaphore and 5 barrier waits, forged a wait every 200 ms
	# from each forger, robust a round of the heir and 3 users
	case $mode in
	barrier-sem) min=18 ;;
	forged) min=20 ;;
	*) min=4 ;;
	esac

	# Status 0 is also the command's own: hang checks itself and exits 1 on failure.
	t_begin "$mode: lockwatch --json -- hang $mode $WATCH_SECS: exit 0, no alert"
	t_rc "$dir" 0
	t_no_alert "$dir"
	t_jq "summary: alerts == 0 and deadlocks == 0" "$dir" \
		'summary.alerts == 0 and summary.deadlocks == 0'
	t_jq "summary: waits >= $min (lockwatch saw its threads' futex waits, not only a join)" \
		"$dir" 'summary.waits >= $min' --argjson min "$min"
	t_jq "summary: $((WATCH_SECS * 1000 - 500)) ms <= duration < $((WATCH_SECS + 8)) s (it ran, and ended on its own)" \
		"$dir" 'summary.duration_ms >= $ms and summary.duration_ms < $until' \
		--argjson ms $((WATCH_SECS * 1000 - 500)) --argjson until $(((WATCH_SECS + 8) * 1000 - 300))
	t_end
}

tap_plan 9
watch_start
test_rwlock_abba
test_join_each_other
test_join_holding
test_orphan
test_check_barrier_sem
test_check_robust
wait
for m in $WATCHED; do
	check_watched "$m"
done
tap_finish
