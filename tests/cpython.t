#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# cpython.t - lockwatch watching CPython's own tests of locks, queues, tasks
# and threads (Debian's libpython3.11-testsuite: test_asyncio.test_locks,
# .test_queues, .test_tasks, test_threading, test_queue, test_thread, run by
# /usr/bin/python3.11 -m test) from the first test to the last: thousands of
# lock acquisitions, waits, joins, timeouts, cancelled tasks and Python
# subprocesses coming and going. lockwatch must not crash, must report
# nothing (none of it deadlocks), must pass the tests' own verdict through,
# and must show it saw what it stayed silent about: the futex waits of those
# processes and its reads of the Python ones.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf

PY=${LW_PYTHON:-/usr/bin/python3.11}
SUITES="test_asyncio.test_locks test_asyncio.test_queues test_asyncio.test_tasks test_threading
	test_queue test_thread"
[ -x "$PY" ] || tap_bail "$PY is missing (scripts/install-deps.sh installs python3.11)"
[ -d /usr/lib/python3.11/test/test_asyncio ] ||
	tap_bail "CPython's test suite is missing (scripts/install-deps.sh installs libpython3.11-testsuite)"

test_suites()
{
	local dir log

	dir=$(lw_dir cpython)
	log=$dir/tests.log
	t_begin "CPython's lock, queue, task and threading tests, watched to the end: no crash, no alert"
	# the tests' output to a file: stdout is lockwatch's report
	# shellcheck disable=SC2086
	LW_TIMEOUT=600 lw_run "$dir" --json -- sh -c 'log=$1; shift; exec "$@" >"$log" 2>&1' sh \
		"$log" "$PY" -m test $SUITES
	t_rc "$dir" 0
	grep -q '^Tests result: SUCCESS' "$log" ||
		t_fail "the tests themselves did not pass: $(tail -n 3 "$log" | tr '\n' ' ')"
	t_no_alert "$dir"
	t_summary "$dir"
	t_jq "it saw their futex waits (thousands)" "$dir" 'summary.waits > 1000'
	t_jq "it read their Python processes, more than once, every look whole (none cut by the read budget)" \
		"$dir" 'summary.python_processes >= 1 and summary.python_looks > summary.python_processes and
		 summary.python_looks_cut == 0'
	[ ! -s "$dir/err" ] || t_fail "lockwatch said something on stderr"
	tap_diag <<<"$(jq -s -c '.[-1] | {duration_ms, waits, events, python_processes, python_looks, python_looks_cut, cpu_ms, max_rss_kb}' "$dir/out")"
	t_end
}

tap_plan 1
test_suites
tap_finish
