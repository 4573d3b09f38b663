#!/bin/sh
# shellcheck shell=dash disable=SC2016,SC3043 # jq filters are single-quoted; busybox ash has local
# SPDX-License-Identifier: GPL-2.0
# vm-tests.sh - the tests scripts/vmtest.sh runs inside the guest kernel
# (busybox sh, started by /init = scripts/vm-init.sh).
#
# Every output line starts with "VMTAP ": "VMTAP ok - NAME", "VMTAP not ok -
# NAME" or "VMTAP # diagnostic"; the host numbers the results and adds its own.
# After each test of the list at the end, "VMTEST-RAN: CALL". The last line
# is "VMTEST-RESULT: N passed, M failed, K skipped"; the exit status is 0 only
# when nothing failed.

LW=${LW:-/usr/bin/lockwatch}
T=${T:-/tests}
KO=${KO:-/lockwatch.ko}
W=/tmp/vmtest
mkdir -p "$W"

PASS=0
FAIL=0
SKIP=0
NUM=0
ERRS=
FILES=

diag() { sed 's/^/VMTAP # /'; }
say() { echo "VMTAP # $*"; }

t_begin()
{
	NAME=$1
	ERRS=
	FILES=
	NUM=$((NUM + 1))
	T0=$(cut -d' ' -f1 /proc/uptime)
}

t_fail() { ERRS="$ERRS$1
"; }

t_end()
{
	local t1 f
	t1=$(cut -d' ' -f1 /proc/uptime)
	took=$(echo "$T0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
	if [ -z "$ERRS" ]; then
		PASS=$((PASS + 1))
		echo "VMTAP ok - $NAME (${took} s)"
		return 0
	fi
	FAIL=$((FAIL + 1))
	echo "VMTAP not ok - $NAME (${took} s)"
	printf '%s' "$ERRS" | sed 's/^/failed: /' | diag
	for f in $FILES; do
		[ -e "$f.cmd" ] && say "command: $(cat "$f.cmd")"
		[ -e "$f.rc" ] && say "exit status: $(cat "$f.rc")"
		for s in out err; do
			[ -e "$f.$s" ] || continue
			say "$s ($(wc -l <"$f.$s") lines):"
			head -n "${DUMP_LINES:-60}" "$f.$s" | cut -c 1-1000 | sed 's/^/  /' | diag
		done
	done
	return 1
}

t_skip()
{
	NUM=$((NUM + 1))
	SKIP=$((SKIP + 1))
	echo "VMTAP ok - $1 # SKIP $2"
}

# run F TIMEOUT CMD...: runs CMD under a timeout; F.out, F.err, F.rc, F.cmd.
run()
{
	local f=$1 secs=$2
	shift 2
	FILES="$FILES $f"
	echo "$*" >"$f.cmd"
	timeout -k 5 "$secs" "$@" >"$f.out" 2>"$f.err" </dev/null
	echo $? >"$f.rc"
}

t_rc()
{
	local rc
	rc=$(cat "$1.rc")
	[ "$rc" = "$2" ] || t_fail "exit status is $rc, expected $2"
}

# t_jq DESC F FILTER [ARGS]: FILTER on stdout slurped (jq -s) must be true.
JQ_DEFS='
def alerts: map(select(.kind == "deadlock"));
def alert: alerts[0];
def summary: map(select(.kind == "summary"))[0];
'
t_jq()
{
	local desc=$1 f=$2 filter=$3
	shift 3
	jq -e -s "$@" "$JQ_DEFS $filter" "$f.out" >/dev/null 2>&1 || t_fail "$desc"
}

# --- the tests ---

test_version()
{
	local f=$W/version
	t_begin "lockwatch --version"
	run "$f" 10 "$LW" --version
	t_rc "$f" 0
	grep -q '[0-9]\.[0-9]' "$f.out" || t_fail "no version number on stdout"
	t_end
	head -n 5 "$f.out" | diag
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
	local f=$W/load
	t_begin "BPF programs load and attach (lockwatch -v -- /bin/true)"
	run "$f" 60 "$LW" -v --duration 10 -- /bin/true
	t_rc "$f" 0
	DUMP_LINES=400
	t_end
	DUMP_LINES=60
	# what libbpf had to say even when everything loaded (6.1 lacks features)
	grep -Ei 'libbpf: .*(warn|fail|error|not supported|missing)' "$f.err" | head -n 40 | diag
}

# test_deadlock MODE TYPE EDGE...: one deadlock alert whose cycle is exactly
# the edges "waiter:lock:holder", each lock of TYPE; exit status 1.
test_deadlock()
{
	local mode=$1 type=$2 f=$W/dl-$1 n e w l h
	shift 2
	n=$#
	t_begin "deadlock $mode: exit 1, one alert, cycle $*"
	run "$f" 60 "$LW" --json --exit-on-deadlock --duration 20 -- "$T/deadlock" "$mode"
	t_rc "$f" 1
	t_jq "stdout is JSON records, the last a summary" "$f" \
		'length > 0 and all(.[]; type == "object") and .[-1].kind == "summary"'
	t_jq "exactly one deadlock alert" "$f" 'alerts | length == 1'
	t_jq "summary: deadlocks == 1" "$f" 'summary.deadlocks == 1'
	t_jq "alert: process comm deadlock" "$f" \
		'alert.processes | length == 1 and .[0].comm == "deadlock"'
	t_jq "cycle has $n edge(s)" "$f" 'alert.cycle | length == $n' --argjson n "$n"
	for e in "$@"; do
		IFS=: read -r w l h <<EOF
$e
EOF
		t_jq "edge: thread $w waits for $type $l, held by thread $h" "$f" \
			'any(alert.cycle[]; .waiter.name == $w and .waits_for.type == $t and
			 .waits_for.name == $l and .held_by.name == $h)' \
			--arg w "$w" --arg l "$l" --arg h "$h" --arg t "$type"
		t_jq "thread $w has a stack" "$f" \
			'any(alert.threads[]; .name == $w and (.stack | length > 0))' --arg w "$w"
	done
	t_end
}

# test_lock_order PROG MODE NORDERS [ARGS]: with --lock-order, an inversion in
# a program that never hangs is one lock_order of NORDERS orders (NORDERS 0:
# none, and the orders were seen); uprobes and their shared tracefs events on
# this kernel.
test_lock_order()
{
	local prog=$1 mode=$2 n=$3 f=$W/order-$1-$2 rc=1
	shift 3
	[ "$n" -gt 0 ] || rc=0
	t_begin "--lock-order $prog $mode: $n orders in a cycle"
	export LW_ORDERS_LINGER=1
	run "$f" 120 "$LW" --json --lock-order --duration 60 "$@" -- "$T/$prog" "$mode"
	unset LW_ORDERS_LINGER
	t_rc "$f" "$rc"
	t_jq "stdout is JSON records, the last a summary" "$f" \
		'length > 0 and all(.[]; type == "object") and .[-1].kind == "summary"'
	if [ "$n" -gt 0 ]; then
		t_jq "one lock_order of $n orders, each with where both locks were taken" "$f" \
			'map(select(.kind == "lock_order")) | length == 1 and (.[0].orders | length == $n) and
			 all(.[0].orders[]; (.taken_at | length > 0) and (.held_at | length > 0))' \
			--argjson n "$n"
	else
		t_jq "no alert; locks and orders seen" "$f" \
			'(map(select(.kind != "summary")) | length == 0) and summary.lock_acquires > 0 and
			 summary.lock_orders > 0'
	fi
	t_end
}

# test_healthy MODE SECONDS: a busy correct program stays silent.
test_healthy()
{
	local mode=$1 secs=$2 f=$W/healthy-$1
	t_begin "healthy $mode $secs: exit 0, no alert, waits seen"
	run "$f" 60 "$LW" --json --duration $((secs + 5)) -- "$T/healthy" "$mode" "$secs"
	t_rc "$f" 0
	t_jq "no alert records" "$f" 'map(select(.kind != "summary")) | length == 0'
	t_jq "summary: alerts == 0 and deadlocks == 0" "$f" \
		'summary.alerts == 0 and summary.deadlocks == 0'
	t_jq "summary: waits > 0 (lockwatch saw the futex waits)" "$f" 'summary.waits > 0'
	t_end
}

# proc_hung PID N: N threads, each asleep in futex(2) (syscall 202).
proc_hung()
{
	local t count=0 stat sc
	for t in /proc/"$1"/task/*; do
		[ -d "$t" ] || return 1
		stat=$(cat "$t/stat" 2>/dev/null) || return 1
		stat=${stat##*) }
		[ "${stat%% *}" = S ] || return 1
		sc=$(cat "$t/syscall" 2>/dev/null) || return 1
		[ "${sc%% *}" = 202 ] || return 1
		count=$((count + 1))
	done
	[ "$count" -eq "$2" ]
}

# abba_hung: starts "deadlock abba" in the background (HUNG_PID) and waits,
# 30 s at most, until its 3 threads sleep in futex(2), twice 0.3 s apart.
abba_hung()
{
	local i=0

	"$T/deadlock" abba >/dev/null 2>&1 &
	HUNG_PID=$!
	until proc_hung "$HUNG_PID" 3; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || break
		sleep 0.1
	done
	sleep 0.3
	proc_hung "$HUNG_PID" 3 ||
		t_fail "deadlock abba (pid $HUNG_PID) did not hang with 3 threads in futex(2)"
}

test_check()
{
	local f=$W/check pid
	t_begin "lockwatch check on a hung deadlock abba: exit 1, poster/auditor cycle"
	abba_hung
	pid=$HUNG_PID
	run "$f" 30 "$LW" check --json "$pid"
	t_rc "$f" 1
	t_jq "one deadlock alert" "$f" 'alerts | length == 1'
	t_jq "cycle: poster waits for journal held by auditor, auditor for ledger held by poster" "$f" \
		'(alert.cycle | length == 2) and
		 any(alert.cycle[]; .waiter.name == "poster" and .waits_for.name == "journal" and .held_by.name == "auditor") and
		 any(alert.cycle[]; .waiter.name == "auditor" and .waits_for.name == "ledger" and .held_by.name == "poster")'
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t_end
}

# test_hang MODE KIND EDGE...: tests/hang MODE hangs (its ready file appears),
# then "lockwatch check" reports one KIND alert whose waits are exactly the
# EDGEs "waiter:type:lock:holder" (a lock "*" is not checked by name).
test_hang()
{
	local mode=$1 kind=$2 f=$W/hang-$1 n pid i=0 e w ty l h
	shift 2
	n=$#
	t_begin "hang $mode, then check: one $kind, waits $*"
	rm -f "$W/ready.$mode"
	LW_READY_FILE="$W/ready.$mode" "$T/hang" "$mode" >/dev/null 2>&1 &
	pid=$!
	until [ -s "$W/ready.$mode" ]; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || break
		sleep 0.1
	done
	[ -s "$W/ready.$mode" ] || t_fail "hang $mode did not get ready"
	run "$f" 30 "$LW" check --json "$pid"
	t_rc "$f" 1
	t_jq "exactly one $kind alert" "$f" \
		'[.[] | select(.kind != "summary")] | length == 1 and .[0].kind == $k' --arg k "$kind"
	t_jq "$n wait(s)" "$f" '.[0] | (.cycle // .waits) | length == $n' --argjson n "$n"
	for e in "$@"; do
		IFS=: read -r w ty l h <<EOF
$e
EOF
		t_jq "$w waits for $ty $l, held by $h" "$f" \
			'any(.[0] | (.cycle // .waits)[]; .waiter.name == $w and .waits_for.type == $t and
			 ($l == "*" or .waits_for.name == $l) and (.held_by.name // "") == $h)' \
			--arg w "$w" --arg t "$ty" --arg l "$l" --arg h "$h"
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t_end
}

# test_watch_hung HOW: a deadlock that formed before lockwatch started is
# reported at once when watching with -p PID (HOW=pid) or the whole host.
test_watch_hung()
{
	local how=$1 f=$W/watch-$1 pid
	t_begin "watching ($how) a deadlock that formed before lockwatch started"
	abba_hung
	pid=$HUNG_PID
	if [ "$how" = pid ]; then
		run "$f" 30 "$LW" --json --exit-on-deadlock --duration 10 -p "$pid"
	else
		run "$f" 30 "$LW" --json --exit-on-deadlock --duration 10
	fi
	t_rc "$f" 1
	t_jq "a deadlock alert about pid $pid: poster and auditor" "$f" \
		'any(.[]; .kind == "deadlock" and .processes[0].pid == $p and
		     ([.cycle[].waiter.name] | sort) == ["auditor", "poster"])' --argjson p "$pid"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t_end
}

# The module: load, show and read /sys/kernel/lockwatch, unload; twice.
test_module()
{
	local i f file v dep
	if [ ! -e "$KO" ]; then
		t_skip "kernel module" "kmod/lockwatch.ko is not built"
		return
	fi
	MOD=$(cat /lockwatch.name 2>/dev/null)
	MOD=${MOD:-lockwatch}
	say "module: $(tr '\n' ' ' </lockwatch.modinfo 2>/dev/null)"
	for i in 1 2; do
		f=$W/insmod$i
		t_begin "module: insmod #$i creates /sys/kernel/lockwatch"
		if [ -e /lockwatch-deps ]; then
			while read -r dep; do
				insmod "/modules/$dep" 2>/dev/null
			done </lockwatch-deps
		fi
		run "$f" 30 insmod "$KO"
		t_rc "$f" 0
		[ -d /sys/kernel/lockwatch ] || t_fail "no /sys/kernel/lockwatch after insmod"
		t_end
		if [ -d /sys/kernel/lockwatch ]; then
			say "ls -l /sys/kernel/lockwatch:"
			# shellcheck disable=SC2012 # ls -l is what we want to show
			ls -l /sys/kernel/lockwatch | diag
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
					printf '%s\n' "$v" | head -n 8 | sed 's/^/  /' | diag
				fi
			done
		fi
		f=$W/rmmod$i
		t_begin "module: rmmod #$i removes /sys/kernel/lockwatch"
		run "$f" 30 rmmod "$MOD"
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
	insmod "$KO" 2>"$W/insmod.err"
}

# sysget FILE: the file's content, read with plain cat
sysget() { cat "$SYS/$1" 2>/dev/null; }

# t_check NAME OK WHY: one result from a check made earlier: "ok", or "not ok"
# with WHY as the diagnostic.
t_check()
{
	NUM=$((NUM + 1))
	if [ "$2" = 1 ]; then
		PASS=$((PASS + 1))
		echo "VMTAP ok - $1"
	else
		FAIL=$((FAIL + 1))
		echo "VMTAP not ok - $1"
		echo "VMTAP # $3"
	fi
}

# t_eq DESC GOT WANT
t_eq() { [ "$2" = "$3" ] || t_fail "$1: got '$2', expected '$3'"; }

# 1. lockwatch --sysfs publishes a deadlock into the module
test_module_publish()
{
	local f=$W/modpub dl lw g first last n v
	t_begin "module: lockwatch --sysfs publishes deadlock abba (plain cat)"
	abba_hung
	dl=$HUNG_PID
	FILES="$FILES $f"
	echo "$LW --json --sysfs --duration 4 -p $dl" >"$f.cmd"
	timeout -k 5 30 "$LW" --json --sysfs --duration 4 -p "$dl" >"$f.out" 2>"$f.err" </dev/null &
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
	cat "$SYS/graph" >"$f.graph" 2>"$f.graph.err"
	CAT_RC=$?
	dd if="$SYS/graph" bs=4096 2>"$f.dd.err" >/dev/null
	DD_RC=$?
	first=$(head -n 1 "$f.graph")
	last=$(tail -n 1 "$f.graph")
	n=$(($(wc -l <"$f.graph") - 2))
	case $first in
	"lockwatch-graph 1 generation="*" lines=$n") ;;
	*) t_fail "graph first line '$first' (expected lockwatch-graph 1 generation=G lines=$n)" ;;
	esac
	G=${first#lockwatch-graph 1 generation=}
	G=${G%% *}
	t_eq "graph last line" "$last" "end generation=$G"
	grep -q '^wait .*comm=poster .*name=journal' "$f.graph" ||
		t_fail "graph: no line comm=poster ... name=journal"
	grep -q '^wait .*comm=auditor .*name=ledger' "$f.graph" ||
		t_fail "graph: no line comm=auditor ... name=ledger"
	cat "$SYS/alerts" >"$f.alerts" 2>>"$f.graph.err"
	CAT_RC="$CAT_RC $?"
	grep -q '^alert .*kind=deadlock' "$f.alerts" || t_fail "alerts: no kind=deadlock line"
	wait "$lw"
	echo $? >"$f.rc"
	STALE_NOW=$(sysget stale)
	if [ "$STALE_NOW" != 1 ]; then
		sleep 3.3
		t_eq "stale 3.3 s after lockwatch exited (stale_after_ms 3000)" "$(sysget stale)" 1
	fi
	kill -KILL "$dl" 2>/dev/null
	wait "$dl" 2>/dev/null
	if [ -n "$ERRS" ]; then
		for v in graph alerts; do
			say "$v:"
			head -n 20 "$f.$v" | diag
		done
		for v in generation deadlocks blocked_threads daemon_pid stale; do
			say "$v: $(sysget $v)"
		done
	fi
	t_end
	say "graph after the run:"
	head -n 6 "$f.graph" | cut -c 1-300 | diag
	say "alerts: $(grep -c '^alert ' "$f.alerts") line(s)"
	say "cat graph, cat alerts exit status: $CAT_RC; stderr: $(tr '\n' ' ' <"$f.graph.err")"
	say "dd if=graph bs=4096 exit status: $DD_RC; stderr: $(tr '\n' ' ' <"$f.dd.err")"
	# which readers hit ESTALE (busybox cat copies with sendfile(2))
	for v in "cat G >/dev/null" "cat G | cat >/dev/null" "dd if=G bs=65536 of=/dev/null" \
		"dd if=G bs=64 of=/dev/null" "head -c 1000000 G >/dev/null" "cat <G >/dev/null"; do
		sh -c "$(echo "$v" | sed "s|G|$SYS/graph|g")" >/dev/null 2>"$f.try.err"
		say "reader '$v': exit status $?, $(tr '\n' ' ' <"$f.try.err" | cut -c 1-120)"
	done
	t_check "module: plain cat graph and cat alerts exit 0" \
		"$([ "$CAT_RC" = "0 0" ] && echo 1)" \
		"cat prints the whole snapshot, then fails: $(head -n 1 "$f.graph.err")"
	t_check "module: lockwatch's stopping=1 record makes stale 1 at once" \
		"$([ "$STALE_NOW" = 1 ] && echo 1)" \
		"stale was '$STALE_NOW' right after lockwatch exited; lockwatch: $(tail -n 1 "$f.err")"
}

# whole_file NAME KIND: the module's file NAME, read with cat, is one
# snapshot: "lockwatch-KIND 1 generation=G lines=N", N lines, "end generation=G".
whole_file()
{
	local f=$W/whole.$1 first last n g
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
	local f=$W/modempty dl sl lw i v
	t_begin "module: after an alert the graph empties: the files stay whole, stale 0"
	abba_hung
	dl=$HUNG_PID
	sleep 60 &
	sl=$!
	FILES="$FILES $f"
	echo "$LW --json --sysfs --duration 20 -p $dl -p $sl" >"$f.cmd"
	timeout -k 5 40 "$LW" --json --sysfs --duration 20 -p "$dl" -p "$sl" \
		>"$f.out" 2>"$f.err" </dev/null &
	lw=$!
	i=0
	until [ "$(sysget deadlocks)" = 1 ] && grep -q '^alert .*kind=deadlock' "$SYS/alerts"; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || break
		sleep 0.1
	done
	t_eq "deadlocks with the deadlock" "$(sysget deadlocks)" 1
	kill -KILL "$dl" 2>/dev/null
	wait "$dl" 2>/dev/null
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
	echo $? >"$f.rc"
	kill -KILL "$sl" 2>/dev/null
	wait "$sl" 2>/dev/null
	t_eq "lockwatch's exit status" "$(cat "$f.rc")" 1
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
	if "$@" 2>"$W/reject.err"; then
		t_fail "$desc: the write succeeded"
	fi
	e=$(head -n 1 "$W/reject.err")
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
w_trunc2() { dd if="$W/rec2.cut" of="$SYS/publish" bs=4096 2>/dev/null; }
# the excess in the same piece as the record's last byte
w_long() { dd if="$W/rec2.long" of="$SYS/publish" bs=4096 2>/dev/null; }

# 2. attacks on publish
test_module_attacks()
{
	local g0 g1 i pids p v
	t_begin "module: bad publishes fail with an errno and change nothing"
	t_reject "random bytes" w_random
	t_reject "wrong version" w_version
	t_reject "length larger than written (truncated)" w_trunc
	t_reject "length over 1 MiB" w_huge
	rec_make "$W/rec2" 60
	rec_make "$W/rec1" 2
	head -c 6000 "$W/rec2" >"$W/rec2.cut"
	{ cat "$W/rec2"; echo extra; } >"$W/rec2.long"
	t_reject "two-page record cut short" w_trunc2
	t_reject "two-page record with bytes past length" w_long
	t_end

	t_begin "module: a well-formed two-page record written by dd bs=4096 is accepted"
	g0=$(sysget generation)
	say "record: $(wc -c <"$W/rec2") bytes"
	dd if="$W/rec2" of="$SYS/publish" bs=4096 2>"$W/dd.err" || t_fail "dd failed: $(cat "$W/dd.err")"
	g1=$(sysget generation)
	t_eq "generation" "$g1" "$((g0 + 1))"
	t_eq "daemon_pid" "$(sysget daemon_pid)" 4242
	t_eq "deadlocks" "$(sysget deadlocks)" 1
	t_eq "blocked_threads" "$(sysget blocked_threads)" 60
	t_eq "stale" "$(sysget stale)" 0
	cat "$SYS/graph" >"$W/rec2.graph"
	t_eq "graph first line" "$(head -n 1 "$W/rec2.graph")" "lockwatch-graph 1 generation=$g1 lines=60"
	t_eq "graph last line" "$(tail -n 1 "$W/rec2.graph")" "end generation=$g1"
	t_eq "graph lines" "$(wc -l <"$W/rec2.graph")" 62
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
				4 | 5) head -c 4096 "$W/rec2" >"$SYS/publish" ;;
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
			cat "$SYS/graph" >"$W/reader.graph" 2>/dev/null
			n=$((n + 1))
			l1=$(head -n 1 "$W/reader.graph")
			l2=$(tail -n 1 "$W/reader.graph")
			g=${l1#lockwatch-graph 1 generation=}
			g=${g%% *}
			[ "$l2" = "end generation=$g" ] && [ "$(wc -l <"$W/reader.graph")" = 62 ] ||
				bad=$((bad + 1))
		done
		echo "reads: $n torn: $bad"
	) >"$W/reader.out" 2>&1 &
	pids="$pids $!"
	for p in $pids; do
		wait "$p"
	done
	say "reader: $(tr '\n' ' ' <"$W/reader.out")"
	grep -q 'torn: 0$' "$W/reader.out" || t_fail "a reader saw a torn or partial graph"
	g1=$(sysget generation)
	t_eq "generation after the garbage" "$g1" "$g0"
	v=$(head -n 1 "$SYS/graph")
	t_eq "graph still the last good record" "$v" "lockwatch-graph 1 generation=$g0 lines=60"
	t_end
	# abandoned multi-page records hold the 4 staging buffers for 5 s
	dd if="$W/rec2" of="$SYS/publish" bs=4096 2>"$W/dd.err" >/dev/null
	say "a two-page publish right after the writers: exit status $?, $(tail -n 1 "$W/dd.err")"

	t_begin "module: stale_after_ms: 50 rejected, 500 accepted"
	v=$(sysget stale_after_ms)
	t_eq "default stale_after_ms" "$v" 3000
	if echo 50 >"$SYS/stale_after_ms" 2>"$W/sam.err"; then
		t_fail "writing 50 succeeded"
	fi
	say "write 50: $(cat "$W/sam.err")"
	t_eq "after 50" "$(sysget stale_after_ms)" 3000
	if echo abc >"$SYS/stale_after_ms" 2>"$W/sam.err"; then
		t_fail "writing abc succeeded"
	fi
	say "write abc: $(cat "$W/sam.err")"
	echo 500 >"$SYS/stale_after_ms" 2>"$W/sam.err" || t_fail "writing 500 failed: $(cat "$W/sam.err")"
	t_eq "after 500" "$(sysget stale_after_ms)" 500
	dd if="$W/rec1" of="$SYS/publish" bs=4096 2>"$W/dd.err" || t_fail "republish (one page) failed: $(cat "$W/dd.err")"
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
		head -c 4096 "$W/rec2" >&4 || t_fail "#$i: staging a page failed"
		rmmod "$MOD" 2>"$W/rmmod.err"
		r=$?
		[ "$r" = 0 ] || t_fail "#$i: rmmod with files open failed ($r): $(cat "$W/rmmod.err")"
		[ "$i" -gt 1 ] || say "#1: rmmod with graph and publish open: exit status $r $(cat "$W/rmmod.err")"
		[ ! -e "$SYS" ] || t_fail "#$i: $SYS still there after rmmod"
		if e=$(cat <&3 2>&1 >/dev/null); then
			t_fail "#$i: reading fd 3 after rmmod succeeded"
		fi
		[ "$i" -gt 1 ] || say "#1: cat <&3 after rmmod: $e"
		if e=$(printf 'x' 2>&1 >&4); then
			t_fail "#$i: writing fd 4 after rmmod succeeded"
		fi
		[ "$i" -gt 1 ] || say "#1: write to fd 4 after rmmod: $e"
		mod_load || t_fail "#$i: insmod failed: $(cat "$W/insmod.err")"
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
		t_skip "module: publish, attacks, reload" "kmod/lockwatch.ko is not built"
		return
	fi
	t_begin "module: insmod for the live tests"
	mod_load || t_fail "insmod failed: $(cat "$W/insmod.err")"
	t_end || return
	test_module_publish
	test_module_empty
	test_module_attacks
	test_module_reload
	t_begin "module: final rmmod"
	rmmod "$MOD" 2>"$W/rmmod.err" || t_fail "rmmod failed: $(cat "$W/rmmod.err")"
	t_end
}

say "guest: $(uname -a)"
say "guest: $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo), uptime $(cut -d' ' -f1 /proc/uptime) s"
START=$(cut -d' ' -f1 /proc/uptime)

# The tests, one call a line; the host reads this list from this file and
# expects a VMTEST-RAN marker for each, in order (a test that did not run
# fails the stage).
while read -r call <&3; do
	eval "$call"
	echo "VMTEST-RAN: $call"
done 3<<'TESTS'
test_version
test_env
test_load
test_deadlock abba mutex poster:journal:auditor auditor:ledger:poster
test_deadlock abba-pi pi_mutex poster:journal:auditor auditor:ledger:poster
test_deadlock three mutex alpha:second:beta beta:third:gamma gamma:first:alpha
test_deadlock self mutex rebuilder:store_lock:rebuilder
test_deadlock self-inlined mutex refresher:store_lock:refresher
test_deadlock abba-robust mutex poster:journal:auditor auditor:ledger:poster
test_deadlock abba-errorcheck mutex poster:journal:auditor auditor:ledger:poster
test_deadlock abba-waitv mutex poster:journal:auditor auditor:ledger:poster
test_deadlock abba-array mutex poster:accounts+0x50:auditor auditor:accounts+0x28:poster
test_healthy ordered 3
test_healthy recursive 3
test_healthy errorcheck 3
test_healthy condvar 4
test_healthy trylock 3
test_healthy stress 5
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

say "guest: tests took $(echo "$START $(cut -d' ' -f1 /proc/uptime)" | awk '{ printf "%.1f", $2 - $1 }') s"
echo "VMTEST-RESULT: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
