#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deadlock.t - lockwatch reports real deadlocks (tests/deadlock.c) exactly:
# one alert naming the process, the threads, the locks by symbol, the cycle in
# order, and each blocked thread's stack down to the program's file:line.
# Started with "-- CMD" and attached with "-p PID"; JSON and text output.
# Every program of tests/lib-programs.sh's list, which the VM runs too.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/lib-programs.sh
. "$(dirname "$0")/lib-programs.sh"

lw_require_root_bpf
lw_require_built deadlock

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

# A lock no symbol names: a heap mutex by its address and the function that
# called into it (its cycle is checked with the list, test_listed).
test_abba_heap_names()
{
	local dir

	dir=$(lw_dir abba-heap)
	t_begin "abba-heap: malloc()ed mutexes named ADDR in FUNC"
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$DL" abba-heap
	t_rc "$dir" 1
	t_jq "each lock: its address in lock(), the function that called into it" "$dir" \
		'alerts | length == 1 and all(alert.cycle[]; .waits_for.name == "\(.waits_for.addr) in lock")'
	t_end
}

# Whether lockwatch (PID) holds a debug file inflated ahead (sys/debugcache.c).
DEBUGINFO=lockwatch-debuginfo
debuginfo_ready()
{
	ls -l "/proc/$1/fd" 2>/dev/null | grep -q "memfd:$DEBUGINFO"
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
	wait_until 10 debuginfo_ready "$(cat "$dir/pid")" ||
		t_fail "libc's debug info not read ahead of a deadlock (no memfd:$DEBUGINFO open)"
	touch "$dir/go"
	lw_reap "$dir"
	t_rc "$dir" 1
	check_alert "$dir" mutex poster:journal:auditor auditor:ledger:poster
	t_jq "the alert names pid $pid" "$dir" 'alert.processes[0].pid == $p' --argjson p "$pid"
	t_frames "$dir" poster take_journal
	t_frames "$dir" auditor take_ledger
	t_jq "libc's frames with their file and line, from the debug info read ahead" "$dir" \
		'any(thread("poster").stack[]; .function == "__pthread_mutex_lock" and
		     (.file | test("pthread_mutex_lock\\.c$")) and .line > 0)'
	t_jq "summary: libc's debug file kept inflated (debuginfo_files, debuginfo_kb)" "$dir" \
		'summary.debuginfo_files >= 1 and summary.debuginfo_kb > 8192'
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

mapfile -t LISTED < <(deadlocks_on "$(uname -r)")
tap_plan $((13 + ${#LISTED[@]}))
start_once
test_abba_json
test_abba_text
test_hostile_names
test_three
test_self
test_self_inlined
test_abba_pi
for d in "${LISTED[@]}"; do
	test_listed "$d"
done
test_abba_heap_names
test_attach
test_error_exitcode
test_child_process
test_once
test_debuglink
tap_finish
