#!/bin/sh
# shellcheck shell=dash disable=SC2016,SC3043 # jq filters are single-quoted; busybox ash has local
# SPDX-License-Identifier: GPL-2.0
# vm-tests.sh - the tests scripts/vmtest.sh runs inside the guest kernel
# (busybox sh, started by /init = scripts/vm-init.sh).
#
# Every output line starts with "VMTAP ": "VMTAP ok - NAME", "VMTAP not ok -
# NAME" or "VMTAP # diagnostic"; the host numbers the results and adds its own.
# The last line is "VMTEST-RESULT: N passed, M failed, K skipped"; the exit
# status is 0 only when nothing failed.

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

test_healthy()
{
	local f=$W/healthy
	t_begin "healthy ordered 3: exit 0, no alert, waits seen"
	run "$f" 60 "$LW" --json --duration 5 -- "$T/healthy" ordered 3
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

test_check()
{
	local f=$W/check pid i=0
	t_begin "lockwatch check on a hung deadlock abba: exit 1, poster/auditor cycle"
	"$T/deadlock" abba >/dev/null 2>&1 &
	pid=$!
	until proc_hung "$pid" 3; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || break
		sleep 0.1
	done
	sleep 0.3
	proc_hung "$pid" 3 || t_fail "deadlock abba (pid $pid) did not hang with 3 threads in futex(2)"
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

say "guest: $(uname -a)"
say "guest: $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo), uptime $(cut -d' ' -f1 /proc/uptime) s"
START=$(cut -d' ' -f1 /proc/uptime)

test_version
test_env
test_load
test_deadlock abba mutex poster:journal:auditor auditor:ledger:poster
test_deadlock abba-pi pi_mutex poster:journal:auditor auditor:ledger:poster
test_deadlock three mutex alpha:second:beta beta:third:gamma gamma:first:alpha
test_deadlock self mutex rebuilder:store_lock:rebuilder
test_healthy
test_check
test_module

say "guest: tests took $(echo "$START $(cut -d' ' -f1 /proc/uptime)" | awk '{ printf "%.1f", $2 - $1 }') s"
echo "VMTEST-RESULT: $PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
