#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# xproc.t - deadlocks across processes on process-shared mutexes in shared
# memory (tests/hang.c), found by "lockwatch check PID" from any process of
# the cycle: through an anonymous shared mapping inherited across fork, through
# a file mapped at other addresses and another mapping offset in each process,
# and a cycle of three processes.  A shared lock's key names its backing object
# (shmem:DEV:INODE:OFFSET, file:DEV:INODE:OFFSET), checked against
# /proc/PID/maps of the waiter.  True negative: two processes taking shared
# mutexes in one order under load, watched and checked. Two processes in a
# PID namespace of their own, whose locks name the namespace's TIDs.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built hang

# Where hang.c puts the table in the file: page 2, 256 bytes in.
FILE_LEFT_FORK=$(($(getconf PAGESIZE) + 256))
FILE_RIGHT_FORK=$((FILE_LEFT_FORK + 40))

# t_comms DIR PID:COMM...: "processes" has exactly these pids, with these comms.
t_comms()
{
	local dir=$1 pc want

	shift
	want=$(for pc in "$@"; do echo "{\"pid\": ${pc%%:*}, \"comm\": \"${pc#*:}\"}"; done |
		jq -s -c 'sort_by(.pid)')
	t_jq "processes: $*" "$dir" \
		'[alert.processes[] | {pid, comm}] | sort_by(.pid) == $w' --argjson w "$want"
}

# t_same_keys DIR1 DIR2: the two checks saw the same locks under the same keys,
# each waited for by the same process.
t_same_keys()
{
	cmp -s <(cut -d' ' -f1,3 "$1/keys" | sort) <(cut -d' ' -f1,3 "$2/keys" | sort) ||
		t_fail "the keys differ between the checks of the two pids: $(tr '\n' ' ' <"$1/keys")/ $(tr '\n' ' ' <"$2/keys")"
}

# check_pair DIR NAME KIND WHO: "check WHO --json" on the processes NAME-a
# (HANG_NRS[0]) and NAME-b (HANG_NRS[1]) in AB-BA: exit 1, the cycle with both,
# keys KIND:...
check_pair()
{
	local dir=$1 prefix=$2 kind=$3 who=$4 a=${HANG_NRS[0]:-0} b=${HANG_NRS[1]:-0}

	lw_check "$dir" "$who" --json
	t_rc "$dir" 1
	t_cycle "$dir" "$prefix-a:mutex:*:$prefix-b" "$prefix-b:mutex:*:$prefix-a"
	t_comms "$dir" "$a:$prefix-a" "$b:$prefix-b"
	t_waiter_pid "$dir" "$prefix-a" "$a"
	t_waiter_pid "$dir" "$prefix-b" "$b"
	t_jq "each edge: holder in the other process" "$dir" \
		'all(alert.cycle[]; .waiter.pid != .held_by.pid)'
	t_shared_keys "$dir" "$kind"
}

test_shared_anon()
{
	local dir

	dir=$(lw_dir anon-parent)
	t_begin "shared-anon: AB-BA of two processes over MAP_SHARED|MAP_ANONYMOUS: check PARENT"
	hang_start shared-anon shared-anon
	check_pair "$dir" diner shmem "${HANG_NRS[0]:-0}"
	t_end
}

test_shared_anon_child()
{
	local dir

	dir=$(lw_dir anon-child)
	t_begin "shared-anon: check CHILD: the same cycle, the same keys"
	check_pair "$dir" diner shmem "${HANG_NRS[1]:-0}"
	t_same_keys "$LW_TMP/anon-parent" "$dir"
	t_end
}

# The pair is already hung: watching one of its processes must report the
# cycle at attach, following the shared lock into the other, as check does.
test_shared_anon_watch_one()
{
	local dir a=${HANG_NRS[0]:-0} b=${HANG_NRS[1]:-0}

	dir=$(lw_dir anon-watch-one)
	t_begin "shared-anon: -p PARENT alone, attached after the hang: exit 1, both pids"
	lw_run "$dir" --json --exit-on-deadlock --duration 10 -p "$a"
	t_rc "$dir" 1
	t_cycle "$dir" "diner-a:mutex:*:diner-b" "diner-b:mutex:*:diner-a"
	t_comms "$dir" "$a:diner-a" "$b:diner-b"
	t_shared_keys "$dir" shmem
	awk -v t="$(lw_elapsed "$dir")" 'BEGIN { exit !(t < 8) }' ||
		t_fail "took $(lw_elapsed "$dir") s: not reported at attach"
	hang_stop "$HANG_PID"
	t_end
}

# t_file_offsets DIR FILE: the keys name FILE's inode and the two forks' file
# offsets, whatever offset each process mapped the file at.
t_file_offsets()
{
	local dir=$1 file=$2 ino key offs=

	ino=$(stat -c %i "$file")
	while read -r key _; do
		[ "$(echo "$key" | awk -F: '{ print $(NF - 1) }')" = "$ino" ] ||
			t_fail "key \"$key\" does not name inode $ino of $file"
		offs+=" $((${key##*:}))"
	done <"$dir/keys"
	[ "$(echo "$offs" | tr ' ' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ')" = \
		"$FILE_LEFT_FORK $FILE_RIGHT_FORK " ] ||
		t_fail "key offsets are$offs, not $FILE_LEFT_FORK and $FILE_RIGHT_FORK"
}

# The same two processes in a PID namespace of their own (a container's):
# the owner TID a shared mutex holds is the namespace's, not the host's.
test_shared_anon_pidns()
{
	local dir ready ns parent child

	dir=$(lw_dir anon-pidns)
	ready=$LW_TMP/pidns.ready
	t_begin "shared-anon in a PID namespace: the owner TIDs are the namespace's; check PARENT"
	rm -f "$ready"
	bg_start unshare --pid --fork --mount-proc env LW_READY_FILE="$ready" "$HANG" shared-anon
	ns=$BG_PID
	wait_until 20 test -s "$ready" || t_fail "no ready line from hang in its namespace"
	parent=$(ps -o pid= --ppid "$ns" | tr -d ' ')
	child=$(ps -o pid= --ppid "$parent" 2>/dev/null | tr -d ' ' | head -n 1)
	[ -n "$parent" ] && [ -n "$child" ] || t_fail "no parent ($parent) or child ($child)"
	[ "$(awk '/^NSpid:/ { print NF - 1 }' "/proc/$parent/status")" = 2 ] ||
		t_fail "hang is not in a namespace of its own: $(grep NSpid "/proc/$parent/status")"
	lw_check "$dir" "$parent" --json
	t_rc "$dir" 1
	t_cycle "$dir" "diner-a:mutex:*:diner-b" "diner-b:mutex:*:diner-a"
	t_comms "$dir" "$parent:diner-a" "$child:diner-b"
	t_jq "no orphaned lock" "$dir" 'map(select(.kind == "orphaned_lock")) | length == 0'
	kill -KILL "$child" "$parent" "$ns" 2>/dev/null
	t_end
}

test_shared_file()
{
	local dir file=$LW_TMP/table.shm

	dir=$(lw_dir file-parent)
	t_begin "shared-file: AB-BA of two processes over a file mapped at other addresses: check PARENT"
	hang_start shared-file shared-file "$file"
	# hang.c says where each process maps the locks (and fails if at the same address).
	grep 'maps them at' "$HANG_DIR/stderr" | tap_diag
	check_pair "$dir" file file "${HANG_NRS[0]:-0}"
	t_file_offsets "$dir" "$file"
	t_end
}

test_shared_file_child()
{
	local dir file=$LW_TMP/table.shm

	dir=$(lw_dir file-child)
	t_begin "shared-file: check CHILD: the same cycle, the same keys"
	check_pair "$dir" file file "${HANG_NRS[1]:-0}"
	t_file_offsets "$dir" "$file"
	t_same_keys "$LW_TMP/file-parent" "$dir"
	hang_stop "$HANG_PID"
	t_end
}

# POSIX shared memory (shm_open) is a file in /dev/shm's tmpfs: the same
# cycle, keyed by that object.
test_shared_posix_shm()
{
	local dir file=/dev/shm/lockwatch-test.$$

	dir=$(lw_dir posix-shm)
	t_begin "shared-file in /dev/shm (POSIX shm): the cycle keyed by that object"
	hang_start posix-shm shared-file "$file"
	check_pair "$dir" file file "${HANG_NRS[0]:-0}"
	t_file_offsets "$dir" "$file"
	hang_stop "$HANG_PID"
	rm -f "$file"
	t_end
}

test_three_proc()
{
	local dir a b c

	dir=$(lw_dir three-proc)
	t_begin "three-proc: a cycle of three processes over shared mutexes: check the middle one"
	hang_start three-proc three-proc
	a=${HANG_NRS[0]:-0} b=${HANG_NRS[1]:-0} c=${HANG_NRS[2]:-0}
	lw_check "$dir" "$b" --json
	t_rc "$dir" 1
	t_cycle "$dir" "ring-a:mutex:*:ring-b" "ring-b:mutex:*:ring-c" "ring-c:mutex:*:ring-a"
	t_comms "$dir" "$a:ring-a" "$b:ring-b" "$c:ring-c"
	t_waiter_pid "$dir" ring-a "$a"
	t_waiter_pid "$dir" ring-b "$b"
	t_waiter_pid "$dir" ring-c "$c"
	t_shared_keys "$dir" shmem
	hang_stop "$HANG_PID"
	t_end
}

test_shared_ordered()
{
	local wdir cdir a b who

	wdir=$(lw_dir ordered-watch)
	t_begin "shared-ordered: lockwatch -p PARENT -p CHILD --duration 6: exit 0, no alert"
	hang_start shared-ordered shared-ordered 12
	a=${HANG_NRS[0]:-0} b=${HANG_NRS[1]:-0}
	lw_spawn "$wdir" --json --duration 6 -p "$a" -p "$b" || t_fail "lockwatch did not start"
	# Checked meanwhile, from each side.
	for who in "$a" "$b"; do
		cdir=$(lw_dir "ordered-check-$who")
		lw_check "$cdir" "$who" --json
		t_rc "$cdir" 0
		t_no_alert "$cdir"
	done
	lw_reap "$wdir"
	t_rc "$wdir" 0
	t_no_alert "$wdir"
	t_jq "summary: waits > 0 (lockwatch saw the futex waits)" "$wdir" 'summary.waits > 0'
	t_jq "summary: duration_ms >= 5500" "$wdir" 'summary.duration_ms >= 5500'
	if [ ! -d "/proc/$a" ] || [ ! -d "/proc/$b" ]; then
		t_fail "a watched process is gone"
	fi
	hang_stop "$HANG_PID"
	t_end
}

tap_plan 9
test_shared_anon
test_shared_anon_child
test_shared_anon_watch_one
test_shared_anon_pidns
test_shared_file
test_shared_file_child
test_shared_posix_shm
test_three_proc
test_shared_ordered
tap_finish
