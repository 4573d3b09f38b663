#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# python.t - asyncio and threading deadlocks in unmodified CPython 3.11
# processes (tests/pyhang.py, run by Debian's /usr/bin/python3.11), read from
# their memory: the locked-method-calls-locked-method trap, two tasks taking
# two asyncio locks in opposite order, two tasks awaiting each other, an
# asyncio lock left locked by a task that died, two threads on two
# threading.Locks, a task holding a threading.Lock its own event loop's
# thread then blocks on, a join while holding the joined thread's lock, and
# an RLock taken by hand (its recorded owner) against a Lock; futures: two
# work items of a pool waiting for each other's, every worker waiting for
# one queued behind it, run_coroutine_threadsafe().result() on the loop's
# own thread, a worker and two tasks through a future and an asyncio lock;
# stalled event loops (loop_stall) and Python lock orders (lock_order).
# Each by `check` (JSON, and text for one), by -p on a process already hung,
# and by watching a command. True negatives
# (tests/pyhealthy.py) stay silent under watching and repeated checks. A
# Python of another version is named as unsupported. The same deadlocks and
# true negatives are run under pyenv's 3.12, Debian trixie's 3.13 and sid's
# 3.14 and 3.15 (each in a root of its own), and pyenv's 3.11 and 3.13.0
# where this machine has them; a missing one of the first four fails.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"
# shellcheck source=tests/lib-pyroot.sh
. "$(dirname "$0")/lib-pyroot.sh"

lw_require_root_bpf
lw_require_built fakepy

PY=${LW_PYTHON:-/usr/bin/python3.11}
PYHANG=$LW_ROOT/tests/pyhang.py
PYHEALTHY=$LW_ROOT/tests/pyhealthy.py
HEALTHY_MODES="rlock join ordered idle byhand futures chunks swap reenter server-idle server-busy"
[ -x "$PY" ] || tap_bail "$PY is missing (scripts/install-deps.sh installs python3.11)"

# The cycles of pyhang.py's modes, as t_pycycle takes them.
ABBA_EDGES="task/transfer-ab:asyncio.Lock:lock_b:task/transfer-ba
	task/transfer-ba:asyncio.Lock:lock_a:task/transfer-ab"
THREADS_EDGES="thread/mover-ab:threading.Lock:lock_b:thread/mover-ba
	thread/mover-ba:threading.Lock:lock_a:thread/mover-ab"

JQ_DEFS+='
def party($t; $n): .type == $t and .name == $n;
def dl: dl_alerts[0];
'

# py_start NAME MODE [PYTHON]: "pyhang.py MODE" under PYTHON (default $PY),
# waited for until its deadlock formed (its ready line); sets HANG_PID.
py_start()
{
	HANG=${3:-$PY} hang_start "$1" "$PYHANG" "$2"
}

# py_line FUNC TEXT: the line of pyhang.py where TEXT first appears after
# "def FUNC(" (or "async def FUNC(").
py_line()
{
	awk -v f="def $1(" -v t="$2" 'index($0, f) { on = 1 } on && index($0, t) { print NR; exit }' \
		"$PYHANG"
}

# t_pycycle DIR EDGE...: exactly one deadlock-class alert, of the first
# EDGE's kind ("deadlock" unless given as KIND=...), whose cycle is exactly
# the edges "wtype/waiter:locktype:lock:htype/holder" (a holder "-" is no
# live holder), each holder the next waiter (by pid, tid and task address).
t_pycycle()
{
	local dir=$1 kind=deadlock n e w t l h

	shift
	case "$1" in kind=*)
		kind=${1#kind=}
		shift
		;;
	esac
	n=$#
	t_json_lines "$dir"
	t_jq "exactly one deadlock-class alert, a $kind" "$dir" \
		'dl_alerts | length == 1 and .[0].kind == $k' --arg k "$kind"
	t_jq "$n edge(s)" "$dir" '(dl.cycle // dl.waits) | length == $n' --argjson n "$n"
	for e in "$@"; do
		IFS=: read -r w t l h <<<"$e"
		t_jq "edge: ${w/\// } waits for $t $l, held by ${h/\// }" "$dir" \
			'any((dl.cycle // dl.waits)[];
			     .waiter.type == ($w | split("/")[0]) and .waiter.name == ($w | split("/")[1]) and
			     .waits_for.type == $t and .waits_for.name == $l and
			     ($h == "-" and .held_by.exited == true or
			      .held_by.type == ($h | split("/")[0]) and .held_by.name == ($h | split("/")[1])))' \
			--arg w "$w" --arg t "$t" --arg l "$l" --arg h "$h"
	done
	[ "$kind" = deadlock ] || return 0
	t_jq "the cycle is closed: each holder is the next waiter" "$dir" \
		'dl.cycle as $c | all(range($c | length); $c[.].held_by as $h |
			$c[(. + 1) % ($c | length)].waiter as $w |
			$h.pid == $w.pid and $h.tid == $w.tid and $h.type == $w.type and
			($h.addr // "") == ($w.addr // ""))'
	t_jq "tasks carry their Task address, every party a pid and the loop's tid" "$dir" \
		'all(dl.cycle[] | .waiter, .held_by; (.pid | type == "number") and .tid > 0 and
			(.type != "task" or (.addr | test("^0x[0-9a-f]+$"))))'
	t_jq "each lock has a key and an address" "$dir" \
		'all(dl.cycle[]; (.waits_for.key | length > 0) and (.waits_for.addr | test("^0x")))'
}

# t_attach_cycle DIR PID EDGE...: `lockwatch -p PID` on a process already
# hung reports the cycle of EDGEs (as t_pycycle takes them) within seconds,
# exit 1.
t_attach_cycle()
{
	local dir=$1 pid=$2

	shift 2
	lw_run "$dir" --json --exit-on-deadlock --duration 30 -p "$pid"
	t_rc "$dir" 1
	t_pycycle "$dir" "$@"
	t_within "$dir" 10
}

# t_within DIR SECS: the captured run took less than SECS seconds.
t_within()
{
	awk -v t="$(lw_elapsed "$1")" -v s="$2" 'BEGIN { exit !(t < s) }' ||
		t_fail "took $(lw_elapsed "$1") s, not under $2 s"
}

# t_pyframe DIR PARTY FUNCTION LINE: PARTY's Python stack in the alert has
# FUNCTION at pyhang.py:LINE.
t_pyframe()
{
	t_jq "$2's stack: $3 at pyhang.py:$4" "$1" \
		'any(dl.threads[] | select(.name == $p) | .stack[]; .language == "python" and
			.function == $f and (.file | endswith("/pyhang.py")) and .line == $l)' \
		--arg p "$2" --arg f "$3" --argjson l "$4"
}

test_store()
{
	local dir

	dir=$(lw_dir store)
	t_begin "check: a locked method calls a locked method: a task waits for its own asyncio.Lock"
	py_start store store || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "task/rebuilder:asyncio.Lock:Store._lock:task/rebuilder"
	t_jq "summary: it holds it itself" "$dir" 'dl.summary | test("rebuilder.*holds itself")'
	t_pyframe "$dir" rebuilder Store.set_hash "$(py_line set_hash 'async with self._lock')"
	t_pyframe "$dir" rebuilder Store.rebuild "$(py_line rebuild 'await self.set_hash')"
	t_jq "rebuilder's innermost frame is asyncio's Lock.acquire" "$dir" \
		'dl.threads[0].stack[0] | .function == "Lock.acquire" and (.file | endswith("asyncio/locks.py"))'
	t_jq "the loop's thread is the process's main thread" "$dir" \
		'dl.cycle[0].waiter.tid == $p' --argjson p "$HANG_PID"
	t_end
	STORE_PID=$HANG_PID
}

test_store_text()
{
	local dir

	dir=$(lw_dir store-text)
	t_begin "check (text): the same trap in Python terms, with file:line"
	lw_check "$dir" "$STORE_PID"
	t_rc "$dir" 1
	t_grep "headline" "$dir" '^[-0-9: .]+DEADLOCK: task rebuilder of pid [0-9]+ \(python3\.11\) waits for asyncio\.Lock Store\._lock, which it holds itself$'
	t_grep "edge" "$dir" "^  task rebuilder on thread $STORE_PID waits for asyncio\.Lock Store\._lock at 0x[0-9a-f]+, held by task rebuilder on thread $STORE_PID$"
	t_grep "frame with file:line" "$dir" "^ +#2  Store\.set_hash \(.*/pyhang\.py:$(py_line set_hash 'async with self._lock')\)$"
	t_end
	hang_stop "$STORE_PID"
}

test_abba()
{
	local dir

	dir=$(lw_dir abba)
	t_begin "check: two tasks take two asyncio locks in opposite order"
	py_start abba abba || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_pycycle "$dir" $ABBA_EDGES
	t_pyframe "$dir" transfer-ab transfer_ab "$(py_line transfer_ab 'async with lock_b')"
	t_pyframe "$dir" transfer-ba transfer_ba "$(py_line transfer_ba 'async with lock_a')"
	t_jq "the two locks are two keys" "$dir" '[dl.cycle[].waits_for.key] | unique | length == 2'
	t_end
	ABBA_PID=$HANG_PID
}

test_abba_attach()
{
	local dir

	dir=$(lw_dir abba-p)
	t_begin "-p PID on the hung asyncio process: reported within seconds, exit 1"
	# shellcheck disable=SC2086
	t_attach_cycle "$dir" "$ABBA_PID" $ABBA_EDGES
	t_jq "summary: one deadlock" "$dir" 'summary.deadlocks == 1'
	[ -d "/proc/$ABBA_PID" ] && [ "$(proc_state "$ABBA_PID")" = S ] ||
		t_fail "the watched process is no longer asleep as it was"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$ABBA_PID/status" || t_fail "it is traced"
	t_end
	hang_stop "$ABBA_PID"
}

test_await()
{
	local dir

	dir=$(lw_dir await)
	t_begin "check: two tasks await each other"
	py_start await await || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "task/ping:task:pong:task/pong" "task/pong:task:ping:task/ping"
	t_jq "summary: they await each other" "$dir" 'dl.summary | test("await each other")'
	t_pyframe "$dir" ping ping "$(py_line ping 'await tasks')"
	t_pyframe "$dir" pong pong "$(py_line pong 'await tasks')"
	t_end
	hang_stop "$HANG_PID"
}

test_orphan()
{
	local dir

	dir=$(lw_dir orphan)
	t_begin "check: an asyncio lock taken by a task that died: orphaned_lock"
	py_start orphan orphan || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" kind=orphaned_lock "task/reader-1:asyncio.Lock:cache_lock:-" \
		"task/reader-2:asyncio.Lock:cache_lock:-"
	t_jq "summary: no live task holds it; loader ended with RuntimeError" "$dir" \
		'dl.summary | test("no live task holds") and test("loader \\(RuntimeError\\)")'
	t_pyframe "$dir" reader-1 read_cache "$(py_line read_cache 'async with cache_lock')"
	t_end
	hang_stop "$HANG_PID"
}

test_orphan_chain()
{
	local dir

	dir=$(lw_dir orphan-chain)
	t_begin "check: 50,000 tasks awaiting one another down to a waiter of an orphaned lock: found in seconds"
	py_start orphan-chain orphan-chain || return
	LW_TIMEOUT=120 lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_jq "one orphaned_lock: reader-1 waits for cache_lock, held by no live task" "$dir" \
		'dl_alerts | length == 1 and .[0].kind == "orphaned_lock" and
		 .[0].waits[0].waiter.name == "reader-1" and .[0].waits[0].waits_for.name == "cache_lock"'
	# the verdict itself needs every live task read and followed down to
	# reader-1; the list of what is blocked shows its first 64 links
	t_jq "it read the chain: links awaiting links among the blocked" "$dir" \
		'[summary.blocked[] | select(.waits_for.type == "task" and
		  (.waits_for.name | startswith("link-")))] | length == 64'
	t_within "$dir" 20
	t_end
	hang_stop "$HANG_PID"
}

test_threads()
{
	local dir

	dir=$(lw_dir threads)
	t_begin "check: two threads take two threading.Locks in opposite order"
	py_start threads threads || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_pycycle "$dir" $THREADS_EDGES
	t_pyframe "$dir" mover-ab move_ab "$(py_line move_ab 'with lock_b')"
	t_pyframe "$dir" mover-ba move_ba "$(py_line move_ba 'with lock_a')"
	t_jq "the threads are threads of the process, not the main one" "$dir" \
		'all(dl.cycle[]; .waiter.tid != .waiter.pid)'
	t_jq "no second report of the same cycle from the native detector" "$dir" \
		'[.[] | select(.kind == "deadlock")] | length == 1'
	t_end
	THREADS_PID=$HANG_PID
}

test_threads_watch()
{
	local dir

	dir=$(lw_dir threads-p)
	t_begin "-p PID on the threads: the cycle again, within seconds"
	# shellcheck disable=SC2086
	t_attach_cycle "$dir" "$THREADS_PID" $THREADS_EDGES
	t_end
	hang_stop "$THREADS_PID"
}

# Futures that can only complete through each other (pyhang.py pool,
# queued, threadsafe, cross), as t_pycycle takes them.
POOL_EDGES="thread/worker_0:future:wait_on_a:thread/worker_1
	thread/worker_1:future:wait_on_b:thread/worker_0"
QUEUED_EDGES="thread/pool_0:future:compute:thread/pool_1
	thread/pool_1:future:compute:thread/pool_0"
THREADSAFE_EDGES="thread/MainThread:future:refresh:thread/MainThread"
CROSS_EDGES="thread/io_0:future:refill:task/refill
	task/refill:asyncio.Lock:cache_lock:task/fetcher
	task/fetcher:future:fill_cache:thread/io_0"

# check: two work items of a pool wait for each other's futures; -p the same
test_pool()
{
	local dir

	dir=$(lw_dir pool)
	t_begin "check: two work items of a ThreadPoolExecutor wait for each other's futures"
	py_start pool pool || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_pycycle "$dir" $POOL_EDGES
	t_pyframe "$dir" worker_0 wait_on_b "$(py_line wait_on_b '.result()')"
	t_pyframe "$dir" worker_1 wait_on_a "$(py_line wait_on_a '.result()')"
	t_jq "the headline says futures" "$dir" \
		'dl.summary | test("^2 threads of pid [0-9]+ \\(python[0-9.]*\\) wait for each other.s futures$")'
	t_jq "the main thread waits for wait_on_b's future, held by worker_0, outside the cycle" "$dir" \
		'(dl.cycle[] | select(.waiter.name == "worker_0") | .waiter.tid) as $w0 |
		 any(.[] | select(.kind == "summary") | .blocked[]; .waits_for.type == "future" and
			.waits_for.name == "wait_on_b" and .waits_for.holder.tid == $w0 and
			any(.waiters[]; .name == "MainThread"))'
	t_end
	dir=$(lw_dir pool-p)
	t_begin "-p PID on the pool: the cycle again, within seconds"
	# shellcheck disable=SC2086
	t_attach_cycle "$dir" "$HANG_PID" $POOL_EDGES
	t_end
	hang_stop "$HANG_PID"
}

# check: every worker waits for a future queued behind it (the all-of
# proof: the pool has its most threads, each stuck)
test_queued()
{
	local dir

	dir=$(lw_dir queued)
	t_begin "check: both workers of a pool wait for futures queued behind them"
	py_start queued queued || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_pycycle "$dir" $QUEUED_EDGES
	t_pyframe "$dir" pool_0 nest "$(py_line nest '.result()')"
	t_pyframe "$dir" pool_1 nest "$(py_line nest '.result()')"
	t_end
	hang_stop "$HANG_PID"
}

# check: run_coroutine_threadsafe(...).result() on the loop's own thread;
# and a concurrent future and an asyncio one through an asyncio lock
test_threadsafe()
{
	local dir

	dir=$(lw_dir threadsafe)
	t_begin "check: run_coroutine_threadsafe().result() on the event loop's own thread"
	py_start threadsafe threadsafe || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "$THREADSAFE_EDGES"
	t_pyframe "$dir" MainThread threadsafe_main "$(py_line threadsafe_main '.result()')"
	t_jq "the headline: a future only it can complete" "$dir" \
		'dl.summary | test("MainThread\\) of pid [0-9]+ .* waits for future refresh, which only it can complete$")'
	t_end
	hang_stop "$HANG_PID"
	dir=$(lw_dir cross)
	t_begin "check: a worker waits for a coroutine, which waits for a lock held by a task awaiting the worker"
	py_start cross cross || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_pycycle "$dir" $CROSS_EDGES
	t_pyframe "$dir" io_0 fill_cache "$(py_line fill_cache '.result()')"
	t_end
	hang_stop "$HANG_PID"
}

# -p on a loop stalled by a coroutine (pyhang.py stall: CPU-bound; blocking:
# time.sleep inside it): one loop_stall, once per stall, naming the task,
# the loop's thread and where it runs; a threshold of its own; none at 0.
# stall_of PYTHON MODE TASK FUNCTION TEXT [NATIVE]
stall_of()
{
	local py=$1 mode=$2 task=$3 fn=$4 line dir

	line=$(py_line "$fn" "$5")
	dir=$(lw_dir "stall-$mode-${py//\//_}")
	py_start "stall-$mode" "$mode" "$py" || return
	lw_run "$dir" --json --duration 3.5 -p "$HANG_PID"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "$mode: exactly one alert, a loop_stall, once for the whole stall" "$dir" \
		'records | length == 1 and .[0].kind == "loop_stall"'
	t_jq "$mode: the loop is held by task $task, on the main thread, for 1 s or a little more" "$dir" \
		'records[0] as $a | $a.holds[0] as $h | $h.lock.type == "event_loop" and
		 $h.holder.type == "task" and $h.holder.name == $t and $h.holder.tid == $pid and
		 $h.held_for_ms >= 1000 and $h.held_for_ms < 2000 and
		 $a.threads[0].name == "MainThread" and $a.threads[0].tid == $pid and
		 $a.threads[0].blocked_for_ms == $h.held_for_ms' \
		--arg t "$task" --argjson pid "$HANG_PID"
	t_jq "$mode: the thread's stack now: $fn at pyhang.py:$line, inside Handle._run" "$dir" \
		'records[0].threads[0].stack as $s |
		 any($s[]; .language == "python" and .function == $f and
			(.file | endswith("/pyhang.py")) and .line == $l) and
		 any($s[]; .language == "python" and .function == "Handle._run")' \
		--arg f "$fn" --argjson l "$line"
	[ -z "${6:-}" ] || t_jq "$mode: the native frame it sits in: $6" "$dir" \
		'any(records[0].threads[0].stack[]; .function == $n)' --arg n "$6"
	t_jq "$mode: the headline" "$dir" \
		'records[0].summary | test("^the event loop of thread [0-9]+ [(]MainThread[)] of pid [0-9]+ [(][^)]*[)] has not returned to its selector for 1[.][0-9]{3} s, in a step of task " + $t + "$")' \
		--arg t "$task"
	dir=$(lw_dir "stall-$mode-check-${py//\//_}")
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 0
	t_jq "$mode: check samples the loop until it has stalled 1 s: one loop_stall, task $task" "$dir" \
		'records | length == 1 and .[0].kind == "loop_stall" and
		 .[0].holds[0].holder.name == $t and .[0].holds[0].held_for_ms >= 1000' --arg t "$task"
	t_within "$dir" 3
	hang_stop "$HANG_PID"
}

test_stall()
{
	local dir

	t_begin "-p on a stalled event loop: one loop_stall naming the task and where it runs"
	stall_of "$PY" stall cruncher crunch 'n += sum'
	stall_of "$PY" blocking fetcher fetch_blocking 'time.sleep(3600)' clock_nanosleep
	t_end
	t_begin "--stall-threshold: its own threshold, and 0 reports none while sampling"
	py_start stall-threshold stall || return
	dir=$(lw_dir stall-threshold)
	lw_run "$dir" --json --duration 4 --stall-threshold 2.5 -p "$HANG_PID"
	t_rc "$dir" 0
	t_jq "one loop_stall, after 2.5 s" "$dir" \
		'records | length == 1 and .[0].kind == "loop_stall" and .[0].holds[0].held_for_ms >= 2500'
	dir=$(lw_dir stall-none)
	lw_run "$dir" --json --duration 2.5 --stall-threshold 0 -p "$HANG_PID"
	t_rc "$dir" 0
	t_no_alert "$dir"
	t_jq "the loop was sampled, running a callback each time" "$dir" \
		'summary.python_loops == 1 and summary.loop_samples >= 10 and
		 summary.loop_busy == summary.loop_samples'
	hang_stop "$HANG_PID"
	t_end
}

# Watching pyhang.py order-KIND under PYTHON: its tasks (threads) take
# lock_a and lock_b nested, in one order and then, once done, in the other:
# never at once, so nothing hangs, but it is a lock_order (exit 1, as for
# native orders), each order with who took it and where, from the looks.
# order_of PYTHON tasks|threads
order_of()
{
	local py=$1 kind=$2 dir type=thread ltype=threading.Lock fn=hold_ab

	if [ "$kind" = tasks ]; then
		type=task ltype=asyncio.Lock fn=hold_ab_async
	fi
	dir=$(lw_dir "order-$kind-${py//\//_}")
	LW_TIMEOUT=60 lw_run "$dir" --json --duration 30 -- "$py" "$PYHANG" "order-$kind"
	t_rc "$dir" 1
	t_json_lines "$dir"
	t_jq "order-$kind: exactly one alert, a lock_order of the two orders" "$dir" \
		'records | length == 1 and .[0].kind == "lock_order" and (.[0].orders | length) == 2'
	t_jq "order-$kind: lock_a then lock_b by $type ab-first, lock_b then lock_a by $type ba-later" "$dir" \
		'records[0].orders as $o |
		 any($o[]; .held.name == "lock_a" and .taken.name == "lock_b" and
			.thread.type == $ty and .thread.name == "ab-first") and
		 any($o[]; .held.name == "lock_b" and .taken.name == "lock_a" and
			.thread.type == $ty and .thread.name == "ba-later") and
		 all($o[]; .held.type == $lt and .taken.type == $lt)' \
		--arg ty "$type" --arg lt "$ltype"
	t_jq "order-$kind: where ab-first took both: $fn in pyhang.py" "$dir" \
		'any(records[0].orders[]; .thread.name == "ab-first" and
			all(.held_at[0], .taken_at[0]; .language == "python" and .function == $f and
				(.file | endswith("/pyhang.py")) and .line > 0))' --arg f "$fn"
	# (a third, once under 3.15 in CI: a name read once otherwise makes the
	# same address pair another order - counted, never alerted on)
	t_jq "order-$kind: the summary counts the orders seen, 2 or more" "$dir" \
		'summary.python_orders >= 2'
	t_jq "order-$kind: the headline" "$dir" \
		'records[0].summary | test("^2 locks of pid [0-9]+ [(][^)]*[)] are taken in a cycle of orders: ")'
}

test_py_orders()
{
	t_begin "watching: tasks take two asyncio locks nested in opposite orders, never at once: lock_order"
	order_of "$PY" tasks
	t_end
	t_begin "watching: threads take two threading locks nested in opposite orders, never at once: lock_order"
	order_of "$PY" threads
	t_end
}

# A deadlock through the GIL (pyhang.py gil): thread visitor holds the C
# library's registry_mutex and waits for the GIL, which thread locker holds
# while it waits for registry_mutex (ctypes.PyDLL keeps the GIL).
test_gil()
{
	local dir

	t_begin "check: a C call that waits for a mutex holding the GIL, while the mutex's holder waits for the GIL"
	py_start gil gil || { t_end; return; }
	sleep 1 # the deadlock forms 0.5 s after the ready line
	dir=$(lw_dir gil)
	lw_check "$dir" --json "$HANG_PID"
	hang_stop "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "thread/visitor:GIL:GIL:thread/locker" \
		"thread/locker:mutex:registry_mutex:thread/visitor"
	t_jq "locker's stack: registry_lookup under lock_holding_gil; visitor's: the callback's sleep" "$dir" \
		'any(dl.threads[]; .name == "locker" and any(.stack[]; .function == "registry_lookup") and
		     any(.stack[]; .function == "lock_holding_gil")) and
		 any(dl.threads[]; .name == "visitor" and any(.stack[]; .function == "on_visit_sleepy"))'
	t_end
}

# The GIL handed back and forth (pyhealthy.py rlock: four threads busy in
# Python on two CPUs): checks see threads waiting for it, never a deadlock.
test_gil_healthy()
{
	local dir i seen=0

	t_begin "true negative: four busy threads hand the GIL back and forth: waits for it seen, no alert"
	HANG=$PY hang_start gil-healthy "$PYHEALTHY" rlock 8 || { t_end; return; }
	# six checks at least, and on (while it runs) until one catches a
	# thread asleep for the GIL: most catch them on the RLock instead
	for i in $(seq 1 15); do
		dir=$(lw_dir "gil-healthy-$i")
		lw_check "$dir" --json "$HANG_PID"
		t_rc "$dir" 0
		t_no_alert "$dir"
		jq -e -s '.[-1].blocked | any(.[]; .waits_for.type == "GIL")' \
			"$dir/out" >/dev/null 2>&1 && seen=$((seen + 1))
		[ "$seen" -eq 0 ] || [ "$i" -lt 6 ] || break
		sleep 0.2
	done
	hang_stop "$HANG_PID"
	# (its holder is named when a check catches the GIL locked, not while
	# it is being handed over)
	[ "$seen" -gt 0 ] || t_fail "no check saw a thread waiting for the GIL"
	t_end
}

# A task and a thread that never let go (pyhang.py hold) under PYTHON: one
# long_hold each, naming the holder, the lock and the frame inside its
# `with`. Assertions only: the caller begins and ends the test.
long_hold_of()
{
	local py=$1 dir

	HANG=$py hang_start "hold-${py//\//_}" "$PYHANG" hold || return
	dir=$(lw_dir "long-hold-${py//\//_}")
	lw_run "$dir" --json --hold-threshold 2 --duration 6 -p "$HANG_PID"
	hang_stop "$HANG_PID"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "two long_hold alerts and nothing else" "$dir" \
		'(records | length == 2) and all(records[]; .kind == "long_hold")'
	t_jq "task owner has held asyncio.Lock table_lock 2 s or more, taken in own()" "$dir" \
		'any(records[]; .holds[0] | .holder.type == "task" and .holder.name == "owner" and
		     .lock.type == "asyncio.Lock" and .lock.name == "table_lock" and
		     .held_for_ms >= 2000 and .taken_at[0].function == "own")'
	t_jq "thread keeper has held threading.Lock config_lock, taken in keep(); its stack now" "$dir" \
		'any(records[]; .holds[0] | .holder.type == "thread" and .holder.name == "keeper" and
		     .lock.type == "threading.Lock" and .lock.name == "config_lock" and
		     .held_for_ms >= 2000 and .taken_at[0].function == "keep") and
		 any(records[]; .threads[0].name == "keeper" and
		     any(.threads[0].stack[]; .function == "keep" and .language == "python"))'
	t_jq "each summary names its holder" "$dir" \
		'[records[].summary] | any(startswith("task owner of pid")) and
		 any(test("^thread [0-9]+ \\(keeper\\) of pid"))'
}

# Locks held nearly all the time but let go and taken again in a loop
# (pyhealthy.py relock) under PYTHON: never a long hold, though every look
# sees them held. Assertions only.
relock_of()
{
	local py=$1 dir

	HANG=$py hang_start "relock-${py//\//_}" "$PYHEALTHY" relock 12 || return
	dir=$(lw_dir "relock-${py//\//_}")
	lw_run "$dir" --json --hold-threshold 2 --duration 8 -p "$HANG_PID"
	hang_stop "$HANG_PID"
	t_rc "$dir" 0
	t_no_alert "$dir"
	t_jq "it looked again and again and saw the locks held, taken anew each time" "$dir" \
		'.[-1].python_looks >= 4 and .[-1].python_holds >= 4'
}

test_long_hold()
{
	t_begin "-p --hold-threshold 2: a task's asyncio.Lock and a thread's threading.Lock held for good: a long_hold each"
	long_hold_of "$PY"
	t_end
}

test_relock()
{
	t_begin "true negative: locks let go and taken again every 0.4 s, at the same line: no long_hold"
	relock_of "$PY"
	t_end
}

test_mixed()
{
	local dir

	dir=$(lw_dir mixed)
	t_begin "check: a task holds a threading.Lock that its loop's own thread then blocks on"
	py_start mixed mixed || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "thread/MainThread:threading.Lock:tlock:task/holder" \
		"task/holder:event_loop:MainThread:thread/MainThread"
	t_pyframe "$dir" MainThread block "$(py_line block 'with tlock')"
	t_pyframe "$dir" holder hold "$(py_line hold "await asyncio.sleep(0.1)")"
	t_end
	hang_stop "$HANG_PID"
}

test_join()
{
	local dir

	dir=$(lw_dir join)
	t_begin "check: the main thread joins a thread while holding the lock it needs"
	py_start join join || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "thread/loader:threading.Lock:registry_lock:thread/MainThread" \
		"thread/MainThread:thread_exit:loader:thread/loader"
	t_pyframe "$dir" loader load_registry "$(py_line load_registry 'with registry_lock')"
	t_pyframe "$dir" MainThread join_main "$(py_line join_main 'loader.join()')"
	t_end
	hang_stop "$HANG_PID"
}

test_rlock()
{
	local dir

	dir=$(lw_dir rlock)
	t_begin "check: an RLock taken by hand (its owner recorded) and a Lock, in opposite order"
	py_start rlock rlock || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "thread/tally:threading.RLock:config_lock:thread/configure" \
		"thread/configure:threading.Lock:stats_lock:thread/tally"
	t_pyframe "$dir" tally take_stats_then_config \
		"$(py_line take_stats_then_config 'config_lock.acquire()')"
	t_pyframe "$dir" configure take_config_then_stats \
		"$(py_line take_config_then_stats 'stats_lock.acquire()')"
	t_end
	hang_stop "$HANG_PID"
}

NATIVE_EDGES="thread/cacher:mutex:registry_mutex:thread/visitor
	thread/visitor:threading.Lock:cache_lock:thread/cacher"

# t_native DIR: the mixed cycle of pyhang.py native, with both stacks.
t_native()
{
	local dir=$1

	# shellcheck disable=SC2086
	t_pycycle "$dir" $NATIVE_EDGES
	t_jq "summary: 2 threads of the Python process on 2 locks" "$dir" \
		'dl.summary | test("^2 threads of pid [0-9]+ \\(python3\\.11\\) wait for each other on 2 locks$")'
	t_jq "the mutex is the library's, keyed by its address" "$dir" \
		'any(dl.cycle[].waits_for; .type == "mutex" and (.key | startswith("anon:")))'
	t_pyframe "$dir" cacher cache_fill "$(py_line cache_fill 'registry.registry_lookup(1)')"
	t_pyframe "$dir" visitor on_visit "$(py_line on_visit 'with cache_lock')"
	t_pyframe "$dir" visitor visit_all "$(py_line visit_all 'registry.registry_visit(')"
	t_jq "cacher's stack: the library's registry_lookup at libregistry.c:LINE, native" "$dir" \
		'any(dl.threads[] | select(.name == "cacher") | .stack[];
			.function == "registry_lookup" and (.pc | test("^0x")) and
			(.file | endswith("libregistry.c")) and .line > 0)'
	t_jq "visitor's stack: registry_visit (native) below on_visit (Python), above visit_all" "$dir" \
		'[dl.threads[] | select(.name == "visitor") | .stack[].function] as $s |
		 ($s | index("on_visit")) < ($s | index("registry_visit")) and
		 ($s | index("registry_visit")) < ($s | index("visit_all"))'
	t_jq "both stacks start in libc's futex wait, native frames first" "$dir" \
		'all(dl.threads[]; .stack[0].pc != null and (.stack[0].module | test("libc")))'
}

test_native()
{
	local dir

	dir=$(lw_dir native)
	t_begin "check: a threading.Lock and a C library's mutex in opposite order (ctypes, a callback)"
	py_start native native || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_native "$dir"
	t_end
	NATIVE_PID=$HANG_PID
}

test_native_watch()
{
	local dir

	dir=$(lw_dir native-p)
	t_begin "-p PID on the same: the one cycle, once, within seconds"
	lw_run "$dir" --json --duration 4 -p "$NATIVE_PID"
	t_rc "$dir" 1
	t_native "$dir"
	t_jq "summary: one deadlock in 4 s" "$dir" 'summary.deadlocks == 1 and summary.alerts == 1'
	t_end
	hang_stop "$NATIVE_PID"
}

# ring_edges N: the await cycle of pyhang.py ring N.
ring_edges()
{
	local i

	for ((i = 0; i < $1; i++)); do
		echo "task/ring-$i:task:ring-$(((i + 1) % $1)):task/ring-$(((i + 1) % $1))"
	done
}

test_ring()
{
	local n=$1 dir wdir

	dir=$(lw_dir "ring-$n")
	wdir=$(lw_dir "ring-$n-watch")
	t_begin "$n tasks awaiting each other in a ring: one alert, every task in it, once"
	HANG=$PY hang_start "ring-$n" "$PYHANG" ring "$n" || return
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	# shellcheck disable=SC2046
	t_pycycle "$dir" $(ring_edges "$n")
	t_jq "summary: $n tasks await each other" "$dir" \
		'dl.summary | test("^\($n) tasks of pid [0-9]+ .* await each other$")' --argjson n "$n"
	# the re-check reads only the tasks along the cycle's waits (at most
	# 63); a longer cycle's rest is asked again of a whole read
	if [ "$n" -le 63 ]; then
		t_jq "re-checked by partial reads alone" "$dir" \
			'.[-1] | .python_rereads >= 1 and .python_rereads == .python_rereads_partial'
	else
		t_jq "re-checked by a partial read, then a whole one" "$dir" \
			'.[-1] | .python_rereads_partial >= 1 and .python_rereads > .python_rereads_partial'
	fi
	lw_run "$wdir" --json --duration 4 -p "$HANG_PID"
	t_rc "$wdir" 1
	t_json_lines "$wdir"
	t_jq "watched 4 s: exactly one alert, of $n waits" "$wdir" \
		'dl_alerts | length == 1 and (.[0].cycle | length) == $n' --argjson n "$n"
	[ -d "/proc/$HANG_PID" ] || t_fail "the ring's process is gone"
	t_end
	hang_stop "$HANG_PID"
}

# A deadlock that forms after lockwatch's first look at an idle process,
# which uses next to no CPU until then and in forming it.
test_later()
{
	local dir go=$LW_TMP/later.go

	dir=$(lw_dir later)
	t_begin "-p on an idle asyncio process that deadlocks later: found"
	rm -f "$go"
	export LW_GO_FILE=$go
	py_start later later || return
	unset LW_GO_FILE
	lw_spawn "$dir" --json --exit-on-deadlock --duration 20 -p "$HANG_PID" ||
		t_fail "lockwatch did not start"
	sleep 3 # it has looked at the idle process by now
	touch "$go"
	lw_reap "$dir"
	t_rc "$dir" 1
	# shellcheck disable=SC2086
	t_pycycle "$dir" $ABBA_EDGES
	t_end
	hang_stop "$HANG_PID"
}

test_command()
{
	local dir

	dir=$(lw_dir command)
	t_begin "lockwatch -- python3.11 pyhang.py store: found after the exec, exit 1"
	LW_TIMEOUT=60 lw_run "$dir" --json --exit-on-deadlock --duration 30 -- "$PY" "$PYHANG" store
	t_rc "$dir" 1
	t_pycycle "$dir" "task/rebuilder:asyncio.Lock:Store._lock:task/rebuilder"
	t_within "$dir" 10
	t_end
}

# What some check of a true negative must list as blocked, so that silence
# is not blindness: tasks idling on what never comes, and waiters of a lock
# held by hand (holder unknown, no alert).
blocked_of()
{
	case "$1" in
	idle)
		echo 'def w($t; $l; $n): any(summary.blocked[]; .waits_for.type == $t and
			.waits_for.name == $l and any(.waiters[]; .type == "task" and .name == $n));
		      w("asyncio.Event"; "event"; "event-waiter") and
		      w("asyncio.Condition"; "cond"; "cond-waiter") and
		      w("asyncio.Queue"; "queue"; "queue-getter")'
		;;
	join)
		echo 'any(summary.blocked[]; .waits_for.type == "thread_exit" and
			(.waits_for.name | test("^joiner-[1-4]$")) and
			any(.waiters[]; .name == "MainThread"))'
		;;
	futures)
		echo 'any(summary.blocked[]; .waits_for.type == "future" and
			.waits_for.name == "inner" and any(.waiters[]; .name | test("^worker_[01]$")))'
		;;
	chunks)
		echo 'summary.loop_samples >= 2 and summary.loop_busy >= 1'
		;;
	byhand)
		echo 'any(summary.blocked[]; .waits_for.type == "asyncio.Lock" and
			.waits_for.name == "lock" and .waits_for.holder == null and
			any(.waiters[]; .name | test("^waiter-[12]$")))'
		;;
	esac
}

# A true negative: the mode runs 6 s under lockwatch (watching), and is
# checked five times meanwhile; nothing may be reported.
test_healthy()
{
	local mode=$1 dir cdir i ready seen=0 want

	dir=$(lw_dir "healthy-$mode")
	ready=$dir/ready
	t_begin "true negative: pyhealthy $mode, watched and checked, stays silent"
	LW_READY_FILE=$ready LW_TIMEOUT=60 lw_spawn "$dir" --json --duration 30 -- \
		"$PY" "$PYHEALTHY" "$mode" 6
	wait_until 15 test -s "$ready" || t_fail "pyhealthy $mode: no ready line"
	for i in 1 2 3 4 5; do
		cdir=$(lw_dir "healthy-$mode-check$i")
		lw_check "$cdir" --json "$(cut -d' ' -f2 "$ready")"
		t_rc "$cdir" 0
		t_no_alert "$cdir"
		# a busy loop is sampled again 50 ms later, not for a second
		[ "$mode" != chunks ] || t_within "$cdir" 1
		want=$(blocked_of "$mode")
		[ -z "$want" ] || ! jq -e -s "$JQ_DEFS $want" "$cdir/out" >/dev/null 2>&1 ||
			seen=1
		sleep 0.5
	done
	[ -z "$(blocked_of "$mode")" ] || [ "$seen" = 1 ] ||
		t_fail "no check listed what $mode's tasks wait for: $(blocked_of "$mode" | tr -s '\t\n' ' ')"
	lw_reap "$dir"
	t_rc "$dir" 0
	t_no_alert "$dir"
	case $mode in
	chunks | server-busy)
		t_jq "its busy loop was sampled, found running callbacks, never stalled" "$dir" \
			'summary.python_loops >= 1 and summary.loop_busy >= 10'
		;;
	ordered)
		t_jq "its nested locks were seen, in their one order each: asyncio's, threading's" \
			"$dir" 'summary.python_orders == 2'
		;;
	swap)
		grep -Eq 'swaps [1-9]' "$dir/err" ||
			t_fail "no Pair's locks came back at each other's addresses: $(grep swaps "$dir/err")"
		t_jq "the orders of the Pairs' locks were seen" "$dir" 'summary.python_orders >= 2'
		;;
	reenter)
		t_jq "one order, rlock then tlock_a, though rlock is taken again inside" "$dir" \
			'summary.python_orders == 1'
		;;
	idle)
		t_jq "its loop, asleep in a long asyncio.sleep, was sampled, mostly in its selector" \
			"$dir" 'summary.python_loops >= 1 and summary.loop_samples >= 10 and
				summary.loop_busy * 2 < summary.loop_samples'
		;;
	esac
	t_end
}

# A task named to forge output: an escape sequence, a newline and a fake
# headline, a lone surrogate and a non-ASCII letter.
test_hostile_name()
{
	local text json script=$LW_TMP/evil.py name

	py_trap "$script" <<<'name = "evil\x1b[2J\nDEADLOCK: forged \udcff\u00e9"'
	t_begin "a hostile task name: escaped in text, valid UTF-8 in JSON, no forged line"
	bg_start "$PY" "$script"
	sleep 0.7
	text=$(lw_dir hostile-text)
	json=$(lw_dir hostile-json)
	lw_check "$text" "$BG_PID"
	lw_check "$json" --json "$BG_PID"
	t_rc "$text" 1
	t_rc "$json" 1
	[ "$(grep -ac 'DEADLOCK:' "$text/out")" -ge 1 ] &&
		[ "$(grep -aEc '^[-0-9]+ [0-9:.]+ DEADLOCK: ' "$text/out")" -eq 1 ] &&
		! grep -aq '^DEADLOCK' "$text/out" ||
		t_fail "text: not exactly one alert headline (a forged one got through)"
	! grep -aq $'\x1b' "$text/out" || t_fail "text: a raw ESC byte got through"
	grep -aqF 'task evil\x1b[2J\nDEADLOCK: forged ' "$text/out" ||
		t_fail "text: the name is not shown escaped"
	t_json_lines "$json"
	name=$(jq -r -s 'map(select(.kind == "deadlock"))[0].cycle[0].waiter.name' "$json/out")
	[ "$name" = $'evil\x1b[2J\nDEADLOCK: forged \\xed\\xb3\\xbf\u00e9' ] ||
		t_fail "JSON: the name decodes to $(printf %q "$name")"
	bg_stop "$BG_PID"
	t_end
}

# A look that would read without end: 200 locks waited for that no frame's
# local names, each looked for among a million globals (a minute a look, and
# lockwatch deaf to everything else meanwhile). The look stops at its reads:
# the abba beside them is reported, and lockwatch keeps to its --duration.
test_hostile_dict()
{
	local dir

	dir=$(lw_dir hostile-dict)
	t_begin "200 locks only a million globals could name: each look stops at its reads, the abba beside them is found"
	py_start hidden hidden || return
	lw_run "$dir" --json --duration 8 -p "$HANG_PID"
	t_rc "$dir" 1
	t_jq "the abba: transfer-ab and transfer-ba on two asyncio locks" "$dir" \
		'dl_alerts | length == 1 and ([.[0].cycle[].waiter.name] | sort) == ["transfer-ab", "transfer-ba"] and
		 ([.[0].cycle[].waits_for | select(.type == "asyncio.Lock") | .key] | unique | length) == 2'
	t_jq "summary: its looks cut short, counted" "$dir" \
		'summary.python_looks >= 1 and summary.python_looks_cut >= 1'
	grep -q "pid $HANG_PID: its Python state is more than one look may read" "$dir/err" ||
		t_fail "no line says its looks are cut short"
	t_within "$dir" 12
	hang_stop "$HANG_PID"
	t_end
}

# A type whose dict holds a key of its own type: reading the type's module
# reads that key's type, which is the type being read (this recursed until
# the stack ran out). The task's name is of that type, via __str__.
test_hostile_type()
{
	local dir script=$LW_TMP/evtype.py

	py_trap "$script" <<'EVIL'
import gc
class K(str):
    def __str__(self):
        return self
d = gc.get_referents(K.__dict__)[0]
rest = dict(d)
d.clear()
d[K("zz")] = 1
d.update(rest)
name = K("trap")
EVIL
	t_begin "a type whose dict has a key of that type: read to a bounded depth"
	bg_start "$PY" "$script"
	sleep 0.7
	dir=$(lw_dir hostile-type)
	lw_check "$dir" --json "$BG_PID"
	t_rc "$dir" 1
	t_jq "the self-deadlock on the asyncio.Lock, in trap()" "$dir" \
		'[.[] | select(.kind == "deadlock")] | length == 1 and
		 .[0].cycle[0].waits_for.type == "asyncio.Lock" and
		 (.[0].threads[0].stack | map(.function) | index("trap") != null)'
	bg_stop "$BG_PID"
	t_end
}

test_unsupported()
{
	local dir

	dir=$(lw_dir unsupported)
	t_begin "a Python without a layout: one line names it, the native detector goes on"
	bg_start env LW_FAKEPY_DEADLOCK=1 "$LW_PROGS/fakepy"
	sleep 0.3
	lw_check "$dir" --json "$BG_PID"
	t_rc "$dir" 1
	t_stderr_line "$dir" "pid $BG_PID: unsupported Python 3\.16\.0: .*native locks still are"
	t_jq "its native deadlock: native-a and native-b on left and right" "$dir" \
		'[.[] | select(.kind == "deadlock")] | length == 1 and
		 ([.[0].cycle[] | [.waiter.name, .waits_for.name, .held_by.name]] | sort) ==
		 [["native-a", "right", "native-b"], ["native-b", "left", "native-a"]]'
	bg_stop "$BG_PID"
	t_end
}

# A 3.13 is read as its _Py_DebugOffsets describe it: fakepy's says it is a
# free-threaded build, or gives sizes lockwatch's table does not know.
test_described()
{
	local dir

	t_begin "a Python 3.13 whose own description is not one lockwatch reads: one line says why"
	bg_start "$LW_PROGS/fakepy" 0x030d05f0 1
	sleep 0.2
	dir=$(lw_dir described-ft)
	lw_check "$dir" --json "$BG_PID"
	t_rc "$dir" 0
	t_stderr_line "$dir" "pid $BG_PID: unsupported free-threaded Python 3\.13\.5t: .*native locks still are"
	t_no_alert "$dir"
	bg_stop "$BG_PID"
	bg_start "$LW_PROGS/fakepy" 0x030d05f0 0
	sleep 0.2
	dir=$(lw_dir described-sizes)
	lw_check "$dir" --json "$BG_PID"
	t_rc "$dir" 0
	t_stderr_line "$dir" "pid $BG_PID: unsupported Python 3\.13\.5 \(its .* is 0 bytes, lockwatch knows [0-9]+\): .*native locks still are"
	bg_stop "$BG_PID"
	t_end
}

# One "check" of pyhang.py MODE under PYTHON: exit 1 and exactly EDGES.
other_mode()
{
	local py=$1 mode=$2 dir

	shift 2
	dir=$(lw_dir "other-${py//\//_}-$mode")
	py_start "other-$mode" "$mode" "$py" || return
	[ "$mode" != gil ] || sleep 1 # it forms 0.5 s after the ready line
	lw_check "$dir" --json "$HANG_PID"
	t_rc "$dir" 1
	t_pycycle "$dir" "$@"
	hang_stop "$HANG_PID"
}

# Another CPython of a supported version (pyenv's, trixie's, sid's): every
# deadlock again (through the GIL too), the long holds, and the true
# negatives that hold or wait without end or let go and take again.
test_other_python()
{
	local py=$1 mode dir i

	t_begin "$("$py" -c 'import sys; print("Python %d.%d.%d" % sys.version_info[:3])') ($py): every deadlock, and silence for the true negatives"
	other_mode "$py" store "task/rebuilder:asyncio.Lock:Store._lock:task/rebuilder"
	# shellcheck disable=SC2086
	other_mode "$py" abba $ABBA_EDGES
	other_mode "$py" await "task/ping:task:pong:task/pong" "task/pong:task:ping:task/ping"
	other_mode "$py" orphan kind=orphaned_lock "task/reader-1:asyncio.Lock:cache_lock:-" \
		"task/reader-2:asyncio.Lock:cache_lock:-"
	# shellcheck disable=SC2086
	other_mode "$py" threads $THREADS_EDGES
	other_mode "$py" mixed "thread/MainThread:threading.Lock:tlock:task/holder" \
		"task/holder:event_loop:MainThread:thread/MainThread"
	other_mode "$py" join "thread/loader:threading.Lock:registry_lock:thread/MainThread" \
		"thread/MainThread:thread_exit:loader:thread/loader"
	other_mode "$py" rlock "thread/tally:threading.RLock:config_lock:thread/configure" \
		"thread/configure:threading.Lock:stats_lock:thread/tally"
	other_mode "$py" gil "thread/visitor:GIL:GIL:thread/locker" \
		"thread/locker:mutex:registry_mutex:thread/visitor"
	# shellcheck disable=SC2086
	other_mode "$py" pool $POOL_EDGES
	# shellcheck disable=SC2086
	other_mode "$py" queued $QUEUED_EDGES
	other_mode "$py" threadsafe "$THREADSAFE_EDGES"
	# shellcheck disable=SC2086
	other_mode "$py" cross $CROSS_EDGES
	stall_of "$py" stall cruncher crunch 'n += sum'
	stall_of "$py" blocking fetcher fetch_blocking 'time.sleep(3600)' clock_nanosleep
	dir=$(lw_dir "other-chunks-${py//\//_}")
	LW_TIMEOUT=60 lw_run "$dir" --json --duration 30 -- "$py" "$PYHEALTHY" chunks 4
	t_rc "$dir" 0
	t_no_alert "$dir"
	t_jq "chunks: its busy loop was sampled, found running callbacks, never stalled" "$dir" \
		'summary.python_loops >= 1 and summary.loop_busy >= 10'
	order_of "$py" tasks
	order_of "$py" threads
	long_hold_of "$py"
	relock_of "$py"
	for mode in byhand idle server-busy rlock join futures; do
		HANG=$py hang_start "other-healthy-$mode" "$PYHEALTHY" "$mode" 4 || continue
		for i in 1 2 3; do
			dir=$(lw_dir "other-healthy-$mode-$i")
			lw_check "$dir" --json "$HANG_PID"
			t_rc "$dir" 0
			t_no_alert "$dir"
			sleep 0.3
		done
		hang_stop "$HANG_PID"
	done
	t_end
}

# Every other CPython lockwatch reads: pyenv's 3.12, trixie's 3.13 (3.13.1
# made threading.Lock a parked-on PyMutex), sid's 3.14 and 3.15 (each in its
# own root) must be here; pyenv's 3.11 and 3.13.0 are tested too where this
# machine has them.
OTHER_PYS=()
need_python()
{
	[ -x "$1" ] && OTHER_PYS+=("$1") && return
	t_begin "CPython $2 is here to be tested"
	t_fail "no $1 ($3)"
	t_end
}
for py in /root/.pyenv/versions/3.11.*/bin/python3.11 /root/.pyenv/versions/3.13.0/bin/python3.13; do
	[ -x "$py" ] && OTHER_PYS+=("$py")
done
# shellcheck disable=SC2206 # the first match
PY312=(/root/.pyenv/versions/3.12.*/bin/python3.12)
# shellcheck disable=SC2086 # package lists
in_root py3.13 trixie /usr/bin/python3.13 $TRIXIE_PKGS
PY3135=$IN_ROOT
# shellcheck disable=SC2086
in_root py3.14 sid /usr/bin/python3.14 $SID_PKGS
PY314=$IN_ROOT
# shellcheck disable=SC2086
in_root py3.15 sid /usr/bin/python3.15 $SID_PKGS
PY315=$IN_ROOT
# shellcheck disable=SC2086
NTESTS=$((36 + $(echo $HEALTHY_MODES | wc -w)))
NTESTS=$((NTESTS + ${#OTHER_PYS[@]} + 4))
tap_plan "$NTESTS"
need_python "${PY312[0]}" 3.12 "pyenv's 3.12 build"
need_python "$PY3135" 3.13.5 "trixie's root: scripts/pychroot.sh trixie"
need_python "$PY314" 3.14 "sid's root: scripts/pychroot.sh sid"
need_python "$PY315" 3.15 "sid's root: scripts/pychroot.sh sid"
test_store
test_store_text
test_abba
test_abba_attach
test_await
test_orphan
test_orphan_chain
test_threads
test_threads_watch
test_mixed
test_long_hold
test_relock
test_gil
test_gil_healthy
test_join
test_rlock
test_pool
test_queued
test_threadsafe
test_stall
test_py_orders
test_command
test_later
test_native
test_native_watch
test_ring 33
test_ring 200
test_hostile_name
test_hostile_type
test_hostile_dict
test_unsupported
test_described
for mode in $HEALTHY_MODES; do
	test_healthy "$mode"
done
for py in "${OTHER_PYS[@]}"; do
	test_other_python "$py"
done
roots_clean
tap_finish
