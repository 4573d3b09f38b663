/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading CPython objects out of another process's memory, by the layout of
 * its version (pylayout.h): what kind of object an address holds, strings,
 * ints, dicts, instance attributes, and code objects' names and line
 * numbers. Every read goes through process_vm_readv; the process runs on, so
 * any read may see memory being changed or freed: every function checks what
 * it reads and fails (0, -1, NULL) rather than follow garbage.
 */
#ifndef LW_PYMEM_H
#define LW_PYMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "source/python/pylayout.h"

enum lw_pykind {
	PK_BAD = -1, /* unreadable */
	PK_OTHER = 0,
	PK_STR,
	PK_INT,
	PK_DICT,
	PK_SET,
	PK_LIST,
	PK_CODE,
	PK_CORO, /* coroutine, generator: PyGenObject */
	PK_METHOD, /* bound Python method */
	PK_CFUNC, /* builtin function or bound builtin method */
	PK_FUNC, /* Python function */
	PK_MDESCR, /* a builtin type's method (method_descriptor) */
	PK_WEAKREF,
	PK_TASK, /* _asyncio.Task and subclasses */
	PK_GATHER, /* asyncio.tasks._GatheringFuture */
	PK_ALOCK, /* asyncio.Lock */
	PK_ASEM, /* asyncio.Semaphore, BoundedSemaphore */
	PK_ACOND, /* asyncio.Condition */
	PK_AEVENT, /* asyncio.Event */
	PK_AQUEUE, /* asyncio.Queue and its kinds */
	PK_TLOCK, /* _thread.lock: threading.Lock */
	PK_RLOCK, /* _thread.RLock: threading.RLock */
	PK_NKINDS
};

struct lw_pycode {
	uint64_t addr;
	int firstlineno, nlocalsplus, stacksize;
	char qualname[96], filename[256];
	uint8_t *linetable, *exctable;
	int nlinetable, nexctable;
};

struct lw_pymem;

/* pid's interpreter with layout L (copied), runtime at `runtime`,
 * Py_Version hexversion (0: unknown). */
struct lw_pymem *pymem__new(pid_t pid, const struct lw_pylayout *L, uint64_t runtime,
			    uint32_t hexversion);
void pymem__free(struct lw_pymem *m);
/* Start a new look: forget cached pages, code objects and types' kinds. */
void pymem__reset(struct lw_pymem *m);
/* Free the page cache until the next read (between looks). */
void pymem__trim(struct lw_pymem *m);

pid_t pymem__pid(const struct lw_pymem *m);
const struct lw_pylayout *pymem__layout(const struct lw_pymem *m);
uint64_t pymem__runtime(const struct lw_pymem *m);
/* Whether a lock of kind k (PK_TLOCK, PK_RLOCK) here waits on a semaphore
 * its object points to; if not, it is a parked-on PyMutex. */
int pymem__lock_sem(const struct lw_pymem *m, enum lw_pykind k);
/* The task lists' offsets from the words of an .AsyncioDebug section
 * (pylayout__asyncio): 0 or -1. */
int pymem__asyncio(struct lw_pymem *m, const uint64_t *words, char *why, size_t len);
/* reads made so far */
uint64_t pymem__reads(const struct lw_pymem *m);
/* The look since the last reset ran out of reads: what it did not read
 * reads as unreadable (-E2BIG), so it saw less than the whole process. */
int pymem__cut(const struct lw_pymem *m);
/* No read after ns (CLOCK_MONOTONIC; 0: none): one wanted then cuts the
 * look, as running out of reads does. */
void pymem__deadline(struct lw_pymem *m, uint64_t ns);

/* 0 or -errno */
int pymem__read(struct lw_pymem *m, uint64_t addr, void *buf, size_t len);
/* The same, past the look's page cache: memory as it is now (between looks) */
int pymem__read_now(struct lw_pymem *m, uint64_t addr, void *buf, size_t len);
/* the pointer at addr, or 0 */
uint64_t pymem__ptr(struct lw_pymem *m, uint64_t addr);
/* A frame's reference (f_executable, a local, a stack slot) at addr, or the
 * one in ref, as the object it points to (3.14: without _PyStackRef's tag). */
uint64_t pymem__ref(struct lw_pymem *m, uint64_t addr);
uint64_t pymem__unref(const struct lw_pymem *m, uint64_t ref);
enum lw_pykind pymem__kind(struct lw_pymem *m, uint64_t obj);
/* obj's type name ("Lock", "_asyncio.Task"); "" when unreadable */
void pymem__type_name(struct lw_pymem *m, uint64_t obj, char *buf, size_t len);
/* A str as UTF-8 (cut to fit); 0, or -1 when obj is no readable str. */
int pymem__str(struct lw_pymem *m, uint64_t obj, char *buf, size_t len);
/* An int that fits 64 bits; 0 or -1. */
int pymem__int(struct lw_pymem *m, uint64_t obj, int64_t *v);
/* Call fn(key, value) for each str-keyed item of a dict, until it returns
 * non-zero; returns that, 0 at the end, -1 when the dict is unreadable. */
typedef int (*lw_pyitem_fn)(struct lw_pymem *m, const char *key, uint64_t value, void *arg);
int pymem__dict_items(struct lw_pymem *m, uint64_t dict, lw_pyitem_fn fn, void *arg);
/* Every item of a dict, keys of any kind. */
typedef int (*lw_pypair_fn)(struct lw_pymem *m, uint64_t key, uint64_t value, void *arg);
int pymem__dict_pairs(struct lw_pymem *m, uint64_t dict, lw_pypair_fn fn, void *arg);
/* The same for the attributes in an object's instance dict. */
int pymem__attr_items(struct lw_pymem *m, uint64_t obj, lw_pyitem_fn fn, void *arg);
/* dict[key] and obj.key (instance dict only); 0 when absent or unreadable */
uint64_t pymem__dict_get(struct lw_pymem *m, uint64_t dict, const char *key);
uint64_t pymem__attr(struct lw_pymem *m, uint64_t obj, const char *name);
/* obj.name where the class declares it in __slots__ (or a base does); 0
 * when absent or unreadable */
uint64_t pymem__slot(struct lw_pymem *m, uint64_t obj, const char *name);
/* The local `name` of the frame at `frame` running `code`; 0: none */
uint64_t pymem__local(struct lw_pymem *m, uint64_t frame, uint64_t code, const char *name);
/* Every non-NULL key of a set, into out (at most max); how many, or -1. */
int pymem__set_keys(struct lw_pymem *m, uint64_t set, uint64_t *out, int max);

/* A code object, read once per pymem__reset(); NULL when unreadable. */
const struct lw_pycode *pymem__code(struct lw_pymem *m, uint64_t code);
/* pycode.c - the line of instruction index `instr` (code units), or 0. */
int pycode__line(const struct lw_pycode *c, int instr);
/* The value-stack depth of the innermost exception handler (`with`, `try`)
 * that covers instruction `instr`; 0 when none does. */
int pycode__handler_depth(const struct lw_pycode *c, int instr);

/* qsort()/bsearch() order of addresses, or of records that start with one */
int pymem__by_addr(const void *a, const void *b);
/* Sorts v (n records of size bytes) by pymem__by_addr(); v may be NULL when
 * n is 0. */
void pymem__sort(void *v, int n, size_t size);
/* The record of v (n, each size bytes, sorted by pymem__by_addr()) that
 * starts with addr, or NULL. */
const void *pymem__find(const void *v, int n, size_t size, uint64_t addr);

#endif /* LW_PYMEM_H */
