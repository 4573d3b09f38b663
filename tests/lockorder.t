#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lockorder.t - --lock-order: uprobes on the lock sites of the watched
# processes. Lock-order inversions in programs that never hang (each pass
# completes), of every shape and lock kind, are lock_order alerts naming the
# threads, the locks and where each was taken, and fail the run like a
# deadlock; orders that cannot deadlock stay silent, while the summary shows
# the locks were seen. Locks taken to the grave, long holds and an rwlock's
# readers in a live deadlock are named.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built orders orders-static cxxorders usdtlock

ORDERS=$LW_PROGS/orders
# the programs stay a second after their work: their stacks can be read
export LW_ORDERS_LINGER=1

JQ_DEFS+='
def orders_alerts: map(select(.kind == "lock_order"));
def inv: orders_alerts[0];
def order($t): inv.orders[] | select(.thread.name == $t);
def at($frames; $f): any($frames[]; .function == $f and (.line // 0) > 0);
def quiet: map(select(.kind != "summary")) | length == 0;
'

# t_err DESC DIR RE: stderr has a line matching RE; t_no_err: none does.
t_err()
{
	grep -Eq -- "$3" "$2/err" || t_fail "$1: stderr has no line matching /$3/"
}

t_no_err()
{
	! grep -Eq -- "$3" "$2/err" || t_fail "$1: stderr has a line matching /$3/"
}

# run_orders NAME EXPECTED_RC ARGS...: lockwatch --lock-order --json ARGS
run_orders()
{
	local name=$1 rc=$2 dir

	shift 2
	dir=$(lw_dir "$name")
	lw_run "$dir" --json --lock-order --duration 30 "$@"
	t_rc "$dir" "$rc"
	t_json_lines "$dir"
	DIR=$dir
}

test_abba_later()
{
	LATER=$(lw_dir abba-later)
	LW_TIMEOUT=150 lw_spawn "$LATER" --json --lock-order --duration 120 -- "$ORDERS" abba 65
}

test_abba_later_reap()
{
	t_begin "the two orders 65 s apart: still one lock_order"
	lw_reap "$LATER"
	t_rc "$LATER" 1
	t_jq "one lock_order, forward and backward" "$LATER" \
		'orders_alerts | length == 1 and
		 ([.[0].orders[].thread.name] | sort == ["backward", "forward"])'
	t_end
}

test_abba()
{
	t_begin "abba: two threads, one pass each, never hanging: a lock_order, exit 1"
	run_orders abba 1 -- "$ORDERS" abba
	t_jq "one lock_order alert, deadlock-class" "$DIR" \
		'(orders_alerts | length == 1) and summary.deadlocks == 1'
	t_jq "forward took audit holding accounts; backward the reverse" "$DIR" \
		'(order("forward") | .held.name == "accounts" and .taken.name == "audit") and
		 (order("backward") | .held.name == "audit" and .taken.name == "accounts")'
	t_jq "where: the lock calls and their callers, with file:line" "$DIR" \
		'(order("forward") | at(.taken_at; "take_two") and at(.taken_at; "forward") and
		  at(.held_at; "take_two") and at(.held_at; "forward")) and
		 (order("backward") | at(.taken_at; "backward") and at(.held_at; "backward")) and
		 ([inv.orders[].taken_at[] | select(.function == "take_two") | .file] |
		  all(endswith("tests/orders.c")))'
	t_jq "the process and the locks' addresses" "$DIR" \
		'inv.processes[0].comm == "orders" and (inv.locks | length == 2) and
		 all(inv.locks[]; .type == "mutex" and (.addr | startswith("0x")))'
	t_end
}

test_text()
{
	local dir

	dir=$(lw_dir abba-text)
	t_begin "abba, text: the summary reads as the cycle does"
	lw_run "$dir" --lock-order --duration 30 -- "$ORDERS" abba
	t_rc "$dir" 1
	t_grep "headline" "$dir" 'LOCK_ORDER: 2 locks of pid [0-9]+ \(orders\) are taken in a cycle of orders: .*accounts then audit \(thread [0-9]+ \(forward\)\)'
	t_grep "each order with where both locks were taken" "$dir" 'thread [0-9]+ \(backward\) took mutex accounts at 0x[0-9a-f]+ while holding mutex audit'
	t_grep "file:line" "$dir" 'in take_two\+0x[0-9a-f]+ \(.*orders\) tests/orders.c:[0-9]'
	t_grep "the summary counts locks taken and orders" "$dir" 'locks taken, 2 lock orders'
	t_end
}

test_one_thread()
{
	t_begin "one thread takes both orders: a lock_order"
	run_orders one-thread 1 -- "$ORDERS" one-thread
	t_jq "both orders by solo" "$DIR" \
		'(orders_alerts | length == 1) and ([inv.orders[].thread.name] == ["solo", "solo"])'
	t_end
}

test_three()
{
	t_begin "three locks in a cycle of three threads"
	run_orders three 1 -- "$ORDERS" three
	t_jq "3 orders over lock_a, lock_b, lock_c" "$DIR" \
		'(inv.orders | length == 3) and ([inv.locks[].name] | sort == ["lock_a", "lock_b", "lock_c"]) and
		 ([inv.orders[].thread.name] | sort == ["stage-1", "stage-2", "stage-3"])'
	t_end
}

test_philosophers()
{
	t_begin "five philosophers: a cycle of five forks"
	run_orders philosophers 1 -- "$ORDERS" philosophers
	t_jq "5 orders, 5 forks, each philosopher once" "$DIR" \
		'(inv.orders | length == 5) and (inv.locks | length == 5) and
		 all(inv.locks[]; .name | startswith("fork_")) and
		 ([inv.orders[].thread.name] | unique | length == 5)'
	t_end
}

test_ring()
{
	t_begin "a ring of 30 heap mutexes: one cycle of 30 orders"
	run_orders ring 1 -- "$ORDERS" ring 30
	t_jq "30 orders, 30 locks, by ringer, named by the function that took them" "$DIR" \
		'(orders_alerts | length == 1) and (inv.orders | length == 30) and (inv.locks | length == 30) and
		 all(inv.orders[]; .thread.name == "ringer") and all(inv.locks[]; .name | test(" in "))'
	t_end
}

test_rwlock()
{
	t_begin "rwlocks: read one, write the other, in both orders: a lock_order"
	run_orders rwlock 1 -- "$ORDERS" rwlock
	t_jq "held for reading, taken for writing, both ways" "$DIR" \
		'all(inv.orders[]; .held_as == "read" and .taken_as == "write") and
		 (order("left") | .held.name == "index_" and .taken.name == "table") and
		 all(inv.locks[]; .type == "rwlock")'
	t_end
}

test_cxx()
{
	t_begin "C++: std::mutex with lock_guard, std::shared_mutex; names demangled"
	run_orders cxx-mutex 1 -- "$LW_PROGS/cxxorders" mutex
	t_jq "deposit and refund over checking and savings, in transfer()" "$DIR" \
		'([inv.locks[].name] | sort == ["checking", "savings"]) and
		 (order("deposit") | any(.taken_at[]; .function | startswith("transfer(Account&")))'
	run_orders cxx-shared 1 -- "$LW_PROGS/cxxorders" shared
	t_jq "shared_mutex: read then write, both ways" "$DIR" \
		'all(inv.orders[]; .held_as == "read" and .taken_as == "write") and
		 ([inv.locks[].name] | sort == ["index_", "table_"])'
	t_end
}

test_custom()
{
	t_begin "--lock-fn: the program's own spin lock functions"
	run_orders custom 1 --lock-fn spin_acquire,spin_release -- "$ORDERS" custom
	t_jq "first_spin and second_spin, type lock" "$DIR" \
		'([inv.locks[].name] | sort == ["first_spin", "second_spin"]) and
		 all(inv.locks[]; .type == "lock") and (order("forward") | at(.taken_at; "spin_two"))'
	run_orders custom-arg 1 --lock-fn slot_acquire,slot_release@2 -- "$ORDERS" custom-arg
	t_jq "@2: the lock is the second argument" "$DIR" \
		'([inv.locks[].name] | sort == ["first_spin", "second_spin"]) and
		 (order("backward") | at(.taken_at; "slot_two"))'
	t_end
}

test_custom_none()
{
	t_begin "--lock-fn naming no function the program has: said once, run goes on"
	run_orders custom-none 0 --lock-fn no_such_acquire,no_such_release -- "$ORDERS" ordered 1
	t_err "one line about it" "$DIR" 'none of the --lock-fn functions is in a binary it maps'
	t_end
}

test_usdt()
{
	t_begin "USDT probes lockwatch:acquire/release on a ticket lock"
	run_orders usdt 1 -- "$LW_PROGS/usdtlock" abba
	t_jq "inbox and outbox, where move_mail took them" "$DIR" \
		'([inv.locks[].name] | sort == ["inbox", "outbox"]) and
		 (order("forward") | at(.taken_at; "move_mail") and at(.held_at; "move_mail"))'
	t_end
}

test_static()
{
	t_begin "a statically linked program: its own pthread functions are probed"
	run_orders static 1 -- "$LW_PROGS/orders-static" abba
	t_jq "accounts and audit" "$DIR" \
		'([inv.locks[].name] | sort == ["accounts", "audit"]) and
		 (order("forward") | at(.taken_at; "take_two"))'
	t_end
}

test_attach()
{
	local dir start prog

	dir=$(lw_dir attach)
	start=$dir/go
	t_begin "-p: attached to a running program before it inverts"
	LW_ORDERS_START=$start bg_start "$ORDERS" abba
	prog=$BG_PID
	lw_spawn "$dir" --json --lock-order --duration 30 -p "$prog"
	lw_wait_attached "$dir"
	touch "$start"
	lw_reap "$dir"
	t_rc "$dir" 1
	t_jq "the lock_order of that pid" "$dir" \
		"(orders_alerts | length == 1) and inv.processes[0].pid == $prog"
	bg_stop "$prog"
	t_end
}

test_crowd()
{
	local dir go crowd abba pid_max

	dir=$(lw_dir crowd)
	go=$dir/go
	t_begin "70,000 threads of one process each holding a lock: it holds its share of the held-lock map, an inversion in another process beside it is found"
	pid_max=$(cat /proc/sys/kernel/pid_max)
	[ "$pid_max" -ge 140000 ] || echo 140000 >/proc/sys/kernel/pid_max
	LW_ORDERS_START=$go LW_READY_FILE=$dir/crowd-ready bg_start "$ORDERS" crowd 6
	crowd=$BG_PID
	LW_ORDERS_START=$dir/crowd-ready bg_start "$ORDERS" abba
	abba=$BG_PID
	lw_spawn "$dir" --json --lock-order --duration 60 -p "$crowd" -p "$abba"
	lw_wait_attached "$dir"
	touch "$go"
	lw_reap "$dir"
	bg_stop "$abba"
	bg_stop "$crowd"
	echo "$pid_max" >/proc/sys/kernel/pid_max
	t_rc "$dir" 1
	[ -s "$dir/crowd-ready" ] || t_fail "the crowd never had all its locks"
	t_jq "the inversion beside it, of that pid: forward and backward" "$dir" \
		'(orders_alerts | length == 1) and inv.processes[0].pid == $p and
		 ([inv.orders[].thread.name] | sort == ["backward", "forward"])' --argjson p "$abba"
	t_jq "the crowd's threads: its share followed, the rest counted as over it" "$dir" \
		'summary.holds_over_share >= 70000 - 16384 - 64 and summary.holds_over_share <= 70000 - 16384 + 8 and
		 summary.holds_full == 0'
	tap_diag <<<"crowd: $(jq -s -c '.[-1] | {lock_acquires, lock_orders, holds_over_share, holds_full, events, cpu_ms, max_rss_kb}' "$dir/out")"
	t_end
}

test_short_lived()
{
	local dir

	dir=$(lw_dir short-lived)
	t_begin "a program that exits at once after inverting: still reported, exit 1"
	LW_ORDERS_LINGER=0 lw_run "$dir" --json --lock-order --duration 30 -- "$ORDERS" abba
	t_rc "$dir" 1
	t_json_lines "$dir"
	t_jq "one lock_order, two orders, by thread names and lock addresses" "$dir" \
		'(orders_alerts | length == 1) and (inv.orders | length == 2) and
		 ([inv.orders[].thread.name] | sort == ["backward", "forward"]) and
		 all(inv.locks[]; .addr | startswith("0x"))'
	t_end
}

# --- true negatives: silent, and the locks were seen ---

test_ordered()
{
	t_begin "one order under contention: silent; thousands of locks, 2 orders seen"
	run_orders ordered 0 -- "$ORDERS" ordered 2
	t_jq "no alert; acquisitions and orders counted" "$DIR" \
		'quiet and summary.lock_acquires > 1000 and summary.lock_orders == 2 and summary.drops == 0'
	t_end
}

test_trylock()
{
	t_begin "trylock back-off in the reverse order: silent"
	run_orders trylock 0 -- "$ORDERS" trylock 2
	t_jq "no alert; the one blocking order only" "$DIR" \
		'quiet and summary.lock_acquires > 1000 and summary.lock_orders == 1'
	t_err "the back-off did happen" "$DIR" 'orders: backed off [1-9][0-9]* times'
	t_end
}

test_recursive()
{
	t_begin "a recursive mutex relocked while another is held: silent"
	run_orders recursive 0 -- "$ORDERS" recursive
	t_jq "no alert; registry then audit, the relock no order" "$DIR" \
		'quiet and summary.lock_orders == 1 and summary.lock_acquires >= 2'
	t_end
}

test_gate()
{
	t_begin "both orders under one gate lock: silent"
	run_orders gate 0 -- "$ORDERS" gate
	t_jq "no alert; 4 orders seen" "$DIR" 'quiet and summary.lock_orders == 4'
	t_end
}

test_reinit()
{
	t_begin "locks destroyed and made again at the same address, then the other order: silent"
	run_orders reinit 0 -- "$ORDERS" reinit
	t_jq "no alert; 2 orders seen" "$DIR" 'quiet and summary.lock_orders == 2'
	t_end
}

test_heap()
{
	t_begin "heap mutexes freed, the memory reused for new ones in the other order: silent"
	run_orders heap 0 -- "$ORDERS" heap
	t_jq "no alert; 2 orders seen" "$DIR" 'quiet and summary.lock_orders == 2'
	t_no_err "the memory was reused" "$DIR" 'heap memory not reused'
	t_end
}

test_held300()
{
	t_begin "300 mutexes held at once, in one order, three times: silent, the overflow counted"
	run_orders held300 0 -- "$ORDERS" held300
	t_jq "no alert; 900 taken, those past 32 held counted, no record lost" "$DIR" \
		'quiet and summary.lock_acquires >= 900 and summary.held_overflow == 804 and
		 summary.lock_orders >= 299 and summary.drops == 0'
	t_end
}

test_chains()
{
	t_begin "900 new orders at once into a ring with room for ~15: none lost, all counted"
	run_orders chains 0 --ringbuf-size 65536 -- "$ORDERS" chains 2
	t_jq "no alert; exactly 900 distinct orders, some put off and sent later, no record lost" \
		"$DIR" 'quiet and summary.lock_orders == 900 and summary.orders_later > 0 and
		 summary.drops == 0 and summary.orders_full == 0'
	t_end
}

test_read_read()
{
	t_begin "rwlocks read in both orders: silent (readers do not block readers)"
	run_orders read-read 0 -- "$ORDERS" read-read
	t_jq "no alert; 2 orders seen" "$DIR" 'quiet and summary.lock_orders == 2'
	t_end
}

test_usdt_ordered()
{
	t_begin "USDT: one order and a try, under contention: silent"
	run_orders usdt-ordered 0 -- "$LW_PROGS/usdtlock" ordered
	t_jq "no alert; the USDT locks were taken" "$DIR" \
		'quiet and summary.lock_acquires > 1000 and summary.lock_orders == 1'
	t_end
}

# --- locks left held ---

test_exit_holding()
{
	t_begin "a thread exits holding two mutexes, nobody waiting: orphaned_lock at once"
	run_orders exit-holding 1 --duration 4 -- "$ORDERS" exit-holding
	t_jq "one orphaned_lock naming leaver, config_lock and journal_lock" "$DIR" \
		'[.[] | select(.kind == "orphaned_lock")] | length == 1 and
		 (.[0] | (.holds | length == 2) and all(.holds[]; .holder.name == "leaver" and .holder.exited) and
		  ([.holds[].lock.name] | sort == ["config_lock", "journal_lock"]) and
		  all(.holds[]; .taken_at[0].function == "lock"))'
	t_end
}

test_long_hold()
{
	t_begin "--hold-threshold 2: a lock held with nobody waiting is a long_hold"
	run_orders long-hold 0 --hold-threshold 2 --duration 5 -- "$ORDERS" long-hold
	t_jq "sitter holds ledger >= 2 s; its stack now shows hold_ledger" "$DIR" \
		'[.[] | select(.kind == "long_hold")] | length == 1 and
		 (.[0] | .holds[0].holder.name == "sitter" and .holds[0].lock.name == "ledger" and
		  .holds[0].held_for_ms >= 2000 and any(.threads[0].stack[]; .function == "hold_ledger"))'
	t_jq "not deadlock-class" "$DIR" 'summary.deadlocks == 0'
	t_end
}

test_readers_cycle()
{
	t_begin "a deadlock through a read-held rwlock: the deadlock, its readers named"
	run_orders readers-cycle 1 --duration 4 -- "$ORDERS" readers-cycle
	t_jq "writer waits for catalog, reader-1 for ledger" "$DIR" \
		'edge("writer").waits_for.name == "catalog" and edge("reader-1").waits_for.name == "ledger" and
		 edge("reader-1").held_by.name == "writer"'
	t_jq "both readers of catalog named, as readers" "$DIR" \
		'[alert.holds[] | select(.lock.name == "catalog" and .read) | .holder.name] | sort ==
		 ["reader-1", "reader-2"]'
	t_end
}

tap_plan 29
test_abba_later
test_abba
test_text
test_one_thread
test_three
test_philosophers
test_ring
test_rwlock
test_cxx
test_custom
test_custom_none
test_usdt
test_static
test_attach
test_crowd
test_short_lived
test_ordered
test_trylock
test_recursive
test_gate
test_reinit
test_heap
test_held300
test_chains
test_read_read
test_usdt_ordered
test_exit_holding
test_long_hold
test_readers_cycle
test_abba_later_reap
tap_finish
