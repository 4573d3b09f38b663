#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# outputs.t - the files lockwatch keeps for the tools a host already runs:
# --log-file (JSON lines appended; the same alert again within a minute
# counted, not written; SIGHUP after a rename, as logrotate does, opens the
# file anew with nothing lost) and --metrics-file (Prometheus text that
# promtool accepts, replaced whole, its values those of the run) and
# --on-alert (a command per deadlock-class alert, the JSON on its stdin,
# never waited for), against real programs; and the one-line errors for
# places that cannot be written.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built deadlock healthy
# scripts/install-deps.sh takes it out of Debian's prometheus package
PROMTOOL=${LW_PROMTOOL:-/var/cache/lockwatch/bin/promtool}
[ -x "$PROMTOOL" ] || tap_bail "$PROMTOOL missing (scripts/install-deps.sh puts it there)"

DL=$LW_PROGS/deadlock
HEALTHY=$LW_PROGS/healthy

# metric FILE NAME: the value of the sample NAME (with its labels) in FILE
metric()
{
	awk -v n="$2" '$1 == n { print $2 }' "$1"
}

# lines_of FILE KIND: how many JSON lines of FILE are of KIND
lines_of()
{
	jq -s --arg k "$2" 'map(select(.kind == $k)) | length' "$1" 2>/dev/null
}

test_log_file()
{
	local dir log n0 n1 all

	dir=$(lw_dir log-file)
	log=$dir/alerts.log
	t_begin "--log-file: a long wait again and again, one line and a count; SIGHUP after a rename"
	lw_spawn "$dir" --json --log-file "$log" --wait-threshold 1 --duration 8 \
		-- "$HEALTHY" slowholds 7
	wait_until 10 eval '[ "$(lines_of "$log" long_wait)" -ge 1 ]' ||
		t_fail "no long_wait line in the log in 10 s"
	# logrotate: move it away, then SIGHUP
	mv "$log" "$log.1"
	kill -HUP "$(cat "$dir/pid")"
	lw_reap "$dir"
	t_rc "$dir" 0
	all=$(jq -s 'map(select(.kind == "long_wait")) | length' "$dir/out")
	n0=$(lines_of "$log.1" long_wait)
	n1=$(lines_of "$log" long_wait)
	[ "$all" -ge 3 ] || t_fail "stdout has $all long_wait alerts, expected 3 or more"
	[ "$n0" = 1 ] || t_fail "the rotated log has $n0 long_wait lines, expected the first only"
	[ "$n1" = 0 ] || t_fail "the new log has $n1 long_wait lines, expected none (repeats)"
	jq -e -s '.[0] == $a[0]' --slurpfile a <(jq -c 'select(.kind == "long_wait")' "$dir/out" |
		head -n 1) "$log.1" >/dev/null 2>&1 ||
		t_fail "the logged line is not stdout's first long_wait record"
	jq -e -s 'length == 1 and .[0].kind == "summary" and .[0].suppressed == ($all - 1)' \
		--argjson all "$all" "$log" >/dev/null 2>&1 ||
		t_fail "the new log is not one summary line counting the $((all - 1)) left out"
	t_end
}

test_metrics()
{
	local dir prom

	dir=$(lw_dir metrics)
	prom=$dir/lockwatch.prom
	t_begin "--metrics-file on a deadlock: promtool accepts it, its values are the run's"
	lw_spawn "$dir" --json --metrics-file "$prom" --duration 4 -- "$DL" abba
	wait_until 10 eval '[ "$(metric "$prom" lockwatch_deadlocks_total)" = 1 ]' ||
		t_fail "lockwatch_deadlocks_total never 1 in 10 s"
	cp "$prom" "$dir/during.prom"
	lw_reap "$dir"
	t_rc "$dir" 1
	for f in "$dir/during.prom" "$prom"; do
		"$PROMTOOL" check metrics <"$f" >"$f.check" 2>&1 ||
			t_fail "promtool check metrics $(basename "$f"): $(cat "$f.check")"
	done
	[ "$(metric "$dir/during.prom" 'lockwatch_alerts_total{kind="deadlock"}')" = 1 ] ||
		t_fail "during: alerts_total{kind=deadlock} is not 1"
	[ "$(metric "$dir/during.prom" 'lockwatch_blocked{type="thread"}')" -ge 2 ] ||
		t_fail "during: fewer than 2 threads blocked"
	[ "$(metric "$dir/during.prom" lockwatch_deadlocks_standing)" -ge 1 ] ||
		t_fail "during: no deadlock standing"
	awk '$1 == "lockwatch_longest_wait_seconds" { exit !($2 > 0) }' "$dir/during.prom" ||
		t_fail "during: longest wait is not > 0"
	[ "$(metric "$dir/during.prom" lockwatch_watched_processes)" -ge 1 ] ||
		t_fail "during: no watched process"
	[ "$(metric "$prom" 'lockwatch_alerts_total{kind="deadlock"}')" = \
		"$(lines_of "$dir/out" deadlock)" ] || t_fail "at the end: alerts_total is not stdout's"
	[ "$(metric "$prom" lockwatch_events_total)" = "$(jq -s '.[-1].events' "$dir/out")" ] ||
		t_fail "at the end: events_total is not the summary's"
	awk '$1 == "lockwatch_cpu_seconds_total" { exit !($2 > 0) }
	     $1 == "lockwatch_max_resident_memory_bytes" { exit !($2 > 1000000) }' "$prom" ||
		t_fail "at the end: lockwatch's CPU or RSS is not there"
	[ ! -e "$prom.tmp" ] || t_fail "the file written aside is left behind"
	t_end
}

test_on_alert()
{
	local dir cmd pid

	dir=$(lw_dir on-alert)
	t_begin "--on-alert: the deadlock's JSON and pids to the command; a slow command holds nothing up"
	# shellcheck disable=SC2016 # the command's own variables
	cmd='cat >"$LW_OUT/alert.json"; echo "$LOCKWATCH_KIND $LOCKWATCH_PID $LOCKWATCH_PIDS" >"$LW_OUT/env"; echo noise-from-the-command; exec sleep 29.7'
	LW_OUT=$dir lw_run "$dir" --json --on-alert "$cmd" --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	t_json_lines "$dir"
	awk '{ exit !($1 < 10) }' <<<"$(lw_elapsed "$dir")" ||
		t_fail "lockwatch took $(lw_elapsed "$dir") s: it waited for the command"
	wait_until 5 test -s "$dir/env" || t_fail "the command did not run"
	pid=$(jq -s 'map(select(.kind == "deadlock"))[0].processes[0].pid' "$dir/out")
	[ "$(cat "$dir/env" 2>/dev/null)" = "deadlock $pid $pid" ] ||
		t_fail "its environment: $(cat "$dir/env" 2>/dev/null), expected deadlock $pid $pid"
	jq -e -s '.[0] == $a[0]' --slurpfile a <(jq -c 'select(.kind == "deadlock")' "$dir/out") \
		"$dir/alert.json" >/dev/null 2>&1 || t_fail "its stdin is not the deadlock's JSON line"
	pgrep -f "sleep 29.7" >/dev/null || t_fail "the command did not go on after lockwatch"
	wait_until 5 grep -q noise-from-the-command "$dir/err" ||
		t_fail "what the command printed is not on lockwatch's stderr"
	pkill -f "sleep 29.7"
	t_end

	dir=$(lw_dir on-alert-not)
	t_begin "--on-alert on a long wait (not deadlock-class): no command, the alert on stdout"
	lw_run "$dir" --json --on-alert "touch $dir/ran" --wait-threshold 1 --duration 20 \
		-- "$HEALTHY" slowhold 4
	t_rc "$dir" 0
	[ "$(lines_of "$dir/out" long_wait)" = 1 ] || t_fail "no long_wait alert on stdout"
	sleep 0.5
	[ ! -e "$dir/ran" ] || t_fail "the command ran for a long wait"
	t_end
}

test_bad_places()
{
	local dir

	dir=$(lw_dir bad-places)
	t_begin "--log-file and --metrics-file where nothing can be written: exit 4, one line"
	lw_run "$dir" --log-file /nonexistent/dir/a.log --duration 1 -- /bin/true
	t_rc "$dir" 4
	t_stderr_line "$dir" "--log-file: cannot open /nonexistent/dir/a.log: No such file"
	lw_run "$dir" check --metrics-file /nonexistent/dir/m.prom 1
	t_rc "$dir" 4
	t_stderr_line "$dir" "--metrics-file: cannot write /nonexistent/dir/m.prom"
	t_end
}

tap_plan 5
test_log_file
test_metrics
test_on_alert
test_bad_places
tap_finish
