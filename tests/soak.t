#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# soak.t - lockwatch watching the whole host while programs nobody here
# wrote hammer locks: stress-ng's mutex, futex, semaphore and pthread
# stressors and sysbench's mutex and threads tests, beside an asyncio server
# under load (tests/pyhealthy.py server-busy). Halfway through a real
# deadlock forms (tests/deadlock.c abba). At the end: that deadlock was
# found, nothing was said about any of the others, the summary counts what
# was dropped, and lockwatch's memory stayed bounded.
#
# LW_SOAK_SECS sets how long (default 60); `make soak` runs 600.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built deadlock
for c in stress-ng sysbench; do
	command -v "$c" >/dev/null || tap_bail "$c missing (Debian package $c)"
done

SECS=${LW_SOAK_SECS:-60}
PY=${LW_PYTHON:-/usr/bin/python3.11}
RSS_MAX_KB=262144 # 256 MiB

test_soak()
{
	local dir load=() dl p pids

	t_begin "whole host for $SECS s under stress-ng, sysbench and an asyncio server: the deadlock started halfway found, nothing else said"
	dir=$(lw_dir soak)
	LW_TIMEOUT=$((SECS + 60)) lw_spawn "$dir" --json --no-sysfs --duration "$((SECS + 5))" ||
		t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach"
	bg_start stress-ng --mutex 2 --futex 2 --sem 2 --pthread 1 --timeout "${SECS}s" --quiet
	load+=("$BG_PID")
	bg_start sysbench mutex --threads=4 --mutex-num=64 --mutex-locks=100000 \
		--time="$SECS" --events=0 run
	load+=("$BG_PID")
	bg_start sysbench threads --threads=8 --thread-locks=4 --time="$SECS" --events=0 run
	load+=("$BG_PID")
	bg_start "$PY" "$LW_ROOT/tests/pyhealthy.py" server-busy "$SECS"
	load+=("$BG_PID")
	sleep $((SECS / 2))
	# every process of the load now (stress-ng forks its workers)
	pids=$(for p in "${load[@]}"; do echo "$p"; pgrep -P "$p"; done | sort -un | paste -sd, -)
	bg_start "$LW_PROGS/deadlock" abba
	dl=$BG_PID
	lw_reap "$dir"
	bg_stop "$dl"
	for p in "${load[@]}"; do bg_stop "$p"; done
	t_json_lines "$dir"
	t_jq "the deadlock: poster and auditor, once" "$dir" \
		'[.[] | select(.kind == "deadlock" and any(.processes[]; .pid == $p))] |
		 length == 1 and ([.[0].cycle[].waiter.name] | sort) == ["auditor", "poster"]' \
		--argjson p "$dl"
	t_jq "no alert of any kind about the load" "$dir" \
		'[.[] | select(.kind != "summary" and any(.processes[]?; .pid as $q | $load | index($q)))] |
		 length == 0' --argjson load "[$pids]"
	t_jq "it saw the load: over 100,000 waits" "$dir" 'summary.waits > 100000'
	t_jq "drops and untracked waits counted (numbers)" "$dir" \
		'summary | (.drops | type == "number") and (.waits_full | type == "number") and
		 (.waits_over_share | type == "number")'
	t_jq "lockwatch's peak memory under $((RSS_MAX_KB / 1024)) MiB" "$dir" \
		'summary.max_rss_kb < $m' --argjson m "$RSS_MAX_KB"
	tap_diag <<<"soak: $(jq -s -c '.[-1] | {duration_ms, waits, events, drops, waits_full, waits_over_share, alerts, cpu_ms, max_rss_kb}' "$dir/out")"
	t_end
}

tap_plan 1
test_soak
tap_finish
