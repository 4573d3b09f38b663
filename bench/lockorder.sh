#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lockwatch --lock-order benchmarks (bench/run.sh runs them as its section
# "lock-order"; alone: bench/lockorder.sh [-n RUNS] [--quick] [--only pairs|ratios|chains]):
#
#  - the cost lockwatch adds to one uncontended lock/unlock pair of a watched
#    thread: bench/contend uncontended with one thread, with and without
#    `lockwatch --lock-order -- ...`, ns per pair from its own rate; and the
#    same with another mutex held all along ("nested": every lock call looks
#    up an order);
#  - throughput ratios, watched/unwatched: uncontended (a thread per CPU, a
#    mutex each) and contended (4 threads, 2 mutexes); and an unwatched
#    process's uncontended pairs while a lockwatch --lock-order watches
#    another one (it should pay nothing: no breakpoint in it);
#  - lockwatch's own CPU time and peak RSS on bench/contend chains with 1,000
#    threads of 100 mutexes each (100,000 locks, 99,000 distinct orders taken
#    over and over), and its ring-buffer records against the distinct orders
#    and the acquisitions.
#
# Every figure is a median over RUNS runs (default 9) with its spread; the
# ratios are medians of per-pair ratios, each pair one run with and one
# without, back to back, their order alternating.
set -eu
set -o pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
OUT=${OUTPUT:-.output}
LOCKWATCH=${LOCKWATCH:-./lockwatch}
CONTEND=${CONTEND:-$OUT/bench/contend}
RUNS=9
WINDOW=2 # seconds of a throughput window
CHAIN_SECONDS=10
CHAIN_RUNS=3
ONLY=

while [ $# -gt 0 ]; do
	case $1 in
	-n) RUNS=$2; shift ;;
	--quick) RUNS=3 WINDOW=1 CHAIN_SECONDS=5 CHAIN_RUNS=1 ;;
	--only) ONLY=$2; shift ;;
	*) echo "usage: bench/lockorder.sh [-n RUNS] [--quick] [--only pairs|ratios|chains]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench/lockorder.sh: needs root" >&2; exit 1; }
[ -x "$LOCKWATCH" ] && [ -x "$CONTEND" ] || { echo "bench/lockorder.sh: run make first" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

without() # MODE THREADS: ops/s
{
	"$CONTEND" "$1" "$WINDOW" "$2"
}

with() # MODE THREADS: ops/s, watched from the start (the window opens 0.5 s later)
{
	timeout -k 5 120 "$LOCKWATCH" --lock-order --json --duration 100 -- \
		"$CONTEND" "$1" "$WINDOW" "$2" 2>"$TMP/with.err" | grep -E '^[0-9]+$' | tail -n 1
}

bystander() # MODE THREADS: ops/s of an unwatched process while lockwatch watches sleep
{
	local lw r
	"$LOCKWATCH" --lock-order --duration 100 -- sleep 100 >/dev/null 2>&1 &
	lw=$!
	until pgrep -P "$lw" -x sleep >/dev/null; do sleep 0.05; done
	sleep 1
	r=$("$CONTEND" "$1" "$WINDOW" "$2")
	kill -INT "$lw"
	wait "$lw" 2>/dev/null || true
	echo "$r"
}

# pairs A B MODE THREADS: RUNS lines "a b", their order alternating.
pairs()
{
	local a=$1 b=$2 mode=$3 thr=$4 i x y
	for i in $(seq 1 "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then
			x=$($a "$mode" "$thr")
			y=$($b "$mode" "$thr")
		else
			y=$($b "$mode" "$thr")
			x=$($a "$mode" "$thr")
		fi
		[ -n "$x" ] && [ -n "$y" ] || { echo "bench/lockorder.sh: $mode: no rate" >&2; exit 1; }
		echo "$x $y"
	done
}

pair_cost() # MODE LABEL
{
	local m lo hi n base
	pairs with without "$1" 1 >"$TMP/p.$1"
	read -r base _ _ _ < <(awk '{ print 1e9 / $2 }' "$TMP/p.$1" | stats)
	read -r m lo hi n < <(awk '{ print 1e9 / $1 - 1e9 / $2 }' "$TMP/p.$1" | stats)
	printf '%-28s +%.0f ns per pair  spread %.0f–%.0f  n=%d  (%.1f ns unwatched; target ≤ 150)\n' \
		"$2" "$m" "$lo" "$hi" "$n" "$base"
}

ratio() # A MODE THREADS LABEL
{
	local m lo hi n
	pairs "$1" without "$2" "$3" >"$TMP/r.$2.$1"
	read -r m lo hi n < <(awk '{ print $1 / $2 }' "$TMP/r.$2.$1" | stats)
	printf '%-28s ratio median %.3f  spread %.3f–%.3f  n=%d\n' "$4" "$m" "$lo" "$hi" "$n"
}

noise() # MODE THREADS LABEL
{
	local m lo hi n
	pairs without without "$1" "$2" >"$TMP/n.$1"
	read -r m lo hi n < <(awk '{ print $1 / $2 }' "$TMP/n.$1" | stats)
	printf '%-28s ratio median %.3f  spread %.3f–%.3f  n=%d\n' "$3" "$m" "$lo" "$hi" "$n"
}

chains()
{
	local i
	for i in $(seq 1 "$CHAIN_RUNS"); do
		timeout -k 5 300 "$LOCKWATCH" --lock-order --json --duration 200 -- \
			"$CONTEND" chains-paced "$CHAIN_SECONDS" 1000 2>"$TMP/chains.err" |
			grep '^{' | jq -r 'select(.kind == "summary") |
				"\(.cpu_ms) \(.max_rss_kb) \(.events) \(.lock_orders) \(.lock_acquires) \(.drops) \(.orders_full) \(.duration_ms) \(.orders_later)"'
	done >"$TMP/chains"
	[ -s "$TMP/chains" ] || { cat "$TMP/chains.err" >&2; exit 1; }
	local cpu rss ev ord acq drops full dur later
	read -r cpu _ _ _ < <(awk '{ print $1 }' "$TMP/chains" | stats)
	read -r rss rlo rhi _ < <(awk '{ print $2 / 1024 }' "$TMP/chains" | stats)
	read -r ev _ _ _ < <(awk '{ print $3 }' "$TMP/chains" | stats)
	read -r ord _ _ _ < <(awk '{ print $4 }' "$TMP/chains" | stats)
	read -r acq _ _ _ < <(awk '{ print $5 }' "$TMP/chains" | stats)
	read -r dur _ _ _ < <(awk '{ print $8 / 1000 }' "$TMP/chains" | stats)
	drops=$(awk '{ s += $6 } END { print s }' "$TMP/chains")
	full=$(awk '{ s += $7 } END { print s }' "$TMP/chains")
	later=$(awk '{ s += $9 } END { print s }' "$TMP/chains")
	printf '%-28s peak RSS median %.1f MiB (spread %.1f–%.1f; target ≤ 64)  CPU %.0f ms over %.0f s  n=%d\n' \
		"100k locks, 1000 threads" "$rss" "$rlo" "$rhi" "$cpu" "$dur" "$CHAIN_RUNS"
	printf '%-28s %.0f ring records for %.0f distinct orders and %.0f acquisitions (%.4f records a lock taken); drops %d, orders not kept %d, put off and sent later %d\n' \
		"  ring-buffer traffic" "$ev" "$ord" "$acq" "$(awk -v e="$ev" -v a="$acq" 'BEGIN { print a ? e / a : 0 }')" "$drops" "$full" "$later"
}

echo "lockwatch --lock-order: $RUNS runs a figure, ${WINDOW} s windows; $(nproc) CPUs, kernel $(uname -r)"
if [ -z "$ONLY" ] || [ "$ONLY" = pairs ]; then
	pair_cost uncontended "lock/unlock pair"
	pair_cost nested "pair, another lock held"
fi
if [ -z "$ONLY" ] || [ "$ONLY" = ratios ]; then
	ratio with uncontended "$(nproc)" "uncontended, watched"
	ratio with contended 4 "contended, watched"
	ratio bystander uncontended "$(nproc)" "uncontended, unwatched"
	noise uncontended "$(nproc)" "  noise floor (A/A)"
fi
if [ -z "$ONLY" ] || [ "$ONLY" = chains ]; then
	chains
fi
