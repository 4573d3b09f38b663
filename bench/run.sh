#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lockwatch benchmarks: overhead on a contended and an uncontended lock
# workload, the cost lockwatch adds to one futex wait, detection latency on an
# AB-BA deadlock, and lockwatch's own CPU time and peak RSS. Prints one table
# on stdout; progress goes to stderr (on a terminal). About 5 minutes on a
# quiet machine.
#
#   bench/run.sh [--quick] [-n RUNS] [--no-noise] [--no-wait]
#
# Needs root (lockwatch loads BPF) and a built tree: `make` (or `make bench`,
# which installs the dependencies, builds and runs this).
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
set -eu
set -o pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
LOCKWATCH=${LOCKWATCH:-./lockwatch}
CONTEND=${CONTEND:-$OUT/bench/contend}
STAMP_LINES=${STAMP_LINES:-$OUT/bench/stamp_lines}
DEADLOCK=${DEADLOCK:-$OUT/tests/deadlock}

RUNS=9 # pairs for overhead, rounds for the futex cost, runs for latency
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

die()
{
	echo "bench/run.sh: $*" >&2
	exit 1
}

usage()
{
	cat <<EOF
usage: bench/run.sh [--quick] [-n RUNS] [--no-noise] [--no-wait]
  --quick      smoke test: 3 runs of each figure, 1 s windows (~1 min)
  -n RUNS      pairs (overhead), rounds (futex cost), runs (latency); default 9
  --no-noise   skip the A/A noise-floor lines
  --no-wait    do not wait for a quiet machine before each run
Environment: LOCKWATCH, CONTEND, STAMP_LINES, DEADLOCK name other binaries.
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

preflight()
{
	local f
	for f in "$LOCKWATCH" "$CONTEND" "$STAMP_LINES" "$DEADLOCK"; do
		[ -x "$f" ] || die "$f is not built: run 'make' first (make bench builds and runs)"
	done
	command -v jq >/dev/null || die "jq is missing: run scripts/install-deps.sh"
	[ "$(id -u)" = 0 ] || die "must run as root: lockwatch loads BPF programs"
	TMP=$(mktemp -d /tmp/lockwatch-bench.XXXXXX)
	trap 'rm -rf "$TMP"' EXIT
	: >"$TMP/tainted"
	echo 0 >"$TMP/settled"
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
	grep -E '^[0-9]+$' "$TMP/with.out" | tail -n 1
}

# One figure of overhead: RUNS pairs of $1 vs $2 (run_with or run_without);
# prints the ratios, one a line.
pairs()
{
	local a=$1 b=$2 mode=$3 threads=$4 i x y
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
		echo "$x $y" >>"$TMP/pairs.$mode.$a"
		awk -v x="$x" -v y="$y" 'BEGIN { printf "%.6f\n", x / y }'
		if [ "$a" = run_with ]; then
			jq -r '.waits / (.duration_ms / 1000)' "$TMP/summary" >>"$TMP/waits.$mode"
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

overhead()
{
	local mode=$1 threads=$2 waits extra
	: >"$TMP/waits.$mode"
	FIGURE="$mode ($threads thr)"
	pairs run_with run_without "$mode" "$threads" >"$TMP/ratios.$mode"
	waits=$(stats <"$TMP/waits.$mode" | awk '{ print $1 }')
	extra=$(printf ', lockwatch saw %.0f waits/s; target ≥ 0.99' "$waits")
	print_overhead "$FIGURE" "with/without" "$TMP/ratios.$mode" \
		"$TMP/pairs.$mode.run_with" "$extra"
	if [ "$NOISE" = 1 ]; then
		FIGURE="noise floor $mode"
		pairs run_without run_without "$mode" "$threads" >"$TMP/noise.$mode"
		print_overhead "  noise floor (A/A)" "without/without" "$TMP/noise.$mode" \
			"$TMP/pairs.$mode.run_without" ""
	fi
}

# The cost of one futex wait, from `contend futex` (one thread calling
# FUTEX_WAIT on a word that never matches, so each call returns at once), in
# ns per call: unwatched on a host without lockwatch ("base"); watched by
# lockwatch ("watched"); and unwatched while a lockwatch watches something
# else ("bystander"): the syscall tracepoints are host-wide, so every process
# pays a share. A cost of a few hundred ns against a base of a few hundred is
# far above the noise that hides a 1% throughput change, and times the wait
# rate it predicts what a workload pays.
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
	esac
	run_end
	futex_ns "$r"
}

futex_cost()
{
	local i k b w w_lo w_hi y y_lo y_hi
	local -A ns
	FIGURE="futex wait cost"
	for i in $(seq 1 "$RUNS"); do
		progress "$FIGURE: round $i/$RUNS"
		# rotate the order of the three runs from round to round
		case $((i % 3)) in
		1) set -- base watched bystander ;;
		2) set -- watched bystander base ;;
		0) set -- bystander base watched ;;
		esac
		for k in "$@"; do
			ns[$k]=$(futex_run "$k")
		done
		echo "${ns[base]} ${ns[watched]} ${ns[bystander]}"
	done >"$TMP/futex"
	read -r b _ _ _ < <(awk '{ print $1 }' "$TMP/futex" | stats)
	read -r w w_lo w_hi _ < <(awk '{ print $2 - $1 }' "$TMP/futex" | stats)
	read -r y y_lo y_hi _ < <(awk '{ print $3 - $1 }' "$TMP/futex" | stats)
	FUTEX_ADDED_NS=$w
	progress ""
	printf '%-24s median %.0f ns/call unwatched; watched +%.0f ns (spread %.0f–%.0f)  n=%d%s\n' \
		"$FIGURE" "$b" "$w" "$w_lo" "$w_hi" "$RUNS" "$(taint_note)"
	printf '%-24s %+.0f ns per futex call (spread %.0f–%.0f) for every process while lockwatch runs\n' \
		"  bystander cost" "$y" "$y_lo" "$y_hi"
}

# What the futex wait cost predicts for the contended workload at the wait
# rate lockwatch counted there: the share of the workload's CPUs it takes.
# Waits only: the workload's FUTEX_WAKE calls pay the bystander cost on top,
# and lockwatch does not count them.
predicted()
{
	local waits
	[ -s "$TMP/waits.contended" ] || return 0
	waits=$(stats <"$TMP/waits.contended" | awk '{ print $1 }')
	awk -v ns="$FUTEX_ADDED_NS" -v w="$waits" -v c="$(nproc)" 'BEGIN {
		f = ns * w / (c * 1e9)
		printf "%-24s %.0f waits/s × %.0f ns on %d CPUs = %.1f%% of its CPU time: ratio ≈ %.3f (waits only, not wakes)\n",
			"  predicted contended", w, ns, c, 100 * f, 1 / (1 + f) }'
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

header()
{
	echo "lockwatch benchmarks: $(nproc) CPUs, Linux $(uname -r), $($LOCKWATCH --version 2>&1 | head -n 1), load average $(cut -d ' ' -f 1-3 /proc/loadavg) at start"
	echo "workload: bench/contend, ${SECONDS_RUN} s windows; contended = $CONTENDED_THREADS threads on 2 mutexes, uncontended = $UNCONTENDED_THREADS threads with a mutex each"
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
	futex_cost
	predicted
	latency
	cost
	footer
}

main "$@"
