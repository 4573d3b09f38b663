# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2016,SC2034 # jq filters are single-quoted; lists for the .t files
# lib-programs.sh - the deadlocking and the healthy programs every kernel
# runs, one list with one set of checks: tests/deadlock.t and tests/healthy.t
# on this machine's kernel, scripts/vm-tests.sh in the VM on Debian's 6.1,
# 6.12 and 6.1 PREEMPT_RT. Sourced after lib.sh.

DL=$LW_PROGS/deadlock
HEALTHY=$LW_PROGS/healthy

# "MODE TYPE EDGE... [@THREAD:FUNCTION...] [linux>=X.Y]": `deadlock MODE` is
# exactly one deadlock whose cycle is exactly the EDGEs "waiter:lock:holder",
# each lock of TYPE (a lock "*" is not checked by name: a heap mutex is named
# by its address); THREAD's stack has FUNCTION at deadlock.c:LINE. A program
# that needs a newer kernel (futex_wait(2) came in 6.7) is on the list of
# the kernels that have what it calls only (deadlocks_on).
DEADLOCKS=(
	"abba mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal @auditor:take_ledger"
	"abba-pi pi_mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal"
	"three mutex alpha:second:beta beta:third:gamma gamma:first:alpha @alpha:take_second"
	"self mutex rebuilder:store_lock:rebuilder @rebuilder:store_set_hash"
	"self-inlined mutex refresher:store_lock:refresher @refresher:cache_store"
	"abba-recursive mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal"
	"abba-adaptive mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal"
	"abba-errorcheck mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal"
	"abba-robust mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal"
	"abba-futex2 mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal linux>=6.7"
	"abba-waitv mutex poster:journal:auditor auditor:ledger:poster @poster:take_journal"
	"abba-heap mutex poster:*:auditor auditor:*:poster @poster:take_journal"
	"abba-array mutex poster:accounts+0x50:auditor auditor:accounts+0x28:poster @poster:take_journal"
)

# "MODE:SECONDS": `healthy MODE SECONDS` runs under lockwatch, which says
# nothing and saw its futex waits (condvar: long enough for four 1.5 s idle
# gaps; stress: the long one).
HEALTHY_MODES=(ordered:5 recursive:5 errorcheck:5 condvar:7 trylock:5 stress:30)

# check_alert DIR TYPE EDGE...: exactly one deadlock alert, whose cycle is
# exactly the edges "waiter:lock:holder" (thread and lock names), each lock of
# TYPE; the alert is self-consistent (pids, tids, keys, locks, threads).
check_alert()
{
	local dir=$1 type=$2 n=$(($# - 2)) e w l h i=0 args=() checks=()

	shift 2
	t_json_lines "$dir"
	t_summary "$dir"
	for e in "$@"; do
		IFS=: read -r w l h <<<"$e"
		i=$((i + 1))
		args+=(--arg "w$i" "$w" --arg "l$i" "$l" --arg "h$i" "$h")
		checks+=("edge: thread $w waits for $type $l, held by thread $h"
			"any(alert.cycle[]; .waiter.type == \"thread\" and .waiter.name == \$w$i and
			 .waits_for.type == \$t and (\$l$i == \"*\" or .waits_for.name == \$l$i) and
			 .held_by.type == \"thread\" and .held_by.name == \$h$i)"
			"thread $w: blocked_for_ms >= 0 and a stack with hex pcs"
			"[thread(\$w$i)] | length == 1 and (.[0].blocked_for_ms | type == \"number\" and . >= 0)
			 and (.[0].stack | length > 0 and all(.[]; .pc | test(\"^0x[0-9a-f]+\$\")))")
	done
	t_jqs "$dir" --arg t "$type" --argjson n "$n" "${args[@]}" -- \
		"exactly one deadlock alert" 'alerts | length == 1' \
		"summary: deadlocks == 1" 'summary.deadlocks == 1' \
		"alert: time is UTC ISO 8601, summary is text" \
		'alert | (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"))
		 and (.summary | type == "string" and length > 0)' \
		"alert: one process, comm deadlock, exe .../deadlock" \
		'alert.processes | length == 1 and .[0].comm == "deadlock" and
		 (.[0].exe | endswith("/deadlock")) and (.[0].pid | type == "number")' \
		"cycle has $n edge(s)" 'alert.cycle | length == $n' \
		"${checks[@]}" \
		"cycle is a closed chain (each holder is the next waiter)" \
		'alert.cycle as $c | all(range($c | length);
			$c[.].held_by.tid == $c[(. + 1) % ($c | length)].waiter.tid)' \
		"cycle: every thread is in the reported process, waiters distinct" \
		'alert.processes[0].pid as $p | alert.cycle |
		 all(.[]; .waiter.pid == $p and .held_by.pid == $p and
		     (.waiter.tid | type == "number")) and
		 ([.[].waiter.tid] | unique | length) == length' \
		"cycle: lock key is anon:PID:ADDR, addr a hex string" \
		'all(alert.cycle[]; (.waits_for.addr | test("^0x[0-9a-f]+$")) and
		     .waits_for.key == "anon:\(.waiter.pid):\(.waits_for.addr)")' \
		"locks: one per cycle lock, same addr, type and holder" \
		'alert as $a | ($a.locks | length) == ($a.cycle | length) and
		 all($a.cycle[]; . as $e | any($a.locks[]; .name == $e.waits_for.name and
			.addr == $e.waits_for.addr and .key == $e.waits_for.key and
			.type == $e.waits_for.type and .holder.tid == $e.held_by.tid and
			.holder.pid == $e.held_by.pid))'
}

# t_frames DIR THREAD FUNCTION...: THREAD's stack has each FUNCTION with file
# deadlock.c and a line, innermost first.
t_frames()
{
	local dir=$1 thread=$2 f

	shift 2
	for f in "$@"; do
		t_jq "thread $thread: stack has $f at deadlock.c:LINE" "$dir" \
			'src_frame($t; $f; "deadlock.c")' --arg t "$thread" --arg f "$f"
	done
	[ $# -lt 2 ] && return
	t_jq "thread $thread: stack frames in call order ($*)" "$dir" \
		'[thread($t).stack[].function] as $s |
		 [$fns[] | . as $f | $s | indices($f) | .[0]] as $i |
		 all($i[]; . != null) and $i == ($i | sort)' \
		--arg t "$thread" --argjson fns "$(printf '%s\n' "$@" | jq -R . | jq -s -c .)"
}

# t_cmd_ended DIR: the process of the alert, which the command lockwatch
# started is or started, is gone once lockwatch is.
t_cmd_ended()
{
	local dir=$1 pid

	pid=$(jq -s 'map(select(.kind == "deadlock"))[0].processes[0].pid // empty' \
		"$dir/out" 2>/dev/null)
	[ -n "$pid" ] || return 0
	if ! wait_until 5 proc_gone "$pid"; then
		t_fail "the deadlocked process $pid still runs after lockwatch exited (not ended with it)"
		kill -KILL "$pid" 2>/dev/null
	fi
}


# deadlocks_on RELEASE: the entries of DEADLOCKS a kernel RELEASE (uname -r)
# runs, one a line.
deadlocks_on()
{
	local d want minor=${1#*.} have

	minor=${minor%%[!0-9]*}
	have=$((${1%%.*} * 1000 + minor))
	for d in "${DEADLOCKS[@]}"; do
		case $d in
		*linux\>=*)
			want=${d##*linux>=}
			[ "$have" -ge $((${want%%.*} * 1000 + ${want#*.})) ] || continue
			;;
		esac
		echo "$d"
	done
}

# test_listed ENTRY: one entry of DEADLOCKS, started by lockwatch (-- CMD),
# reported and checked.
test_listed()
{
	local mode type dir edges=() frames=() w

	read -r mode type w <<<"$1"
	for w in $w; do
		case $w in
		@*) frames+=("${w#@}") ;;
		linux\>=*) ;;
		*) edges+=("$w") ;;
		esac
	done
	dir=$(lw_dir "listed-$mode")
	t_begin "deadlock $mode: one alert, the cycle ${edges[*]} on ${type}es"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" "$mode"
	t_rc "$dir" 1
	check_alert "$dir" "$type" "${edges[@]}"
	for w in "${frames[@]}"; do
		t_frames "$dir" "${w%%:*}" "${w#*:}"
	done
	t_cmd_ended "$dir"
	t_end
}

# healthy_run MODE SECS: lockwatch runs "healthy MODE SECS"; --duration is
# only a safety net, the command ends first and lockwatch with it.
healthy_run()
{
	local mode=$1 secs=$2

	LW_TIMEOUT=$((secs + 60)) lw_run "$(lw_dir "healthy-$mode")" --json \
		--duration $((secs + 40)) -- "$HEALTHY" "$mode" "$secs"
}

# healthy_check MODE SECS: what healthy_run captured: no alert, the waits
# seen, lockwatch ended with the command.
healthy_check()
{
	local mode=$1 secs=$2 dir=$LW_TMP/healthy-$1 took

	t_begin "healthy $mode: no alert in $secs s"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_summary "$dir"
	t_jqs "$dir" --argjson ms $((secs * 1000 - 500)) -- \
		"no alert records" 'map(select(.kind != "summary")) | length == 0' \
		"summary: alerts == 0 and deadlocks == 0" 'summary.alerts == 0 and summary.deadlocks == 0' \
		"summary: waits > 0 (lockwatch saw the futex waits)" 'summary.waits > 0' \
		"summary: duration_ms >= $((secs * 1000 - 500))" 'summary.duration_ms >= $ms'
	took=$(lw_elapsed "$dir")
	awk -v t="$took" -v s="$secs" 'BEGIN { exit !(t < s + 15) }' ||
		t_fail "lockwatch ran ${took} s: it did not end when the command exited"
	t_end
}
