#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# healthy.t - true negatives: busy programs that never deadlock
# (tests/healthy.c, the modes of tests/lib-programs.sh's list, which the VM
# runs too) stay silent under lockwatch for seconds of heavy use, and
# lockwatch did see their futex waits.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/lib-programs.sh
. "$(dirname "$0")/lib-programs.sh"

lw_require_root_bpf
lw_require_built healthy

# the stress run goes in the background; the other modes run one after
# another beside it
STRESS_SECS=
SHORT_MODES=()
for m in "${HEALTHY_MODES[@]}"; do
	case $m in
	stress:*) STRESS_SECS=${m#*:} ;;
	*) SHORT_MODES+=("$m") ;;
	esac
done

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

tap_plan $((${#HEALTHY_MODES[@]} + 1))

healthy_run stress "$STRESS_SECS" &
stress_job=$!
for m in "${SHORT_MODES[@]}"; do
	healthy_run "${m%%:*}" "${m##*:}"
done
run_cut_short
wait "$stress_job"

for m in "${SHORT_MODES[@]}"; do
	healthy_check "${m%%:*}" "${m##*:}"
done
healthy_check stress "$STRESS_SECS"
check_cut_short
tap_finish
