# SPDX-License-Identifier: GPL-2.0
# bench/lib.sh - what the benchmark scripts share (sourced).

# median and min-max of the numbers on stdin: prints "median min max n"
stats()
{
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6g %.6g %.6g %d\n", m, v[1], v[NR], NR
		}'
}
