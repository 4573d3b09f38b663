#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# install.t - `make install DESTDIR=... PREFIX=/usr` lays out what a host
# needs: the binary (which runs), the man page (which man renders without a
# warning), the systemd unit (systemd-analyze verify clean, its exposure
# "OK" with systemd-analyze security --offline), the journal's catalog
# (journalctl compiles it and lists every kind's entry), bash completion;
# and every system call lockwatch makes, run as the unit runs it, passes the
# unit's system-call filter (strace).

# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

lw_require_root_bpf
lw_require_built deadlock
command -v strace >/dev/null || tap_bail "strace missing (Debian package strace)"

DEST=$LW_TMP/dest
PY=${LW_PYTHON:-/usr/bin/python3.11}
UNIT=$DEST/usr/lib/systemd/system/lockwatch.service

test_layout()
{
	local dir f

	dir=$(lw_dir install)
	t_begin "make install DESTDIR PREFIX=/usr: every file in its place, the binary runs"
	make -C "$LW_ROOT" -s install DESTDIR="$DEST" PREFIX=/usr >"$dir/make" 2>&1 ||
		t_fail "make install: $(tail -n 3 "$dir/make")"
	for f in usr/sbin/lockwatch:755 usr/share/man/man8/lockwatch.8:644 \
		usr/lib/systemd/system/lockwatch.service:644 \
		usr/lib/systemd/catalog/lockwatch.catalog:644 \
		usr/share/bash-completion/completions/lockwatch:644; do
		[ "$(stat -c %a "$DEST/${f%:*}" 2>/dev/null)" = "${f#*:}" ] ||
			t_fail "$DEST/${f%:*}: missing, or not mode ${f#*:}"
	done
	[ "$(find "$DEST" -type f | wc -l)" = 5 ] || t_fail "other files than those five"
	[ "$("$DEST/usr/sbin/lockwatch" --version)" = "lockwatch $(sed -n 's/^VERSION := //p' \
		"$LW_ROOT/Makefile")" ] || t_fail "the installed lockwatch --version"
	grep -q "^ExecStart=/usr/sbin/lockwatch " "$UNIT" || t_fail "the unit's ExecStart"
	t_end
}

test_man()
{
	t_begin "the man page renders without a warning"
	MANWIDTH=80 man --warnings -l "$DEST/usr/share/man/man8/lockwatch.8" \
		>"$LW_TMP/man.txt" 2>"$LW_TMP/man.err" || t_fail "man -l failed"
	[ ! -s "$LW_TMP/man.err" ] || t_fail "warnings: $(head -n 3 "$LW_TMP/man.err")"
	grep -q -- "--metrics-file PATH" "$LW_TMP/man.txt" || t_fail "no --metrics-file in it"
	t_end
}

test_unit()
{
	local unit=$LW_TMP/lockwatch.service

	t_begin "the unit: systemd-analyze verify clean, security exposure OK"
	# the binary where it was installed; man finds the page there too
	sed "s|=/usr/sbin/lockwatch|=$DEST/usr/sbin/lockwatch|" "$UNIT" >"$unit"
	MANPATH=$DEST/usr/share/man systemd-analyze verify "$unit" >"$LW_TMP/verify" 2>&1 ||
		t_fail "systemd-analyze verify: $(head -n 3 "$LW_TMP/verify")"
	[ ! -s "$LW_TMP/verify" ] || t_fail "systemd-analyze verify said: $(head -n 3 "$LW_TMP/verify")"
	systemd-analyze security --offline=yes "$unit" >"$LW_TMP/security" 2>&1
	grep -Eq "Overall exposure level for lockwatch.service: [0-9.]+ OK" "$LW_TMP/security" ||
		t_fail "exposure: $(tail -n 1 "$LW_TMP/security")"
	tap_diag <<<"$(tail -n 1 "$LW_TMP/security" | LC_ALL=C tr -cd '\11\40-\176')"
	t_end
}

test_catalog_completion()
{
	local id

	t_begin "the catalog compiles and lists seven kinds; the completion loads"
	journalctl --root="$DEST" --update-catalog >"$LW_TMP/cat" 2>&1 ||
		t_fail "journalctl --update-catalog: $(head -n 3 "$LW_TMP/cat")"
	journalctl --root="$DEST" --list-catalog 2>/dev/null >"$LW_TMP/list"
	for id in 35605e0885374b35b2d7e3316ea8c0cf 037e3dc8f6d440fea67c26b570f6fb4c \
		89dc5dd39e5b4deab9ccb885561ec507 9f553742129944b69a52aa164e620888 \
		af9442804cd641d6aa1cd315d3ce3144 8f2c293e38634456a9ede373e0b7b7ff \
		5121a8196c0444609569941a5ae7a4e6; do
		grep -q "^$id " "$LW_TMP/list" || t_fail "catalog entry $id not listed"
	done
	bash -c '_init_completion() { :; }; . "$1" && complete -p lockwatch' _ \
		"$DEST/usr/share/bash-completion/completions/lockwatch" >/dev/null 2>&1 ||
		t_fail "the completion does not load"
	t_end
}

# syscalls GROUP...: the system calls of the filter groups (and names), one a
# line, groups expanded as systemd expands them
syscalls()
{
	local g

	for g in "$@"; do
		case $g in
		@*) systemd-analyze syscall-filter "$g" 2>/dev/null | sed -n 's/^ \{4\}\([-@a-z0-9_]*\)$/\1/p' |
			while read -r x; do syscalls "$x"; done ;;
		*) echo "$g" ;;
		esac
	done
}

# The unit's filter kills the service at any other call: every system call
# lockwatch makes watching the whole host (as the unit runs it), with every
# sink the unit may be given, must pass it.
test_syscalls()
{
	local dir allow deny used bad

	dir=$(lw_dir syscalls)
	t_begin "every system call lockwatch makes as the unit runs it passes the unit's filter"
	allow=$(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$UNIT")
	deny=$(sed -n 's/^SystemCallFilter=~\(.*\)/\1/p' "$UNIT")
	# shellcheck disable=SC2086 # the groups, one word each
	{ syscalls $allow | sort -u >"$dir/allow"; syscalls $deny | sort -u >"$dir/deny"; }
	[ -s "$dir/allow" ] || t_fail "no allow list read from the unit"
	bg_start "$LW_PROGS/deadlock" abba
	"$PY" "$LW_ROOT/tests/syslogd.py" listen "$LW_TMP/log.sock" "$LW_TMP/syslog" &
	LW_BG_PIDS+=("$!")
	wait_until 5 test -S "$LW_TMP/log.sock"
	# (LeakSanitizer, in `make check SANITIZE=1`, cannot run under ptrace)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -qq -o "$dir/strace" "$DEST/usr/sbin/lockwatch" --json --journal --syslog="$LW_TMP/log.sock" \
		--log-file "$dir/log" --metrics-file "$dir/m.prom" --duration 3 >"$dir/out" 2>"$dir/err"
	[ "$?" -le 1 ] || t_fail "lockwatch under strace: $(head -n 2 "$dir/err")"
	bg_stop "$BG_PID"
	grep -q '"kind":"deadlock"' "$dir/out" || t_fail "the deadlock running meanwhile was not reported"
	sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$dir/strace" | sort -u >"$dir/used"
	[ "$(wc -l <"$dir/used")" -ge 20 ] || t_fail "strace saw $(wc -l <"$dir/used") system calls"
	bad=$(comm -23 "$dir/used" "$dir/allow"; comm -12 "$dir/used" "$dir/deny")
	[ -z "$bad" ] || t_fail "not allowed by the unit: $(echo $bad)"
	used=$(grep -c '' "$dir/used")
	tap_diag <<<"$used distinct system calls made, all allowed"
	t_end
}

tap_plan 5
test_layout
test_man
test_unit
test_catalog_completion
test_syscalls
tap_finish
