#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# files.t - without the kernel module, lockwatch writes the files of
# kmod/FORMAT.md under /run/lockwatch: readable with cat while it watches,
# one whole snapshot per file (matching generation header and trailer, the
# line count right), the deadlock in the graph and the counters - a native
# one and an asyncio one alike - and marked stale once it exits. After an
# alert, when the deadlocked process is gone and the graph empties, every
# file is still whole and stale stays 0. --sysfs without the module is a
# clear error. A /run/lockwatch that is not root's alone is not used.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock

PY=${LW_PYTHON:-/usr/bin/python3.11}
[ -x "$PY" ] || tap_bail "$PY is missing (scripts/install-deps.sh installs python3.11)"

RUN=/run/lockwatch

# whole FILE KIND: header and trailer name one generation, and "lines=N" of
# lines lie between them.
whole()
{
	awk -v kind="lockwatch-$2" '
		NR == 1 { ok = $1 == kind && $2 == 1; split($3, g, "="); split($4, l, "=") }
		END { split($0, t, "="); exit !(ok && $1 ~ /^end/ && t[2] == g[2] && NR == l[2] + 2) }
	' "$1"
}

test_files()
{
	local dir pid f

	dir=$(lw_dir files)
	t_begin "watching abba with --no-sysfs: the files under $RUN, read while it runs"
	bg_start "$DL" abba
	pid=$BG_PID
	wait_hung "$pid" 3 || t_fail "deadlock abba did not hang"
	lw_spawn "$dir" --json --no-sysfs --duration 4 -p "$pid" || t_fail "lockwatch did not start"
	wait_until 10 test -s "$RUN/graph" || t_fail "no $RUN/graph"
	sleep 1.5
	for f in version generation deadlocks blocked_threads tracked_locks updated daemon_pid stale; do
		[ "$(wc -l <"$RUN/$f")" -eq 1 ] || t_fail "$RUN/$f is not one line"
	done
	[ "$(cat "$RUN/version")" = 1 ] || t_fail "version is not 1"
	[ "$(cat "$RUN/stale")" = 0 ] || t_fail "stale is not 0 while lockwatch runs"
	[ "$(cat "$RUN/daemon_pid")" = "$(cat "$dir/pid")" ] || t_fail "daemon_pid is not lockwatch's"
	[ "$(cat "$RUN/deadlocks")" = 1 ] || t_fail "deadlocks is $(cat "$RUN/deadlocks"), not 1"
	[ "$(cat "$RUN/blocked_threads")" -ge 2 ] || t_fail "fewer than 2 blocked threads"
	grep -Eq '^[0-9]+\.[0-9]{9}$' "$RUN/updated" || t_fail "updated is not SECONDS.NANOSECONDS"
	whole "$RUN/graph" graph || t_fail "graph is not one whole snapshot"
	whole "$RUN/alerts" alerts || t_fail "alerts is not one whole snapshot"
	grep -Eq "^wait pid=$pid tid=[0-9]+ comm=poster type=mutex .* name=journal " "$RUN/graph" ||
		t_fail "graph: poster waiting for journal missing"
	grep -Eq "^wait pid=$pid tid=[0-9]+ comm=auditor type=mutex .* name=ledger " "$RUN/graph" ||
		t_fail "graph: auditor waiting for ledger missing"
	grep -Eq "^alert time=[0-9.]+ kind=deadlock pids=$pid summary=" "$RUN/alerts" ||
		t_fail "alerts: the deadlock missing"
	[ "$(stat -c %a "$RUN/graph")" = 400 ] || t_fail "graph is readable by others"
	lw_reap "$dir"
	t_rc "$dir" 1
	[ "$(cat "$RUN/stale")" = 1 ] || t_fail "stale is not 1 after lockwatch exited"
	[ "$(cat "$RUN/daemon_pid")" = 0 ] || t_fail "daemon_pid is not 0 after lockwatch exited"
	bg_stop "$pid"
	t_end
}

# ours_with_deadlock DIR: the files are the lockwatch of DIR's, and show a
# deadlock (not a former run's).
ours_with_deadlock()
{
	[ "$(cat "$RUN/daemon_pid" 2>/dev/null)" = "$(cat "$1/pid")" ] &&
		[ "$(cat "$RUN/deadlocks")" = 1 ] && grep -q '^alert .*kind=deadlock' "$RUN/alerts"
}

# all_whole: every file of the snapshot is well-formed now.
all_whole()
{
	local f

	whole "$RUN/graph" graph || t_fail "graph is not one whole snapshot: $(head -n 1 "$RUN/graph")"
	whole "$RUN/alerts" alerts || t_fail "alerts is not one whole snapshot"
	for f in version generation deadlocks blocked_threads tracked_locks updated daemon_pid stale; do
		grep -Eqx '[0-9]+(\.[0-9]{9})?' "$RUN/$f" || t_fail "$RUN/$f is not one number: $(cat "$RUN/$f")"
	done
}

test_files_asyncio()
{
	local dir pid

	dir=$(lw_dir files-asyncio)
	t_begin "an asyncio deadlock in the files exactly as a native one: graph, deadlocks, blocked_threads"
	HANG=$PY hang_start files-asyncio "$LW_ROOT/tests/pyhang.py" abba || return
	pid=$HANG_PID
	lw_spawn "$dir" --json --no-sysfs --duration 5 -p "$pid" || t_fail "lockwatch did not start"
	wait_until 10 ours_with_deadlock "$dir" || t_fail "no deadlock in $RUN from this lockwatch"
	sleep 1.2
	[ "$(cat "$RUN/deadlocks")" = 1 ] || t_fail "deadlocks is $(cat "$RUN/deadlocks"), not 1"
	[ "$(cat "$RUN/blocked_threads")" -ge 2 ] || t_fail "fewer than 2 blocked"
	[ "$(cat "$RUN/stale")" = 0 ] || t_fail "stale is not 0 while lockwatch runs"
	all_whole
	grep -Eq "^wait pid=$pid tid=$pid .*type=asyncio\.Lock .* name=lock_b .* waiter_type=task waiter_name=transfer-ab waiter_addr=0x[0-9a-f]+$" "$RUN/graph" ||
		t_fail "graph: task transfer-ab waiting for asyncio.Lock lock_b missing"
	grep -Eq "^wait pid=$pid tid=$pid .*type=asyncio\.Lock .* name=lock_a holder_pid=$pid holder_tid=$pid blocked_ms=[0-9]+ waiter_type=task waiter_name=transfer-ba " "$RUN/graph" ||
		t_fail "graph: task transfer-ba waiting for asyncio.Lock lock_a missing"
	lw_reap "$dir"
	t_rc "$dir" 1
	hang_stop "$pid"
	t_end
}

# After an alert, the deadlocked process goes away and the graph empties:
# every file stays whole, stale stays 0 while lockwatch runs.
test_files_empty()
{
	local kind=$1 dir pid sleeper

	dir=$(lw_dir "files-empty-$kind")
	t_begin "$kind deadlock, alert, then the process killed: the emptied graph is whole, stale 0"
	if [ "$kind" = native ]; then
		bg_start "$DL" abba
		pid=$BG_PID
		wait_hung "$pid" 3 || t_fail "deadlock abba did not hang"
	else
		HANG=$PY hang_start "files-empty" "$LW_ROOT/tests/pyhang.py" store || return
		pid=$HANG_PID
	fi
	bg_start sleep 60
	sleeper=$BG_PID
	lw_spawn "$dir" --json --no-sysfs --duration 30 -p "$pid" -p "$sleeper" ||
		t_fail "lockwatch did not start"
	wait_until 10 ours_with_deadlock "$dir" || t_fail "no deadlock in $RUN from this lockwatch"
	bg_stop "$pid"
	wait_until 5 grep -q ' lines=0$' "$RUN/graph" || t_fail "the graph did not empty"
	sleep 1.5 # a heartbeat later, too
	all_whole
	[ "$(head -n 1 "$RUN/graph" | sed 's/.* lines=//')" = 0 ] || t_fail "graph is not empty"
	[ "$(cat "$RUN/stale")" = 0 ] || t_fail "stale is $(cat "$RUN/stale") while lockwatch runs"
	[ "$(cat "$RUN/deadlocks")" = 0 ] || t_fail "deadlocks is $(cat "$RUN/deadlocks"), not 0"
	[ "$(cat "$RUN/blocked_threads")" = 0 ] || t_fail "blocked_threads is not 0"
	grep -q '^alert .*kind=deadlock' "$RUN/alerts" || t_fail "alerts lost the deadlock"
	[ "$(cat "$RUN/daemon_pid")" = "$(cat "$dir/pid")" ] || t_fail "daemon_pid is not lockwatch's"
	kill -TERM "$(cat "$dir/pid")"
	lw_reap "$dir"
	t_rc "$dir" 1
	t_jq "lockwatch ran on: one alert, then a summary" "$dir" \
		'length == 2 and .[0].kind == "deadlock" and .[1].kind == "summary"'
	[ "$(cat "$RUN/stale")" = 1 ] || t_fail "stale is not 1 after lockwatch exited"
	bg_stop "$sleeper"
	t_end
}

test_sysfs_missing()
{
	local dir

	dir=$(lw_dir sysfs)
	t_begin "--sysfs without the module: exit 4, one line saying so"
	if [ -e /sys/kernel/lockwatch/publish ]; then
		t_end
		return
	fi
	lw_run "$dir" --sysfs --duration 1 -- true
	t_rc "$dir" 4
	t_stderr_line "$dir" 'module'
	t_end
}

# /run/lockwatch as anyone could have left it: a link to elsewhere, a
# directory others may write to, or not root's, is refused with one line and
# nothing is written there; a link planted where a file is written is
# replaced, not written through; a second lockwatch leaves the first one's
# files alone. The real directory is put back after.
run_dir_refused()
{
	local dir=$1 want=$2

	lw_run "$dir" --no-sysfs --duration 1 -- true
	t_rc "$dir" 0
	t_stderr_line "$dir" "not publishing under $RUN: $want; going on without it"
}

test_run_dir_hostile()
{
	local dir saved=$RUN.saved-$$ elsewhere=$LW_TMP/elsewhere victim=$LW_TMP/victim pid first

	t_begin "$RUN: a link, a directory others may write, not root's: refused; planted links and a second run do no harm"
	[ -e "$RUN" ] && mv "$RUN" "$saved"
	mkdir -p "$elsewhere"
	ln -s "$elsewhere" "$RUN"
	run_dir_refused "$(lw_dir run-link)" "it is not a directory \(a link, or a file\)"
	[ -z "$(ls -A "$elsewhere")" ] || t_fail "files were written through the link: $(ls -A "$elsewhere")"
	rm "$RUN"
	mkdir -m 0777 "$RUN"
	run_dir_refused "$(lw_dir run-0777)" "it is not root's own, or others may write to it"
	chmod 0755 "$RUN"
	chown 65534 "$RUN"
	run_dir_refused "$(lw_dir run-nobody)" "it is not root's own, or others may write to it"
	[ -z "$(ls -A "$RUN")" ] || t_fail "files were written in a refused directory: $(ls -A "$RUN")"
	chown 0 "$RUN"

	echo precious >"$victim"
	ln -s "$victim" "$RUN/.stale.tmp"
	ln -s "$victim" "$RUN/.generation.tmp"
	dir=$(lw_dir run-planted)
	lw_run "$dir" --no-sysfs --duration 1 -- true
	t_rc "$dir" 0
	[ "$(cat "$victim")" = precious ] || t_fail "written through a planted link: $(cat "$victim")"
	[ -f "$RUN/stale" ] && [ ! -L "$RUN/stale" ] && [ "$(cat "$RUN/stale")" = 1 ] ||
		t_fail "stale is not a file saying 1"

	bg_start "$DL" abba
	pid=$BG_PID
	wait_hung "$pid" 3 || t_fail "deadlock abba did not hang"
	first=$(lw_dir run-first)
	lw_spawn "$first" --json --no-sysfs --duration 5 -p "$pid" || t_fail "lockwatch did not start"
	wait_until 10 eval '[ "$(cat $RUN/daemon_pid 2>/dev/null)" = "$(cat "$first/pid")" ]' ||
		t_fail "the first lockwatch did not publish"
	dir=$(lw_dir run-second)
	lw_run "$dir" --json --no-sysfs --duration 1 -p "$pid"
	t_rc "$dir" 1
	t_stderr_line "$dir" "not publishing under $RUN: another lockwatch publishes there"
	[ "$(cat "$RUN/daemon_pid")" = "$(cat "$first/pid")" ] && [ "$(cat "$RUN/stale")" = 0 ] ||
		t_fail "the second run took over the first one's files"
	lw_reap "$first"
	t_rc "$first" 1
	bg_stop "$pid"

	rm -rf "$RUN"
	[ -e "$saved" ] && mv "$saved" "$RUN"
	t_end
}

tap_plan 6
test_files
test_files_asyncio
test_files_empty native
test_files_empty asyncio
test_sysfs_missing
test_run_dir_hostile
tap_finish
