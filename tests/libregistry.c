// SPDX-License-Identifier: GPL-2.0
/*
 * libregistry - a C library with a lock of its own, for tests/pyhang.py's
 * "native" mode: a Python program calls into it through ctypes, and it
 * calls back into Python while holding its lock, as C libraries with
 * callbacks do (sqlite's, a GUI toolkit's, a driver's). Built as
 * .output/tests/libregistry.so, with frame pointers and debug info: the
 * tests assert its function names, file:line, and the lock's symbol.
 */
#include <pthread.h>

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static int registry[16];

/* The value of key, under the registry's lock. */
int registry_lookup(int key)
{
	int value;

	pthread_mutex_lock(&registry_mutex);
	value = registry[key & 15];
	pthread_mutex_unlock(&registry_mutex);
	return value;
}

/* Calls visit(key, value) for the first entry, holding the lock. */
void registry_visit(void (*visit)(int key, int value))
{
	pthread_mutex_lock(&registry_mutex);
	visit(0, registry[0]);
	pthread_mutex_unlock(&registry_mutex);
}
