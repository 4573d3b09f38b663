#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# soak.t - lockwatch watching the whole host while programs nobody here
# wrote hammer locks: stress-ng's mutex, futex, semaphore and pthread
# stressors and sysbench's mutex and threads tests, PostgreSQL under pgbench
# (16 clients), beside an asyncio server under load (tests/pyhealthy.py
# server-busy). Run as root, stress-ng's mutex stressor puts its threads in
# SCHED_FIFO: the CPUs are theirs but for the 5% the kernel keeps for
# everyone else, lockwatch included. Halfway through a real deadlock forms
# (tests/deadlock.c abba). At the end: that deadlock was found, nothing was
# said about any of the others, lockwatch kept its --duration, the summary
# counts what was dropped, and lockwatch's memory stayed bounded.
#
# LW_SOAK_SECS sets how long (default 60); `make soak` runs 600.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built deadlock
for c in stress-ng sysbench; do
	command -v "$c" >/dev/null || tap_bail "$c missing (Debian package $c)"
done
PGBIN=${LW_PGBIN:-/var/cache/lockwatch/postgresql/usr/lib/postgresql/15/bin}
for c in initdb pg_ctl postgres pgbench; do
	[ -x "$PGBIN/$c" ] || tap_bail "$PGBIN/$c missing (scripts/install-deps.sh puts it there)"
done

SECS=${LW_SOAK_SECS:-60}
PY=${LW_PYTHON:-/usr/bin/python3.11}
RSS_MAX_KB=262144 # 256 MiB

# pg_run DIR CMD ARGS...: a PostgreSQL program as nobody (the server will
# not run as root), its output into DIR/pg.log
pg_run()
{
	local dir=$1 cmd=$2

	shift 2
	runuser -u nobody -- "$PGBIN/$cmd" "$@" >>"$dir/pg.log" 2>&1
}

# pg_start DIR: a cluster of its own in DIR/pg, on a socket there only (no
# TCP), tables for pgbench at scale 4; PG_PID the postmaster
pg_start()
{
	local dir=$1

	chmod 711 "$LW_TMP" "$dir" # nobody reaches DIR/pg, and no further
	mkdir "$dir/pg" && chown nobody "$dir/pg" || return 1
	pg_run "$dir" initdb -D "$dir/pg/data" -A trust --no-sync --no-locale -E UTF8 -U lw &&
		pg_run "$dir" pg_ctl -D "$dir/pg/data" -l "$dir/pg/server.log" -w start \
			-o "-k $dir/pg -c listen_addresses= -c fsync=off -c max_connections=40" &&
		PG_PID=$(head -n 1 "$dir/pg/data/postmaster.pid") &&
		LW_BG_PIDS+=("$PG_PID") &&
		pg_run "$dir" pgbench -h "$dir/pg" -U lw -i -s 4 postgres
}

pg_stop()
{
	pg_run "$1" pg_ctl -D "$1/pg/data" -m immediate stop
	lw_forget "$PG_PID"
}

test_soak()
{
	local dir load=() dl p pids

	t_begin "whole host for $SECS s under stress-ng, sysbench, PostgreSQL and an asyncio server: the deadlock started halfway found, nothing else said"
	dir=$(lw_dir soak)
	pg_start "$dir" || t_fail "PostgreSQL did not start: $(tail -n 3 "$dir/pg.log")"
	LW_TIMEOUT=$((SECS + 60)) lw_spawn "$dir" --json --no-sysfs --duration "$((SECS + 5))" ||
		t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach"
	bg_start stress-ng --mutex 2 --futex 2 --sem 2 --pthread 1 --timeout "${SECS}s" --quiet
	load+=("$BG_PID")
	bg_start sysbench mutex --threads=4 --mutex-num=64 --mutex-locks=100000 \
		--time="$SECS" --events=0 run
	load+=("$BG_PID")
	bg_start sysbench threads --threads=8 --thread-locks=4 --time="$SECS" --events=0 run
	load+=("$BG_PID")
	bg_start "$PY" "$LW_ROOT/tests/pyhealthy.py" server-busy "$SECS"
	load+=("$BG_PID")
	bg_start timeout $((SECS + 30)) runuser -u nobody -- "$PGBIN/pgbench" -h "$dir/pg" -U lw -c 16 -j 2 -n \
		-T "$SECS" postgres >"$dir/pgbench.out" 2>&1
	load+=("$BG_PID" "$PG_PID")
	sleep $((SECS / 2))
	# every process of the load now (stress-ng forks its workers, the
	# postmaster a backend for each client)
	pids=$(for p in "${load[@]}"; do echo "$p"; pgrep -P "$p"; done | sort -un | paste -sd, -)
	tap_diag <<<"soak: $(ps -eLo cls= | grep -c FF) threads in SCHED_FIFO, $(pgrep -c -P "$PG_PID") PostgreSQL processes"
	bg_start "$LW_PROGS/deadlock" abba
	dl=$BG_PID
	lw_reap "$dir"
	bg_stop "$dl"
	wait "${load[4]}" # pgbench, to its report
	pg_stop "$dir"
	for p in "${load[@]}"; do bg_stop "$p"; done
	t_json_lines "$dir"
	t_jq "the deadlock: poster and auditor, once" "$dir" \
		'[.[] | select(.kind == "deadlock" and any(.processes[]; .pid == $p))] |
		 length == 1 and ([.[0].cycle[].waiter.name] | sort) == ["auditor", "poster"]' \
		--argjson p "$dl"
	t_jq "no alert of any kind about the load" "$dir" \
		'[.[] | select(.kind != "summary" and any(.processes[]?; .pid as $q | $load | index($q)))] |
		 length == 0' --argjson load "[$pids]"
	t_jq "it saw the load: over 100,000 waits" "$dir" 'summary.waits > 100000'
	grep -q '^number of failed transactions: 0 ' "$dir/pgbench.out" &&
		grep -q '^number of transactions actually processed: [1-9]' "$dir/pgbench.out" ||
		t_fail "pgbench did not run its transactions: $(tail -n 3 "$dir/pgbench.out")"
	t_jq "it kept its --duration of $((SECS + 5)) s (within 3 s)" "$dir" \
		'summary.duration_ms < $d' --argjson d "$(((SECS + 8) * 1000))"
	t_jq "drops and untracked waits counted (numbers)" "$dir" \
		'summary | (.drops | type == "number") and (.waits_full | type == "number") and
		 (.waits_over_share | type == "number")'
	t_jq "lockwatch's peak memory under $((RSS_MAX_KB / 1024)) MiB" "$dir" \
		'summary.max_rss_kb < $m' --argjson m "$RSS_MAX_KB"
	tap_diag <<<"soak: $(jq -s -c '.[-1] | {duration_ms, waits, events, drops, waits_full, waits_over_share, alerts, cpu_ms, max_rss_kb}' "$dir/out")"
	tap_diag <<<"soak: the deadlock reported $(jq -s '[.[] | select(.kind == "deadlock") | .threads[].blocked_for_ms] | min' "$dir/out") ms after it formed; pgbench: $(grep -h '^tps' "$dir/pgbench.out")"
	t_end
}

tap_plan 1
test_soak
tap_finish
