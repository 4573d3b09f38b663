#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fuzz.t - each fuzzer of fuzz/ (libFuzzer, ASan, UBSan) over what lockwatch
# parses and did not write: the module's publish records, /proc/PID/maps,
# CPython's line and exception tables and _Py_DebugOffsets, and the escaping
# of text a process chooses. Each runs LW_FUZZ_SECS seconds (default 10)
# from its corpus in fuzz/corpus/NAME; new inputs go to a scratch directory,
# a crash fails the test with the input that made it (saved beside the log).

. "$(dirname "$0")/lib.sh"

FUZZ_DIR=$LW_ROOT/.output/fuzz
SECS=${LW_FUZZ_SECS:-10}
NAMES=$(cd "$LW_ROOT/fuzz" && ls ./*.c | sed 's|^\./||; s|\.c$||')

for name in $NAMES; do
	[ -x "$FUZZ_DIR/$name" ] || tap_bail "$FUZZ_DIR/$name is not built (make $FUZZ_DIR/$name)"
	[ -d "$LW_ROOT/fuzz/corpus/$name" ] || tap_bail "fuzz/corpus/$name is missing"
done

fuzz_one()
{
	local name=$1 dir new log runs

	dir=$(lw_dir "fuzz-$name")
	new=$dir/new
	log=$dir/log
	mkdir -p "$new"
	t_begin "fuzz/$name.c: $SECS s from fuzz/corpus/$name, no crash, leak or undefined behaviour"
	echo "$FUZZ_DIR/$name -max_total_time=$SECS $new fuzz/corpus/$name" >"$dir/cmd"
	if ! "$FUZZ_DIR/$name" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/" "$new" "$LW_ROOT/fuzz/corpus/$name" \
		>"$log" 2>&1; then
		t_fail "it failed: $(grep -m 1 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$log")"
		t_fail "input: $(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* 2>/dev/null | head -n 1) (log: $log; LW_KEEP_TMP=1 keeps it)"
		tail -n 20 "$log" | tap_diag
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	[ "${runs:-0}" -ge 100 ] || t_fail "only ${runs:-0} inputs were run"
	tap_diag <<<"$name: ${runs:-0} inputs in $SECS s, corpus $(ls "$LW_ROOT/fuzz/corpus/$name" | wc -l) + $(ls "$new" | wc -l) new"
	t_end
}

tap_plan "$(echo "$NAMES" | wc -w)"
for name in $NAMES; do
	fuzz_one "$name"
done
tap_finish
