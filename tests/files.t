#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# files.t - without the kernel module, lockwatch writes the files of
# kmod/FORMAT.md under /run/lockwatch: readable with cat while it watches,
# one whole snapshot per file (matching generation header and trailer, the
# line count right), the deadlock in the graph and the counters, and marked
# stale once it exits. --sysfs without the module is a clear error.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock

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

tap_plan 2
test_files
test_sysfs_missing
tap_finish
