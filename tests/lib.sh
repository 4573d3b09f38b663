# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2016 # jq filters are single-quoted
# lib.sh - TAP 13 helpers (kselftest style) for the lockwatch tests.
#
# Sourced by tests/*.t, which prove runs from the repository root.  A test is
#   t_begin NAME; lw_run DIR ARGS...; t_rc DIR 0; t_jq DESC DIR FILTER; t_end
# Checks collect failures; t_end prints "ok"/"not ok" and, on failure, what
# failed plus the captured command, exit status, stdout and stderr as "#" lines.

set -u

LW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LW_BIN=${LW_BIN:-$LW_ROOT/lockwatch}
LW_PROGS=$LW_ROOT/.output/tests
LW_TIMEOUT=${LW_TIMEOUT:-60}

TAP_NUM=0
TAP_PASS=0
TAP_FAIL=0
TAP_SKIP=0
T_NAME=
T_ERRS=()
T_DIRS=()
LW_BG_PIDS=()
LW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lockwatch-tests.XXXXXX")

# Ends every process this file started in the background, then removes the
# scratch directory (kept with LW_KEEP_TMP=1, for a look after a failure).
lw_cleanup()
{
	local pid

	for pid in "${LW_BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${LW_KEEP_TMP:-0}" = 1 ]; then
		echo "# scratch files kept in $LW_TMP"
	else
		rm -rf "$LW_TMP"
	fi
}
trap lw_cleanup EXIT

# lw_forget PID: PID is done; never signal it again (its number may be reused).
lw_forget()
{
	local pid keep=()

	for pid in "${LW_BG_PIDS[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	LW_BG_PIDS=("${keep[@]}")
}

# --- TAP output ---

tap_plan()
{
	echo "TAP version 13"
	echo "1..$1"
}

tap_skip_all()
{
	echo "TAP version 13"
	echo "1..0 # SKIP $1"
	exit 0
}

tap_bail()
{
	echo "Bail out! $1"
	exit 1
}

tap_diag()
{
	local line

	while IFS= read -r line || [ -n "$line" ]; do
		echo "# $line"
	done
}

tap_skip()
{
	TAP_NUM=$((TAP_NUM + 1))
	TAP_SKIP=$((TAP_SKIP + 1))
	echo "ok $TAP_NUM - $1 # SKIP $2"
}

# Prints the totals line; the exit status of the .t file says whether all passed.
tap_finish()
{
	echo "# totals: pass:$TAP_PASS fail:$TAP_FAIL xfail:0 xpass:0 skip:$TAP_SKIP error:0"
	[ "$TAP_FAIL" -eq 0 ]
	exit $?
}

# --- one test: t_begin, checks, t_end ---

t_begin()
{
	T_NAME=$1
	T_ERRS=()
	T_DIRS=()
}

t_fail()
{
	T_ERRS+=("$1")
}

# t_expect DESC CMD...: CMD must succeed.
t_expect()
{
	local desc=$1

	shift
	"$@" >/dev/null 2>&1 || t_fail "$desc"
}

# Dumps one captured run: the command, its exit status and what it printed.
lw_dump_run()
{
	local dir=$1 max=${2:-60} f

	echo "command: $(cat "$dir/cmd" 2>/dev/null)"
	echo "exit status: $(cat "$dir/rc" 2>/dev/null) (124: timed out)"
	echo "wall time: $(lw_elapsed "$dir") s"
	for f in out err; do
		echo "$f ($(grep -c '' "$dir/$f" 2>/dev/null) lines):"
		head -n "$max" "$dir/$f" 2>/dev/null | cut -c 1-2000 | sed 's/^/  /'
	done
}

t_end()
{
	local err dir

	TAP_NUM=$((TAP_NUM + 1))
	if [ "${#T_ERRS[@]}" -eq 0 ]; then
		TAP_PASS=$((TAP_PASS + 1))
		echo "ok $TAP_NUM - $T_NAME"
		return 0
	fi
	TAP_FAIL=$((TAP_FAIL + 1))
	echo "not ok $TAP_NUM - $T_NAME"
	for err in "${T_ERRS[@]}"; do
		echo "failed: $err"
	done | tap_diag
	for dir in "${T_DIRS[@]}"; do
		lw_dump_run "$dir" "${LW_DUMP_LINES:-60}" | tap_diag
	done
	return 1
}

# --- running lockwatch ---

# lw_dir NAME: a fresh scratch directory for one run, shown on failure.
lw_dir()
{
	local dir=$LW_TMP/$1

	rm -rf "$dir"
	mkdir -p "$dir"
	echo "$dir"
}

# run_cmd DIR SECS CMD...: runs CMD under a timeout of SECS; DIR gets cmd,
# out, err, rc, start and end.
run_cmd()
{
	local dir=$1 secs=$2 rc

	shift 2
	echo "$*" >"$dir/cmd"
	date +%s.%N >"$dir/start"
	timeout -k 10 "$secs" "$@" >"$dir/out" 2>"$dir/err" </dev/null
	rc=$?
	date +%s.%N >"$dir/end"
	echo "$rc" >"$dir/rc"
}

# lw_run DIR ARGS...: runs lockwatch under timeout, as run_cmd.  Run it in
# the background (&) to run several at once.
lw_run()
{
	local dir=$1

	shift
	run_cmd "$dir" "$LW_TIMEOUT" "$LW_BIN" "$@"
	echo "lockwatch $*" >"$dir/cmd"
}

# lw_spawn DIR ARGS...: lw_run in the background; DIR/pid is lockwatch's PID.
lw_spawn()
{
	local dir=$1

	lw_run "$@" &
	echo $! >"$dir/job"
	# lw_run's subshell -> timeout -> lockwatch.
	wait_until 10 lw_found_or_done "$dir"
}

lw_found_or_done()
{
	lw_find_pid "$1" || [ -s "$1/rc" ]
}

lw_find_pid()
{
	local dir=$1 job tpid pid

	job=$(cat "$dir/job") || return 1
	tpid=$(pgrep -P "$job" -x timeout) || return 1
	pid=$(pgrep -P "$tpid") || return 1
	echo "$pid" >"$dir/pid"
	LW_BG_PIDS+=("$pid")
}

# lw_reap DIR: waits for a run started with lw_spawn to finish.
lw_reap()
{
	local dir=$1

	wait "$(cat "$dir/job")" 2>/dev/null
	[ ! -s "$dir/pid" ] || lw_forget "$(cat "$dir/pid")"
	[ -s "$dir/rc" ]
}

lw_elapsed()
{
	local dir=$1

	[ -s "$dir/start" ] && [ -s "$dir/end" ] || return 0
	echo "$(cat "$dir/start") $(cat "$dir/end")" | awk '{ printf "%.1f", $2 - $1 }'
}

# lw_attached PID: lockwatch PID holds BPF links or perf events, i.e. its
# programs are attached.
lw_attached()
{
	local fd

	for fd in /proc/"$1"/fd/*; do
		case "$(readlink "$fd" 2>/dev/null)" in
		"anon_inode:bpf_link" | "anon_inode:[perf_event]" | "anon_inode:bpf-link")
			return 0
			;;
		esac
	done
	return 1
}

# lw_wait_attached DIR: waits until the lockwatch of DIR has attached (or has
# exited), then gives it a second to finish setting up its filters.
lw_wait_attached()
{
	local pid

	pid=$(cat "$1/pid" 2>/dev/null) || return 1
	wait_until 30 lw_attached_or_gone "$pid" || return 1
	sleep 1
}

lw_attached_or_gone()
{
	[ ! -d "/proc/$1" ] || lw_attached "$1"
}

# --- waiting for conditions ---

# wait_until SECONDS CMD...: polls CMD every 50 ms.
wait_until()
{
	local secs=$1 end

	shift
	end=$(($(date +%s) + secs))
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# proc_state PID: the state letter from /proc/PID/stat (R, S, Z, ...).
proc_state()
{
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

proc_gone()
{
	[ ! -d "/proc/$1" ] || [ "$(proc_state "$1")" = Z ]
}

# py_trap FILE: writes a Python program to FILE whose one asyncio task takes
# a lock it holds (a self-deadlock). Python lines on stdin go first and set
# `name`, the task's name.
py_trap()
{
	{
		echo 'import asyncio'
		cat
		cat <<'TRAP'
lock = asyncio.Lock()
async def trap():
    async with lock:
        async with lock:
            pass
async def main():
    await asyncio.create_task(trap(), name=name)
asyncio.run(main())
TRAP
	} >"$1"
}

# bg_start CMD...: starts a helper process, ended at exit; sets BG_PID.
bg_start()
{
	"$@" &
	BG_PID=$!
	LW_BG_PIDS+=("$BG_PID")
}

bg_stop()
{
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	lw_forget "$1"
}

# --- checks on a captured run ---

# t_rc DIR WANT: exit status WANT, or with WANT "!0" a failure status
# (1-127) other than timeout's 124, not a death by a signal (128+N).
t_rc()
{
	local dir=$1 want=$2 rc

	T_DIRS+=("$dir")
	rc=$(cat "$dir/rc" 2>/dev/null)
	if [ "$want" = '!0' ]; then
		if [ -z "$rc" ] || [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -gt 127 ]; then
			t_fail "exit status is ${rc:-none}, expected a failure status (1-127, not 124)"
		fi
	elif [ "$rc" != "$want" ]; then
		t_fail "exit status is ${rc:-none}, expected $want"
	fi
}

# t_jq DESC DIR FILTER [JQ ARGS...]: FILTER, given stdout as an array of
# records (jq -s), must yield true.  JQ_DEFS provides shorthands.
JQ_DEFS='
def alerts: map(select(.kind == "deadlock"));
def alert: alerts[0];
def summary: map(select(.kind == "summary"))[0];
def edge($w): alert.cycle[] | select(.waiter.name == $w);
def thread($n): alert.threads[] | select(.name == $n);
def frame($n; $f): thread($n).stack[] | select(.function == $f);
def src_frame($n; $f; $file):
	any(frame($n; $f); ((.file // "") | endswith($file)) and (.line // 0) > 0);
'
t_jq()
{
	local desc=$1 dir=$2 filter=$3

	shift 3
	jq -e -s "$@" "$JQ_DEFS $filter" "$dir/out" >/dev/null 2>&1 || t_fail "$desc"
}

# t_jqs DIR [JQ ARGS...] -- DESC FILTER [DESC FILTER...]: as t_jq for each
# pair, in one run of jq (a jq started per check is most of a check's time
# in the VM's emulated CPU).
t_jqs()
{
	local dir=$1 args=() prog='' descs=() d failed

	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	while [ $# -ge 2 ]; do
		# as jq -e: true when the last value is neither false nor null
		prog+="(if (try ([$2] | length > 0 and (last | . != false and . != null)) catch false)"
		prog+=" then empty else ${#descs[@]} end),"
		descs+=("$1")
		shift 2
	done
	failed=$(jq -s "${args[@]}" "$JQ_DEFS [${prog%,}] | .[]" "$dir/out" 2>/dev/null) ||
		failed=$(seq 0 $((${#descs[@]} - 1)))
	for d in $failed; do
		t_fail "${descs[$d]}"
	done
}

# t_jq_beside DESC DIR VAR FILE FILTER [ARGS]: FILTER (jq -n) holds, with
# DIR/out's JSON lines as the array $a and FILE's JSON values as the array
# $VAR (what a log or the journal received, beside what stdout said).
t_jq_beside()
{
	local desc=$1 dir=$2 var=$3 file=$4 filter=$5

	shift 5
	jq -e -n --slurpfile a "$dir/out" --slurpfile "$var" "$file" "$@" "$JQ_DEFS $filter" \
		>/dev/null 2>&1 || t_fail "$desc"
}

# t_json_lines DIR: stdout is JSON objects, one per line, the last a summary.
t_json_lines()
{
	local dir=$1

	jq -e -R -s 'split("\n") | map(select(length > 0)) | length > 0 and
		all(.[]; try (fromjson | type == "object" and .schema == 1) catch false)' \
		"$dir/out" >/dev/null 2>&1 || t_fail "stdout is not JSON objects (schema 1), one per line"
	t_jq "the last record is the summary" "$dir" '.[-1].kind == "summary"'
}

# t_summary DIR: the summary record has every field of the contract.
t_summary()
{
	local f checks=()

	for f in duration_ms waits events drops alerts deadlocks cpu_ms max_rss_kb; do
		checks+=("summary has a numeric \"$f\"" "summary.$f | type == \"number\"")
	done
	t_jqs "$1" -- "${checks[@]}"
}

# t_stderr_line DIR [REGEX]: stderr is exactly one line "lockwatch: ..."
# (matching REGEX, case-insensitive, when given).
t_stderr_line()
{
	local dir=$1 re=${2:-} n

	n=$(grep -c '' "$dir/err")
	[ "$n" -eq 1 ] || t_fail "stderr has $n lines, expected exactly one"
	grep -q '^lockwatch: ' "$dir/err" || t_fail "stderr does not start with \"lockwatch: \""
	[ -z "$re" ] || grep -Eqi -- "$re" "$dir/err" || t_fail "stderr does not match /$re/"
}

t_grep()
{
	local desc=$1 dir=$2 re=$3

	grep -Eq -- "$re" "$dir/out" || t_fail "$desc: stdout has no line matching /$re/"
}

# --- processes that cannot be inspected ---

# A PID no process or thread uses: that of a process that just exited.
unused_pid()
{
	local pid

	true &
	pid=$!
	wait "$pid"
	while [ -e "/proc/$pid" ]; do
		pid=$((pid + 1))
	done
	echo "$pid"
}

# A kernel thread: kthreadd (pid 2) unless this is a PID namespace without it.
kernel_thread()
{
	local stat flags pid

	for pid in 2 /proc/[0-9]*; do
		pid=${pid#/proc/}
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		flags=$(echo "$stat" | awk '{ print $7 }')
		# PF_KTHREAD
		if [ $((flags & 0x00200000)) -ne 0 ]; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

is_zombie()
{
	[ "$(proc_state "$1")" = Z ]
}

# zombie_start FILE: a zombie whose parent (ZOMBIE_PARENT, ended with bg_stop)
# never reaps it; its PID goes to FILE.
zombie_start()
{
	local zfile=$1

	# bash forks a child and becomes "sleep 600", which never reaps it; the
	# child exits only once that exec is done (bash itself would reap it).
	bg_start bash -c '
		(until [ "$(cat /proc/$$/comm)" = sleep ]; do sleep 0.01; done) &
		echo $! >"$1"
		exec sleep 600' zombie-parent "$zfile"
	ZOMBIE_PARENT=$BG_PID
	wait_until 10 test -s "$zfile" || return 1
	wait_until 10 is_zombie "$(cat "$zfile")"
}

# --- requirements ---

# lw_require_root_bpf: skips the whole file where lockwatch cannot run at all.
lw_require_root_bpf()
{
	[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root"
	[ -r /sys/kernel/btf/vmlinux ] || tap_skip_all "no kernel BTF (/sys/kernel/btf/vmlinux)"
	[ -d /sys/kernel/tracing/events ] || [ -d /sys/kernel/debug/tracing/events ] ||
		tap_skip_all "tracefs not mounted (scripts/install-deps.sh mounts it)"
	if command -v bpftool >/dev/null; then
		bpftool prog show >/dev/null 2>&1 || tap_skip_all "BPF unavailable (bpftool prog show failed)"
	fi
	command -v jq >/dev/null || tap_bail "jq is not installed"
}

# lw_require_built PROG...: the binary and the test programs exist.
lw_require_built()
{
	local prog

	[ -x "$LW_BIN" ] || tap_bail "$LW_BIN is not built (run make)"
	for prog in "$@"; do
		[ -x "$LW_PROGS/$prog" ] || tap_bail "$LW_PROGS/$prog is not built (run make)"
	done
}
