#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deadlock.t - lockwatch reports real deadlocks (tests/deadlock.c) exactly:
# one alert naming the process, the threads, the locks by symbol, the cycle in
# order, and each blocked thread's stack down to the program's file:line.
# Started with "-- CMD" and attached with "-p PID"; JSON and text output.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built deadlock

DL=$LW_PROGS/deadlock

# check_alert DIR TYPE EDGE...: exactly one deadlock alert, whose cycle is
# exactly the edges "waiter:lock:holder" (thread and lock names), each lock of
# TYPE; the alert is self-consistent (pids, tids, keys, locks, threads).
check_alert()
{
	local dir=$1 type=$2 n=$(($# - 2)) e w l h

	shift 2
	t_json_lines "$dir"
	t_summary "$dir"
	t_jq "exactly one deadlock alert" "$dir" 'alerts | length == 1'
	t_jq "summary: deadlocks == 1" "$dir" 'summary.deadlocks == 1'
	t_jq "alert: time is UTC ISO 8601, summary is text" "$dir" \
		'alert | (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"))
		 and (.summary | type == "string" and length > 0)'
	t_jq "alert: one process, comm deadlock, exe .../deadlock" "$dir" \
		'alert.processes | length == 1 and .[0].comm == "deadlock" and
		 (.[0].exe | endswith("/deadlock")) and (.[0].pid | type == "number")'
	t_jq "cycle has $n edge(s)" "$dir" 'alert.cycle | length == $n' --argjson n "$n"
	for e in "$@"; do
		IFS=: read -r w l h <<<"$e"
		t_jq "edge: thread $w waits for $type $l, held by thread $h" "$dir" \
			'any(alert.cycle[]; .waiter.type == "thread" and .waiter.name == $w and
			 .waits_for.type == $t and .waits_for.name == $l and
			 .held_by.type == "thread" and .held_by.name == $h)' \
			--arg w "$w" --arg l "$l" --arg h "$h" --arg t "$type"
		t_jq "thread $w: blocked_for_ms >= 0 and a stack with hex pcs" "$dir" \
			'[thread($w)] | length == 1 and (.[0].blocked_for_ms | type == "number" and . >= 0)
			 and (.[0].stack | length > 0 and all(.[]; .pc | test("^0x[0-9a-f]+$")))' \
			--arg w "$w"
	done
	t_jq "cycle is a closed chain (each holder is the next waiter)" "$dir" \
		'alert.cycle as $c | all(range($c | length);
			$c[.].held_by.tid == $c[(. + 1) % ($c | length)].waiter.tid)'
	t_jq "cycle: every thread is in the reported process, waiters distinct" "$dir" \
		'alert.processes[0].pid as $p | alert.cycle |
		 all(.[]; .waiter.pid == $p and .held_by.pid == $p and
		     (.waiter.tid | type == "number")) and
		 ([.[].waiter.tid] | unique | length) == length'
	t_jq "cycle: lock key is anon:PID:ADDR, addr a hex string" "$dir" \
		'all(alert.cycle[]; (.waits_for.addr | test("^0x[0-9a-f]+$")) and
		     .waits_for.key == "anon:\(.waiter.pid):\(.waits_for.addr)")'
	t_jq "locks: one per cycle lock, same addr, type and holder" "$dir" \
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

test_abba_json()
{
	local dir

	dir=$(lw_dir abba-json)
	t_begin "abba: two threads, two mutexes (JSON)"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	check_alert "$dir" mutex poster:journal:auditor auditor:ledger:poster
	t_frames "$dir" poster take_journal poster
	t_frames "$dir" auditor take_ledger auditor
	t_cmd_ended "$dir"
	t_end
}

test_abba_text()
{
	local dir edge='thread [0-9]+ \(%s\) waits for mutex %s at 0x[0-9a-f]+, held by thread [0-9]+ \(%s\)'

	dir=$(lw_dir abba-text)
	t_begin "abba: human output"
	lw_run "$dir" --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	head -n 1 "$dir/out" | grep -q DEADLOCK || t_fail "the first line does not say DEADLOCK"
	# shellcheck disable=SC2059
	t_grep "edge poster -> journal -> auditor" "$dir" "$(printf "$edge" poster journal auditor)"
	# shellcheck disable=SC2059
	t_grep "edge auditor -> ledger -> poster" "$dir" "$(printf "$edge" auditor ledger poster)"
	t_grep "poster's stack" "$dir" 'take_journal'
	t_grep "auditor's stack" "$dir" 'take_ledger'
	t_grep "file:line in the stacks" "$dir" 'deadlock\.c:[0-9]+'
	[ "$(grep -c DEADLOCK "$dir/out")" -eq 1 ] || t_fail "more than one DEADLOCK line"
	tail -n 1 "$dir/out" | grep -q '^lockwatch: watched' ||
		t_fail "the last line does not start with \"lockwatch: watched\""
	t_end
}

# Names are the watched process's to choose: both outputs must stay safe.
test_hostile_names()
{
	local dir want

	# decoded: p o LF " ESC [ 1 m, then the four characters \xff, then DEL
	want=$(printf 'po\n"\033[1m\\xff\177')

	dir=$(lw_dir hostile)
	t_begin "abba with hostile thread names: JSON decodes them, text escapes them"
	LW_HOSTILE_NAMES=1 lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	t_json_lines "$dir"
	t_jq "a waiter's name decodes to its bytes, the invalid one as \\xff" "$dir" \
		'any(alert.cycle[]; .waiter.name == $w)' --arg w "$want"
	LW_HOSTILE_NAMES=1 lw_run "$dir" --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$dir/out" &&
		t_fail "text output holds a raw control byte"
	LC_ALL=C grep -q $'\xff' "$dir/out" && t_fail "text output holds a raw invalid byte"
	t_grep "the escaped name in the text" "$dir" 'thread [0-9]+ \(po\\n"\\x1b\[1m\\xff\\x7f\)'
	t_end
}

test_three()
{
	local dir

	dir=$(lw_dir three)
	t_begin "three: a three-thread cycle"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" three
	t_rc "$dir" 1
	check_alert "$dir" mutex alpha:second:beta beta:third:gamma gamma:first:alpha
	t_frames "$dir" alpha take_second alpha
	t_frames "$dir" beta take_third beta
	t_frames "$dir" gamma take_first
	t_cmd_ended "$dir"
	t_end
}

test_self()
{
	local dir

	dir=$(lw_dir self)
	t_begin "self: a locked function calls another locked function"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" self
	t_rc "$dir" 1
	check_alert "$dir" mutex rebuilder:store_lock:rebuilder
	t_jq "waiter and holder are the same thread" "$dir" \
		'alert.cycle[0] | .waiter.tid == .held_by.tid'
	t_frames "$dir" rebuilder store_set_hash store_rebuild rebuilder
	t_cmd_ended "$dir"
	t_end
}

# A function the compiler inlined is a frame of its own, as gdb and
# eu-stack -i show it: cache_store() at the line that locks, inlined into
# cache_set_hash() at the line that calls it, inlined into cache_refresh()
# at the line that calls that: one pc, three frames.
test_self_inlined()
{
	local dir text

	dir=$(lw_dir self-inlined)
	t_begin "self-inlined: an inlined function is a frame, its caller at the call site"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" self-inlined
	t_rc "$dir" 1
	check_alert "$dir" mutex refresher:store_lock:refresher
	t_frames "$dir" refresher cache_store cache_set_hash cache_refresh refresher
	t_jq "cache_store inlined into cache_set_hash inlined into cache_refresh, one pc, three lines" \
		"$dir" '[thread("refresher").stack[]] as $s |
		 ($s | map(.function) | index("cache_store")) as $i |
		 $s[$i].inlined == true and $s[$i + 1].function == "cache_set_hash" and
		 $s[$i + 1].inlined == true and $s[$i + 2].function == "cache_refresh" and
		 $s[$i + 2].inlined == null and $s[$i].pc == $s[$i + 2].pc and
		 $s[$i + 1].pc == $s[$i + 2].pc and
		 ([$s[$i].line, $s[$i + 1].line, $s[$i + 2].line] | unique | length) == 3'
	t_jq "libc's inlined futex_wait too" "$dir" \
		'any(thread("refresher").stack[]; .function == "futex_wait" and .inlined == true)'
	text=$(lw_dir self-inlined-text)
	lw_run "$text" --exit-on-deadlock --duration 30 -- "$DL" self-inlined
	t_rc "$text" 1
	grep -Eq '^ +#[0-9]+ +\[inlined\] +in cache_set_hash \(.*\) tests/deadlock\.c:[0-9]+$' "$text/out" ||
		t_fail "text: no [inlined] frame for cache_set_hash"
	t_end
}

test_abba_pi()
{
	local dir

	dir=$(lw_dir abba-pi)
	t_begin "abba-pi: priority-inheritance mutexes"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" abba-pi
	t_rc "$dir" 1
	check_alert "$dir" pi_mutex poster:journal:auditor auditor:ledger:poster
	t_frames "$dir" poster take_journal
	t_frames "$dir" auditor take_ledger
	t_cmd_ended "$dir"
	t_end
}

# abba_variant MODE DESC: "deadlock MODE" is abba's cycle on mutexes, found
abba_variant()
{
	local dir

	dir=$(lw_dir "$1")
	t_begin "$1: $2"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" "$1"
	t_rc "$dir" 1
	check_alert "$dir" mutex poster:journal:auditor auditor:ledger:poster
	t_frames "$dir" poster take_journal
	t_end
}

# Every mutex type blocks on a lock another thread holds: a cycle of
# recursive, adaptive, error-checking or robust mutexes is a deadlock.
test_abba_types()
{
	local type

	for type in recursive adaptive errorcheck robust; do
		abba_variant "abba-$type" "the cycle on $type mutexes"
	done
}

# The same cycle waited on with futex_wait(2) and futex_waitv(2): their
# tracepoints, not futex(2)'s.
test_abba_futex2()
{
	abba_variant abba-futex2 "threads waiting in futex_wait(2)"
	abba_variant abba-waitv "threads waiting in futex_waitv(2)"
}

# Locks no symbol names: a heap mutex by its address and the function that
# called into it, one inside a global array by the array's symbol and offset.
test_abba_names()
{
	local dir

	dir=$(lw_dir abba-heap)
	t_begin "abba-heap: malloc()ed mutexes named ADDR in FUNC"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" abba-heap
	t_rc "$dir" 1
	t_jq "one alert: poster and auditor wait for each other" "$dir" \
		'alerts | length == 1 and ([.[0].cycle[] | [.waiter.name, .held_by.name]] | sort) ==
		 [["auditor", "poster"], ["poster", "auditor"]]'
	t_jq "each lock: its address in lock(), the function that called into it" "$dir" \
		'all(alert.cycle[]; .waits_for.name == "\(.waits_for.addr) in lock")'
	t_end

	dir=$(lw_dir abba-array)
	t_begin "abba-array: mutexes in a global array named accounts+OFFSET"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" abba-array
	t_rc "$dir" 1
	check_alert "$dir" mutex poster:accounts+0x50:auditor auditor:accounts+0x28:poster
	t_end
}

test_attach()
{
	local dir pid

	dir=$(lw_dir attach)
	t_begin "-p PID: attached to a running process before it deadlocks"
	bg_start env LW_GO_FILE="$dir/go" "$DL" abba
	pid=$BG_PID
	lw_spawn "$dir" --json --exit-on-deadlock --duration 30 -p "$pid" ||
		t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach within 30 s"
	touch "$dir/go"
	lw_reap "$dir"
	t_rc "$dir" 1
	check_alert "$dir" mutex poster:journal:auditor auditor:ledger:poster
	t_jq "the alert names pid $pid" "$dir" 'alert.processes[0].pid == $p' --argjson p "$pid"
	t_frames "$dir" poster take_journal
	t_frames "$dir" auditor take_ledger
	[ -d "/proc/$pid" ] || t_fail "lockwatch -p ended the watched process"
	bg_stop "$pid"
	t_end
}

# Started first and checked last: it runs for its whole --duration meanwhile.
start_once()
{
	ONCE_DIR=$(lw_dir once)
	lw_spawn "$ONCE_DIR" --json --duration 4 -- "$DL" abba
}

test_once()
{
	local dir=$ONCE_DIR

	t_begin "one alert per deadlock, not repeated while it persists (--duration 4)"
	lw_reap "$dir"
	t_rc "$dir" 1
	t_json_lines "$dir"
	t_jq "exactly one deadlock alert" "$dir" 'alerts | length == 1'
	t_jq "summary: deadlocks == 1, alerts == records before it" "$dir" \
		'summary.deadlocks == 1 and summary.alerts == (length - 1)'
	t_jq "summary: duration_ms >= 3500" "$dir" 'summary.duration_ms >= 3500'
	t_cmd_ended "$dir"
	t_end
}

test_error_exitcode()
{
	local dir

	dir=$(lw_dir error-exitcode)
	t_begin "--error-exitcode 42 replaces status 1"
	lw_run "$dir" --json --exit-on-deadlock --error-exitcode 42 --duration 30 -- "$DL" self
	t_rc "$dir" 42
	t_jq "exactly one deadlock alert" "$dir" 'alerts | length == 1'
	t_cmd_ended "$dir"
	t_end
}

test_child_process()
{
	local dir

	dir=$(lw_dir child)
	t_begin "-- sh -c '...': a deadlock in a child process of the command"
	# Not the last command of the script, so sh forks it instead of exec'ing.
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- sh -c '"$0" abba; exit 0' "$DL"
	t_rc "$dir" 1
	check_alert "$dir" mutex poster:journal:auditor auditor:ledger:poster
	t_frames "$dir" poster take_journal
	t_cmd_ended "$dir"
	t_end
}

# Debug info through .gnu_debuglink (the binary stripped, its DWARF beside
# it): found and used, as gdb finds it; but the name is the binary's to
# choose, so a FIFO under it must not hang lockwatch (libdw's own finder
# opened it with a plain O_RDONLY and waited forever), and a file with
# another build ID is not taken.
test_debuglink()
{
	local dir d=$LW_TMP/debuglink pid

	t_begin "a stripped binary's .gnu_debuglink: used when it is the binary's; a FIFO or a stranger there does no harm"
	mkdir -p "$d"
	objcopy --only-keep-debug "$DL" "$d/deadlock.debug" &&
		objcopy --strip-debug --add-gnu-debuglink="$d/deadlock.debug" "$DL" "$d/deadlock" ||
		t_fail "objcopy failed"
	! readelf -S "$d/deadlock" | grep -q debug_info || t_fail "the binary still has DWARF"

	bg_start "$d/deadlock" abba
	pid=$BG_PID
	sleep 1 # abba hangs within milliseconds
	dir=$(lw_dir debuglink-found)
	lw_run "$dir" check "$pid" --json
	t_rc "$dir" 1
	t_frames "$dir" poster take_journal poster

	mv "$d/deadlock.debug" "$d/real.debug"
	mkfifo "$d/deadlock.debug"
	dir=$(lw_dir debuglink-fifo)
	LW_TIMEOUT=30 lw_run "$dir" check "$pid" --json
	t_rc "$dir" 1
	t_jq "a FIFO there: the cycle, named from the symbol table" "$dir" \
		'[thread("poster").stack[].function] | index("take_journal") != null'
	rm "$d/deadlock.debug"

	objcopy --only-keep-debug "$LW_PROGS/hang" "$d/deadlock.debug"
	dir=$(lw_dir debuglink-stranger)
	lw_run "$dir" check "$pid" --json
	t_rc "$dir" 1
	t_jq "another binary's debug info there: not taken (its frames have no file and line)" \
		"$dir" 'all(thread("poster").stack[] | select(.module | endswith("debuglink/deadlock"));
			 .file == null and .line == null)'
	bg_stop "$pid"
	t_end
}

tap_plan 20
start_once
test_abba_json
test_abba_text
test_hostile_names
test_three
test_self
test_self_inlined
test_abba_pi
test_abba_types
test_abba_futex2
test_abba_names
test_attach
test_error_exitcode
test_child_process
test_once
test_debuglink
tap_finish
