/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Symbols and stacks of another process, read without stopping it: libdw
 * (elfutils) reports the modules from /proc/PID/maps and unwinds a blocked
 * thread with DWARF CFI from the sp/pc that /proc/PID/task/TID/syscall shows
 * and stack memory read through process_vm_readv. Never ptrace.
 */
#ifndef LW_SYMS_H
#define LW_SYMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_frame {
	uint64_t pc;
	char *function; /* NULL when no symbol covers pc */
	uint64_t offset; /* pc - function start */
	char *module; /* path of the mapped file, NULL if anonymous */
	char *file; /* source file, NULL without debug info */
	int line; /* 0 without debug info */
	int python; /* a Python frame: function is its qualified name, no pc */
	int entry; /* a Python frame: the first a C call into the interpreter ran */
	int inlined; /* a function inlined into the next frame's at pc (pc shared) */
};

struct lw_syms; /* one process's modules, symbols and unwinder */
struct lw_syms_cache; /* lw_syms by pid */

/* NULL and errno on failure (ESRCH: no such process). */
struct lw_syms *syms__open(pid_t pid);
void syms__close(struct lw_syms *s);
/* The debug info s's modules have in the local build-id tree, inflated
 * now (bounded: sys/debugcache.h), not when a report first needs it. */
void syms__prepare(struct lw_syms *s);

/*
 * Unwind thread `tid` of the process, starting from the stack pointer and
 * program counter of a thread blocked in a syscall. Fills at most `max`
 * frames, symbolized, functions the compiler inlined included (as gdb shows
 * them); returns how many, or a negative errno when not even the first frame
 * could be made. Frames must be freed with lw_frames_free().
 */
int syms__unwind(struct lw_syms *s, pid_t tid, uint64_t sp, uint64_t pc, struct lw_frame *frames,
		 int max);

/* Where an unwind starts when the thread is not sitting in a syscall: a
 * probe's registers and a copy of the stack as it was then. */
struct lw_unwind_start {
	uint64_t sp, pc, bp;
	int bp_known;
	int pc_is_return; /* pc is a return address: look it up as pc - 1 */
	const uint8_t *stack; /* stack_len bytes of memory from sp up, or NULL */
	size_t stack_len;
};

/*
 * Unwind from st, reading the stack from its copy (and the process for the
 * rest): only the pcs, into frames[].pc (no strings: nothing to free), for
 * syms__frames() to symbolize later. How many, or a negative errno.
 */
int syms__unwind_from(struct lw_syms *s, pid_t tid, const struct lw_unwind_start *st,
		      struct lw_frame *frames, int max);
/* Symbolize pc (a return address unless activation) into f: the functions
 * inlined there first (each .inlined), then the one that holds it; at most
 * max. How many, or -ENOMEM. lw_frames_free() them. */
int syms__frames(struct lw_syms *s, uint64_t pc, int activation, struct lw_frame *f, int max);

/*
 * Name a data address by the ELF symbol that covers it: "ledger" at its start,
 * "m+0x28" inside it. Returns 0, or -ENOENT when no object symbol covers addr
 * (heap, stack, anonymous memory).
 */
int syms__data_name(struct lw_syms *s, uint64_t addr, char *buf, size_t len);

void lw_frames_free(struct lw_frame *frames, int n);
/* A copy of n frames, strings and all (calloc'ed, at least one); NULL when
 * out of memory. */
struct lw_frame *lw_frames_dup(const struct lw_frame *frames, int n);

struct lw_syms_cache *syms_cache__new(void);
/* The cached lw_syms of pid, opened on first use; NULL and errno on failure. */
struct lw_syms *syms_cache__get(struct lw_syms_cache *c, pid_t pid);
/* Drop pid's entry: the process exited or called execve. */
void syms_cache__invalidate(struct lw_syms_cache *c, pid_t pid);
void syms_cache__free(struct lw_syms_cache *c);

#endif /* LW_SYMS_H */
