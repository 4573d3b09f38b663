#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2016,SC2317 # jq filters are single-quoted; tests run by eval
# vm-tests.sh - the tests scripts/vmtest.sh runs inside the guest kernel
# (bash, started by /init = scripts/vm-init.sh), with the host's harness
# (tests/lib.sh, lib-attach.sh) and the host's list of deadlocking and
# healthy programs and their checks (tests/lib-programs.sh). The initramfs
# lays the files out as the repository does, under /lw.
#
# Its output is TAP; /init prefixes every line with "VMTAP " on the console,
# and the host numbers the results again among its own. After each test of
# the list (vm_tests), "VMTEST-RAN: CALL"; last, "VMTEST-RESULT: N passed, M
# failed, K skipped". The exit status is 0 only when nothing failed.
# `vm-tests.sh --list RELEASE` prints the list for kernel RELEASE: the host
# checks each call ran, in order.

HERE=$(cd "$(dirname "$0")" && pwd)
KREL=$(uname -r)

# The tests, one call a line.
vm_tests()
{
	local d m

	echo test_version
	echo test_env
	echo test_load
	deadlocks_on "$KREL" | while IFS= read -r d; do
		printf 'test_listed %q\n' "$d"
	done
	for m in "${HEALTHY_MODES[@]}"; do
		echo "test_healthy ${m%%:*} ${m#*:}"
	done
	cat <<'TESTS'
test_hang rwlock-abba deadlock north:rwlock:inventory:south south:rwlock:catalog:north
test_hang join-each-other deadlock left:thread_exit:right:right right:thread_exit:left:left
test_hang join-holding deadlock owner:thread_exit:worker:worker worker:mutex:registry:owner
test_hang orphan orphaned_lock reader:mutex:config_lock:
test_hang shared-anon deadlock 'diner-a:mutex:*:diner-b' 'diner-b:mutex:*:diner-a'
test_hang three-proc deadlock 'ring-a:mutex:*:ring-b' 'ring-b:mutex:*:ring-c' 'ring-c:mutex:*:ring-a'
test_lock_order orders abba 2
test_lock_order orders three 3
test_lock_order orders rwlock 2
test_lock_order orders-static abba 2
test_lock_order usdtlock abba 2
test_lock_order orders custom 2 --lock-fn spin_acquire,spin_release
test_lock_order cxxorders mutex 2
test_lock_order orders gate 0
test_lock_order orders trylock 0
test_check
test_watch_hung pid
test_watch_hung host
test_module
test_module_live
TESTS
}

if [ "${1:-}" = --list ]; then
	KREL=$2
	LW_PROGS=
	# shellcheck source=tests/lib-programs.sh
	. "$HERE/../tests/lib-programs.sh"
	vm_tests
	exit 0
fi

# shellcheck source=tests/lib.sh
. "$HERE/../tests/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$HERE/../tests/lib-attach.sh"
# shellcheck source=tests/lib-programs.sh
. "$HERE/../tests/lib-programs.sh"

KO=${KO:-/lockwatch.ko}
# what a guest on TCG can spend on one healthy program
HEALTHY_SECS_MAX=3

say() { tap_diag <<<"$*"; }

# --- the tests ---

test_version()
{
	local dir

	dir=$(lw_dir version)
	t_begin "lockwatch --version"
	lw_run "$dir" --version
	t_rc "$dir" 0
	grep -q '[0-9]\.[0-9]' "$dir/out" || t_fail "no version number on stdout"
	t_end
	head -n 5 "$dir/out" | tap_diag
}

test_env()
{
	t_begin "kernel $(uname -r): BTF, tracefs and bpffs are there"
	[ -r /sys/kernel/btf/vmlinux ] || t_fail "no /sys/kernel/btf/vmlinux"
	[ -d /sys/kernel/tracing/events/syscalls ] ||
		t_fail "no /sys/kernel/tracing/events/syscalls (tracefs)"
	grep -q ' /sys/fs/bpf bpf ' /proc/mounts || t_fail "bpffs is not mounted"
	t_end
}

# The BPF programs load and attach on this kernel: lockwatch -v prints the
# libbpf messages (with the verifier log of a program that fails to load).
test_load()
{
	local dir

	dir=$(lw_dir load)
	t_begin "BPF programs load and attach (lockwatch -v -- /bin/true)"
	lw_run "$dir" -v --duration 10 -- /bin/true
	t_rc "$dir" 0
	LW_DUMP_LINES=400 t_end
	# what libbpf had to say even when everything loaded (6.1 lacks features)
	grep -Ei 'libbpf: .*(warn|fail|error|not supported|missing)' "$dir/err" | head -n 40 |
		tap_diag
}

# test_healthy MODE SECONDS: the list's healthy program, for at most
# HEALTHY_SECS_MAX seconds here.
test_healthy()
{
	local secs=$(($2 < HEALTHY_SECS_MAX ? $2 : HEALTHY_SECS_MAX))

	healthy_run "$1" "$secs"
	healthy_check "$1" "$secs"
}

# test_lock_order PROG MODE NORDERS [ARGS]: with --lock-order, an inversion in
# a program that never hangs is one lock_order of NORDERS orders (NORDERS 0:
# none, and the orders were seen); uprobes and their shared tracefs events on
# this kernel.
test_lock_order()
{
	local prog=$1 mode=$2 n=$3 dir rc=1

	shift 3
	dir=$(lw_dir "order-$prog-$mode")
	[ "$n" -gt 0 ] || rc=0
	t_begin "--lock-order $prog $mode: $n orders in a cycle"
	LW_ORDERS_LINGER=1 LW_TIMEOUT=120 lw_run "$dir" --json --lock-order --duration 60 "$@" \
		-- "$LW_PROGS/$prog" "$mode"
	t_rc "$dir" "$rc"
	t_json_lines "$dir"
	if [ "$n" -gt 0 ]; then
		t_jq "one lock_order of $n orders, each with where both locks were taken" "$dir" \
			'map(select(.kind == "lock_order")) | length == 1 and (.[0].orders | length == $n) and
			 all(.[0].orders[]; (.taken_at | length > 0) and (.held_at | length > 0))' \
			--argjson n "$n"
	else
		t_jq "no alert; locks and orders seen" "$dir" \
			'(map(select(.kind != "summary")) | length == 0) and summary.lock_acquires > 0 and
			 summary.lock_orders > 0'
	fi
	t_end
}

# abba_hung: starts "deadlock abba" in the background (HUNG_PID) and waits
# until its 3 threads sleep in futex(2), twice 0.3 s apart.
abba_hung()
{
	bg_start "$DL" abba
	HUNG_PID=$BG_PID
	wait_hung "$HUNG_PID" 3 ||
		t_fail "deadlock abba (pid $HUNG_PID) did not hang with 3 threads in futex(2)"
}

test_check()
{
	local dir pid

	dir=$(lw_dir check)
	t_begin "lockwatch check on a hung deadlock abba: exit 1, poster/auditor cycle"
	abba_hung
	pid=$HUNG_PID
	LW_TIMEOUT=30 lw_check "$dir" --json "$pid"
	t_rc "$dir" 1
	t_jq "one deadlock alert" "$dir" 'alerts | length == 1'
	t_jq "cycle: poster waits for journal held by auditor, auditor for ledger held by poster" "$dir" \
		'(alert.cycle | length == 2) and
		 any(alert.cycle[]; .waiter.name == "poster" and .waits_for.name == "journal" and .held_by.name == "auditor") and
		 any(alert.cycle[]; .waiter.name == "auditor" and .waits_for.name == "ledger" and .held_by.name == "poster")'
	bg_stop "$pid"
	t_end
}

# test_hang MODE KIND EDGE...: tests/hang MODE hangs (its ready line), then
# "lockwatch check" reports one KIND alert whose waits are exactly the EDGEs
# "waiter:type:lock:holder" (a lock "*" is not checked by name).
test_hang()
{
	local mode=$1 kind=$2 dir n e w ty l h

	shift 2
	n=$#
	dir=$(lw_dir "hang-$mode")
	t_begin "hang $mode, then check: one $kind, waits $*"
	if hang_start "$mode" "$mode"; then
		LW_TIMEOUT=30 lw_check "$dir" --json "$HANG_PID"
		t_rc "$dir" 1
		t_jq "exactly one $kind alert" "$dir" \
			'[.[] | select(.kind != "summary")] | length == 1 and .[0].kind == $k' --arg k "$kind"
		t_jq "$n wait(s)" "$dir" '.[0] | (.cycle // .waits) | length == $n' --argjson n "$n"
		for e in "$@"; do
			IFS=: read -r w ty l h <<<"$e"
			t_jq "$w waits for $ty $l, held by $h" "$dir" \
				'any(.[0] | (.cycle // .waits)[]; .waiter.name == $w and .waits_for.type == $t and
				 ($l == "*" or .waits_for.name == $l) and (.held_by.name // "") == $h)' \
				--arg w "$w" --arg t "$ty" --arg l "$l" --arg h "$h"
		done
	fi
	hang_stop "$HANG_PID"
	t_end
}

# test_watch_hung HOW: a deadlock that formed before lockwatch started is
# reported at once when watching with -p PID (HOW=pid) or the whole host.
test_watch_hung()
{
	local how=$1 dir pid

	dir=$(lw_dir "watch-$how")
	t_begin "watching ($how) a deadlock that formed before lockwatch started"
	abba_hung
	pid=$HUNG_PID
	if [ "$how" = pid ]; then
		LW_TIMEOUT=30 lw_run "$dir" --json --exit-on-deadlock --duration 10 -p "$pid"
	else
		LW_TIMEOUT=30 lw_run "$dir" --json --exit-on-deadlock --duration 10
	fi
	t_rc "$dir" 1
	t_jq "a deadlock alert about pid $pid: poster and auditor" "$dir" \
		'any(.[]; .kind == "deadlock" and .processes[0].pid == $p and
		     ([.cycle[].waiter.name] | sort) == ["auditor", "poster"])' --argjson p "$pid"
	bg_stop "$pid"
	t_end
}

# The module: load, show and read /sys/kernel/lockwatch, unload; twice.
test_module()
{
	local i f file v dep
	if [ ! -e "$KO" ]; then
		tap_skip "kernel module" "kmod/lockwatch.ko is not built"
		return
	fi
	MOD=$(cat /lockwatch.name 2>/dev/null)
	MOD=${MOD:-lockwatch}
	say "module: $(tr '\n' ' ' </lockwatch.modinfo 2>/dev/null)"
	for i in 1 2; do
		f=$(lw_dir "insmod$i")
		t_begin "module: insmod #$i creates /sys/kernel/lockwatch"
		if [ -e /lockwatch-deps ]; then
			while read -r dep; do
				insmod "/modules/$dep" 2>/dev/null
			done </lockwatch-deps
		fi
		run_cmd "$f" 30 insmod "$KO"
		t_rc "$f" 0
		[ -d /sys/kernel/lockwatch ] || t_fail "no /sys/kernel/lockwatch after insmod"
		t_end
		if [ -d /sys/kernel/lockwatch ]; then
			say "ls -l /sys/kernel/lockwatch:"
			# shellcheck disable=SC2012 # ls -l is what we want to show
			ls -l /sys/kernel/lockwatch | tap_diag
			for file in /sys/kernel/lockwatch/*; do
				[ -f "$file" ] || continue
				# root may open anything: go by the mode, not by test -r
				case $(stat -c %A "$file") in
				-r*) ;;
				*)
					say "${file##*/}: not readable (mode $(stat -c %A "$file"))"
					continue
					;;
				esac
				v=$(head -c 65536 "$file" 2>&1)
				if [ "$(printf '%s\n' "$v" | wc -l)" -le 1 ]; then
					say "cat ${file##*/}: $v"
				else
					say "head ${file##*/} ($(printf '%s\n' "$v" | wc -l) lines):"
					printf '%s\n' "$v" | head -n 8 | sed 's/^/  /' | tap_diag
				fi
			done
		fi
		f=$(lw_dir "rmmod$i")
		t_begin "module: rmmod #$i removes /sys/kernel/lockwatch"
		run_cmd "$f" 30 rmmod "$MOD"
		t_rc "$f" 0
		[ ! -e /sys/kernel/lockwatch ] || t_fail "/sys/kernel/lockwatch is still there"
		t_end
	done
}

# --- the module under load: publish, attacks, unload with open files ---

SYS=/sys/kernel/lockwatch

mod_load()
{
	local dep
	if [ -e /lockwatch-deps ]; then
		while read -r dep; do
			insmod "/modules/$dep" 2>/dev/null
		done </lockwatch-deps
	fi
	insmod "$KO" 2>"$LW_TMP/insmod.err"
}

# sysget FILE: the file's content, read with plain cat
sysget() { cat "$SYS/$1" 2>/dev/null; }

# t_check NAME OK WHY: one result from a check made earlier: "ok", or "not ok"
# with WHY as the diagnostic.
t_check()
{
	t_begin "$1"
	[ "$2" = 1 ] || t_fail "$3"
	t_end
}

# t_eq DESC GOT WANT
t_eq() { [ "$2" = "$3" ] || t_fail "$1: got '$2', expected '$3'"; }

# 1. lockwatch --sysfs publishes a deadlock into the module
test_module_publish()
{
	local f dl lw g first last n v
	f=$(lw_dir modpub)
	t_begin "module: lockwatch --sysfs publishes deadlock abba (plain cat)"
	abba_hung
	dl=$HUNG_PID
	T_DIRS+=("$f")
	echo "lockwatch --json --sysfs --duration 4 -p $dl" >"$f/cmd"
	timeout -k 5 30 "$LW_BIN" --json --sysfs --duration 4 -p "$dl" >"$f/out" 2>"$f/err" </dev/null &
	lw=$!
	sleep 2.5
	t_eq "deadlocks" "$(sysget deadlocks)" 1
	v=$(sysget blocked_threads)
	[ "${v:-0}" -ge 2 ] 2>/dev/null || t_fail "blocked_threads: got '$v', expected >= 2"
	t_eq "stale" "$(sysget stale)" 0
	# lockwatch runs under timeout: its pid is the child of the timeout
	v=$(sysget daemon_pid)
	[ "$v" = "$lw" ] || [ "$(cat /proc/"$v"/comm 2>/dev/null)" = lockwatch ] ||
		t_fail "daemon_pid: got '$v', not lockwatch (timeout pid $lw)"
	g=$(sysget generation)
	[ "${g:-0}" -gt 0 ] 2>/dev/null || t_fail "generation: got '$g', expected > 0"
	cat "$SYS/graph" >"$f/graph" 2>"$f/graph.err"
	CAT_RC=$?
	dd if="$SYS/graph" bs=4096 2>"$f/dd.err" >/dev/null
	DD_RC=$?
	first=$(head -n 1 "$f/graph")
	last=$(tail -n 1 "$f/graph")
	n=$(($(wc -l <"$f/graph") - 2))
	case $first in
	"lockwatch-graph 1 generation="*" lines=$n") ;;
	*) t_fail "graph first line '$first' (expected lockwatch-graph 1 generation=G lines=$n)" ;;
	esac
	G=${first#lockwatch-graph 1 generation=}
	G=${G%% *}
	t_eq "graph last line" "$last" "end generation=$G"
	grep -q '^wait .*comm=poster .*name=journal' "$f/graph" ||
		t_fail "graph: no line comm=poster ... name=journal"
	grep -q '^wait .*comm=auditor .*name=ledger' "$f/graph" ||
		t_fail "graph: no line comm=auditor ... name=ledger"
	cat "$SYS/alerts" >"$f/alerts" 2>>"$f/graph.err"
	CAT_RC="$CAT_RC $?"
	grep -q '^alert .*kind=deadlock' "$f/alerts" || t_fail "alerts: no kind=deadlock line"
	wait "$lw"
	echo $? >"$f/rc"
	STALE_NOW=$(sysget stale)
	if [ "$STALE_NOW" != 1 ]; then
		sleep 3.3
		t_eq "stale 3.3 s after lockwatch exited (stale_after_ms 3000)" "$(sysget stale)" 1
	fi
	bg_stop "$dl"
	if [ "${#T_ERRS[@]}" -gt 0 ]; then
		for v in graph alerts; do
			say "$v:"
			head -n 20 "$f/$v" | tap_diag
		done
		for v in generation deadlocks blocked_threads daemon_pid stale; do
			say "$v: $(sysget $v)"
		done
	fi
	t_end
	say "graph after the run:"
	head -n 6 "$f/graph" | cut -c 1-300 | tap_diag
	say "alerts: $(grep -c '^alert ' "$f/alerts") line(s)"
	say "cat graph, cat alerts exit status: $CAT_RC; stderr: $(tr '\n' ' ' <"$f/graph.err")"
	say "dd if=graph bs=4096 exit status: $DD_RC; stderr: $(tr '\n' ' ' <"$f/dd.err")"
	# which readers hit ESTALE (busybox cat copies with sendfile(2))
	for v in "cat G >/dev/null" "cat G | cat >/dev/null" "dd if=G bs=65536 of=/dev/null" \
		"dd if=G bs=64 of=/dev/null" "head -c 1000000 G >/dev/null" "cat <G >/dev/null"; do
		sh -c "$(echo "$v" | sed "s|G|$SYS/graph|g")" >/dev/null 2>"$f/try.err"
		say "reader '$v': exit status $?, $(tr '\n' ' ' <"$f/try.err" | cut -c 1-120)"
	done
	t_check "module: plain cat graph and cat alerts exit 0" \
		"$([ "$CAT_RC" = "0 0" ] && echo 1)" \
		"cat prints the whole snapshot, then fails: $(head -n 1 "$f/graph.err")"
	t_check "module: lockwatch's stopping=1 record makes stale 1 at once" \
		"$([ "$STALE_NOW" = 1 ] && echo 1)" \
		"stale was '$STALE_NOW' right after lockwatch exited; lockwatch: $(tail -n 1 "$f/err")"
}

# whole_file NAME KIND: the module's file NAME, read with cat, is one
# snapshot: "lockwatch-KIND 1 generation=G lines=N", N lines, "end generation=G".
whole_file()
{
	local f=$LW_TMP/whole.$1 first last n g
	cat "$SYS/$1" >"$f" 2>/dev/null || return 1
	first=$(head -n 1 "$f")
	last=$(tail -n 1 "$f")
	n=$(($(wc -l <"$f") - 2))
	case $first in
	"lockwatch-$2 1 generation="*" lines=$n") ;;
	*) return 1 ;;
	esac
	g=${first#lockwatch-$2 1 generation=}
	g=${g%% *}
	[ "$last" = "end generation=$g" ]
}

# 1b. after an alert the deadlocked process goes, the graph empties: every
# file stays whole, stale stays 0 while lockwatch runs
test_module_empty()
{
	local f dl sl lw i v
	f=$(lw_dir modempty)
	t_begin "module: after an alert the graph empties: the files stay whole, stale 0"
	abba_hung
	dl=$HUNG_PID
	sleep 60 &
	sl=$!
	T_DIRS+=("$f")
	echo "lockwatch --json --sysfs --duration 20 -p $dl -p $sl" >"$f/cmd"
	timeout -k 5 40 "$LW_BIN" --json --sysfs --duration 20 -p "$dl" -p "$sl" \
		>"$f/out" 2>"$f/err" </dev/null &
	lw=$!
	i=0
	until [ "$(sysget deadlocks)" = 1 ] && grep -q '^alert .*kind=deadlock' "$SYS/alerts"; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || break
		sleep 0.1
	done
	t_eq "deadlocks with the deadlock" "$(sysget deadlocks)" 1
	bg_stop "$dl"
	i=0
	until head -n 1 "$SYS/graph" 2>/dev/null | grep -q ' lines=0$'; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || break
		sleep 0.1
	done
	sleep 1.5
	whole_file graph graph || t_fail "graph is not one whole snapshot: $(head -n 1 "$SYS/graph")"
	whole_file alerts alerts || t_fail "alerts is not one whole snapshot"
	head -n 1 "$SYS/graph" | grep -q ' lines=0$' || t_fail "the graph did not empty"
	grep -q '^alert .*kind=deadlock' "$SYS/alerts" || t_fail "alerts lost the deadlock"
	t_eq "stale while lockwatch runs" "$(sysget stale)" 0
	t_eq "deadlocks after" "$(sysget deadlocks)" 0
	t_eq "blocked_threads after" "$(sysget blocked_threads)" 0
	for v in version generation deadlocks blocked_threads tracked_locks daemon_pid stale; do
		sysget "$v" | grep -Eqx '[0-9]+' || t_fail "$v is not one number: '$(sysget "$v")'"
	done
	v=$(sysget daemon_pid)
	[ "$(cat /proc/"$v"/comm 2>/dev/null)" = lockwatch ] || t_fail "daemon_pid $v is not lockwatch"
	kill -TERM "$v" 2>/dev/null
	wait "$lw"
	echo $? >"$f/rc"
	kill -KILL "$sl" 2>/dev/null
	wait "$sl" 2>/dev/null
	t_eq "lockwatch's exit status" "$(cat "$f/rc")" 1
	t_eq "stale once lockwatch exited" "$(sysget stale)" 1
	t_end
}

# rec_make FILE GRAPH_LINES: a well-formed publish record with GRAPH_LINES
# wait lines in FILE
rec_make()
{
	local out=$1 lines=$2 i b h n
	{
		echo "lockwatch-graph 1 generation=0 lines=$lines"
		i=0
		while [ "$i" -lt "$lines" ]; do
			echo "wait pid=4242 tid=$((5000 + i)) comm=filler$i type=mutex key=anon:4242:0x$i addr=0x$i name=lock$i holder_pid=4242 holder_tid=4243 blocked_ms=1"
			i=$((i + 1))
		done
		echo "end generation=0"
		echo "lockwatch-alerts 1 generation=0 lines=1"
		echo "alert time=1.000000000 kind=deadlock pids=4242 summary=test"
		echo "end generation=0"
	} >"$out.body"
	b=$(wc -c <"$out.body")
	n=$b
	while :; do
		h="lockwatch-publish 1 length=$n pid=4242 deadlocks=1 blocked_threads=$lines tracked_locks=$lines stopping=0"
		[ $((b + ${#h} + 1)) -eq "$n" ] && break
		n=$((b + ${#h} + 1))
	done
	{ echo "$h"; cat "$out.body"; } >"$out"
	rm -f "$out.body"
}

# t_reject DESC CMD...: CMD (writing to publish) must fail, generation unchanged
t_reject()
{
	local desc=$1 g0 g1 e
	shift
	g0=$(sysget generation)
	if "$@" 2>"$LW_TMP/reject.err"; then
		t_fail "$desc: the write succeeded"
	fi
	e=$(head -n 1 "$LW_TMP/reject.err")
	say "$desc: ${e:-(no message)}"
	g1=$(sysget generation)
	t_eq "$desc: generation" "$g1" "$g0"
}

# (busybox head exits 0 when its write fails: dd reports it)
w_random() { dd if=/dev/urandom of="$SYS/publish" bs=3000 count=1 2>/dev/null; }
w_version() {
	printf 'lockwatch-publish 2 length=%d pid=1 deadlocks=0 blocked_threads=0 tracked_locks=0 stopping=1\nlockwatch-graph 1 generation=0 lines=0\nend generation=0\nlockwatch-alerts 1 generation=0 lines=0\nend generation=0\n' 175 >"$SYS/publish"
}
w_trunc() {
	printf 'lockwatch-publish 1 length=%d pid=1 deadlocks=0 blocked_threads=0 tracked_locks=0 stopping=0\nlockwatch-graph 1 generation=0 lines=0\nend generation=0\n' 3000 >"$SYS/publish"
}
w_huge() {
	printf 'lockwatch-publish 1 length=%d pid=1 deadlocks=0 blocked_threads=0 tracked_locks=0 stopping=0\n' 2000000 >"$SYS/publish"
}
# a whole page of a two-page record, then a short tail that does not finish it
w_trunc2() { dd if="$LW_TMP/rec2.cut" of="$SYS/publish" bs=4096 2>/dev/null; }
# the excess in the same piece as the record's last byte
w_long() { dd if="$LW_TMP/rec2.long" of="$SYS/publish" bs=4096 2>/dev/null; }

# 2. attacks on publish
test_module_attacks()
{
	local g0 g1 i pids p v
	t_begin "module: bad publishes fail with an errno and change nothing"
	t_reject "random bytes" w_random
	t_reject "wrong version" w_version
	t_reject "length larger than written (truncated)" w_trunc
	t_reject "length over 1 MiB" w_huge
	rec_make "$LW_TMP/rec2" 60
	rec_make "$LW_TMP/rec1" 2
	head -c 6000 "$LW_TMP/rec2" >"$LW_TMP/rec2.cut"
	{ cat "$LW_TMP/rec2"; echo extra; } >"$LW_TMP/rec2.long"
	t_reject "two-page record cut short" w_trunc2
	t_reject "two-page record with bytes past length" w_long
	t_end

	t_begin "module: a well-formed two-page record written by dd bs=4096 is accepted"
	g0=$(sysget generation)
	say "record: $(wc -c <"$LW_TMP/rec2") bytes"
	dd if="$LW_TMP/rec2" of="$SYS/publish" bs=4096 2>"$LW_TMP/dd.err" || t_fail "dd failed: $(cat "$LW_TMP/dd.err")"
	g1=$(sysget generation)
	t_eq "generation" "$g1" "$((g0 + 1))"
	t_eq "daemon_pid" "$(sysget daemon_pid)" 4242
	t_eq "deadlocks" "$(sysget deadlocks)" 1
	t_eq "blocked_threads" "$(sysget blocked_threads)" 60
	t_eq "stale" "$(sysget stale)" 0
	cat "$SYS/graph" >"$LW_TMP/rec2.graph"
	t_eq "graph first line" "$(head -n 1 "$LW_TMP/rec2.graph")" "lockwatch-graph 1 generation=$g1 lines=60"
	t_eq "graph last line" "$(tail -n 1 "$LW_TMP/rec2.graph")" "end generation=$g1"
	t_eq "graph lines" "$(wc -l <"$LW_TMP/rec2.graph")" 62
	t_eq "alerts" "$(cat "$SYS/alerts")" "lockwatch-alerts 1 generation=$g1 lines=1
alert time=1.000000000 kind=deadlock pids=4242 summary=test
end generation=$g1"
	t_end

	t_begin "module: 6 concurrent garbage writers and a reader for 2 s"
	g0=$(sysget generation)
	pids=
	for i in 1 2 3 4 5 6; do
		(
			end=$(($(cut -d. -f1 /proc/uptime) + 2))
			while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
				case $i in
				1 | 2) head -c 5000 /dev/urandom >"$SYS/publish" ;;
				3) w_trunc ;;
				# first page of a valid two-page record only: staged, then
				# abandoned (at most 4 staged: EBUSY beyond)
				4 | 5) head -c 4096 "$LW_TMP/rec2" >"$SYS/publish" ;;
				6) w_trunc2 ;;
				esac
			done 2>/dev/null
		) &
		pids="$pids $!"
	done
	(
		end=$(($(cut -d. -f1 /proc/uptime) + 2))
		n=0
		bad=0
		while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
			cat "$SYS/graph" >"$LW_TMP/reader.graph" 2>/dev/null
			n=$((n + 1))
			l1=$(head -n 1 "$LW_TMP/reader.graph")
			l2=$(tail -n 1 "$LW_TMP/reader.graph")
			g=${l1#lockwatch-graph 1 generation=}
			g=${g%% *}
			[ "$l2" = "end generation=$g" ] && [ "$(wc -l <"$LW_TMP/reader.graph")" = 62 ] ||
				bad=$((bad + 1))
		done
		echo "reads: $n torn: $bad"
	) >"$LW_TMP/reader.out" 2>&1 &
	pids="$pids $!"
	for p in $pids; do
		wait "$p"
	done
	say "reader: $(tr '\n' ' ' <"$LW_TMP/reader.out")"
	grep -q 'torn: 0$' "$LW_TMP/reader.out" || t_fail "a reader saw a torn or partial graph"
	g1=$(sysget generation)
	t_eq "generation after the garbage" "$g1" "$g0"
	v=$(head -n 1 "$SYS/graph")
	t_eq "graph still the last good record" "$v" "lockwatch-graph 1 generation=$g0 lines=60"
	t_end
	# abandoned multi-page records hold the 4 staging buffers for 5 s
	dd if="$LW_TMP/rec2" of="$SYS/publish" bs=4096 2>"$LW_TMP/dd.err" >/dev/null
	say "a two-page publish right after the writers: exit status $?, $(tail -n 1 "$LW_TMP/dd.err")"

	t_begin "module: stale_after_ms: 50 rejected, 500 accepted"
	v=$(sysget stale_after_ms)
	t_eq "default stale_after_ms" "$v" 3000
	if echo 50 >"$SYS/stale_after_ms" 2>"$LW_TMP/sam.err"; then
		t_fail "writing 50 succeeded"
	fi
	say "write 50: $(cat "$LW_TMP/sam.err")"
	t_eq "after 50" "$(sysget stale_after_ms)" 3000
	if echo abc >"$SYS/stale_after_ms" 2>"$LW_TMP/sam.err"; then
		t_fail "writing abc succeeded"
	fi
	say "write abc: $(cat "$LW_TMP/sam.err")"
	echo 500 >"$SYS/stale_after_ms" 2>"$LW_TMP/sam.err" || t_fail "writing 500 failed: $(cat "$LW_TMP/sam.err")"
	t_eq "after 500" "$(sysget stale_after_ms)" 500
	dd if="$LW_TMP/rec1" of="$SYS/publish" bs=4096 2>"$LW_TMP/dd.err" || t_fail "republish (one page) failed: $(cat "$LW_TMP/dd.err")"
	t_eq "stale just after a publish" "$(sysget stale)" 0
	sleep 0.8
	t_eq "stale 0.8 s after a publish (500 ms timeout)" "$(sysget stale)" 1
	echo 3000 >"$SYS/stale_after_ms"
	t_eq "back to 3000: stale" "$(sysget stale)" 0
	t_end
}

# 3. unload and reload while files are held open
test_module_reload()
{
	local i r e
	t_begin "module: rmmod/insmod x5 while graph (fd 3) and a half-written publish (fd 4) are open"
	for i in 1 2 3 4 5; do
		exec 3<"$SYS/graph" || t_fail "#$i: open graph failed"
		# a partial read: pins a snapshot
		dd bs=16 count=1 <&3 >/dev/null 2>&1 || t_fail "#$i: reading 16 bytes from fd 3 failed"
		exec 4>"$SYS/publish" || t_fail "#$i: open publish failed"
		# the first page of a two-page record: staged in the module
		head -c 4096 "$LW_TMP/rec2" >&4 || t_fail "#$i: staging a page failed"
		rmmod "$MOD" 2>"$LW_TMP/rmmod.err"
		r=$?
		[ "$r" = 0 ] || t_fail "#$i: rmmod with files open failed ($r): $(cat "$LW_TMP/rmmod.err")"
		[ "$i" -gt 1 ] || say "#1: rmmod with graph and publish open: exit status $r $(cat "$LW_TMP/rmmod.err")"
		[ ! -e "$SYS" ] || t_fail "#$i: $SYS still there after rmmod"
		if e=$(cat <&3 2>&1 >/dev/null); then
			t_fail "#$i: reading fd 3 after rmmod succeeded"
		fi
		[ "$i" -gt 1 ] || say "#1: cat <&3 after rmmod: $e"
		if e=$(printf 'x' 2>&1 >&4); then
			t_fail "#$i: writing fd 4 after rmmod succeeded"
		fi
		[ "$i" -gt 1 ] || say "#1: write to fd 4 after rmmod: $e"
		mod_load || t_fail "#$i: insmod failed: $(cat "$LW_TMP/insmod.err")"
		if e=$(cat <&3 2>&1 >/dev/null); then
			t_fail "#$i: reading the old fd 3 after insmod succeeded"
		fi
		t_eq "#$i: generation after reload" "$(sysget generation)" 0
		t_eq "#$i: stale after reload" "$(sysget stale)" 1
		exec 3<&- 4>&-
	done
	t_end
}

test_module_live()
{
	if [ ! -e "$KO" ]; then
		tap_skip "module: publish, attacks, reload" "kmod/lockwatch.ko is not built"
		return
	fi
	t_begin "module: insmod for the live tests"
	mod_load || t_fail "insmod failed: $(cat "$LW_TMP/insmod.err")"
	t_end || return
	test_module_publish
	test_module_empty
	test_module_attacks
	test_module_reload
	t_begin "module: final rmmod"
	rmmod "$MOD" 2>"$LW_TMP/rmmod.err" || t_fail "rmmod failed: $(cat "$LW_TMP/rmmod.err")"
	t_end
}

say "guest: $(uname -a)"
say "guest: $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo), uptime $(cut -d' ' -f1 /proc/uptime) s"
START=$(cut -d' ' -f1 /proc/uptime)

lw_require_root_bpf
lw_require_built deadlock healthy hang orders

vm_tests >"$LW_TMP/tests"
while read -r call <&3; do
	t0=$(cut -d' ' -f1 /proc/uptime)
	eval "$call"
	echo "VMTEST-RAN: $call"
	say "took $(echo "$t0 $(cut -d' ' -f1 /proc/uptime)" | awk '{ printf "%.1f", $2 - $1 }') s"
done 3<"$LW_TMP/tests"

say "guest: tests took $(echo "$START $(cut -d' ' -f1 /proc/uptime)" | awk '{ printf "%.1f", $2 - $1 }') s"
echo "VMTEST-RESULT: $TAP_PASS passed, $TAP_FAIL failed, $TAP_SKIP skipped"
tap_finish
