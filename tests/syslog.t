#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# syslog.t - `--syslog[=SOCKET]`: each alert one RFC 5424 message to the
# system logger's socket - here one the test listens on (tests/syslogd.py),
# every message parsed strictly: facility daemon and severity by kind, the
# kind as MSGID, structured data naming the processes, threads, tasks and
# locks, the headline as MSG - against a real deadlock, thread names that
# try to break out of a value or the message, and a long wait. No logger
# listening: exit 4 and one line.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock healthy

DL=$LW_PROGS/deadlock
HEALTHY=$LW_PROGS/healthy
PY=${LW_PYTHON:-/usr/bin/python3.11}
SYSLOGD=$LW_ROOT/tests/syslogd.py
SOCK=$LW_TMP/log.sock
LOG=$LW_TMP/log

JQ_DEFS+='
def params($n): [.sd[] | select(.id == "lockwatch@32473") | .params[] | select(.[0] == $n) | .[1]];
'

HANG=$PY hang_start syslogd "$SYSLOGD" listen "$SOCK" "$LOG" ||
	tap_bail "tests/syslogd.py did not listen on $SOCK"

# mark: what the log holds now is not this test's
mark()
{
	wc -l <"$LOG" >"$LW_TMP/mark"
}

# messages DIR [MIN]: the messages since the mark, parsed, into DIR/syslog
# (one JSON object a line); waits up to 5 s for at least MIN (default 1).
messages()
{
	local dir=$1 min=${2:-1}

	wait_until 5 eval '[ "$(wc -l <"$LOG")" -ge $(($(cat "$LW_TMP/mark") + min)) ]'
	tail -n +$(($(cat "$LW_TMP/mark") + 1)) "$LOG" >"$dir/log"
	"$PY" "$SYSLOGD" parse "$dir/log" >"$dir/syslog" 2>"$dir/parse.err" ||
		t_fail "not RFC 5424: $(cat "$dir/parse.err")"
}

# t_syslog DESC DIR FILTER [ARGS]: FILTER over DIR/syslog's parsed messages
# ($m) and DIR/out's JSON lines ($a), arrays both.
t_syslog()
{
	t_jq_beside "$1" "$2" m "$2/syslog" "${@:3}"
}

test_deadlock()
{
	local dir

	dir=$(lw_dir syslog-abba)
	t_begin "a C deadlock: one RFC 5424 message, <26>, MSGID deadlock, its structured data"
	mark
	lw_run "$dir" --json --syslog="$SOCK" --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	messages "$dir"
	t_syslog "exactly one message" "$dir" '$m | length == 1'
	t_syslog "PRI 26 (daemon, crit), version 1, app lockwatch, PROCID, MSGID deadlock" "$dir" \
		'$m[0] | .pri == 26 and .version == "1" and .app == "lockwatch" and
		 (.procid | test("^[0-9]+$")) and .msgid == "deadlock" and
		 (.timestamp | test("^[0-9-]+T[0-9:]+\\.[0-9]{6}Z$"))'
	t_syslog "MSG: DEADLOCK: and the alert's summary" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].summary) as $s | $m[0].msg == "DEADLOCK: \($s)"'
	t_syslog "SD: kind, the process's pid and comm" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].processes[0]) as $p | $m[0] |
		 params("kind") == ["deadlock"] and params("comm") == ["deadlock"] and
		 params("pid") == ["\($p.pid)"]'
	t_syslog "SD: the cycle's threads (names and TIDs) and locks" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].cycle) as $c | $m[0] |
		 (params("thread") | sort) == ([$c[].waiter.name] | unique) and
		 (params("tid") | sort) == ([$c[].waiter.tid | tostring] | unique) and
		 (params("lock") | sort) == ([$c[].waits_for.name] | unique)'
	t_end
}

# A name may hold '"', ']', '\' and a newline: they stay inside its value.
test_hostile_names()
{
	local dir want_po want_au

	# as the text output escapes them: \n, \x1b, \xff, \x7f; the quote stays
	want_po='po\n"\x1b[1m\xff\x7f'
	want_au='au\n"\x1b[1m\xff\x7f'
	dir=$(lw_dir syslog-hostile)
	t_begin "hostile thread names: one message, the names escaped inside their values"
	mark
	LW_HOSTILE_NAMES=1 lw_run "$dir" --json --syslog="$SOCK" --exit-on-deadlock --duration 30 \
		-- "$DL" abba
	t_rc "$dir" 1
	messages "$dir"
	t_syslog "exactly one message, one line" "$dir" '$m | length == 1'
	t_syslog "the thread values, unescaped, are the names as text shows them" "$dir" \
		'$m[0] | (params("thread") | sort) == ([$au, $po] | sort)' \
		--arg po "$want_po" --arg au "$want_au"
	t_end
}

test_long_wait()
{
	local dir

	dir=$(lw_dir syslog-long-wait)
	t_begin "a long wait: PRI 28 (daemon, warning), MSGID long_wait, waiter slow-1"
	mark
	lw_run "$dir" --json --syslog="$SOCK" --wait-threshold 1 --duration 20 -- "$HEALTHY" slowhold 4
	t_rc "$dir" 0
	messages "$dir"
	t_syslog "one message: <28>, long_wait, thread slow-1, lock slow_lock" "$dir" \
		'$m | length == 1 and (.[0] | .pri == 28 and .msgid == "long_wait" and
		 (params("thread") | index("slow-1")) and params("lock") == ["slow_lock"] and
		 (.msg | startswith("LONG_WAIT: ")))'
	t_end
}

test_no_logger()
{
	local dir

	dir=$(lw_dir syslog-none)
	t_begin "--syslog with no logger listening: exit 4, one line naming the socket"
	lw_run "$dir" --syslog="$LW_TMP/nobody.sock" --duration 1 -- /bin/true
	t_rc "$dir" 4
	t_stderr_line "$dir" "cannot reach the system logger at $LW_TMP/nobody.sock"
	t_end
}

tap_plan 4
test_deadlock
test_hostile_names
test_long_wait
test_no_logger
tap_finish
