#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lockwatch benchmarks: overhead on a contended and an uncontended lock
# workload, watching one process and watching the whole host; the cost
# lockwatch adds to one futex wait; detection latency on an AB-BA deadlock;
# lockwatch's own CPU time and peak RSS; and `lockwatch check` on a process
# with 1,000 threads. Prints one table on stdout; progress goes to stderr (on
# a terminal). About 8 minutes on a quiet machine.
#
#   bench/run.sh [--quick] [-n RUNS] [--no-noise] [--no-wait]
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
set -eu
set -o pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
LOCKWATCH=${LOCKWATCH:-./lockwatch}
CONTEND=${CONTEND:-$OUT/bench/contend}
STAMP_LINES=${STAMP_LINES:-$OUT/bench/stamp_lines}
DEADLOCK=${DEADLOCK:-$OUT/tests/deadlock}
HANG=${HANG:-$OUT/tests/hang}
GNU_TIME=${GNU_TIME:-/usr/bin/time} # not TIME: GNU time reads that as its format

RUNS=9 # pairs for overhead, rounds for the futex cost, runs for latency and check
SECONDS_RUN=2 # measured window of one workload run (plus 0.5 s warm-up)
CPU_RUNS=3 # runs for CPU/RSS
CPU_SECONDS=10 # workload window while measuring lockwatch's CPU and RSS
NOISE=1
SETTLE_MAX=15 # seconds to wait for a quiet machine before one run
SETTLE_BUDGET=300 # seconds of such waiting in all; then runs go ahead
CONTENDED_THREADS=4
UNCONTENDED_THREADS=$(nproc)

TMP=
FIGURE= # the figure being measured, for the taint counts
FUTEX_ADDED_NS=0
FUTEX_HOST_NS=0
HOST_LW= # the pid of a host-wide lockwatch this script runs in the background
HANG_PID= # the pid of tests/hang many
RSS_FROM=gnu-time # where check's peak RSS comes from: GNU time, or its summary

die()
{
	echo "bench/run.sh: $*" >&2
	exit 1
}

usage()
{
	cat <<EOF
usage: bench/run.sh [--quick] [-n RUNS] [--no-noise] [--no-wait]
  --quick      smoke test: 3 runs of each figure, 1 s windows (~2 min)
  -n RUNS      pairs (overhead), rounds (futex cost), runs (latency, check);
               default 9
  --no-noise   skip the A/A noise-floor lines
  --no-wait    do not wait for a quiet machine before each run
Environment: LOCKWATCH, CONTEND, STAMP_LINES, DEADLOCK, HANG, GNU_TIME name
other binaries.
EOF
}

parse_args()
{
	while [ $# -gt 0 ]; do
		case $1 in
		--quick)
			RUNS=3 SECONDS_RUN=1 CPU_RUNS=1 CPU_SECONDS=3 SETTLE_BUDGET=30
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
}

# At exit: end what this script started in the background and is still
# running (by pid, from $TMP/bg), then remove the scratch directory.
cleanup()
{
	local pid
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

preflight()
{
	local f
	for f in "$LOCKWATCH" "$CONTEND" "$STAMP_LINES" "$DEADLOCK" "$HANG"; do
		[ -x "$f" ] || die "$f is not built: run 'make' first (make bench builds and runs)"
	done
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
	rss_source
}

# A one-line progress report on a terminal, nothing otherwise.
progress()
{
	if [ -t 2 ]; then
		printf '\r\033[K%s' "$*" >&2
	fi
}

# median and min-max of the numbers on stdin: prints "median min max n"
stats()
{
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6g %.6g %.6g %d\n", m, v[1], v[NR], NR
		}'
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
		if [ "$a" != run_without ]; then
			cat "$TMP/rate" >>"$TMP/waits.$tag"
		fi
	done
}

print_overhead()
{
	local label=$1 what=$2 ratios=$3 raw=$4 extra=$5 m lo hi n base
	read -r m lo hi n < <(stats <"$ratios")
	base=$(awk '{ print $2 }' "$raw" | stats | awk '{ printf "%.1fM", $1 / 1e6 }')
	progress ""
	printf '%-24s ratio(%s) median %.3f  spread %.3f–%.3f  n=%d  (%s ops/s unwatched%s%s)\n' \
		"$label" "$what" "$m" "$lo" "$hi" "$n" "$base" "$extra" "$(taint_note)"
}

# overhead MODE THREADS [host]: the pairs with/without lockwatch watching the
# workload (with "host": lockwatch with no -p, watching every process), then
# as many A/A pairs for the noise floor.
overhead()
{
	local mode=$1 threads=$2 scope=${3:-} with=run_with tag=$1 seen='' waits extra
	FIGURE="$mode ($threads thr)"
	if [ "$scope" = host ]; then
		with=run_host tag=host.$mode seen=" host-wide"
		FIGURE="whole host, $mode"
	fi
	: >"$TMP/waits.$tag"
	pairs "$with" run_without "$mode" "$threads" "$tag" >"$TMP/ratios.$tag"
	waits=$(stats <"$TMP/waits.$tag" | awk '{ print $1 }')
	extra=$(printf ', lockwatch saw %.0f waits/s%s; target ≥ 0.99' "$waits" "$seen")
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
latency_run()
{
	local i=$1 st=0 stamp line arrival confirmed
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
	stamp=$(tr -d ' \n' <"$TMP/stamp" 2>/dev/null) || stamp=
	case $stamp in
	'' | *[!0-9]*) die "latency run $i: $DEADLOCK wrote no stamp to LW_STAMP_FILE" ;;
	esac
	line=$(grep -m 1 '"kind": *"deadlock"' "$TMP/lat.out") ||
		die "latency run $i: no deadlock alert in lockwatch's output"
	arrival=${line%% *}
	confirmed=$(date -d "$(echo "${line#* }" | jq -r .time)" +%s%3N) ||
		die "latency run $i: alert without a valid \"time\""
	awk -v d=$((arrival - stamp)) -v c=$((confirmed * 1000000 - stamp)) \
		'BEGIN { printf "%.3f %.3f\n", d / 1e6, c / 1e6 }'
}

latency()
{
	local i m lo hi n c_m c_lo c_hi
	FIGURE="detection latency"
	: >"$TMP/latency"
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: run $i/$RUNS"
		latency_run "$i" >>"$TMP/latency"
	done
	read -r m lo hi n < <(awk '{ print $1 }' "$TMP/latency" | stats)
	read -r c_m c_lo c_hi n < <(awk '{ print $2 }' "$TMP/latency" | stats)
	progress ""
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms  n=%d  (target ≤ 100 ms%s)\n' \
		"$FIGURE" "$m" "$lo" "$hi" "$n" "$(taint_note)"
	printf '%-24s median %.1f ms  spread %.1f–%.1f ms  (stamp to the alert'"'"'s "time"; the rest is stacks, symbols, output)\n' \
		"  of which confirmed" "$c_m" "$c_lo" "$c_hi"
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

# tests/hang many in the background, once it has formed: sets HANG_PID.
hang_start()
{
	local i word pid
	rm -f "$TMP/hang.ready"
	LW_READY_FILE=$TMP/hang.ready "$HANG" many >/dev/null 2>"$TMP/hang.err" &
	HANG_PID=$!
	bg_started "$HANG_PID"
	for i in $(seq 1 300); do
		[ ! -s "$TMP/hang.ready" ] || break
		if ! kill -0 "$HANG_PID" 2>/dev/null; then
			cat "$TMP/hang.err" >&2
			die "$HANG many exited before it was ready"
		fi
		sleep 0.1
	done
	[ -s "$TMP/hang.ready" ] || die "$HANG many was not ready within $((i / 10)) s"
	read -r word pid <"$TMP/hang.ready"
	if [ "$word" != ready ] || [ "$pid" != "$HANG_PID" ]; then
		die "$HANG many: unexpected ready line: $word $pid"
	fi
}

hang_stop()
{
	kill -KILL "$HANG_PID" 2>/dev/null || true
	wait "$HANG_PID" 2>/dev/null || true
	bg_ended "$HANG_PID"
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

# One `lockwatch check --json` on HANG_PID, which must find no deadlock:
# prints "wall_ms rss_kb cpu_ms inner_ms". The wall time is the whole command
# (exec to exit) as its user waits for it; inner_ms is its summary's
# duration_ms.
check_run()
{
	local t0 t1 st=0 sum rss cpu inner
	run_begin
	t0=$EPOCHREALTIME
	if [ "$RSS_FROM" = gnu-time ]; then
		"$GNU_TIME" -f '%M %U %S' -o "$TMP/check.time" "$LOCKWATCH" check --json "$HANG_PID" \
			>"$TMP/check.out" 2>"$TMP/check.err" || st=$?
	else
		"$LOCKWATCH" check --json "$HANG_PID" >"$TMP/check.out" 2>"$TMP/check.err" || st=$?
	fi
	t1=$EPOCHREALTIME
	run_end
	if [ "$st" != 0 ]; then
		cat "$TMP/check.err" >&2
		die "lockwatch check on $HANG many exited with status $st, expected 0 (no deadlock)"
	fi
	sum=$(grep '^{' "$TMP/check.out" | jq -r 'select(.kind == "summary") |
		"\(.duration_ms) \(.cpu_ms // 0) \(.max_rss_kb // 0)"' | tail -n 1)
	read -r inner cpu rss <<<"$sum"
	[ -n "$rss" ] || die "lockwatch check --json printed no summary"
	if [ "$RSS_FROM" = gnu-time ]; then
		read -r rss cpu < <(tail -n 1 "$TMP/check.time" | awk '{ print $1, ($2 + $3) * 1000 }')
	fi
	awk -v t0="$t0" -v t1="$t1" -v r="$rss" -v c="$cpu" -v i="$inner" \
		'BEGIN { printf "%.3f %d %.0f %.0f\n", (t1 - t0) * 1000, r, c, i }'
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

header()
{
	echo "lockwatch benchmarks: $(nproc) CPUs, Linux $(uname -r), $($LOCKWATCH --version 2>&1 | head -n 1), load average $(cut -d ' ' -f 1-3 /proc/loadavg) at start"
	echo "workload: bench/contend, ${SECONDS_RUN} s windows; contended = $CONTENDED_THREADS threads on 2 mutexes, uncontended = $UNCONTENDED_THREADS threads with a mutex each"
	echo "whole host: lockwatch with no -p in the background for each whole run; check: tests/hang many (1,000 threads, 500 blocked)"
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
	overhead contended "$CONTENDED_THREADS"
	overhead uncontended "$UNCONTENDED_THREADS"
	overhead contended "$CONTENDED_THREADS" host
	futex_cost
	predicted "  predicted contended" contended "$FUTEX_ADDED_NS"
	predicted "  predicted whole host" host.contended "$FUTEX_HOST_NS"
	latency
	cost
	check_bench
	footer
}

main "$@"
