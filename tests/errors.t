#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# errors.t - bad input and a hostile environment: each case gets its own exit
# status (2 usage, 3 target, 4 environment) and one line on stderr starting
# "lockwatch: ", never a crash or an error storm.  A missing capability or BTF
# is simulated with setpriv and --btf, not mocked.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
# shellcheck disable=SC2119 # nothing to build but lockwatch itself
lw_require_built

# expect_error NAME STATUS REGEX ARGS...: lockwatch ARGS exits with STATUS and
# says so in one stderr line matching REGEX.
expect_error()
{
	local name=$1 status=$2 re=$3 dir

	shift 3
	dir=$(lw_dir "err$((TAP_NUM + 1))")
	t_begin "$name"
	lw_run "$dir" "$@"
	t_rc "$dir" "$status"
	t_stderr_line "$dir" "$re"
	[ ! -s "$dir/out" ] || t_fail "stdout is not empty"
	t_end
}

test_unknown_pid()
{
	local pid

	pid=$(unused_pid)
	expect_error "-p $pid (no such process): exit 3" 3 "$pid" -p "$pid" --duration 5
}

test_not_root()
{
	local dir

	dir=$(lw_dir not-root)
	t_begin "not root (setpriv --reuid=65534): exit 4"
	run_cmd "$dir" "$LW_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$LW_BIN" -p $$ --duration 5
	t_rc "$dir" 4
	t_stderr_line "$dir" 'root|privilege|permission|capabilit'
	t_end
}

test_no_caps()
{
	local dir

	dir=$(lw_dir no-caps)
	t_begin "root without capabilities (setpriv --bounding-set=-all): exit 4"
	run_cmd "$dir" "$LW_TIMEOUT" setpriv --inh-caps=-all --bounding-set=-all "$LW_BIN" -p $$ --duration 5
	t_rc "$dir" 4
	t_stderr_line "$dir" 'root|privilege|permission|capabilit'
	t_end
}

test_help()
{
	local dir n

	dir=$(lw_dir help)
	t_begin "--help: exit 0, EXAMPLES and the exit statuses on stdout"
	lw_run "$dir" --help
	t_rc "$dir" 0
	t_grep "EXAMPLES" "$dir" 'EXAMPLES'
	grep -qi 'exit status' "$dir/out" || t_fail "no \"exit status\" section"
	for n in 0 1 2 3 4 5; do
		sed -n '/[Ee][Xx][Ii][Tt] [Ss][Tt][Aa][Tt][Uu][Ss]/,$p' "$dir/out" |
			grep -Eq "^[[:space:]|]*${n}[[:space:]:|)-]+[[:alpha:]]" ||
			t_fail "exit status $n is not described"
	done
	[ ! -s "$dir/err" ] || t_fail "stderr is not empty"
	t_end
}

test_version()
{
	local dir

	dir=$(lw_dir version)
	t_begin "--version: exit 0, a version on stdout"
	lw_run "$dir" --version
	t_rc "$dir" 0
	t_grep "version" "$dir" '[0-9]+\.[0-9]+'
	[ ! -s "$dir/err" ] || t_fail "stderr is not empty"
	t_end
}

test_zombie()
{
	local zfile=$LW_TMP/zombie.pid zpid

	if ! zombie_start "$zfile"; then
		zpid=$(cat "$zfile" 2>/dev/null)
		t_begin "-p ZOMBIE: exit 3"
		t_fail "could not make a zombie (pid ${zpid:-?} state $(proc_state "${zpid:-0}"))"
		t_end
		bg_stop "$ZOMBIE_PARENT"
		return
	fi
	zpid=$(cat "$zfile")
	expect_error "-p $zpid (a zombie): exit 3" 3 "$zpid" -p "$zpid" --duration 5
	bg_stop "$ZOMBIE_PARENT"
}

test_kernel_thread()
{
	local pid

	if ! pid=$(kernel_thread); then
		tap_skip "-p KTHREAD: exit 3" "no kernel thread visible in this PID namespace"
		return
	fi
	expect_error "-p $pid (kernel thread $(cat "/proc/$pid/comm")): exit 3" 3 "$pid" \
		-p "$pid" --duration 5
}

test_watched_exits()
{
	local dir pid n

	dir=$(lw_dir watched-exits)
	t_begin "a watched PID exits: exit 0 and one clean note"
	bg_start sleep 600
	pid=$BG_PID
	lw_spawn "$dir" --json --duration 30 -p "$pid" || t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach within 30 s"
	bg_stop "$pid"
	lw_reap "$dir"
	t_rc "$dir" 0
	t_json_lines "$dir"
	t_jq "no alert records" "$dir" 'map(select(.kind != "summary")) | length == 0'
	n=$(grep -c '' "$dir/err")
	if [ "$n" -lt 1 ] || [ "$n" -gt 2 ]; then
		t_fail "stderr has $n lines, expected 1 or 2"
	fi
	grep -qv '^lockwatch: ' "$dir/err" && t_fail "a stderr line does not start with \"lockwatch: \""
	awk -v t="$(lw_elapsed "$dir")" 'BEGIN { exit !(t < 25) }' ||
		t_fail "lockwatch did not stop when its only process exited"
	t_end
}

# Ten runs: the status must not depend on who wins a race with the child.
test_cmd_not_found()
{
	local i dir

	t_begin "-- /nonexistent/cmd: failure status, one message (10 runs)"
	for i in $(seq 10); do
		dir=$(lw_dir "not-found$i")
		lw_run "$dir" --duration 10 -- /nonexistent/cmd
		t_rc "$dir" '!0'
		t_stderr_line "$dir" '/nonexistent/cmd'
		[ ! -s "$dir/out" ] || t_fail "stdout is not empty"
		if [ "${#T_ERRS[@]}" -ne 0 ]; then
			T_DIRS=("$dir")
			break
		fi
	done
	t_end
}

# Five runs: a command that exits at once races lockwatch's exit event.
# A process names itself: a newline and a terminal escape in its comm stay
# escaped in check's verdict line and in the note that it exited.
test_hostile_comm()
{
	local dir pid want='ev\nil\x1b[2J'

	dir=$(lw_dir hostile-comm)
	t_begin "a comm with a newline and an escape: escaped in check's line and in the exit note"
	bg_start "${LW_PYTHON:-/usr/bin/python3.11}" -c 'import ctypes, time
ctypes.CDLL(None).prctl(15, b"ev\nil\x1b[2J", 0, 0, 0)
time.sleep(600)'
	pid=$BG_PID
	wait_until 5 eval '[ "$(head -c 2 /proc/$pid/comm)" = ev ]' || t_fail "the comm was not set"
	lw_run "$dir" check "$pid"
	t_rc "$dir" 0
	grep -qxF "no deadlock in pid $pid ($want)" "$dir/out" ||
		t_fail "check's line is not escaped: $(head -n 2 "$dir/out" | cat -v)"
	lw_spawn "$dir" --duration 30 -p "$pid" || t_fail "lockwatch did not start"
	lw_wait_attached "$dir" || t_fail "lockwatch did not attach within 30 s"
	bg_stop "$pid"
	lw_reap "$dir"
	grep -qF "process $pid ($want) exited" "$dir/err" ||
		t_fail "the exit note is not escaped: $(cat -v "$dir/err")"
	! grep -q $'\x1b' "$dir/out" "$dir/err" || t_fail "a raw ESC got through"
	t_end
}

test_cmd_status()
{
	local i dir

	t_begin "-- sh -c 'exit 7': the command's status passes through (5 runs)"
	for i in $(seq 5); do
		dir=$(lw_dir "cmd-status$i")
		lw_run "$dir" --json --duration 30 -- sh -c 'exit 7'
		t_rc "$dir" 7
		t_json_lines "$dir"
		t_jq "summary: deadlocks == 0" "$dir" 'summary.deadlocks == 0'
		if [ "${#T_ERRS[@]}" -ne 0 ]; then
			T_DIRS=("$dir")
			break
		fi
	done
	t_end
}

# At the end, the command's process group gets SIGTERM, and SIGKILL 2 s
# later for what ignored it.
test_cmd_group_end()
{
	local dir f=$LW_TMP/stubborn.pid took

	dir=$(lw_dir cmd-group-end)
	t_begin "--duration ends the command's group: SIGTERM, then SIGKILL 2 s later"
	rm -f "$f"
	lw_run "$dir" --json --duration 2 -- sh -c \
		'sh -c "trap \"\" TERM; echo \$\$ >$1; while :; do sleep 0.1; done" & exec sleep 600' sh "$f"
	t_rc "$dir" 0
	took=$(lw_elapsed "$dir")
	awk -v t="$took" 'BEGIN { exit !(t > 3.5 && t < 9) }' ||
		t_fail "took $took s (2 s, then a 2 s grace)"
	[ -s "$f" ] || t_fail "the stubborn child never started"
	[ -s "$f" ] && wait_until 3 eval '! kill -0 "$(cat "$f")" 2>/dev/null' ||
		t_fail "the child that ignored SIGTERM lives on"
	t_end
}

# The command exits after a second, leaving a daemon (its own session)
# that lockwatch goes on watching. The command's PID must not become a stranger's
# process group before lockwatch signals the command's group at the end: the
# command stays unreaped until then. A stranger tries to take that PID
# (through ns_last_pid).
test_cmd_pgid_reuse()
{
	local dir f=$LW_TMP/cmd.pid d=$LW_TMP/daemon.pid cmd lw stranger

	dir=$(lw_dir cmd-pgid)
	t_begin "an exited command's PID is no stranger's process group at the end"
	rm -f "$f" "$d"
	lw_spawn "$dir" --json --duration 4 -- sh -c \
		'setsid sh -c "echo \$\$ >$2; exec sleep 600" & sleep 1; echo $$ >"$1"' sh "$f" "$d" ||
		t_fail "lockwatch did not start"
	wait_until 5 test -s "$f" -a -s "$d" || t_fail "the command did not run"
	cmd=$(cat "$f")
	lw=$(cat "$dir/pid")
	wait_until 3 eval '! [ -d /proc/$cmd ] || [ "$(awk "{ print \$3 }" /proc/$cmd/stat)" = Z ]'
	stranger=$(python3 - "$cmd" <<'PY'
import os, sys
want = int(sys.argv[1])
for _ in range(30):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(want - 1))
    pid = os.fork()
    if pid == 0:  # a stranger: a group of its own, asleep
        os.setsid()
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execvp("sleep", ["sleep", "600"])
    if pid == want:
        print(pid)
        break
    os.kill(pid, 9)
    os.waitpid(pid, 0)
PY
)
	if [ -z "$stranger" ]; then
		# it could not be taken: still the command, a zombie of lockwatch
		[ "$(awk '{ print $3, $4 }' "/proc/$cmd/stat" 2>/dev/null)" = "Z $lw" ] ||
			t_fail "pid $cmd is neither taken nor lockwatch's zombie: $(cat "/proc/$cmd/stat" 2>&1)"
	fi
	lw_reap "$dir"
	t_rc "$dir" 0
	if [ -n "$stranger" ]; then
		kill -0 "$stranger" 2>/dev/null ||
			t_fail "the stranger that took pid $cmd (its own group) was killed"
		kill "$stranger"
	fi
	kill "$(cat "$d")" 2>/dev/null
	t_end
}

tap_plan 22
test_unknown_pid
expect_error "bad option (--no-such-option): exit 2" 2 'no-such-option' --no-such-option
expect_error "-p abc: exit 2" 2 'abc' -p abc
expect_error "--duration abc: exit 2" 2 'abc|duration' --duration abc -- true
test_not_root
test_no_caps
expect_error "--btf /nonexistent: exit 4, names BTF" 4 'BTF' --btf /nonexistent -p $$ --duration 5
test_help
test_version
test_zombie
test_kernel_thread
test_watched_exits
test_cmd_not_found
test_cmd_status
test_cmd_group_end
test_cmd_pgid_reuse
test_hostile_comm
expect_error "--lock-order on the whole host: exit 2" 2 'lock-order' --lock-order --duration 5
expect_error "--lock-fn without --lock-order: exit 2" 2 'lock-fn' --lock-fn a,b -- true
expect_error "--lock-fn with one name: exit 2, names it" 2 'lock-fn|onlyone' --lock-order \
	--lock-fn onlyone -- true
expect_error "--lock-fn with argument @7: exit 2, names it" 2 'lock-fn.*a,b@7' --lock-order \
	--lock-fn a,b@7 -- true
expect_error "--hold-threshold abc: exit 2" 2 'hold' --lock-order --hold-threshold abc -- true
tap_finish
