# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2016,SC2034 # jq filters are single-quoted; globals for the .t files
# lib-attach.sh - helpers for the tests of state at attach (attach.t, kinds.t,
# xproc.t): programs that are already hung when lockwatch arrives
# (tests/hang.c, tests/deadlock.c), "lockwatch check PID", and the checks on
# alerts that span processes.  Sourced after lib.sh.

HANG=$LW_PROGS/hang
DL=$LW_PROGS/deadlock

JQ_DEFS+='
def dl_alerts: map(select(.kind == "deadlock" or .kind == "orphaned_lock"));
def orphans: map(select(.kind == "orphaned_lock"));
def orphan: orphans[0];
def records: map(select(.kind != "summary"));
'

# --- a process that is already hung ---

# task_blocked PID TID: the thread sleeps in futex(2) (state S, syscall 202).
task_blocked()
{
	local stat sc

	stat=$(cat "/proc/$1/task/$2/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" = S ] || return 1
	sc=$(cat "/proc/$1/task/$2/syscall" 2>/dev/null) || return 1
	[ "${sc%% *}" = 202 ]
}

# proc_hung PID N: PID has exactly N threads and every one sleeps in futex(2).
proc_hung()
{
	local pid=$1 n=$2 t count=0

	for t in /proc/"$pid"/task/*; do
		[ -d "$t" ] || return 1
		task_blocked "$pid" "${t##*/}" || return 1
		count=$((count + 1))
	done
	[ "$count" -eq "$n" ]
}

# wait_hung PID N: waits until proc_hung holds, and still holds 300 ms later.
wait_hung()
{
	wait_until 15 proc_hung "$1" "$2" || return 1
	sleep 0.3
	proc_hung "$1" "$2"
}

# hang_start NAME MODE [ARG]: starts "hang MODE ARG" in the background (its
# stderr in LW_TMP/NAME.hang/stderr) and waits for its ready line: the hang
# formed, or the processes run.  Sets HANG_PID (the program), HANG_DIR and
# HANG_NRS (the numbers on the ready line: the PIDs, parent first; for orphan,
# then the leaker's TID).  Fails the current test when it does not get ready.
hang_start()
{
	local name=$1 word rest

	shift
	HANG_DIR=$(lw_dir "$name.hang")
	HANG_NRS=()
	bg_start env LW_READY_FILE="$HANG_DIR/ready" "$HANG" "$@" 2>"$HANG_DIR/stderr"
	HANG_PID=$BG_PID
	wait_until 20 hang_ready_or_gone
	if [ ! -s "$HANG_DIR/ready" ]; then
		t_fail "hang $*: no ready line ($(proc_gone "$HANG_PID" && echo exited || echo "20 s passed")); stderr: $(tr '\n' ' ' <"$HANG_DIR/stderr")"
		return 1
	fi
	read -r word rest <"$HANG_DIR/ready"
	read -r -a HANG_NRS <<<"$rest"
	[ "$word" = ready ] || {
		t_fail "hang $*: bad ready line: $word $rest"
		return 1
	}
}

hang_ready_or_gone()
{
	[ -s "$HANG_DIR/ready" ] || proc_gone "$HANG_PID"
}

# hang_stop PID: ends a program and the children it forked (which also die
# with it, by PR_SET_PDEATHSIG).
hang_stop()
{
	pkill -KILL -P "$1" 2>/dev/null
	bg_stop "$1"
}

# --- lockwatch check ---

# lw_check DIR ARGS...: "lockwatch check ARGS".
lw_check()
{
	local dir=$1

	shift
	lw_run "$dir" check "$@"
}

# lw_ms DIR: wall time of a captured run in milliseconds.
lw_ms()
{
	echo "$(cat "$1/start") $(cat "$1/end")" | awk '{ printf "%d", ($2 - $1) * 1000 }'
}

# t_no_alert DIR: JSON lines ending in a summary, and no record but the summary.
t_no_alert()
{
	local dir=$1

	t_json_lines "$dir"
	t_jq "no deadlock-class alert" "$dir" 'dl_alerts | length == 0'
	t_jq "no alert record at all" "$dir" 'records | length == 0'
}

# t_cycle DIR EDGE...: exactly one deadlock alert, whose cycle is exactly the
# edges "waiter:type:lock:holder" (thread names, waits_for type and name; a
# lock "*" is not checked by name), a closed chain of distinct waiters, each
# waiter and holder with its own pid, every pid listed in "processes", and one
# "locks" entry per lock of the cycle with the same key and holder.
t_cycle()
{
	local dir=$1 n=$(($# - 1)) e w t l h

	shift
	t_json_lines "$dir"
	t_jq "exactly one deadlock alert" "$dir" 'alerts | length == 1'
	t_jq "no orphaned_lock alert" "$dir" 'orphans | length == 0'
	t_jq "alert: summary is text" "$dir" 'alert.summary | type == "string" and length > 0'
	t_jq "cycle has $n edge(s)" "$dir" 'alert.cycle | length == $n' --argjson n "$n"
	for e in "$@"; do
		IFS=: read -r w t l h <<<"$e"
		t_jq "edge: thread $w waits for $t ${l/#\*/(any name)}, held by thread $h" "$dir" \
			'any(alert.cycle[]; .waiter.type == "thread" and .waiter.name == $w and
			 .waits_for.type == $t and ($l == "*" or .waits_for.name == $l) and
			 .held_by.type == "thread" and .held_by.name == $h)' \
			--arg w "$w" --arg t "$t" --arg l "$l" --arg h "$h"
	done
	t_jq "cycle is a closed chain (each holder is the next waiter)" "$dir" \
		'alert.cycle as $c | all(range($c | length);
			$c[.].held_by.tid == $c[(. + 1) % ($c | length)].waiter.tid and
			$c[.].held_by.pid == $c[(. + 1) % ($c | length)].waiter.pid)'
	t_jq "cycle: numeric pids and tids, distinct waiters" "$dir" \
		'alert.cycle | all(.[]; (.waiter.pid | type == "number") and
			(.waiter.tid | type == "number") and (.held_by.pid | type == "number") and
			(.held_by.tid | type == "number")) and
		 ([.[].waiter.tid] | unique | length) == length'
	t_jq "processes: every pid of the cycle, each once" "$dir" \
		'[alert.processes[].pid] as $p | ($p | unique | length) == ($p | length) and
		 ([alert.cycle[] | .waiter.pid, .held_by.pid] | unique) == ($p | unique)'
	t_jq "cycle: every lock has a key and a hex addr" "$dir" \
		'all(alert.cycle[] | select(.waits_for.type != "thread_exit");
			(.waits_for.key | type == "string" and length > 0) and
			(.waits_for.addr | test("^0x[0-9a-f]+$")))'
	# A join waits for a thread, not a lock: no "locks" entry needed.
	t_jq "locks: one per cycle lock, same key, type and holder" "$dir" \
		'alert as $a | all($a.cycle[] | select(.waits_for.type != "thread_exit");
			. as $e | any($a.locks[];
			.key == $e.waits_for.key and .type == $e.waits_for.type and
			.holder.tid == $e.held_by.tid and .holder.pid == $e.held_by.pid))'
}

# t_waiter_pid DIR THREAD PID: the cycle's waiter THREAD belongs to PID.
t_waiter_pid()
{
	t_jq "thread $2 is in pid $3" "$1" \
		'any(alert.cycle[]; .waiter.name == $w and .waiter.pid == $p)' \
		--arg w "$2" --argjson p "$3"
}

# t_frames DIR FILE THREAD FUNCTION...: THREAD's stack (in the first
# deadlock-class alert) has each FUNCTION at FILE:LINE.
t_frames()
{
	local dir=$1 file=$2 thread=$3 f

	shift 3
	for f in "$@"; do
		t_jq "thread $thread: stack has $f at $file:LINE" "$dir" \
			'any(dl_alerts[0].threads[] | select(.name == $t) | .stack[];
			     .function == $f and ((.file // "") | endswith($file)) and
			     (.line // 0) > 0)' --arg t "$thread" --arg f "$f" --arg file "$file"
	done
}

# --- shared locks: keys by backing object ---

# map_of PID ADDR: the line of /proc/PID/maps whose range holds ADDR (hex).
map_of()
{
	local pid=$1 addr=$(($2)) range rest lo hi

	while read -r range rest; do
		lo=$((16#${range%-*}))
		hi=$((16#${range#*-}))
		if [ "$addr" -ge "$lo" ] && [ "$addr" -lt "$hi" ]; then
			echo "$range $rest"
			return 0
		fi
	done <"/proc/$pid/maps"
	return 1
}

# expected_key_tail PID ADDR: "INODE OFFSET" (decimal) of the shared object
# backing ADDR in PID, from /proc/PID/maps: the inode of the mapping and
# ADDR - start + the mapping's file offset.
expected_key_tail()
{
	local pid=$1 addr=$(($2)) line range off inode

	line=$(map_of "$pid" "$2") || return 1
	read -r range _ off _ inode _ <<<"$line"
	echo "$inode $((addr - 16#${range%-*} + 16#$off))"
}

# t_shared_keys DIR PREFIX: every lock of the cycle has the key
# "PREFIX:DEV:INODE:OFFSET" of its backing object as the kernel sees it in the
# waiter's process (/proc/PID/maps), OFFSET decimal or 0x-hex, and distinct
# locks have distinct keys.  Prints "KEY ADDR PID" per edge to $dir/keys.
t_shared_keys()
{
	local dir=$1 prefix=$2 key addr pid want ino off k_ino k_off rest

	jq -r -s 'map(select(.kind == "deadlock"))[0].cycle[] |
		"\(.waits_for.key) \(.waits_for.addr) \(.waiter.pid)"' "$dir/out" \
		>"$dir/keys" 2>/dev/null
	[ -s "$dir/keys" ] || {
		t_fail "no cycle to read keys from"
		return
	}
	while read -r key addr pid; do
		case "$key" in
		"$prefix":*) ;;
		*)
			t_fail "key \"$key\" (addr $addr in pid $pid) does not start with \"$prefix:\""
			continue
			;;
		esac
		if ! want=$(expected_key_tail "$pid" "$addr"); then
			t_fail "addr $addr is in no mapping of pid $pid"
			continue
		fi
		read -r ino off <<<"$want"
		rest=${key#"$prefix":}
		k_off=${rest##*:}
		rest=${rest%:*}
		k_ino=${rest##*:}
		rest=${rest%:*}
		if [ -z "$rest" ] || [ "$rest" = "$k_ino" ]; then
			t_fail "key \"$key\" has no DEV part"
		fi
		[ "$k_ino" = "$ino" ] ||
			t_fail "key \"$key\": inode $k_ino, but pid $pid maps $addr from inode $ino"
		if ! [[ "$k_off" =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]] || [ $((k_off)) -ne "$off" ]; then
			t_fail "key \"$key\": offset $k_off, but $addr is at offset $off of inode $ino in pid $pid"
		fi
	done <"$dir/keys"
	[ "$(cut -d' ' -f1 "$dir/keys" | sort -u | wc -l)" -eq "$(wc -l <"$dir/keys")" ] ||
		t_fail "two locks of the cycle have the same key"
}
