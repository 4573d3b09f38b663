#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lockwatch benchmarks: overhead on a contended and an uncontended lock
# workload, watching one process and watching the whole host; the cost
# lockwatch adds to one futex wait; detection latency on an AB-BA deadlock;
# lockwatch's own CPU time and peak RSS; `lockwatch check` on a process
# with 1,000 threads; and, on CPython 3.11, `lockwatch check` on an asyncio
# program with 10,000 tasks and the overhead of `lockwatch -p` on a busy
# asyncio program. Prints one table on stdout; progress goes to stderr (on a
# terminal). About 10 minutes on a quiet machine.
#
#   bench/run.sh [--quick] [-n RUNS] [--no-noise] [--no-wait]
#                [--only SECTIONS] [--skip SECTIONS]
#
# SECTIONS is a comma-separated list of: overhead (contended and uncontended,
# -p), host (whole host), futex (futex wait cost, what it predicts, and the
# share of it lockwatch's BPF programs take), latency, cost (lockwatch's CPU
# and RSS), check, py-check, py-overhead,
# py-versions (bench/pytasks.sh: `check` on 100,000 asyncio tasks under every
# CPython lockwatch reads), or python (the py- sections), lock-order
# (bench/lockorder.sh: --lock-order's
# cost per lock/unlock pair, throughput ratios, and its CPU, RSS and ring
# traffic on 100,000 locks). By default all of them run.
#
# Needs root (lockwatch loads BPF), a built tree: `make` (or `make bench`,
# which installs the dependencies, builds and runs this), and GNU time
# (/usr/bin/time, Debian package `time`) for the peak RSS of `lockwatch check`
# - or a lockwatch whose `check --json` summary carries max_rss_kb.
#
# Every figure is a median over RUNS (default 9) runs, printed with its spread
# (min-max). Overhead figures are medians of per-pair ratios, each pair one run
# with and one without lockwatch, back to back, so slow drifts of the machine
# cancel out within a pair. The order inside a pair alternates (with-without,
# then without-with, ...) so that neither side always runs first. A "noise"
# line runs the same pairs without lockwatch on either side (A/A): an overhead
# ratio inside that spread is not distinguishable from 1 on this machine.
#
# Before each run the script waits (a bounded time) for a quiet machine: both
# CPUs idle and no other lockwatch running. Another lockwatch matters more than
# load: its futex tracepoints are host-wide, so every process's futex calls
# pay while it runs, and a "without" run would pay too. A run that overlapped
# another lockwatch anyway is counted and reported ("tainted").
#
# Why the futex wait cost too: on a contended mutex, slowing the futex slow
# path does not simply slow the workload - a waiter that reaches the kernel
# later more often finds the lock already free (EAGAIN) instead of sleeping,
# so contended throughput can even rise under lockwatch. The cost per wait is
# monotonic and well above the noise; times the wait rate it gives the share
# of the workload's CPU that lockwatch takes ("predicted contended").
#
# Whole host ("lockwatch" with no -p): the same pairs, but lockwatch is started
# on its own in the background before the run, waited for until it has
# attached and finished its first look at every process (asleep, using no
# CPU), and stopped after the run; the workload is then one process among all
# the others it watches. The futex wait cost is measured the same way ("host-
# wide watched"): with no -p every process is a watched one, so that is the
# cost every futex wait on the host pays.
#
# `lockwatch check` is timed on tests/hang many (1,000 threads: 500 blocked on
# a mutex that a sleeping thread holds, 499 asleep): the wall time of the
# whole command, from exec to exit, as the person who runs it waits for it;
# its peak RSS and CPU time come from GNU time, and "of which inside" is the
# duration_ms of its own JSON summary (from its first read of /proc to the
# verdict). The verdict must be "no deadlock" (exit 0).
#
# Python (PYTHON, default /usr/bin/python3.11; when it is missing both
# sections print a "skipped" line instead). "python check" times `lockwatch
# check --json` the same way on bench/py_tasks.py with 10,000 asyncio tasks:
# transfer-ab and transfer-ba deadlocked on two asyncio.Lock objects, the
# rest idle (waiting for one of those locks, on an Event, in a sleep). It is
# started once, checked RUNS times while it hangs, then killed. lockwatch
# should say "deadlock" (exit 1) once it reads asyncio tasks; until then it
# says "no deadlock" (exit 0). Either is printed, with the number of deadlock
# alerts and whether they name both transfer tasks, not judged; any other
# exit status is an error. "python overhead" is the pairs of the overhead
# figures, and their A/A noise line, on bench/py_busy.py: one event loop kept
# busy (50 tasks on one asyncio.Lock and a Queue, 4 echo round-trip clients),
# one CPU. Its throughput is its own count over its own window. lockwatch
# attaches with -p to the running program (which is what a user does to a
# Python service): the program says "ready" once its load runs, the script
# starts `lockwatch -p`, waits until it has attached and gone quiet (as for
# the whole host), then lets the program open its window (LW_GO_FILE), which
# it does 0.5 s later. So the attach, lockwatch's first look and the
# interpreter's start-up stay out of the window, in both runs of a pair.
# Watching samples the program's event loop every turn for stalls
# (--stall-threshold): the line also gives those samples a second, how many
# found the loop running a callback, and lockwatch's own CPU as a share of
# one core (its cpu_ms over its duration: its attach and first look
# included, which weigh on runs this short); a loop_stall on this busy but
# never stalled loop is a false positive and stops the script.
set -eu
set -o pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
OUT=${OUTPUT:-.output}
LOCKWATCH=${LOCKWATCH:-./lockwatch}
CONTEND=${CONTEND:-$OUT/bench/contend}
STAMP_LINES=${STAMP_LINES:-$OUT/bench/stamp_lines}
DEADLOCK=${DEADLOCK:-$OUT/tests/deadlock}
HANG=${HANG:-$OUT/tests/hang}
PYTHON=${PYTHON:-/usr/bin/python3.11}
PY_TASKS=${PY_TASKS:-bench/py_tasks.py}
PY_BUSY=${PY_BUSY:-bench/py_busy.py}
GNU_TIME=${GNU_TIME:-/usr/bin/time} # not TIME: GNU time reads that as its format

RUNS=9 # pairs for overhead, rounds for the futex cost, runs for latency and check
SECONDS_RUN=2 # measured window of one workload run (plus 0.5 s warm-up)
CPU_RUNS=3 # runs for CPU/RSS
CPU_SECONDS=10 # workload window while measuring lockwatch's CPU and RSS
NOISE=1
QUICK= # --quick, passed on
SETTLE_MAX=15 # seconds to wait for a quiet machine before one run
SETTLE_BUDGET=300 # seconds of such waiting in all; then runs go ahead
CONTENDED_THREADS=4
CONTENDED_WIDE=8 # a second contended row: 8 threads on 4 mutexes
UNCONTENDED_THREADS=$(nproc)
PY_TASKS_N=10000 # tasks of bench/py_tasks.py for "python check"
ALL_SECTIONS="overhead host futex latency cost check py-check py-overhead py-versions lock-order"
SECTIONS=$ALL_SECTIONS # the sections to run, in this order

TMP=
FIGURE= # the figure being measured, for the taint counts
FUTEX_ADDED_NS=0
FUTEX_HOST_NS=0
HOST_LW= # the pid of a host-wide lockwatch this script runs in the background
HANG_PID= # the pid of tests/hang many
PY_PID= # the pid of bench/py_tasks.py
PY_VERSION= # the version of PYTHON; empty when it is missing or broken
BUSY_PID= # the pid of bench/py_busy.py, in the run that started it
BUSY_OPS= # its ops/s, once it has ended
RSS_FROM=gnu-time # where check's peak RSS comes from: GNU time, or its summary
BPF_STATS_ON= # kernel.bpf_stats_enabled turned on by bpf_cost_run, until it ends

die()
{
	echo "bench/run.sh: $*" >&2
	exit 1
}

usage()
{
	cat <<EOF
usage: bench/run.sh [--quick] [-n RUNS] [--no-noise] [--no-wait]
                    [--only SECTIONS] [--skip SECTIONS]
  --quick      smoke test: 3 runs of each figure, 1 s windows (~3 min)
  -n RUNS      pairs (overhead), rounds (futex cost), runs (latency, check);
               default 9
  --no-noise   skip the A/A noise-floor lines
  --no-wait    do not wait for a quiet machine before each run
  --only SECTIONS  run only these sections (comma-separated)
  --skip SECTIONS  run all sections but these
Sections: overhead, host, futex, latency, cost, check, py-check,
py-overhead, lock-order; python = py-check,py-overhead.
Environment: LOCKWATCH, CONTEND, STAMP_LINES, DEADLOCK, HANG, GNU_TIME name
other binaries; PYTHON the interpreter (default /usr/bin/python3.11),
PY_TASKS and PY_BUSY its programs.
EOF
}

# sections LIST: the section names of a comma-separated LIST, one a line,
# python expanded; dies on an unknown one.
sections()
{
	local -a list
	local s
	IFS=, read -ra list <<<"$1"
	[ "${#list[@]}" -gt 0 ] || die "no section named in '$1'"
	for s in "${list[@]}"; do
		case " $ALL_SECTIONS " in
		*" $s "*) echo "$s" ;;
		*)
			[ "$s" = python ] || die "unknown section: '$s' (sections: ${ALL_SECTIONS// /, }, python)"
			printf '%s\n' py-check py-overhead py-versions
			;;
		esac
	done
}

# want SECTION: SECTION is to run.
want()
{
	case " $SECTIONS " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

parse_args()
{
	local only=$ALL_SECTIONS skip='' s
	while [ $# -gt 0 ]; do
		case $1 in
		--quick)
			RUNS=3 SECONDS_RUN=1 CPU_RUNS=1 CPU_SECONDS=3 SETTLE_BUDGET=30 QUICK=1
			;;
		-n)
			[ $# -ge 2 ] || die "-n needs a number"
			case $2 in '' | *[!0-9]*) die "-n: not a number: $2" ;; esac
			[ "$2" -ge 1 ] || die "-n: at least 1"
			RUNS=$2
			shift
			;;
		--no-noise) NOISE=0 ;;
		--no-wait) SETTLE_BUDGET=0 ;;
		--only | --skip)
			[ $# -ge 2 ] || die "$1 needs a list of sections"
			s=$(sections "$2") || exit 1
			if [ "$1" = --only ]; then
				only=$(echo "$s" | tr '\n' ' ')
			else
				skip="$skip $(echo "$s" | tr '\n' ' ')"
			fi
			shift
			;;
		-h | --help)
			usage
			exit 0
			;;
		*)
			echo "bench/run.sh: unknown option: $1" >&2
			usage >&2
			exit 2
			;;
		esac
		shift
	done
	SECTIONS=
	for s in $ALL_SECTIONS; do
		case " $only " in *" $s "*) ;; *) continue ;; esac
		case " $skip " in *" $s "*) continue ;; esac
		SECTIONS="$SECTIONS $s"
	done
	SECTIONS=${SECTIONS# }
	[ -n "$SECTIONS" ] || die "no section left to run"
}

# At exit: end what this script started in the background and is still
# running (by pid, from $TMP/bg), then remove the scratch directory.
cleanup()
{
	local pid
	[ -z "$BPF_STATS_ON" ] || echo 0 >/proc/sys/kernel/bpf_stats_enabled
	[ -n "$TMP" ] || return 0
	if [ -s "$TMP/bg" ]; then
		while read -r pid; do
			kill -KILL "$pid" 2>/dev/null || true
		done <"$TMP/bg"
	fi
	rm -rf "$TMP"
}

# bg_started PID / bg_ended PID: keep $TMP/bg current for cleanup.
bg_started()
{
	echo "$1" >>"$TMP/bg"
}

bg_ended()
{
	sed -i "/^$1\$/d" "$TMP/bg"
}

# bg_kill PID: ends a target started in the background, and forgets it.
bg_kill()
{
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	bg_ended "$1"
}

# Without GNU time, check's peak RSS can come from its own JSON summary, if it
# carries one: try it on this shell.
rss_source()
{
	local rss
	if [ -x "$GNU_TIME" ] && "$GNU_TIME" -f %M -o /dev/null true 2>/dev/null; then
		RSS_FROM=gnu-time
		return 0
	fi
	rss=$("$LOCKWATCH" check --json $$ 2>/dev/null | grep '^{' |
		jq -r 'select(.kind == "summary") | .max_rss_kb // 0') || rss=0
	case $rss in '' | *[!0-9]*) rss=0 ;; esac
	[ "$rss" -gt 0 ] ||
		die "$GNU_TIME (GNU time) is missing and 'lockwatch check --json' reports no max_rss_kb: install the Debian package 'time' (apt-get install time) for the peak RSS of check"
	RSS_FROM=summary
}

# PY_VERSION: the version of PYTHON, when it runs asyncio; empty otherwise.
python_version()
{
	[ -x "$PYTHON" ] || return 0
	PY_VERSION=$("$PYTHON" -c 'import asyncio, platform; print(platform.python_version())' \
		2>/dev/null) || PY_VERSION=
}

preflight()
{
	local -a need=("$LOCKWATCH")
	local f
	if want overhead || want host || want futex || want cost; then
		need+=("$CONTEND")
	fi
	if want latency; then
		need+=("$STAMP_LINES" "$DEADLOCK")
	fi
	if want check; then
		need+=("$HANG")
	fi
	for f in "${need[@]}"; do
		[ -x "$f" ] || die "$f is not built: run 'make' first (make bench builds and runs)"
	done
	if want py-check || want py-overhead; then
		for f in "$PY_TASKS" "$PY_BUSY"; do
			[ -r "$f" ] || die "$f is missing"
		done
		python_version
	fi
	command -v jq >/dev/null || die "jq is missing: run scripts/install-deps.sh"
	[ "$(id -u)" = 0 ] || die "must run as root: lockwatch loads BPF programs"
	[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 or later (EPOCHREALTIME)"
	TMP=$(mktemp -d /tmp/lockwatch-bench.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	: >"$TMP/tainted"
	: >"$TMP/bg"
	echo 0 >"$TMP/settled"
	if want check || want py-check; then
		rss_source
	fi
}

# A one-line progress report on a terminal, nothing otherwise.
progress()
{
	if [ -t 2 ]; then
		printf '\r\033[K%s' "$*" >&2
	fi
}

# Percent of all CPUs idle over the next 0.2 s, from /proc/stat.
idle_pct()
{
	local a b
	a=$(head -n 1 /proc/stat)
	sleep 0.2
	b=$(head -n 1 /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '{
			t = 0
			for (i = 2; i <= NF; i++) t += $i
			tot[NR] = t; idle[NR] = $5 + $6
		}
		END {
			d = tot[2] - tot[1]
			print (d > 0 ? int(100 * (idle[2] - idle[1]) / d) : 100)
		}'
}

# Wait, within SETTLE_MAX and what is left of SETTLE_BUDGET, until the CPUs
# are idle and no other lockwatch runs.
settle()
{
	local spent waited=0
	spent=$(cat "$TMP/settled")
	while [ "$waited" -lt "$SETTLE_MAX" ] && [ "$spent" -lt "$SETTLE_BUDGET" ]; do
		if ! pgrep -x lockwatch >/dev/null && [ "$(idle_pct)" -ge 90 ]; then
			break
		fi
		sleep 1
		waited=$((waited + 1)) spent=$((spent + 1))
	done
	echo "$spent" >"$TMP/settled"
}

# Bracket one run: run_begin settles; run_end records the run as tainted when
# another lockwatch was seen at either end.
run_begin()
{
	settle
	rm -f "$TMP/cur_taint"
	if pgrep -x lockwatch >/dev/null; then
		touch "$TMP/cur_taint"
	fi
}

run_end()
{
	if pgrep -x lockwatch >/dev/null || [ -e "$TMP/cur_taint" ]; then
		echo "$FIGURE" >>"$TMP/tainted"
	fi
}

# ", 2 runs tainted" for the current figure, or nothing.
taint_note()
{
	local n
	n=$(grep -cxF "$FIGURE" "$TMP/tainted" || true)
	if [ "$n" -gt 0 ]; then
		printf ', %d runs tainted' "$n"
	fi
}

# The workload alone: prints its ops/s.
run_without()
{
	local mode=$1 threads=$2
	run_begin
	"$CONTEND" "$mode" "$SECONDS_RUN" "$threads" || die "$CONTEND $mode failed"
	run_end
}

# The workload started by lockwatch: prints its ops/s; the JSON summary goes to
# $TMP/summary. `-- CMD` rather than `-p`: lockwatch loads and attaches its BPF
# programs (BTF, verifier: CPU-heavy on two cores) before it releases the
# command, so the whole window is watched and none of that start-up is inside
# it. With -p the attach would land at some moment of a window already
# running, which the workload cannot see: its figure would mix an unwatched
# part, the start-up and the watched part, in unknown shares. The workload
# waits 0.5 s more before its window opens, so lockwatch's first look at the
# new threads stays out too: what is measured is the steady state, which is
# what a long-running watched service pays. The lockwatch daemon's own CPU
# (ring-buffer polls, map sweeps) competes with the workload and is counted.
run_with()
{
	local mode=$1 threads=$2 st=0
	run_begin
	timeout -k 5 $((SECONDS_RUN + 60)) "$LOCKWATCH" --json --duration $((SECONDS_RUN + 30)) \
		-- "$CONTEND" "$mode" "$SECONDS_RUN" "$threads" >"$TMP/with.out" 2>"$TMP/with.err" ||
		st=$?
	run_end
	if [ "$st" != 0 ]; then
		cat "$TMP/with.err" >&2
		die "lockwatch -- contend $mode exited with status $st"
	fi
	grep '^{' "$TMP/with.out" | jq -c 'select(.kind == "summary")' >"$TMP/summary" ||
		die "no JSON summary from lockwatch watching contend $mode"
	if grep -q '"kind": *"deadlock"' "$TMP/with.out"; then
		die "false positive: lockwatch reported a deadlock in contend $mode"
	fi
	jq -r '.waits / (.duration_ms / 1000)' "$TMP/summary" >"$TMP/rate"
	grep -E '^[0-9]+$' "$TMP/with.out" | tail -n 1
}

# "S 123": the state and the CPU time (ticks) of process $1.
proc_state_cpu()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	echo "$stat" | awk '{ print $1, $12 + $13 }'
}

# Process $1 holds a BPF link: lockwatch has attached its programs.
has_bpf_link()
{
	find "/proc/$1/fd" -lname 'anon_inode:bpf_link' -print -quit 2>/dev/null | grep -q .
}

# Wait until the host-wide lockwatch HOST_LW watches: its BPF links exist and
# its start-up (loading, verifying, the first look at every process) is over -
# it sleeps and has used no CPU time over the last 0.25 s. Then the watched
# window holds only the steady state, as for run_with.
host_ready()
{
	local i a b
	for i in $(seq 1 240); do
		if ! kill -0 "$HOST_LW" 2>/dev/null; then
			cat "$TMP/host.err" >&2
			die "lockwatch (whole host) exited during start-up"
		fi
		if has_bpf_link "$HOST_LW"; then
			a=$(proc_state_cpu "$HOST_LW") || a=
			sleep 0.25
			b=$(proc_state_cpu "$HOST_LW") || b=
			if [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a%% *}" = S ]; then
				return 0
			fi
		else
			sleep 0.25
		fi
	done
	die "lockwatch (whole host) did not settle within 60 s of its start"
}

# host_start SECONDS: lockwatch with no -p in the background (at most SECONDS),
# ready to watch; sets HOST_LW. Output goes to $TMP/host.{out,err}, never to
# the pipe of a command substitution, which would wait for it.
host_start()
{
	"$LOCKWATCH" --json --duration "$1" >"$TMP/host.out" 2>"$TMP/host.err" &
	HOST_LW=$!
	bg_started "$HOST_LW"
	host_ready
}

# host_stop WHAT: stops HOST_LW (SIGINT, as at a terminal) and checks what it
# reported while WHAT ran: its JSON summary goes to $TMP/summary. Status 1
# (a deadlock-class alert) is accepted when the alert is about another
# process of the host; one about the workload is a false positive.
host_stop()
{
	local what=$1 st=0 n
	kill -INT "$HOST_LW" 2>/dev/null || true
	wait "$HOST_LW" || st=$?
	bg_ended "$HOST_LW"
	if [ "$st" != 0 ] && [ "$st" != 1 ]; then
		cat "$TMP/host.err" >&2
		die "lockwatch (whole host) watching $what exited with status $st"
	fi
	grep '^{' "$TMP/host.out" | jq -c 'select(.kind == "summary")' >"$TMP/summary" ||
		die "no JSON summary from lockwatch (whole host) watching $what"
	[ -s "$TMP/summary" ] || die "no JSON summary from lockwatch (whole host) watching $what"
	n=$(grep '^{' "$TMP/host.out" | jq -s '[.[] | select((.kind == "deadlock" or
		.kind == "orphaned_lock") and any(.processes[]?; .comm == "contend"))] | length')
	[ "$n" = 0 ] || die "false positive: lockwatch (whole host) reported a deadlock in $what"
}

# The workload while a lockwatch with no -p watches the whole host: prints its
# ops/s. lockwatch runs for the whole run, started before the workload and
# stopped after it; the workload's first 0.5 s (thread start-up, lockwatch's
# first look at the new process) stay out of the window as with run_with.
# The waits lockwatch saw (everyone's) go to $TMP/rate per second of the
# workload's run, not of lockwatch's: its start-up is no part of the run.
run_host()
{
	local mode=$1 threads=$2 st=0 r t0 t1
	run_begin
	host_start $((SECONDS_RUN + 60))
	t0=$EPOCHREALTIME
	r=$("$CONTEND" "$mode" "$SECONDS_RUN" "$threads") || st=$?
	t1=$EPOCHREALTIME
	host_stop "contend $mode"
	run_end
	[ "$st" = 0 ] || die "$CONTEND $mode failed under a host-wide lockwatch"
	jq -r --arg s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		'.waits / ($s | tonumber)' "$TMP/summary" >"$TMP/rate"
	echo "$r"
}

# One figure of overhead: RUNS pairs of $1 vs $2 (run_with, run_host or
# run_without), the raw pairs kept in $TMP/pairs.TAG and, for a watched side,
# lockwatch's waits/s (from $TMP/rate, which the watched run writes) in
# $TMP/waits.TAG; prints the ratios, one a line.
pairs()
{
	local a=$1 b=$2 mode=$3 threads=$4 tag=$5 i x y
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: pair $i/$RUNS"
		if [ $((i % 2)) = 1 ]; then
			x=$($a "$mode" "$threads")
			y=$($b "$mode" "$threads")
		else
			y=$($b "$mode" "$threads")
			x=$($a "$mode" "$threads")
		fi
		if [ -z "$x" ] || [ -z "$y" ]; then
			die "$mode: a run printed no throughput"
		fi
		echo "$x $y" >>"$TMP/pairs.$tag"
		awk -v x="$x" -v y="$y" 'BEGIN { printf "%.6f\n", x / y }'
		case $a in
		*_without) ;; # run_without, py_run_without: nothing watched
		*) cat "$TMP/rate" >>"$TMP/waits.$tag" ;;
		esac
	done
}

print_overhead()
{
	local label=$1 what=$2 ratios=$3 raw=$4 extra=$5 m lo hi n base
	read -r m lo hi n < <(stats <"$ratios")
	base=$(awk '{ print $2 }' "$raw" | stats | awk '{
		if ($1 >= 1e6) printf "%.1fM", $1 / 1e6
		else if ($1 >= 1e3) printf "%.1fk", $1 / 1e3
		else printf "%.0f", $1 }')
	progress ""
	printf '%-24s ratio(%s) median %.3f  spread %.3f–%.3f  n=%d  (%s ops/s unwatched%s%s)\n' \
		"$label" "$what" "$m" "$lo" "$hi" "$n" "$base" "$extra" "$(taint_note)"
}

# overhead MODE THREADS [host]: the pairs with/without lockwatch watching the
# workload (with "host": lockwatch with no -p, watching every process), then
# as many A/A pairs for the noise floor.
overhead()
{
	local mode=$1 threads=$2 scope=${3:-} with=run_with tag=$1 seen='' waits extra target
	FIGURE="$mode ($threads thr)"
	[ "$mode" != contended ] || [ "$threads" = "$CONTENDED_THREADS" ] || tag=$mode.$threads
	# issue 14's targets: 4 threads on 2 mutexes ≥ 0.95, 8 on 4 ≥ 0.98
	case $mode.$threads in
	contended.4) target=0.95 ;;
	contended.8) target=0.98 ;;
	*) target=0.99 ;;
	esac
	if [ "$scope" = host ]; then
		with=run_host tag=host.$mode seen=" host-wide"
		FIGURE="whole host, $mode"
	fi
	: >"$TMP/waits.$tag"
	pairs "$with" run_without "$mode" "$threads" "$tag" >"$TMP/ratios.$tag"
	waits=$(stats <"$TMP/waits.$tag" | awk '{ print $1 }')
	extra=$(printf ', lockwatch saw %.0f waits/s%s; target ≥ %s' "$waits" "$seen" "$target")
	print_overhead "$FIGURE" "with/without" "$TMP/ratios.$tag" "$TMP/pairs.$tag" "$extra"
	if [ "$NOISE" = 1 ]; then
		FIGURE="noise floor $tag"
		pairs run_without run_without "$mode" "$threads" "noise.$tag" >"$TMP/ratios.noise.$tag"
		print_overhead "  noise floor (A/A)" "without/without" "$TMP/ratios.noise.$tag" \
			"$TMP/pairs.noise.$tag" ""
	fi
}

# The cost of one futex wait, from `contend futex` (one thread calling
# FUTEX_WAIT on a word that never matches, so each call returns at once), in
# ns per call: unwatched on a host without lockwatch ("base"); watched by
# lockwatch ("watched"); unwatched while a lockwatch watches something else
# ("bystander"): the syscall tracepoints are host-wide, so every process pays
# a share; and while a lockwatch with no -p watches the whole host ("host"),
# which makes every process a watched one. A cost of a few hundred ns against
# a base of a few hundred is far above the noise that hides a 1% throughput
# change, and times the wait rate it predicts what a workload pays.
futex_ns()
{
	awk -v r="$1" 'BEGIN { if (r > 0) printf "%.1f\n", 1e9 / r; else exit 1 }' ||
		die "contend futex printed no rate"
}

futex_bystander()
{
	local lw r st=0
	"$LOCKWATCH" --duration 60 -- sleep 60 >/dev/null 2>"$TMP/bystander.err" &
	lw=$!
	# lockwatch releases its command once its programs are attached
	until pgrep -P "$lw" -x sleep >/dev/null; do
		if ! kill -0 "$lw" 2>/dev/null; then
			cat "$TMP/bystander.err" >&2
			die "lockwatch -- sleep exited early"
		fi
		sleep 0.05
	done
	r=$("$CONTEND" futex 1 1) || st=$?
	kill -INT "$lw" 2>/dev/null || true
	wait "$lw" || true
	[ "$st" = 0 ] || die "$CONTEND futex failed"
	echo "$r"
}

futex_run()
{
	local kind=$1 st=0 r
	run_begin
	case $kind in
	base)
		r=$("$CONTEND" futex 1 1) || die "$CONTEND futex failed"
		;;
	watched)
		timeout -k 5 60 "$LOCKWATCH" --duration 30 -- "$CONTEND" futex 1 1 \
			>"$TMP/futex.out" 2>"$TMP/futex.err" || st=$?
		if [ "$st" != 0 ]; then
			cat "$TMP/futex.err" >&2
			die "lockwatch -- contend futex exited with status $st"
		fi
		r=$(grep -E '^[0-9]+$' "$TMP/futex.out" | tail -n 1)
		;;
	bystander)
		r=$(futex_bystander)
		;;
	host)
		host_start 60
		r=$("$CONTEND" futex 1 1) || st=$?
		host_stop "contend futex"
		[ "$st" = 0 ] || die "$CONTEND futex failed under a host-wide lockwatch"
		;;
	esac
	run_end
	futex_ns "$r"
}

futex_cost()
{
	local i j k b w w_lo w_hi y y_lo y_hi h h_lo h_hi
	local -a kinds=(base watched bystander host)
	local -A ns
	FIGURE="futex wait cost"
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: round $i/$RUNS"
		# rotate the order of the four runs from round to round
		for j in 0 1 2 3; do
			k=${kinds[(i - 1 + j) % 4]}
			ns[$k]=$(futex_run "$k")
		done
		echo "${ns[base]} ${ns[watched]} ${ns[bystander]} ${ns[host]}"
	done >"$TMP/futex"
	read -r b _ _ _ < <(awk '{ print $1 }' "$TMP/futex" | stats)
	read -r w w_lo w_hi _ < <(awk '{ print $2 - $1 }' "$TMP/futex" | stats)
	read -r y y_lo y_hi _ < <(awk '{ print $3 - $1 }' "$TMP/futex" | stats)
	read -r h h_lo h_hi _ < <(awk '{ print $4 - $1 }' "$TMP/futex" | stats)
	FUTEX_ADDED_NS=$w FUTEX_HOST_NS=$h
	progress ""
	printf '%-24s median %.0f ns/call unwatched; watched +%.0f ns (spread %.0f–%.0f)  n=%d%s\n' \
		"$FIGURE" "$b" "$w" "$w_lo" "$w_hi" "$RUNS" "$(taint_note)"
	printf '%-24s %+.0f ns per futex call (spread %.0f–%.0f) for every process while lockwatch runs\n' \
		"  bystander cost" "$y" "$y_lo" "$y_hi"
	printf '%-24s %+.0f ns per futex call (spread %.0f–%.0f) for every process: lockwatch with no -p watches them all\n' \
		"  host-wide watched" "$h" "$h_lo" "$h_hi"
}

# What lockwatch's own BPF programs take of one futex call: the run time the
# kernel counts for each program (kernel.bpf_stats_enabled, on only while
# measuring), over its runs, across `contend futex` - for the call of an
# unwatched process while a lockwatch -p watches another ("unwatched"), and of
# a watched one (lockwatch with no -p: every process watched). The rest of a
# call's added cost is the syscall tracepoints' own machinery, which every
# process pays while any syscall tracepoint is in use. bpf_prog_times: "ID
# RUN_TIME_NS RUN_CNT", one line per futex program of the loaded lockwatch.
bpf_prog_times()
{
	bpftool -j prog show | jq -r '.[] | select(.name == "handle_futex_enter" or
		.name == "handle_futex_exit") | "\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

# bpf_cost_run KIND: "ENTER_NS EXIT_NS" per call of contend futex's window
bpf_cost_run()
{
	local kind=$1 lw st=0
	run_begin
	case $kind in
	unwatched)
		"$LOCKWATCH" --duration 60 -- sleep 60 >/dev/null 2>"$TMP/bpfcost.err" &
		lw=$!
		until pgrep -P "$lw" -x sleep >/dev/null; do
			kill -0 "$lw" 2>/dev/null || die "lockwatch -- sleep exited early"
			sleep 0.05
		done
		;;
	watched) host_start 60 ;;
	esac
	BPF_STATS_ON=1
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	bpf_prog_times >"$TMP/bpf.before"
	"$CONTEND" futex 1 1 >/dev/null || st=$?
	bpf_prog_times >"$TMP/bpf.after"
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	BPF_STATS_ON=
	case $kind in
	unwatched)
		kill -INT "$lw" 2>/dev/null || true
		wait "$lw" || true
		;;
	watched) host_stop "contend futex" ;;
	esac
	run_end
	[ "$st" = 0 ] || die "$CONTEND futex failed"
	awk 'NR == FNR { t[$1] = $2; c[$1] = $3; next }
	     { dt = $2 - t[$1]; dc = $3 - c[$1]; ns[$1] = dc > 0 ? dt / dc : 0 }
	     END { printf "%.1f %.1f\n", ns["handle_futex_enter"], ns["handle_futex_exit"] }' \
		"$TMP/bpf.before" "$TMP/bpf.after"
}

bpf_cost()
{
	local i kind e e_lo e_hi x x_lo x_hi
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = 0 ] ||
		die "kernel.bpf_stats_enabled is on already: someone else is measuring"
	for kind in unwatched watched; do
		FIGURE="BPF cost, $kind"
		for i in $(seq 1 "$RUNS"); do
			progress "$FIGURE: run $i/$RUNS"
			bpf_cost_run "$kind"
		done >"$TMP/bpf.$kind"
		progress ""
		read -r e e_lo e_hi _ < <(awk '{ print $1 }' "$TMP/bpf.$kind" | stats)
		read -r x x_lo x_hi _ < <(awk '{ print $2 }' "$TMP/bpf.$kind" | stats)
		printf '%-24s enter %.0f ns (spread %.0f–%.0f), exit %.0f ns (%.0f–%.0f) per futex call of a%s process (bpf_stats)  n=%d%s\n' \
			"  BPF programs" "$e" "$e_lo" "$e_hi" "$x" "$x_lo" "$x_hi" \
			"$([ "$kind" = watched ] && echo " watched" || echo "n unwatched")" "$RUNS" "$(taint_note)"
	done
}

# What the futex wait cost predicts for the contended workload at the wait
# rate lockwatch counted there: the share of the workload's CPUs it takes.
# Waits only: the workload's FUTEX_WAKE calls pay the bystander cost on top,
# and lockwatch does not count them. predicted LABEL TAG NS: the wait rates in
# $TMP/waits.TAG (host-wide ones for the whole host: the workload's and a few
# of everyone else's), NS added per wait.
predicted()
{
	local label=$1 tag=$2 added=$3 waits
	[ -s "$TMP/waits.$tag" ] || return 0
	waits=$(stats <"$TMP/waits.$tag" | awk '{ print $1 }')
	awk -v l="$label" -v ns="$added" -v w="$waits" -v c="$(nproc)" 'BEGIN {
		f = ns * w / (c * 1e9)
		printf "%-24s %.0f waits/s × %.0f ns on %d CPUs = %.1f%% of its CPU time: ratio ≈ %.3f (waits only, not wakes)\n",
			l, w, ns, c, 100 * f, 1 / (1 + f) }'
}

# One AB-BA deadlock under lockwatch: prints two latencies in ms, from the
# stamp tests/deadlock writes right before its closing lock call to (1) the
# moment the alert line reached this script's reader (stamp_lines), the
# figure, and (2) the alert's own "time" (when lockwatch had confirmed the
# cycle; millisecond resolution), to show where the time goes.
# latency_of WHAT: the two latencies of one run, from $TMP/stamp and the
# first deadlock line of $TMP/lat.out.
latency_of()
{
	local stamp line arrival confirmed
	stamp=$(tr -d ' \n' <"$TMP/stamp" 2>/dev/null) || stamp=
	case $stamp in
	'' | *[!0-9]*) die "$1: $DEADLOCK wrote no stamp to LW_STAMP_FILE" ;;
	esac
	line=$(grep -m 1 '"kind": *"deadlock"' "$TMP/lat.out") ||
		die "$1: no deadlock alert in lockwatch's output"
	arrival=${line%% *}
	confirmed=$(date -d "$(echo "${line#* }" | jq -r .time)" +%s%3N) ||
		die "$1: alert without a valid \"time\""
	awk -v d=$((arrival - stamp)) -v c=$((confirmed * 1000000 - stamp)) \
		'BEGIN { printf "%.3f %.3f\n", d / 1e6, c / 1e6 }'
}

latency_run()
{
	local i=$1 st=0
	rm -f "$TMP/stamp"
	run_begin
	LW_STAMP_FILE=$TMP/stamp timeout -k 5 60 "$LOCKWATCH" --json --exit-on-deadlock \
		-- "$DEADLOCK" abba 2>"$TMP/lat.err" | "$STAMP_LINES" >"$TMP/lat.out" ||
		st=$?
	run_end
	# lockwatch exits 1 when it reported a deadlock; pipefail gives its status.
	if [ "$st" != 1 ]; then
		cat "$TMP/lat.err" >&2
		die "latency run $i: lockwatch exited with status $st, expected 1 (deadlock)"
	fi
	latency_of "latency run $i"
}

# The same deadlock in a program that was running before lockwatch -p
# attached to it (what a user does to a service): the program waits for
# LW_GO_FILE, which is made once lockwatch has attached and gone quiet
# (asleep, its CPU time still: its first look, and the reading of the
# program's symbols and debug info, done).
latency_attached_run()
{
	local i=$1 st=0 prog lw reader a b n
	rm -f "$TMP/stamp" "$TMP/go" "$TMP/lat.fifo"
	mkfifo "$TMP/lat.fifo"
	run_begin
	LW_STAMP_FILE=$TMP/stamp LW_GO_FILE=$TMP/go "$DEADLOCK" abba >/dev/null 2>&1 &
	prog=$!
	bg_started "$prog"
	"$STAMP_LINES" <"$TMP/lat.fifo" >"$TMP/lat.out" &
	reader=$!
	timeout -k 5 60 "$LOCKWATCH" --json --exit-on-deadlock -p "$prog" \
		>"$TMP/lat.fifo" 2>"$TMP/lat.err" &
	lw=$!
	for n in $(seq 1 120); do
		if has_bpf_link "$(pgrep -P "$lw" | head -n 1)"; then
			a=$(proc_state_cpu "$(pgrep -P "$lw" | head -n 1)") || a=
			sleep 0.25
			b=$(proc_state_cpu "$(pgrep -P "$lw" | head -n 1)") || b=
			[ -n "$a" ] && [ "$a" = "$b" ] && [ "${a%% *}" = S ] && break
		else
			sleep 0.25
		fi
	done
	touch "$TMP/go"
	wait "$lw" || st=$?
	wait "$reader" || true
	kill -KILL "$prog" 2>/dev/null || true
	wait "$prog" 2>/dev/null || true
	bg_ended "$prog"
	run_end
	if [ "$st" != 1 ]; then
		cat "$TMP/lat.err" >&2
		die "attached latency run $i: lockwatch exited with status $st, expected 1 (deadlock)"
	fi
	latency_of "attached latency run $i"
}

latency()
{
	local i m lo hi n c_m c_lo c_hi
	FIGURE="detection latency"
	: >"$TMP/latency"
	: >"$TMP/latency.attached"
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: run $i/$RUNS"
		latency_run "$i" >>"$TMP/latency"
		latency_attached_run "$i" >>"$TMP/latency.attached"
	done
	read -r m lo hi n < <(awk '{ print $1 }' "$TMP/latency" | stats)
	read -r c_m c_lo c_hi n < <(awk '{ print $2 }' "$TMP/latency" | stats)
	progress ""
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms  n=%d  (target ≤ 25 ms%s)\n' \
		"$FIGURE" "$m" "$lo" "$hi" "$n" "$(taint_note)"
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms  (stamp to the alert'"'"'s "time"; the rest is stacks, symbols, output)\n' \
		"  of which confirmed" "$c_m" "$c_lo" "$c_hi"
	read -r m lo hi n < <(awk '{ print $1 }' "$TMP/latency.attached" | stats)
	read -r c_m c_lo c_hi n < <(awk '{ print $2 }' "$TMP/latency.attached" | stats)
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms, of which confirmed %.1f ms  (-p, attached to it before it deadlocked)\n' \
		"  attached" "$m" "$lo" "$hi" "$c_m"
}

# lockwatch's own cost while it watches the contended workload, from its JSON
# summary. /usr/bin/time would count the workload too: a command that
# lockwatch starts is its child, and getrusage(RUSAGE_CHILDREN) includes it.
cost_run()
{
	local st=0
	run_begin
	timeout -k 5 $((CPU_SECONDS + 60)) "$LOCKWATCH" --json --duration $((CPU_SECONDS + 30)) \
		-- "$CONTEND" contended "$CPU_SECONDS" "$CONTENDED_THREADS" \
		>"$TMP/cost.out" 2>"$TMP/cost.err" || st=$?
	run_end
	if [ "$st" != 0 ]; then
		cat "$TMP/cost.err" >&2
		die "cost run: lockwatch exited with status $st"
	fi
	grep '^{' "$TMP/cost.out" | jq -r 'select(.kind == "summary") |
		"\(.cpu_ms) \(.max_rss_kb) \(.duration_ms) \(.waits) \(.drops)"' |
		grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9]+ [0-9]+$' ||
		die "cost run: no summary with cpu_ms, max_rss_kb, duration_ms, waits, drops"
}

cost()
{
	local i m lo hi n r_m r_lo r_hi dur waits drops
	FIGURE="lockwatch CPU time"
	: >"$TMP/cost"
	for i in $(seq 1 "$CPU_RUNS"); do
		progress "$FIGURE: run $i/$CPU_RUNS (${CPU_SECONDS} s)"
		cost_run >>"$TMP/cost"
	done
	read -r m lo hi n < <(awk '{ print $1 }' "$TMP/cost" | stats)
	read -r r_m r_lo r_hi n < <(awk '{ print $2 }' "$TMP/cost" | stats)
	dur=$(awk '{ print $3 }' "$TMP/cost" | stats | awk '{ print $1 }')
	waits=$(awk '{ print $4 / ($3 / 1000) }' "$TMP/cost" | stats | awk '{ print $1 }')
	drops=$(awk '{ s += $5 } END { print s }' "$TMP/cost")
	progress ""
	printf '%-24s median %.0f ms  spread %.0f–%.0f ms  n=%d  (%.2f%% of one CPU over %.1f s watched, %.0f waits/s%s)\n' \
		"$FIGURE" "$m" "$lo" "$hi" "$n" \
		"$(awk -v c="$m" -v d="$dur" 'BEGIN { print 100 * c / d }')" \
		"$(awk -v d="$dur" 'BEGIN { print d / 1000 }')" "$waits" "$(taint_note)"
	printf '%-24s median %.0f KiB  spread %.0f–%.0f KiB  n=%d  (ring-buffer drops, all runs: %d)\n' \
		"lockwatch peak RSS" "$r_m" "$r_lo" "$r_hi" "$n" "$drops"
}

# wait_ready PID FILE WHAT: waits (30 s at most) until the program PID (WHAT;
# its stderr in FILE.err) has written "ready PID" to FILE (LW_READY_FILE).
wait_ready()
{
	local pid=$1 file=$2 what=$3 i word rpid
	for i in $(seq 1 300); do
		[ ! -s "$file" ] || break
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$file.err" >&2
			die "$what exited before it was ready"
		fi
		sleep 0.1
	done
	[ -s "$file" ] || die "$what was not ready within $((i / 10)) s"
	read -r word rpid <"$file"
	if [ "$word" != ready ] || [ "$rpid" != "$pid" ]; then
		die "$what: unexpected ready line: $word $rpid"
	fi
}

# tests/hang many in the background, once it has formed: sets HANG_PID.
hang_start()
{
	rm -f "$TMP/hang.ready"
	LW_READY_FILE=$TMP/hang.ready "$HANG" many >/dev/null 2>"$TMP/hang.ready.err" &
	HANG_PID=$!
	bg_started "$HANG_PID"
	wait_ready "$HANG_PID" "$TMP/hang.ready" "$HANG many"
}

hang_stop()
{
	bg_kill "$HANG_PID"
	HANG_PID=
}

# "THREADS IN_FUTEX" of process $1: its threads, and how many of them sleep in
# futex(2) right now (syscall 202 in /proc/PID/task/TID/syscall).
proc_shape()
{
	local threads waiting
	threads=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 | wc -l)
	waiting=$(find "/proc/$1/task" -mindepth 2 -maxdepth 2 -name syscall -exec cat {} + 2>/dev/null |
		awk '$1 == 202 { n++ } END { print n + 0 }')
	echo "$threads $waiting"
}

# The target must still be what the figure claims: 1,000 threads or more, 500
# of them blocked in futex(2). Prints its shape.
hang_check_shape()
{
	local threads waiting
	read -r threads waiting < <(proc_shape "$HANG_PID")
	if [ "$threads" -lt 1000 ] || [ "$waiting" -lt 500 ]; then
		die "$HANG many: $threads threads, $waiting in futex(2); expected ≥ 1000 and ≥ 500"
	fi
	echo "$threads $waiting"
}

# check_once PID WHAT EXPECTED: one `lockwatch check --json` on PID (WHAT),
# which must exit with one of the statuses EXPECTED ("0": no deadlock; "0 1":
# either verdict): prints "wall_ms rss_kb cpu_ms inner_ms status deadlocks".
# The wall time is the whole command (exec to exit) as its user waits for it;
# inner_ms is its summary's duration_ms; deadlocks counts its deadlock alerts.
# The alerts go to $TMP/check.alerts.
check_once()
{
	local pid=$1 what=$2 expected=$3 t0 t1 st=0 sum rss cpu inner n
	run_begin
	t0=$EPOCHREALTIME
	if [ "$RSS_FROM" = gnu-time ]; then
		"$GNU_TIME" -f '%M %U %S' -o "$TMP/check.time" "$LOCKWATCH" check --json "$pid" \
			>"$TMP/check.out" 2>"$TMP/check.err" || st=$?
	else
		"$LOCKWATCH" check --json "$pid" >"$TMP/check.out" 2>"$TMP/check.err" || st=$?
	fi
	t1=$EPOCHREALTIME
	run_end
	case " $expected " in
	*" $st "*) ;;
	*)
		cat "$TMP/check.err" >&2
		die "lockwatch check on $what exited with status $st, expected ${expected// / or } (0: no deadlock, 1: deadlock)"
		;;
	esac
	sum=$(grep '^{' "$TMP/check.out" | jq -r 'select(.kind == "summary") |
		"\(.duration_ms) \(.cpu_ms // 0) \(.max_rss_kb // 0)"' | tail -n 1)
	read -r inner cpu rss <<<"$sum"
	[ -n "$rss" ] || die "lockwatch check --json printed no summary"
	if [ "$RSS_FROM" = gnu-time ]; then
		read -r rss cpu < <(tail -n 1 "$TMP/check.time" | awk '{ print $1, ($2 + $3) * 1000 }')
	fi
	grep '^{' "$TMP/check.out" | jq -c 'select(.kind == "deadlock")' >"$TMP/check.alerts"
	n=$(wc -l <"$TMP/check.alerts")
	awk -v t0="$t0" -v t1="$t1" -v r="$rss" -v c="$cpu" -v i="$inner" -v s="$st" -v n="$n" \
		'BEGIN { printf "%.3f %d %.0f %.0f %d %d\n", (t1 - t0) * 1000, r, c, i, s, n }'
}

# One `lockwatch check --json` on HANG_PID, which must find no deadlock.
check_run()
{
	check_once "$HANG_PID" "$HANG many" 0
}

# `lockwatch check` on a process with 1,000 threads, 500 of them blocked:
# time to verdict, and lockwatch's own peak RSS and CPU time for it.
check_bench()
{
	local i shape threads waiting m lo hi n in_m in_lo in_hi r_m r_lo r_hi c_m src
	FIGURE="check, 1000 threads"
	progress "$FIGURE: starting $HANG many"
	hang_start
	shape=$(hang_check_shape)
	read -r threads waiting <<<"$shape"
	: >"$TMP/check"
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: run $i/$RUNS"
		check_run >>"$TMP/check"
	done
	hang_check_shape >/dev/null
	hang_stop
	read -r m lo hi n < <(awk '{ print $1 }' "$TMP/check" | stats)
	read -r in_m in_lo in_hi _ < <(awk '{ print $4 }' "$TMP/check" | stats)
	read -r r_m r_lo r_hi _ < <(awk '{ print $2 }' "$TMP/check" | stats)
	read -r c_m _ _ _ < <(awk '{ print $3 }' "$TMP/check" | stats)
	src="GNU time"
	[ "$RSS_FROM" = gnu-time ] || src="its JSON summary"
	progress ""
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms  n=%d  (%d threads, %d in futex waits; verdict: no deadlock; target ≤ 1 s%s)\n' \
		"$FIGURE" "$m" "$lo" "$hi" "$n" "$threads" "$waiting" "$(taint_note)"
	printf '%-24s median %.0f ms  spread %.0f–%.0f ms  (its summary'"'"'s duration_ms: first look to verdict; the rest is exec, start-up, exit)\n' \
		"  of which inside" "$in_m" "$in_lo" "$in_hi"
	printf '%-24s median %.0f KiB  spread %.0f–%.0f KiB  n=%d  (CPU time median %.0f ms; from %s)\n' \
		"lockwatch check peak RSS" "$r_m" "$r_lo" "$r_hi" "$n" "$c_m" "$src"
}

# The line a Python section prints instead of its figures when PYTHON is
# missing (or cannot import asyncio).
py_skipped()
{
	local what
	if [ -x "$PYTHON" ]; then
		what="$PYTHON does not run (or has no asyncio)"
	else
		what="$PYTHON not found"
	fi
	printf '%-24s skipped: %s; set PYTHON to a CPython 3.11\n' "$1" "$what"
}

# bench/py_tasks.py with PY_TASKS_N tasks in the background, once every task
# is blocked: sets PY_PID.
py_tasks_start()
{
	rm -f "$TMP/py_tasks.ready"
	LW_READY_FILE=$TMP/py_tasks.ready "$PYTHON" "$PY_TASKS" "$PY_TASKS_N" \
		>/dev/null 2>"$TMP/py_tasks.ready.err" &
	PY_PID=$!
	bg_started "$PY_PID"
	wait_ready "$PY_PID" "$TMP/py_tasks.ready" "$PY_TASKS"
}

py_tasks_stop()
{
	bg_kill "$PY_PID"
	PY_PID=
}

# The target must still be what the figure claims: one thread, asleep (in
# epoll_wait: every task is blocked, nothing is due for an hour).
py_tasks_check_shape()
{
	local state threads
	state=$(proc_state_cpu "$PY_PID") || die "$PY_TASKS exited"
	threads=$(find "/proc/$PY_PID/task" -mindepth 1 -maxdepth 1 | wc -l)
	if [ "${state%% *}" != S ] || [ "$threads" != 1 ]; then
		die "$PY_TASKS: state ${state%% *}, $threads threads; expected S (asleep), 1 thread"
	fi
}

# `lockwatch check` on bench/py_tasks.py: time to verdict, its peak RSS and
# CPU time, and the verdict itself, reported rather than judged (see the top).
py_check_bench()
{
	local i m lo hi n in_m in_lo in_hi r_m r_lo r_hi c_m src verdict
	FIGURE="python check"
	if [ -z "$PY_VERSION" ]; then
		py_skipped "$FIGURE"
		return 0
	fi
	progress "$FIGURE: starting $PY_TASKS $PY_TASKS_N"
	py_tasks_start
	py_tasks_check_shape
	: >"$TMP/py_check"
	: >"$TMP/py_named"
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: run $i/$RUNS"
		check_once "$PY_PID" "$PY_TASKS" "0 1" >>"$TMP/py_check"
		# does some deadlock alert name both transfer tasks?
		if awk '/transfer-ab/ && /transfer-ba/ { f = 1 } END { exit !f }' "$TMP/check.alerts"; then
			echo "$i" >>"$TMP/py_named"
		fi
	done
	py_tasks_check_shape
	py_tasks_stop
	read -r m lo hi n < <(awk '{ print $1 }' "$TMP/py_check" | stats)
	read -r in_m in_lo in_hi _ < <(awk '{ print $4 }' "$TMP/py_check" | stats)
	read -r r_m r_lo r_hi _ < <(awk '{ print $2 }' "$TMP/py_check" | stats)
	read -r c_m _ _ _ < <(awk '{ print $3 }' "$TMP/py_check" | stats)
	# "exit 1 in 9/9 runs", or "exit 0 in 2/9 runs, exit 1 in 7/9 runs"
	verdict=$(awk '{ print $5 }' "$TMP/py_check" | sort -n | uniq -c |
		awk -v n="$n" '{ printf "%sexit %s in %d/%d runs", (NR > 1 ? ", " : ""), $2, $1, n }')
	verdict="$verdict; deadlock alerts per run $(awk '{ print $6 }' "$TMP/py_check" | stats |
		awk '{ printf "%d (%d–%d)", $1, $2, $3 }')"
	if [ "$(awk '{ s += $6 } END { print s + 0 }' "$TMP/py_check")" -gt 0 ]; then
		verdict="$verdict, naming transfer-ab and transfer-ba in $(wc -l <"$TMP/py_named")/$n runs"
	else
		verdict="$verdict: no deadlock found; expected: exit 1, the cycle transfer-ab/transfer-ba"
	fi
	src="GNU time"
	[ "$RSS_FROM" = gnu-time ] || src="its JSON summary"
	progress ""
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms  n=%d  (%d asyncio tasks; verdict: %s%s)\n' \
		"$FIGURE" "$m" "$lo" "$hi" "$n" "$PY_TASKS_N" "$verdict" "$(taint_note)"
	printf '%-24s median %.0f ms  spread %.0f–%.0f ms  (its summary'"'"'s duration_ms: first look to verdict; the rest is exec, start-up, exit)\n' \
		"  of which inside" "$in_m" "$in_lo" "$in_hi"
	printf '%-24s median %.0f KiB  spread %.0f–%.0f KiB  n=%d  (CPU time median %.0f ms; from %s)\n' \
		"python check peak RSS" "$r_m" "$r_lo" "$r_hi" "$n" "$c_m" "$src"
}

# bench/py_busy.py in the background, its load running, its window not yet
# open (it waits for $TMP/py_busy.go): sets BUSY_PID. Its "ops N" line goes to
# $TMP/py_busy.out. Runs inside pairs' command substitution: the variable is
# that subshell's, the pid goes to $TMP/bg for cleanup all the same.
py_busy_start()
{
	rm -f "$TMP/py_busy.ready" "$TMP/py_busy.go"
	LW_READY_FILE=$TMP/py_busy.ready LW_GO_FILE=$TMP/py_busy.go \
		"$PYTHON" "$PY_BUSY" "$SECONDS_RUN" >"$TMP/py_busy.out" 2>"$TMP/py_busy.ready.err" &
	BUSY_PID=$!
	bg_started "$BUSY_PID"
	wait_ready "$BUSY_PID" "$TMP/py_busy.ready" "$PY_BUSY"
}

# Opens py_busy.py's window, waits for its end (bounded) and sets BUSY_OPS to
# its ops/s; $1 says what watched it, for the messages. Not in a command
# substitution: only the shell that started BUSY_PID can wait for it.
py_busy_finish()
{
	local seen=$1 i st=0
	touch "$TMP/py_busy.go"
	# the window opens 0.5 s after the go file; poll rather than wait blindly
	for i in $(seq 1 $(((SECONDS_RUN + 30) * 10))); do
		kill -0 "$BUSY_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BUSY_PID" 2>/dev/null; then
		die "$PY_BUSY ($seen) did not end within $((SECONDS_RUN + 30)) s of its go"
	fi
	wait "$BUSY_PID" || st=$?
	bg_ended "$BUSY_PID"
	if [ "$st" != 0 ]; then
		cat "$TMP/py_busy.ready.err" >&2
		die "$PY_BUSY ($seen) exited with status $st"
	fi
	BUSY_OPS=$(awk '$1 == "ops" { print $2 }' "$TMP/py_busy.out" | tail -n 1)
	[ -n "$BUSY_OPS" ] || die "$PY_BUSY ($seen) printed no ops line"
}

# Wait until lockwatch -p (pid $1, stderr in $2) has attached - it holds a BPF
# link - and finished its start-up and first look: asleep, no CPU time over
# 0.25 s. Unlike a host-wide lockwatch it may stay busy (a Python target's
# steady state may mean polling it): after 5 s of that the run goes ahead,
# and the run is counted in $TMP/py_unquiet.
watcher_ready()
{
	local lw=$1 err=$2 i a b
	for i in $(seq 1 600); do
		if ! kill -0 "$lw" 2>/dev/null; then
			cat "$err" >&2
			die "lockwatch -p exited during start-up"
		fi
		! has_bpf_link "$lw" || break
		sleep 0.1
	done
	has_bpf_link "$lw" || die "lockwatch -p did not attach within 60 s"
	for i in $(seq 1 20); do
		a=$(proc_state_cpu "$lw") || a=
		sleep 0.25
		b=$(proc_state_cpu "$lw") || b=
		if [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a%% *}" = S ]; then
			return 0
		fi
	done
	echo "$FIGURE" >>"$TMP/py_unquiet"
}

# py_busy.py alone: prints its ops/s. Arguments (from pairs) unused.
py_run_without()
{
	run_begin
	py_busy_start
	py_busy_finish "unwatched"
	run_end
	echo "$BUSY_OPS"
}

# py_busy.py with `lockwatch -p` attached once its load runs, before its
# window opens: prints its ops/s; lockwatch's waits/s go to $TMP/rate, its
# summary to $TMP/summary. lockwatch ends by itself when its only target
# does; SIGINT makes sure at once.
py_run_with()
{
	local lw st=0 n
	run_begin
	py_busy_start
	"$LOCKWATCH" --json -p "$BUSY_PID" --duration $((SECONDS_RUN + 90)) \
		>"$TMP/py_lw.out" 2>"$TMP/py_lw.err" &
	lw=$!
	bg_started "$lw"
	watcher_ready "$lw" "$TMP/py_lw.err"
	py_busy_finish "watched by lockwatch -p"
	kill -INT "$lw" 2>/dev/null || true
	wait "$lw" || st=$?
	bg_ended "$lw"
	run_end
	n=$(grep '^{' "$TMP/py_lw.out" | jq -s '[.[] | select(.kind == "deadlock" or
		.kind == "orphaned_lock" or .kind == "loop_stall")] | length')
	[ "$n" = 0 ] || die "false positive: lockwatch -p reported a deadlock or a stall in $PY_BUSY"
	if [ "$st" != 0 ]; then
		cat "$TMP/py_lw.err" >&2
		die "lockwatch -p watching $PY_BUSY exited with status $st"
	fi
	grep '^{' "$TMP/py_lw.out" | jq -c 'select(.kind == "summary")' >"$TMP/summary" ||
		die "no JSON summary from lockwatch -p watching $PY_BUSY"
	[ -s "$TMP/summary" ] || die "no JSON summary from lockwatch -p watching $PY_BUSY"
	jq -r '.waits / (.duration_ms / 1000)' "$TMP/summary" >"$TMP/rate"
	# its own CPU (% of one core) and its event-loop samples a second
	jq -r '[100 * .cpu_ms / .duration_ms, .loop_samples / (.duration_ms / 1000),
		.loop_busy / (.duration_ms / 1000)] | map(tostring) | join(" ")' \
		"$TMP/summary" >>"$TMP/py_cpu"
	echo "$BUSY_OPS"
}

# The overhead of `lockwatch -p` on bench/py_busy.py: pairs with/without, then
# as many A/A pairs for the noise floor, as overhead does.
py_overhead()
{
	local waits extra unquiet
	FIGURE="python overhead"
	if [ -z "$PY_VERSION" ]; then
		py_skipped "$FIGURE"
		return 0
	fi
	: >"$TMP/waits.python"
	: >"$TMP/py_unquiet"
	: >"$TMP/py_cpu"
	pairs py_run_with py_run_without py_busy 1 python >"$TMP/ratios.python"
	waits=$(stats <"$TMP/waits.python" | awk '{ print $1 }')
	unquiet=$(wc -l <"$TMP/py_unquiet")
	extra=$(printf ', lockwatch -p saw %.0f waits/s' "$waits")
	extra="$extra, sampled its event loop $(awk '{ print $2 }' "$TMP/py_cpu" | stats |
		awk '{ printf "%.1f", $1 }')/s (running a callback: $(awk '{ print $3 }' \
		"$TMP/py_cpu" | stats | awk '{ printf "%.1f", $1 }')/s) for no loop_stall, lockwatch CPU $(
		awk '{ print $1 }' "$TMP/py_cpu" | stats | awk '{ printf "%.2f%% [%.2f-%.2f]", $1, $2, $3 }') of a core over its whole run, attach and first look included (target <= 1%)"
	if [ "$unquiet" -gt 0 ]; then
		extra="$extra, never quiet before the window in $unquiet runs"
	fi
	extra="$extra; target ≥ 0.99"
	print_overhead "$FIGURE" "with/without" "$TMP/ratios.python" "$TMP/pairs.python" "$extra"
	if [ "$NOISE" = 1 ]; then
		FIGURE="noise floor python"
		pairs py_run_without py_run_without py_busy 1 noise.python >"$TMP/ratios.noise.python"
		print_overhead "  noise floor (A/A)" "without/without" "$TMP/ratios.noise.python" \
			"$TMP/pairs.noise.python" ""
	fi
}

header()
{
	echo "lockwatch benchmarks: $(nproc) CPUs, Linux $(uname -r), $($LOCKWATCH --version 2>&1 | head -n 1), load average $(cut -d ' ' -f 1-3 /proc/loadavg) at start"
	if want overhead || want host || want futex || want cost; then
		echo "workload: bench/contend, ${SECONDS_RUN} s windows; contended = $CONTENDED_THREADS threads on $((CONTENDED_THREADS / 2)) mutexes and $CONTENDED_WIDE on $((CONTENDED_WIDE / 2)), uncontended = $UNCONTENDED_THREADS threads with a mutex each"
	fi
	if want host || want check; then
		echo "whole host: lockwatch with no -p in the background for each whole run; check: tests/hang many (1,000 threads, 500 blocked)"
	fi
	if want py-check || want py-overhead; then
		if [ -n "$PY_VERSION" ]; then
			echo "python: $PYTHON (Python $PY_VERSION); check: $PY_TASKS ($PY_TASKS_N asyncio tasks, 2 in an AB-BA deadlock); overhead: $PY_BUSY (one busy event loop), lockwatch -p"
		else
			echo "python: $PYTHON missing or broken: the python sections are skipped"
		fi
	fi
	if [ "$SECTIONS" != "$ALL_SECTIONS" ]; then
		echo "sections: $SECTIONS"
	fi
	echo
}

footer()
{
	local n
	n=$(wc -l <"$TMP/tainted")
	echo
	echo "waited $(cat "$TMP/settled") s in all for a quiet machine (budget ${SETTLE_BUDGET} s)"
	if [ "$n" -gt 0 ]; then
		echo "warning: $n runs were tainted: another lockwatch ran on the host meanwhile, and its"
		echo "  host-wide futex tracepoints slowed those runs (a tainted \"without\" run flatters a ratio)"
	fi
}

main()
{
	parse_args "$@"
	preflight
	header
	if want overhead; then
		overhead contended "$CONTENDED_THREADS"
		overhead contended "$CONTENDED_WIDE"
		overhead uncontended "$UNCONTENDED_THREADS"
	fi
	if want host; then
		overhead contended "$CONTENDED_THREADS" host
	fi
	if want futex; then
		futex_cost
		bpf_cost
		predicted "  predicted contended" contended "$FUTEX_ADDED_NS"
		predicted "  predicted whole host" host.contended "$FUTEX_HOST_NS"
	fi
	if want latency; then
		latency
	fi
	if want cost; then
		cost
	fi
	if want check; then
		check_bench
	fi
	if want py-check; then
		py_check_bench
	fi
	if want py-overhead; then
		py_overhead
	fi
	if want py-versions; then
		echo
		bench/pytasks.sh -n "$RUNS" ${QUICK:+--quick}
	fi
	if want lock-order; then
		echo
		bench/lockorder.sh -n "$RUNS" ${QUICK:+--quick}
	fi
	footer
}

main "$@"
