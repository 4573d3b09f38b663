#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# picture.t - `check --dot` and `check --svg FILE` on real hangs of every
# shape: two threads over rwlocks (C), three processes over shared mutexes,
# two asyncio tasks over asyncio locks, two pool workers over futures, and a
# task whose name holds a quote, a newline and an escape. The DOT renders
# with Graphviz's dot without a word on stderr and names every participant
# of the cycle, whose edges (waits and holds) are red; the SVG lockwatch
# renders itself is well-formed XML with the same names and the stacks as
# tooltips; the report still goes to stdout with --svg.

# shellcheck source=tests/lib.sh disable=SC2016 # jq filters are single-quoted
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib-attach.sh
. "$(dirname "$0")/lib-attach.sh"

lw_require_root_bpf
lw_require_built hang
command -v dot >/dev/null || tap_bail "dot missing (Debian package graphviz)"
command -v xmllint >/dev/null || tap_bail "xmllint missing (Debian package libxml2-utils)"

HANG=$LW_PROGS/hang
PY=${LW_PYTHON:-/usr/bin/python3.11}
PYHANG=$LW_ROOT/tests/pyhang.py

# t_picture NAME PID EDGES NAME...: check --dot and --svg on PID: DOT that
# dot renders, EDGES red edges, every NAME in both pictures
t_picture()
{
	local name=$1 pid=$2 edges=$3 dir svgdir n

	shift 3
	dir=$(lw_dir "$name-dot")
	svgdir=$(lw_dir "$name-svg")
	lw_check "$dir" --dot "$pid"
	t_rc "$dir" 1
	head -n 1 "$dir/out" | grep -q '^digraph lockwatch {$' || t_fail "stdout is not a DOT digraph"
	dot -Tsvg "$dir/out" >"$dir/dot.svg" 2>"$dir/dot.err" || t_fail "dot -Tsvg failed"
	[ ! -s "$dir/dot.err" ] || t_fail "dot said: $(head -n 2 "$dir/dot.err")"
	n=$(grep -c 'color=red, penwidth=2' "$dir/out")
	[ "$n" = "$edges" ] || t_fail "$n red edges, expected $edges (a wait and a hold per cycle edge)"
	lw_check "$svgdir" --svg "$svgdir/graph.svg" "$pid"
	t_rc "$svgdir" 1
	grep -q 'DEADLOCK: ' "$svgdir/out" || t_fail "--svg: the report is not on stdout"
	xmllint --noout "$svgdir/graph.svg" 2>"$svgdir/xml.err" ||
		t_fail "--svg: not well-formed XML: $(head -n 2 "$svgdir/xml.err")"
	grep -q '<svg' "$svgdir/graph.svg" || t_fail "--svg: no <svg> element"
	grep -q 'xlink:title="[^"]*(' "$svgdir/graph.svg" || t_fail "--svg: no stack as a tooltip"
	for n in "$@"; do
		grep -qF -- "$n" "$dir/out" || t_fail "DOT does not name $n"
		# Graphviz writes '-' as &#45;
		sed 's/&#45;/-/g' "$svgdir/graph.svg" | grep -qF -- "$n" || t_fail "SVG does not name $n"
	done
}

test_rwlocks()
{
	t_begin "C threads over rwlocks: DOT and SVG"
	if hang_start pic-rwlock rwlock-abba; then
		t_picture rwlock "$HANG_PID" 4 north south catalog inventory
		hang_stop "$HANG_PID"
	fi
	t_end
}

test_processes()
{
	t_begin "three processes over shared mutexes: DOT and SVG, every process in it"
	if hang_start pic-three three-proc; then
		# the ready line's numbers: the three PIDs
		t_picture three "$HANG_PID" 6 ring-a ring-b ring-c "pid ${HANG_NRS[0]}" \
			"pid ${HANG_NRS[1]}" "pid ${HANG_NRS[2]}"
		hang_stop "$HANG_PID"
	fi
	t_end
}

test_python()
{
	t_begin "asyncio tasks over asyncio locks, pool workers over futures: DOT and SVG"
	if HANG=$PY hang_start pic-abba "$PYHANG" abba; then
		t_picture tasks "$HANG_PID" 4 "task transfer-ab" "task transfer-ba" lock_a lock_b
		hang_stop "$HANG_PID"
	fi
	if HANG=$PY hang_start pic-pool "$PYHANG" pool; then
		t_picture pool "$HANG_PID" 4 worker_0 worker_1 wait_on_a wait_on_b
		hang_stop "$HANG_PID"
	fi
	t_end
}

# A name with a quote, a newline and an escape stays inside its string.
test_hostile()
{
	local script=$LW_TMP/evil.py dir

	py_trap "$script" <<'EVIL'
name = 'evil"]; x [label="\x1b[2J\nforged'
EVIL
	t_begin "a hostile task name: DOT still parses, the name escaped inside its label"
	bg_start "$PY" "$script"
	sleep 0.7
	dir=$(lw_dir pic-hostile)
	lw_check "$dir" --dot "$BG_PID"
	t_rc "$dir" 1
	dot -Tsvg "$dir/out" >/dev/null 2>"$dir/dot.err" || t_fail "dot cannot parse it"
	[ ! -s "$dir/dot.err" ] || t_fail "dot said: $(head -n 2 "$dir/dot.err")"
	grep -qF 'task evil\"]; x [label=\"\\x1b[2J\\nforged' "$dir/out" ||
		t_fail "the name is not escaped as expected"
	! grep -q '^ *x \[' "$dir/out" || t_fail "a forged node"
	bg_stop "$BG_PID"
	t_end
}

# Nothing found: stdout is still DOT alone.
test_quiet()
{
	local dir

	t_begin "check --dot on a process that waits for nothing: DOT alone, an empty graph"
	bg_start sleep 60
	dir=$(lw_dir pic-quiet)
	lw_check "$dir" --dot "$BG_PID"
	t_rc "$dir" 0
	head -n 1 "$dir/out" | grep -q '^digraph lockwatch {$' || t_fail "stdout is not DOT alone"
	dot -Tsvg "$dir/out" >/dev/null 2>&1 || t_fail "dot cannot parse it"
	bg_stop "$BG_PID"
	t_end
}

test_usage()
{
	local dir

	dir=$(lw_dir pic-usage)
	t_begin "--dot outside check: a usage error"
	lw_run "$dir" --dot -p 1
	t_rc "$dir" 2
	t_stderr_line "$dir" "--dot and --svg are for lockwatch check"
	t_end
}

tap_plan 6
test_rwlocks
test_processes
test_python
test_hostile
test_quiet
test_usage
tap_finish
