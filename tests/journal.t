#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# journal.t - `--journal` into a real systemd-journald: this test starts one
# of its own, in a mount namespace of its own (fresh /run/systemd/journal,
# /run/log and, where the host has one, /var/log/journal; lockwatch's catalog
# alone, compiled by journalctl), and reads what lockwatch sent back with
# journalctl -o json: one entry per alert, its MESSAGE, PRIORITY by kind,
# MESSAGE_ID and the catalog text `journalctl -x` shows for it, the
# LOCKWATCH_* fields, the whole JSON record - against real deadlocks (a C
# program's, a Python program's tasks), a long wait, and thread names that
# try to forge a field.

# its own journald: a mount namespace of its own, entered before anything
if [ -z "${LW_JOURNAL_NS:-}" ]; then
	LW_JOURNAL_NS=1 exec unshare --mount --propagation private "$BASH" "$0" "$@"
fi

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built deadlock healthy

JOURNALD=/lib/systemd/systemd-journald
DL=$LW_PROGS/deadlock
HEALTHY=$LW_PROGS/healthy
PY=${LW_PYTHON:-/usr/bin/python3.11}
PYHANG=$LW_ROOT/tests/pyhang.py
CATALOG=$LW_ROOT/user/lockwatch.catalog
ID_DEADLOCK=35605e0885374b35b2d7e3316ea8c0cf
ID_LONG_WAIT=af9442804cd641d6aa1cd315d3ce3144

[ -x "$JOURNALD" ] || tap_bail "$JOURNALD missing (Debian package systemd)"
command -v journalctl >/dev/null || tap_bail "journalctl missing (Debian package systemd)"

# journald's places (and lockwatch's files), empty and this namespace's alone
for d in /run/systemd /run/log /run/lockwatch /usr/lib/systemd/catalog /var/lib/systemd/catalog; do
	mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || tap_bail "cannot mount a tmpfs on $d"
done
[ -d /var/log/journal ] && { mount -t tmpfs tmpfs /var/log/journal || tap_bail "/var/log/journal"; }
mkdir -p /run/systemd/journal
cp "$CATALOG" /usr/lib/systemd/catalog/ &&
	journalctl --update-catalog 2>"$LW_TMP/catalog.err" ||
	tap_bail "journalctl --update-catalog: $(cat "$LW_TMP/catalog.err")"
bg_start "$JOURNALD"
wait_until 10 test -S /run/systemd/journal/socket ||
	tap_bail "systemd-journald did not open /run/systemd/journal/socket"

JQ_DEFS+='
def vals($f): if .[$f] == null then [] elif (.[$f] | type) == "array" then .[$f] else [.[$f]] end;
'

# lockwatch's entries in the journal, as a JSON array
lw_entries()
{
	journalctl -o json --no-pager SYSLOG_IDENTIFIER=lockwatch 2>/dev/null | jq -s .
}

# mark: the entries in the journal now are not this test's
mark()
{
	lw_entries | jq length >"$LW_TMP/mark"
}

# entries DIR [MIN]: lockwatch's entries since the mark, into DIR/journal
# (one JSON object a line);
# waits up to 5 s for at least MIN (default 1) of them.
entries()
{
	local dir=$1 min=${2:-1}

	journal_has()
	{
		lw_entries | jq -c --argjson m "$(cat "$LW_TMP/mark")" '.[$m:][]' >"$dir/journal" &&
			[ "$(grep -c '' "$dir/journal")" -ge "$min" ]
	}
	wait_until 5 journal_has
}

# t_journal DESC DIR FILTER [ARGS]: FILTER over DIR/journal's entries ($j)
# and DIR/out's JSON lines ($a), arrays both.
t_journal()
{
	t_jq_beside "$1" "$2" j "$2/journal" "${@:3}"
}

test_deadlock()
{
	local dir

	dir=$(lw_dir journal-abba)
	t_begin "a C deadlock: one journal entry, its fields, the whole record"
	mark
	lw_run "$dir" --json --journal --exit-on-deadlock --duration 30 -- "$DL" abba
	t_rc "$dir" 1
	entries "$dir" || t_fail "no entry from lockwatch in the journal"
	t_journal "exactly one entry" "$dir" '$j | length == 1'
	t_journal "MESSAGE: DEADLOCK: and the alert's summary" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].summary) as $s |
		 $j[0].MESSAGE == "DEADLOCK: \($s)"'
	t_journal "PRIORITY 2 (crit), SYSLOG_IDENTIFIER lockwatch, MESSAGE_ID of a deadlock" "$dir" \
		'$j[0] | .PRIORITY == "2" and .SYSLOG_IDENTIFIER == "lockwatch" and
		 .MESSAGE_ID == $id and .LOCKWATCH_KIND == "deadlock"' --arg id "$ID_DEADLOCK"
	t_journal "LOCKWATCH_PID and LOCKWATCH_COMM: the process" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].processes[0]) as $p |
		 ($j[0] | vals("LOCKWATCH_PID")) == ["\($p.pid)"] and
		 ($j[0] | vals("LOCKWATCH_COMM")) == ["deadlock"]'
	t_journal "LOCKWATCH_THREAD and LOCKWATCH_TID: the cycle's threads" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].cycle) as $c |
		 ($j[0] | vals("LOCKWATCH_THREAD") | sort) == ([$c[].waiter.name] | unique) and
		 ($j[0] | vals("LOCKWATCH_TID") | sort) == ([$c[].waiter.tid | tostring] | unique)'
	t_journal "LOCKWATCH_LOCK: the cycle's locks, by name" "$dir" \
		'($a | map(select(.kind == "deadlock"))[0].cycle) as $c |
		 ($j[0] | vals("LOCKWATCH_LOCK") | sort) == ([$c[].waits_for.name] | unique)'
	t_journal "LOCKWATCH_JSON: the very record stdout has" "$dir" \
		'($j[0].LOCKWATCH_JSON | fromjson) == ($a | map(select(.kind == "deadlock"))[0])'
	journalctl -x --no-pager MESSAGE_ID="$ID_DEADLOCK" >"$dir/explained" 2>&1
	grep -q "Subject: Deadlock in deadlock (pid [0-9]*)" "$dir/explained" ||
		t_fail "journalctl -x: the catalog's subject, the fields put in"
	grep -q "Documentation: man:lockwatch(8)" "$dir/explained" ||
		t_fail "journalctl -x: the catalog's documentation line"
	grep -q "gcore [0-9]" "$dir/explained" || t_fail "journalctl -x: what to do"
	t_end
}

# The watched process names its threads: a newline and a field of the
# journal's own in a name stay in that one field's value, escaped.
test_forged_name()
{
	local dir

	dir=$(lw_dir journal-forge)
	t_begin "thread names with a newline and PRIORITY=0: one entry, priority 2, names escaped"
	mark
	LW_HOSTILE_NAMES=forge lw_run "$dir" --json --journal --exit-on-deadlock --duration 30 \
		-- "$DL" abba
	t_rc "$dir" 1
	entries "$dir" || t_fail "no entry from lockwatch in the journal"
	t_journal "exactly one entry" "$dir" '$j | length == 1'
	t_journal "PRIORITY is 2, once" "$dir" '$j[0].PRIORITY == "2"'
	t_journal "the names, escaped: au\\nPRIORITY=0 and po\\nPRIORITY=0" "$dir" \
		'($j[0] | vals("LOCKWATCH_THREAD") | sort) == ["au\\nPRIORITY=0", "po\\nPRIORITY=0"]'
	t_journal "no entry of the watched process's making" "$dir" \
		'all($j[]; .SYSLOG_IDENTIFIER == "lockwatch")'
	t_end
}

# asyncio tasks are named as tasks; a long wait has its own priority and id
test_tasks_and_kinds()
{
	local dir

	dir=$(lw_dir journal-tasks)
	t_begin "check --journal on a Python task deadlock: LOCKWATCH_TASK names the tasks"
	if HANG=$PY hang_start journal-tasks "$PYHANG" abba; then
		mark
		lw_check "$dir" --json --journal "$HANG_PID"
		t_rc "$dir" 1
		entries "$dir" || t_fail "no entry from lockwatch in the journal"
		t_journal "one deadlock entry, tasks transfer-ab and transfer-ba" "$dir" \
			'$j | length == 1 and
			 (.[0] | vals("LOCKWATCH_TASK") | sort) == ["transfer-ab", "transfer-ba"] and
			 .[0].LOCKWATCH_PID == "\($pid)"' --argjson pid "$HANG_PID"
		hang_stop "$HANG_PID"
	fi
	t_end

	dir=$(lw_dir journal-long-wait)
	t_begin "a long wait: PRIORITY 4 (warning), its own MESSAGE_ID"
	mark
	lw_run "$dir" --json --journal --wait-threshold 1 --duration 20 -- "$HEALTHY" slowhold 4
	t_rc "$dir" 0
	entries "$dir" || t_fail "no entry from lockwatch in the journal"
	t_journal "one long_wait entry: PRIORITY 4, its MESSAGE_ID, waiter slow-1" "$dir" \
		'$j | length == 1 and (.[0] | .PRIORITY == "4" and .MESSAGE_ID == $id and
		 .LOCKWATCH_KIND == "long_wait" and (.MESSAGE | startswith("LONG_WAIT: ")) and
		 (vals("LOCKWATCH_THREAD") | index("slow-1")))' --arg id "$ID_LONG_WAIT"
	t_end
}

tap_plan 4
test_deadlock
test_forged_name
test_tasks_and_kinds
tap_finish
