#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# longwait.t - a wait on a lock past --wait-threshold gets one long_wait alert
# naming the waiter, the lock and its holder; it is not deadlock-class (exit
# 0); the same wait under a higher threshold, and the members of a deadlock,
# get none.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built healthy deadlock

HEALTHY=$LW_PROGS/healthy
DL=$LW_PROGS/deadlock

test_long_wait()
{
	local dir

	dir=$(lw_dir long)
	t_begin "slowhold, --wait-threshold 1: one long_wait, waiter, lock and holder named, exit 0"
	lw_run "$dir" --json --wait-threshold 1 --duration 20 -- "$HEALTHY" slowhold 4
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "exactly one long_wait record" "$dir" \
		'[.[] | select(.kind == "long_wait")] | length == 1'
	t_jq "no deadlock-class alert; summary counts one alert" "$dir" \
		'summary.deadlocks == 0 and summary.alerts == 1'
	t_jq "slow-1 waits for mutex slow_lock, held by slow-0" "$dir" \
		'[.[] | select(.kind == "long_wait")][0] |
		 .waits | length == 1 and .[0].waiter.name == "slow-1" and
		 .[0].waits_for.type == "mutex" and .[0].waits_for.name == "slow_lock" and
		 .[0].held_by.name == "slow-0"'
	t_jq "the waiter has waited at least the threshold, and has a stack" "$dir" \
		'[.[] | select(.kind == "long_wait")][0].threads[0] |
		 .blocked_for_ms >= 1000 and (.stack | length > 0)'
	t_end
}

# The same 2.5 s wait on either side of the threshold: no alert at 4 s, and
# the one the first test asserts at 2 s, so the silence is the threshold's.
test_short_wait()
{
	local dir above

	dir=$(lw_dir short)
	above=$(lw_dir short-above)
	t_begin "slowhold's 2.5 s wait: no alert with --wait-threshold 4, a long_wait with 2"
	lw_run "$dir" --json --wait-threshold 4 --duration 20 -- "$HEALTHY" slowhold 4
	t_rc "$dir" 0
	t_jq "no alert" "$dir" 'summary.alerts == 0 and (map(select(.kind != "summary")) | length == 0)'
	lw_run "$above" --json --wait-threshold 2 --duration 20 -- "$HEALTHY" slowhold 4
	t_rc "$above" 0
	t_jq "with 2 s: the long_wait, slow-1 for slow_lock" "$above" \
		'[.[] | select(.kind == "long_wait")] | length == 1 and
		 .[0].waits[0].waiter.name == "slow-1" and .[0].waits[0].waits_for.name == "slow_lock"'
	t_end
}

test_deadlock_not_long()
{
	local dir

	dir=$(lw_dir dl-long)
	t_begin "a deadlock watched past the threshold: the deadlock alert only"
	lw_run "$dir" --json --wait-threshold 1 --duration 3 -- "$DL" abba
	t_rc "$dir" 1
	t_jq "one alert, a deadlock" "$dir" \
		'map(select(.kind != "summary")) | length == 1 and .[0].kind == "deadlock"'
	t_end
}

tap_plan 3
test_long_wait
test_short_wait
test_deadlock_not_long
tap_finish
