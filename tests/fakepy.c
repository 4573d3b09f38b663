// SPDX-License-Identifier: GPL-2.0
/*
 * fakepy [HEXVERSION [FREE_THREADED]] - looks like a CPython: it defines
 * `_PyRuntime` and `Py_Version` (default 3.16.0, which lockwatch has no
 * layout for), and sleeps. Its _PyRuntime starts with the header of a
 * _Py_DebugOffsets (cookie, version, free_threaded) and nothing else: a
 * 3.13 one that says it is free-threaded, or whose sizes are all 0. lockwatch
 * must say "unsupported ..." once, why, and go on with the native detector:
 * with LW_FAKEPY_DEADLOCK=1 its threads "native-a" and "native-b" take the
 * mutexes left and right in opposite orders and deadlock, for it to find.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

unsigned long Py_Version = 0x031000f0;
uint64_t _PyRuntime[512];

static pthread_mutex_t left = PTHREAD_MUTEX_INITIALIZER, right = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *native(void *arg)
{
	pthread_mutex_t *first = arg ? &right : &left, *then = arg ? &left : &right;

	prctl(PR_SET_NAME, arg ? "native-b" : "native-a");
	pthread_mutex_lock(first);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(then);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *dl = getenv("LW_FAKEPY_DEADLOCK");
	pthread_t t[2];

	if (argc > 1)
		Py_Version = strtoul(argv[1], NULL, 0);
	memcpy(&_PyRuntime[0], "xdebugpy", 8);
	_PyRuntime[1] = Py_Version;
	_PyRuntime[2] = argc > 2 && atoi(argv[2]);
	if (dl && !strcmp(dl, "1")) {
		pthread_barrier_init(&both, NULL, 2);
		pthread_create(&t[0], NULL, native, NULL);
		pthread_create(&t[1], NULL, native, (void *)1);
	}
	for (;;)
		pause();
}
