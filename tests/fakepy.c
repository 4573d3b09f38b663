// SPDX-License-Identifier: GPL-2.0
/*
 * fakepy [HEXVERSION [FREE_THREADED]] - looks like a CPython: it defines
 * `_PyRuntime` and `Py_Version` (default 3.16.0, which lockwatch has no
 * layout for), and sleeps. Its _PyRuntime starts with the header of a
 * _Py_DebugOffsets (cookie, version, free_threaded) and nothing else: a
 * 3.13 one that says it is free-threaded, or whose sizes are all 0. lockwatch
 * must say "unsupported ..." once, why, and go on with the native detector.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned long Py_Version = 0x031000f0;
uint64_t _PyRuntime[512];

int main(int argc, char **argv)
{
	if (argc > 1)
		Py_Version = strtoul(argv[1], NULL, 0);
	memcpy(&_PyRuntime[0], "xdebugpy", 8);
	_PyRuntime[1] = Py_Version;
	_PyRuntime[2] = argc > 2 && atoi(argv[2]);
	for (;;)
		pause();
}
