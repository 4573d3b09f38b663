#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dump.t - `lockwatch dump PID`: every thread and task of a process, hung or
# not, in one record of kind "dump" - each one's state and stack, what it
# waits for and who holds that, what it holds - and in text the asyncio
# tasks as a tree of who awaits whom. Against real programs: two Python
# threads in a lock cycle (Debian's 3.11), two asyncio tasks awaiting each
# other, a healthy asyncio server (busy, its handlers taking a lock in turn;
# every task listed), a C program's two mutexes in a cycle, and a 3.14 asyncio
# self-deadlock read through its task lists (sid's root). Usage errors.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"
# shellcheck source=tests/lib-pyroot.sh
. "$(dirname "$0")/lib-pyroot.sh"

lw_require_root_bpf
lw_require_built deadlock

PY=${LW_PYTHON:-/usr/bin/python3.11}
PYHANG=$LW_ROOT/tests/pyhang.py
PYHEALTHY=$LW_ROOT/tests/pyhealthy.py

JQ_DEFS+='
def dump: map(select(.kind == "dump"))[0];
def who($n): dump.threads[] | select(.name == $n);
def wait_of($n): dump.waits[] | select(.waiter.name == $n);
def holds_of($n): [dump.holds[] | select(.holder.name == $n) | .lock.name];
def py_frame($f): any(.stack[]; .language == "python" and .function == $f);
'

# lw_dump DIR ARGS...: "lockwatch dump ARGS".
lw_dump()
{
	local dir=$1

	shift
	lw_run "$dir" dump "$@"
}

# t_one_dump DIR: JSON lines, exactly one dump record, the summary last.
t_one_dump()
{
	t_json_lines "$1"
	t_jq "exactly one dump record" "$1" 'map(select(.kind == "dump")) | length == 1'
}

test_threads()
{
	local dir

	t_begin "dump of two Python threads in a lock cycle: states, waits, holders, holds, stacks"
	HANG=$PY hang_start dump-threads "$PYHANG" threads || { t_end; return; }
	dir=$(lw_dir dump-threads)
	lw_dump "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_one_dump "$dir"
	t_jq "the deadlock is reported too" "$dir" 'dl_alerts | length == 1'
	t_jq "every thread of the process, by its Python name, in TID order" "$dir" \
		'[dump.threads[].name] == ["MainThread", "mover-ab", "mover-ba"] and
		 ([dump.threads[].tid] | . == sort) and all(dump.threads[]; .pid == $p)' \
		--argjson p "$HANG_PID"
	t_jq "mover-ab waits for lock_b, held by mover-ba, and holds lock_a" "$dir" \
		'(wait_of("mover-ab") | .waits_for.name == "lock_b" and .held_by.name == "mover-ba"
		  and .waits_for.type == "threading.Lock") and holds_of("mover-ab") == ["lock_a"]'
	t_jq "mover-ba waits for lock_a, held by mover-ab, and holds lock_b" "$dir" \
		'(wait_of("mover-ba") | .waits_for.name == "lock_a" and .held_by.name == "mover-ab")
		 and holds_of("mover-ba") == ["lock_b"]'
	t_jq "MainThread joins mover-ab" "$dir" \
		'wait_of("MainThread") | .waits_for.type == "thread_exit" and .held_by.name == "mover-ab"'
	t_jq "each is waiting; stacks merge native and Python frames" "$dir" \
		'all(dump.threads[]; .state == "waiting") and
		 (who("mover-ab") | py_frame("move_ab") and any(.stack[]; .pc != null)) and
		 (who("MainThread") | py_frame("threads_main"))'
	t_jq "move_ab's frame at the line of its second with" "$dir" \
		'who("mover-ab") | any(.stack[]; .function == "move_ab" and .line == $l)' \
		--argjson l "$(awk '/def move_ab/ { on = 1 } on && /with lock_b/ { print NR; exit }' "$PYHANG")"
	hang_stop "$HANG_PID"
	t_end
}

test_tree()
{
	local dir

	t_begin "dump of two tasks awaiting each other (text): the tasks, their waits, the tree"
	HANG=$PY hang_start dump-await "$PYHANG" await || { t_end; return; }
	dir=$(lw_dir dump-await)
	lw_dump "$dir" "$HANG_PID"
	t_rc "$dir" 1
	t_grep "the dump's head line" "$dir" "^pid $HANG_PID \\(python3[.0-9]*\\): 1 thread, 3 tasks, 2 waiting$"
	t_grep "task ping waits for task pong" "$dir" \
		"^  task ping on thread $HANG_PID: waiting for task pong at 0x[0-9a-f]+, held by task pong on thread $HANG_PID$"
	t_grep "the event loop's thread polls" "$dir" "^  thread $HANG_PID \\(MainThread\\): polling$"
	grep -A4 '^  tasks, each above the tasks it awaits:$' "$dir/out" >"$dir/tree"
	printf '%s\n' '  tasks, each above the tasks it awaits:' '    Task-1' '    ping' \
		'        pong' '            ping (awaited above: a cycle)' | cmp -s - "$dir/tree" ||
		t_fail "the tree: $(cat "$dir/tree")"
	hang_stop "$HANG_PID"
	t_end
}

test_healthy()
{
	local dir

	t_begin "dump of a healthy asyncio server: exit 0, no alert, every task and thread listed"
	HANG=$PY hang_start dump-healthy "$PYHEALTHY" server-busy 4 || { t_end; return; }
	dir=$(lw_dir dump-healthy)
	lw_dump "$dir" --json "$HANG_PID"
	t_rc "$dir" 0
	t_one_dump "$dir"
	t_jq "no alert" "$dir" '(dl_alerts | length == 0) and (records | length == 1)'
	t_jq "its one thread, and its 9 tasks by name (the clients and their echoes)" "$dir" \
		'([dump.threads[] | select(.type == "thread")] | length == 1) and
		 ([dump.threads[] | select(.type == "task") | .name] | sort ==
		  ["Task-1", "client-1", "client-2", "client-3", "client-4",
		   "echo-1", "echo-2", "echo-3", "echo-4"])'
	# (a task running when read has its frames on the thread; the look
	# does not stop the process, so on a loop this busy it can catch two)
	t_jq "each task on the loop's thread, with its coroutine stack unless it was running, most not" \
		"$dir" 'all(dump.threads[] | select(.type == "task"); .tid == $p) and
		 all(dump.threads[] | select(.type == "task" and (.stack | length == 0));
		     .state == "running") and
		 ([dump.threads[] | select(.type == "task" and (.stack | length > 0))] | length >= 7)' \
		--argjson p "$HANG_PID"
	t_jq "a summary of the one look" "$dir" '.[-1].python_looks >= 1 and .[-1].python_processes == 1'
	hang_stop "$HANG_PID"
	t_end
}

test_native()
{
	local dir pid

	t_begin "dump of a C program's two threads in a mutex cycle: native stacks, holders"
	bg_start "$LW_PROGS/deadlock" abba
	pid=$BG_PID
	wait_hung "$pid" 3 || t_fail "deadlock abba did not hang"
	dir=$(lw_dir dump-native)
	lw_dump "$dir" --json "$pid"
	t_rc "$dir" 1
	t_one_dump "$dir"
	t_jq "its three threads, poster and auditor waiting on mutexes each holds" "$dir" \
		'(dump.threads | length == 3) and
		 (wait_of("poster") | .waits_for.type == "mutex" and .held_by.name == "auditor") and
		 (wait_of("auditor") | .waits_for.type == "mutex" and .held_by.name == "poster") and
		 (who("poster") | any(.stack[]; .function == "take_journal"))'
	bg_stop "$pid"
	t_end
}

test_314()
{
	local dir

	t_begin "dump of Python 3.14 (sid, its own root): a task that waits for its own lock"
	# shellcheck disable=SC2086 # package lists
	in_root py3.14 sid /usr/bin/python3.14 $SID_PKGS
	HANG=$IN_ROOT hang_start dump-314 "$PYHANG" store || { t_end; return; }
	dir=$(lw_dir dump-314)
	lw_dump "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_one_dump "$dir"
	t_jq "rebuilder waits for Store._lock, which it holds; Task-1 awaits rebuilder" "$dir" \
		'(wait_of("rebuilder") | .waits_for.name == "Store._lock" and .held_by.name == "rebuilder")
		 and holds_of("rebuilder") == ["Store._lock"] and
		 (wait_of("Task-1") | .waits_for.type == "task" and .held_by.name == "rebuilder")'
	t_jq "rebuilder's coroutines" "$dir" 'who("rebuilder") | py_frame("Store.set_hash") and py_frame("Store.rebuild")'
	hang_stop "$HANG_PID"
	roots_clean
	t_end
}

test_usage()
{
	local dir

	t_begin "dump without one PID: usage (exit 2); of no such process: exit 3"
	dir=$(lw_dir dump-usage)
	lw_dump "$dir"
	t_rc "$dir" 2
	t_stderr_line "$dir" "dump takes one PID: lockwatch dump \\[--json\\] PID"
	dir=$(lw_dir dump-gone)
	lw_dump "$dir" 2147483600
	t_rc "$dir" 3
	t_stderr_line "$dir" "cannot dump pid 2147483600: no such process"
	t_end
}

tap_plan 6
test_threads
test_tree
test_healthy
test_native
test_314
test_usage
tap_finish
