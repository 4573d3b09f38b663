#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# watch.t - watching beyond the given PIDs: lockwatch with no -p watches the
# whole host (a deadlock that formed before it started, one that forms while
# it runs, and silence on a healthy host), and -p on one process of a
# cross-process cycle follows the shared lock into the other one. Threads
# that loop on futex(2) over words laid out like mutexes they own (each call
# looks like a self-deadlock starting) get no alert, and never keep
# lockwatch from its --duration, a SIGTERM or a deadlock elsewhere.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock hang healthy

# Host-wide runs see every process on the machine: judge only the alerts
# about the processes a test started.
JQ_DEFS+='
def about($p): dl_alerts | map(select(any(.processes[]; .pid == $p)));
'

test_host_existing()
{
	local dir

	dir=$(lw_dir host-existing)
	t_begin "no -p: a deadlock that formed before lockwatch started is reported at once"
	bg_start "$DL" abba
	wait_hung "$BG_PID" 3 || t_fail "deadlock abba did not hang"
	lw_run "$dir" --json --duration 3
	t_rc "$dir" 1
	t_jq "one alert about it: poster and auditor on ledger and journal" "$dir" \
		'about($p) | length == 1 and
		 ([.[0].cycle[] | [.waiter.name, .waits_for.name, .held_by.name]] | sort) ==
		 [["auditor", "ledger", "poster"], ["poster", "journal", "auditor"]]' \
		--argjson p "$BG_PID"
	bg_stop "$BG_PID"
	t_end
}

test_host_new()
{
	local dir

	dir=$(lw_dir host-new)
	t_begin "no -p: a deadlock that forms while lockwatch watches the host"
	lw_spawn "$dir" --json --duration 6 || t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach"
	bg_start "$DL" three
	lw_reap "$dir"
	t_rc "$dir" 1
	t_jq "one alert about it: alpha, beta, gamma on first, second, third" "$dir" \
		'about($p) | length == 1 and
		 ([.[0].cycle[] | [.waiter.name, .waits_for.name, .held_by.name]] | sort) ==
		 [["alpha", "second", "beta"], ["beta", "third", "gamma"], ["gamma", "first", "alpha"]]' \
		--argjson p "$BG_PID"
	bg_stop "$BG_PID"
	t_end
}

test_host_quiet()
{
	local dir h1 h2 h3

	dir=$(lw_dir host-quiet)
	t_begin "no -p: healthy busy programs on the host, no alert"
	lw_spawn "$dir" --json --no-sysfs --duration 8 || t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach"
	bg_start "$LW_PROGS/healthy" ordered 5
	h1=$BG_PID
	bg_start "$HANG" forged 5
	h2=$BG_PID
	bg_start "$HANG" barrier-sem 5
	h3=$BG_PID
	# what it saw of them: the graph it publishes while it runs
	wait_until 7 grep -q "^wait pid=$h3 tid=[0-9]* comm=worker-" /run/lockwatch/graph ||
		t_fail "its graph never showed barrier-sem's parked workers"
	lw_reap "$dir"
	t_json_lines "$dir"
	t_jq "no alert about them" "$dir" \
		'[about($a), about($b), about($c)] | all(length == 0)' \
		--argjson a "$h1" --argjson b "$h2" --argjson c "$h3"
	hang_stop "$h1"
	hang_stop "$h2"
	hang_stop "$h3"
	t_end
}

test_follow_shared()
{
	local dir parent child

	dir=$(lw_dir follow)
	t_begin "-p one process of a cross-process cycle: the shared lock leads to the other"
	hang_start follow shared-anon || { t_end; return; }
	parent=${HANG_NRS[0]}
	child=${HANG_NRS[1]}
	lw_run "$dir" --json --exit-on-deadlock --duration 20 -p "$parent"
	t_rc "$dir" 1
	t_cycle "$dir" diner-a:mutex:*:diner-b diner-b:mutex:*:diner-a
	t_jq "both processes are in the alert" "$dir" \
		'[dl_alerts[0].processes[].pid] | sort == ([$p, $c] | sort)' \
		--argjson p "$parent" --argjson c "$child"
	hang_stop "$HANG_PID"
	t_end
}

test_selfwait()
{
	local dir tdir pdir h dl t0 took

	t_begin "threads looping on futex over mutexes they own: silent, --duration and SIGTERM honoured, a deadlock beside them found"
	bg_start "$LW_PROGS/healthy" selfwait 40
	h=$BG_PID
	bg_start "$DL" abba
	dl=$BG_PID
	wait_hung "$dl" 3 || t_fail "deadlock abba did not hang"
	dir=$(lw_dir selfwait-host)
	LW_TIMEOUT=20 lw_run "$dir" --json --duration 3
	t_rc "$dir" 1
	t_json_lines "$dir"
	t_jq "whole host: no alert about it" "$dir" 'about($p) | length == 0' --argjson p "$h"
	t_jq "whole host: the deadlock beside it, poster and auditor" "$dir" \
		'about($p) | length == 1 and
		 ([.[0].cycle[].waiter.name] | sort) == ["auditor", "poster"]' --argjson p "$dl"
	bg_stop "$dl"
	took=$(lw_elapsed "$dir")
	awk -v t="$took" 'BEGIN { exit !(t < 6) }' || t_fail "--duration 3 took $took s"

	tdir=$(lw_dir selfwait-term)
	LW_TIMEOUT=20 lw_spawn "$tdir" --json || t_fail "lockwatch did not start"
	lw_wait_attached "$tdir" || t_fail "lockwatch did not attach"
	sleep 1
	t0=$(date +%s.%N)
	kill -TERM "$(cat "$tdir/pid")"
	lw_reap "$tdir"
	took=$(echo "$t0 $(cat "$tdir/end")" | awk '{ printf "%.1f", $2 - $1 }')
	t_rc "$tdir" 0
	t_jq "SIGTERM: a summary, last" "$tdir" '.[-1].kind == "summary"'
	awk -v t="$took" 'BEGIN { exit !(t < 3) }' || t_fail "SIGTERM took $took s to end it"

	pdir=$(lw_dir selfwait-pid)
	LW_TIMEOUT=20 lw_run "$pdir" --json --duration 3 -p "$h"
	t_rc "$pdir" 0
	t_no_alert "$pdir"
	t_jq "-p: it saw that process's waits (over a thousand)" "$pdir" 'summary.waits > 1000'
	tap_diag <<<"selfwait: lockwatch -p used $(jq -s '.[-1].cpu_ms' "$pdir/out") ms of CPU in 3 s, $(jq -s '.[-1].waits' "$pdir/out") waits, $(jq -s '.[-1].events' "$pdir/out") events"
	bg_stop "$h"
	t_end
}

# The ring buffer carries only hints: with one so small that a flood of
# them overflows it, records are dropped and counted, and a deadlock that
# forms meanwhile is still found (by the sweep of the waits map).
test_full_ring()
{
	local dir h dl

	t_begin "--ringbuf-size 4096 under a flood of hints: drops counted, a deadlock found all the same"
	bg_start "$LW_PROGS/healthy" selfwait 30
	h=$BG_PID
	dir=$(lw_dir full-ring)
	LW_TIMEOUT=30 lw_spawn "$dir" --json --ringbuf-size 4096 --duration 6 ||
		t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach"
	sleep 1
	bg_start "$DL" abba
	dl=$BG_PID
	lw_reap "$dir"
	bg_stop "$dl"
	bg_stop "$h"
	t_json_lines "$dir"
	t_jq "records were dropped (the ring was full)" "$dir" 'summary.drops > 0'
	t_jq "the deadlock: poster and auditor" "$dir" \
		'about($p) | length == 1 and ([.[0].cycle[].waiter.name] | sort) == ["auditor", "poster"]' \
		--argjson p "$dl"
	tap_diag <<<"full ring: $(jq -s -c '.[-1] | {events, drops, waits, cpu_ms}' "$dir/out")"
	t_end
}

# One process with more threads asleep in futex(2) than lockwatch has wait
# slots (65,536) holds its share of them (16,384), not all: a deadlock that
# forms beside it is still seen.
# slots_left TGID: the wait slots lockwatch counts as TGID's (0: none).
slots_left()
{
	bpftool -j map dump name slots |
		jq --argjson p "$1" '[.[] | (.formatted // .) | select(.key == $p) | .value] | add // 0'
}

test_crowd()
{
	local dir crowd dl pid_max left

	t_begin "70,000 threads of one process asleep in futex: it holds its share of the wait slots, a deadlock beside it is found"
	pid_max=$(cat /proc/sys/kernel/pid_max)
	[ "$pid_max" -ge 140000 ] || echo 140000 >/proc/sys/kernel/pid_max
	dir=$(lw_dir crowd)
	LW_TIMEOUT=60 lw_spawn "$dir" --json --duration 12 || t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach"
	hang_start crowd crowd
	crowd=$HANG_PID
	bg_start "$DL" abba
	dl=$BG_PID
	wait_hung "$dl" 3 || t_fail "deadlock abba did not hang"
	left=$(slots_left "$crowd")
	[ "$left" = 16384 ] || t_fail "the crowd counts $left wait slots, not its share of 16384"
	hang_stop "$crowd"
	# its 70,000 threads left at once, racing on its count
	left=$(slots_left "$crowd")
	[ "$left" = 0 ] || t_fail "the gone crowd still counts $left wait slots"
	lw_reap "$dir"
	bg_stop "$dl"
	# back once the crowd's PIDs are free
	echo "$pid_max" >/proc/sys/kernel/pid_max
	t_json_lines "$dir"
	t_jq "the deadlock beside it: poster and auditor" "$dir" \
		'about($p) | length == 1 and ([.[0].cycle[].waiter.name] | sort) == ["auditor", "poster"]' \
		--argjson p "$dl"
	t_jq "the crowd's waits: its share tracked, the rest counted as over it" "$dir" \
		'summary.waits >= 16384 and summary.waits_over_share >= 70000 - 16384 and
		 summary.waits_full == 0'
	tap_diag <<<"crowd: $(jq -s -c '.[-1] | {waits, waits_over_share, waits_full, events, cpu_ms, max_rss_kb}' "$dir/out")"
	t_end
}

tap_plan 7
test_host_existing
test_host_new
test_host_quiet
test_follow_shared
test_selfwait
test_full_ring
test_crowd
tap_finish
