#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `lockwatch check` on 100,000 asyncio tasks, on every CPython lockwatch
# reads (bench/run.sh runs it as its section "py-versions"; alone:
# bench/pytasks.sh [-n RUNS] [--tasks N] [--quick]):
#
# bench/py_tasks.py with N tasks (default 100,000; two of them in an AB-BA
# deadlock, the others blocked behind it, on an Event, or asleep) under
# Debian's 3.11, pyenv's 3.12, trixie's 3.13.5 and sid's 3.14 and 3.15 (each
# of the last three in its own root, as the tests run them:
# tests/lib-pyroot.sh). For each: `lockwatch check --json`, RUNS times (default
# 5): wall time to the verdict, its summary's duration_ms (first look to
# verdict) and peak RSS, medians and spreads, and whether every run found the
# deadlock. Targets (issue 11): at most 1 s and 64 MiB.
set -eu
set -o pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
LOCKWATCH=${LOCKWATCH:-./lockwatch}
RUNS=5
TASKS=100000

while [ $# -gt 0 ]; do
	case $1 in
	-n) RUNS=$2; shift ;;
	--tasks) TASKS=$2; shift ;;
	--quick) RUNS=3 ;;
	*) echo "usage: bench/pytasks.sh [-n RUNS] [--tasks N] [--quick]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench/pytasks.sh: needs root" >&2; exit 1; }
[ -x "$LOCKWATCH" ] || { echo "bench/pytasks.sh: run make first" >&2; exit 1; }
LW_ROOT=$PWD
LW_TMP=$(mktemp -d)
PIDS=()
cleanup()
{
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for root in "${LW_CHROOT_DIR:-/var/cache/lockwatch/chroot}"/*/; do
		rmdir "$root${LW_TMP#/}" 2>/dev/null || true
	done
	rm -rf "$LW_TMP"
}
trap cleanup EXIT
tap_bail() { echo "bench/pytasks.sh: $*" >&2; exit 1; }
# shellcheck source=tests/lib-pyroot.sh
. tests/lib-pyroot.sh

# one PYTHON: the figures line
bench_one()
{
	local label=$1 py=$2 pid start end found=0 v
	rm -f "$LW_TMP/ready"
	LW_READY_FILE=$LW_TMP/ready "$py" "$LW_ROOT/bench/py_tasks.py" "$TASKS" \
		>/dev/null 2>"$LW_TMP/py.err" &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 1 600); do
		[ -s "$LW_TMP/ready" ] && break
		kill -0 "$pid" 2>/dev/null || { echo "$label: py_tasks.py exited: $(cat "$LW_TMP/py.err")"; return; }
		sleep 0.2
	done
	[ -s "$LW_TMP/ready" ] || { echo "$label: py_tasks.py not ready in 120 s"; return; }
	v=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
	: >"$LW_TMP/runs"
	for _ in $(seq 1 "$RUNS"); do
		start=$(date +%s%N)
		"$LOCKWATCH" check --json "$pid" >"$LW_TMP/out" 2>"$LW_TMP/err" || true
		end=$(date +%s%N)
		jq -r -s --argjson w "$(((end - start) / 1000000))" \
			'(map(select(.kind == "deadlock")) | length) as $d | .[-1] |
			 "\($w) \(.duration_ms) \(.max_rss_kb) \($d)"' "$LW_TMP/out" >>"$LW_TMP/runs"
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	found=$(awk '$4 >= 1' "$LW_TMP/runs" | wc -l)
	read -r wm wlo whi n < <(awk '{ print $1 }' "$LW_TMP/runs" | stats)
	read -r dm _ _ _ < <(awk '{ print $2 }' "$LW_TMP/runs" | stats)
	read -r rm rlo rhi _ < <(awk '{ print $3 / 1024 }' "$LW_TMP/runs" | stats)
	printf '%-22s check median %5.0f ms [%.0f–%.0f] (inside %.0f ms)  peak RSS %5.1f MiB [%.1f–%.1f]  deadlock found %d/%d\n' \
		"Python $v" "$wm" "$wlo" "$whi" "$dm" "$rm" "$rlo" "$rhi" "$found" "$n"
}

echo "lockwatch check on bench/py_tasks.py with $TASKS asyncio tasks, $RUNS runs each (targets: 1 s, 64 MiB)"
bench_one "3.11 (Debian)" /usr/bin/python3.11
for py in /root/.pyenv/versions/3.12.*/bin/python3.12; do
	[ -x "$py" ] && bench_one "3.12 (pyenv)" "$py"
done
# shellcheck disable=SC2086 # package lists
in_root py3.13 trixie /usr/bin/python3.13 $TRIXIE_PKGS
bench_one "3.13 (trixie)" "$IN_ROOT"
# shellcheck disable=SC2086
in_root py3.14 sid /usr/bin/python3.14 $SID_PKGS
bench_one "3.14 (sid)" "$IN_ROOT"
# shellcheck disable=SC2086
in_root py3.15 sid /usr/bin/python3.15 $SID_PKGS
bench_one "3.15 (sid)" "$IN_ROOT"
