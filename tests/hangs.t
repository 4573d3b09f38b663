#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# hangs.t - a hang with no cycle: every thread of a process waits, with no
# timeout, for something only the process could end (a lost wakeup). After
# LW_HANG_NS (5 s) it is one `hang` alert naming each thread's wait and what
# could still wake it, not a deadlock (exit 0). A condition variable that is
# signalled late, by a thread that sleeps meanwhile, is no hang.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built hang

HANG=$LW_PROGS/hang

JQ_DEFS+='
def hangs: map(select(.kind == "hang"));
def wait_of($n): hangs[0].waits[] | select(.waiter.name == $n);
'

test_lost_wakeup()
{
	local dir

	dir=$(lw_dir lost-wakeup)
	t_begin "a lost wakeup: one hang, both threads' waits named, not deadlock-class"
	lw_run "$dir" --json --duration 9 -- "$HANG" lost-wakeup
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "one hang alert, nothing else" "$dir" \
		'(hangs | length == 1) and (map(select(.kind != "summary")) | length == 1) and
		 summary.deadlocks == 0 and summary.alerts == 1'
	t_jq "consumer waits on order_ready; main joins consumer" "$dir" \
		'(wait_of("consumer").waits_for.name | startswith("order_ready")) and
		 wait_of("hang").waits_for.type == "thread_exit" and
		 wait_of("hang").held_by.name == "consumer"'
	t_jq "each has waited the 5 s, and has a stack (await_order)" "$dir" \
		'all(hangs[0].threads[]; .blocked_for_ms >= 5000) and
		 any(hangs[0].threads[].stack[]; .function == "await_order")'
	t_jq "what could still wake it: no signal handler (glibc's own are not), no timer" "$dir" \
		'hangs[0].signal_handlers == [] and hangs[0].timers == 0'
	t_end
}

test_lost_wakeup_sem()
{
	local dir

	dir=$(lw_dir lost-wakeup-sem)
	t_begin "a lost wakeup with no lock and no join: a condvar and a semaphore, still a hang"
	lw_run "$dir" --json --duration 9 -- "$HANG" lost-wakeup-sem
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "one hang alert, of both threads, nothing else" "$dir" \
		'(hangs | length == 1) and (map(select(.kind != "summary")) | length == 1) and
		 (hangs[0].threads | length == 2)'
	t_jq "consumer waits on order_ready, main on order_done" "$dir" \
		'(wait_of("consumer").waits_for.name | startswith("order_ready")) and
		 (wait_of("hang").waits_for.name | startswith("order_done"))'
	t_end
}

test_lost_wakeup_text()
{
	local dir

	dir=$(lw_dir lost-wakeup-text)
	t_begin "the hang in text: what it is, and that nothing can wake it"
	lw_run "$dir" --duration 7 -- "$HANG" lost-wakeup
	t_rc "$dir" 0
	t_grep "headline" "$dir" 'HANG: all 2 threads of pid [0-9]+ \(hang\) wait, with no timeout, for what only the process itself could end'
	t_grep "no handler, no timer" "$dir" 'no signal handler or timer could either'
	t_end
}

test_idle_pool()
{
	local dir

	dir=$(lw_dir idle-pool)
	t_begin "3 threads parked for good on a semaphore, main waiting on it with a timeout: no hang"
	lw_run "$dir" --json --duration 10 -- "$HANG" idle-pool 9
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "no alert; its parked threads' waits and main's timed ones were seen" "$dir" \
		'(map(select(.kind != "summary")) | length == 0) and summary.waits >= 3 + 9'
	t_end
}

test_late_signal()
{
	local dir

	dir=$(lw_dir late-signal)
	t_begin "a condition variable signalled after 7 s by a sleeping thread: no hang"
	lw_run "$dir" --json --duration 12 -- "$HANG" late-signal 7
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "no alert; the waits were seen" "$dir" \
		'(map(select(.kind != "summary")) | length == 0) and summary.waits >= 2'
	t_end
}

tap_plan 5
test_lost_wakeup
test_lost_wakeup_sem
test_lost_wakeup_text
test_late_signal
test_idle_pool
tap_finish
