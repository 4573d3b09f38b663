#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# healthy.t - true negatives: busy programs that never deadlock
# (tests/healthy.c) stay silent under lockwatch for seconds of heavy use, and
# lockwatch did see their futex waits.  The 30 s stress run goes in the
# background; the short modes run one after another beside it.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built healthy

HEALTHY=$LW_PROGS/healthy
STRESS_SECS=30
# mode:seconds; condvar runs long enough for four 1.5 s idle gaps.
SHORT_MODES="ordered:5 recursive:5 errorcheck:5 condvar:7 trylock:5"

# run_mode MODE SECS: lockwatch runs "healthy MODE SECS"; --duration is only
# a safety net, the command ends first and lockwatch with it.
run_mode()
{
	local mode=$1 secs=$2

	LW_TIMEOUT=$((secs + 60)) lw_run "$(lw_dir "$mode")" --json --duration $((secs + 40)) \
		-- "$HEALTHY" "$mode" "$secs"
}

check_mode()
{
	local mode=$1 secs=$2 dir=$LW_TMP/$1 took

	t_begin "$mode: no alert in $secs s"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_summary "$dir"
	t_jq "no alert records" "$dir" 'map(select(.kind != "summary")) | length == 0'
	t_jq "summary: alerts == 0 and deadlocks == 0" "$dir" \
		'summary.alerts == 0 and summary.deadlocks == 0'
	t_jq "summary: waits > 0 (lockwatch saw the futex waits)" "$dir" 'summary.waits > 0'
	t_jq "summary: duration_ms >= $((secs * 1000 - 500))" "$dir" \
		'summary.duration_ms >= $ms' --argjson ms $((secs * 1000 - 500))
	took=$(lw_elapsed "$dir")
	awk -v t="$took" -v s="$secs" 'BEGIN { exit !(t < s + 15) }' ||
		t_fail "lockwatch ran ${took} s: it did not end when the command exited"
	t_end
}

# --duration shorter than the command: lockwatch ends it and exits 0.
run_cut_short()
{
	local dir

	dir=$(lw_dir cut-short)
	# shellcheck disable=SC2016
	lw_run "$dir" --json --duration 2 -- sh -c 'echo $$ >"$0"; exec "$1" ordered 60' \
		"$dir/cmd.pid" "$HEALTHY"
}

check_cut_short()
{
	local dir=$LW_TMP/cut-short pid

	t_begin "--duration 2 ends a 60 s command: exit 0, the command is gone"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "no alert records" "$dir" 'map(select(.kind != "summary")) | length == 0'
	t_jq "summary: duration_ms about 2000" "$dir" \
		'summary.duration_ms >= 1900 and summary.duration_ms < 10000'
	pid=$(cat "$dir/cmd.pid" 2>/dev/null)
	if [ -z "$pid" ]; then
		t_fail "the command did not start"
	elif ! wait_until 5 proc_gone "$pid"; then
		t_fail "the command (pid $pid) still runs after lockwatch exited"
		kill -KILL "$pid" 2>/dev/null
	fi
	t_end
}

tap_plan 7

run_mode stress "$STRESS_SECS" &
stress_job=$!
for m in $SHORT_MODES; do
	run_mode "${m%%:*}" "${m##*:}"
done
run_cut_short
wait "$stress_job"

for m in $SHORT_MODES; do
	check_mode "${m%%:*}" "${m##*:}"
done
check_mode stress "$STRESS_SECS"
check_cut_short
tap_finish
