// SPDX-License-Identifier: GPL-2.0
/*
 * fakepy - looks like a CPython whose version lockwatch has no layout for:
 * it defines `_PyRuntime` and a `Py_Version` of 3.14.0, and sleeps. lockwatch
 * must say "unsupported Python 3.14.0" once and go on with the native detector.
 */
#include <unistd.h>

const unsigned long Py_Version = 0x030e00f0;
char _PyRuntime[4096];

int main(void)
{
	_PyRuntime[0] = 1;
	for (;;)
		pause();
}
