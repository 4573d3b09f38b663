// SPDX-License-Identifier: GPL-2.0
/*
 * Symbols and stacks of another process without stopping it.
 *
 * libdw (elfutils) reports the process's modules from /proc/PID/maps
 * (dwfl_linux_proc_report) and unwinds with DWARF CFI. Instead of
 * dwfl_linux_proc_attach, which ptrace-attaches and stops every thread, we
 * hand dwfl_attach_state our own Dwfl_Thread_Callbacks: the initial state is
 * only the sp and pc that /proc/PID/task/TID/syscall shows for a thread
 * blocked in a syscall, and stack memory is read with process_vm_readv(2).
 * The target is never ptraced, signalled or stopped; reading its memory needs
 * ptrace-attach permission only (root has it).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "sys/modfile.h"
#include "sys/syms.h"

#define PAGE_SZ 4096UL
#define PC_CACHE_SLOTS 1024 /* power of two */
#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define FP_SCAN_WORDS 512 /* 4 KiB of stack searched for a frame record */
#define FP_MAX_RESUMES 16
#define INLINE_MAX 8 /* functions inlined at one pc that are shown */

/*
 * A symbolized pc. The strings point into libdw's own data (string tables,
 * line tables, module names), which live as long as the Dwfl does, so a hit
 * costs no allocation until it is copied into a caller's lw_frame.
 */
struct pc_sym {
	uint64_t pc; /* 0: empty slot */
	bool activation; /* looked up at pc, not pc - 1 */
	const char *function;
	uint64_t offset;
	const char *module;
	const char *file;
	int line;
};

struct lw_syms {
	pid_t pid;
	Dwfl *dwfl;
	/*
	 * dwfl_attach_state takes the callbacks once per Dwfl, so the thread
	 * they describe is whatever syms__unwind() put here last.
	 */
	pid_t tid;
	uint64_t sp;
	uint64_t pc;
	uint64_t rbp;
	bool rbp_known;
	/* The stack as it was, when unwinding from a copy (syms__unwind_from). */
	const uint8_t *snap;
	uint64_t snap_base;
	size_t snap_len;
	/* One page of target memory: CFI reads walk up the same stack page. */
	uint64_t page_addr;
	bool page_valid;
	unsigned char page[PAGE_SZ];
	struct pc_sym pcs[PC_CACHE_SLOTS];
};

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = lw_modfile_find_elf,
	.find_debuginfo = lw_modfile_find_debuginfo,
	.debuginfo_path = &lw_modfile_debuginfo_path,
};

static bool read_remote(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* Memory of the process: from the stack copy where it covers [addr, +len),
 * else as it is now. */
static bool read_mem(struct lw_syms *s, uint64_t addr, void *buf, size_t len)
{
	if (s->snap && addr >= s->snap_base && addr - s->snap_base + len <= s->snap_len) {
		memcpy(buf, s->snap + (addr - s->snap_base), len);
		return true;
	}
	return read_remote(s->pid, addr, buf, len);
}

static bool read_word(struct lw_syms *s, uint64_t addr, uint64_t *val)
{
	uint64_t base = addr & ~(PAGE_SZ - 1);

	if (s->snap && addr >= s->snap_base && addr - s->snap_base + sizeof(*val) <= s->snap_len) {
		memcpy(val, s->snap + (addr - s->snap_base), sizeof(*val));
		return true;
	}

	/* A word straddling two pages is rare: read it directly. */
	if (addr - base > PAGE_SZ - sizeof(*val))
		return read_remote(s->pid, addr, val, sizeof(*val));
	if (!s->page_valid || s->page_addr != base) {
		if (!read_remote(s->pid, base, s->page, PAGE_SZ)) {
			s->page_valid = false;
			return false;
		}
		s->page_addr = base;
		s->page_valid = true;
	}
	memcpy(val, s->page + (addr - base), sizeof(*val));
	return true;
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct lw_syms *s = arg;

	/* Only the thread being unwound exists as far as libdw knows. */
	if (*thread_argp)
		return 0;
	*thread_argp = s;
	return s->tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct lw_syms *s = arg;

	if (tid != s->tid)
		return false;
	*thread_argp = s;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	return read_word(arg, addr, result);
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct lw_syms *s = thread_arg;
	Dwarf_Word sp = s->sp;

	/*
	 * A thread in a syscall only shows sp and pc; every other register is
	 * unknown, which CFI handles as long as frames are found from rsp.
	 */
	if (!dwfl_thread_state_registers(thread, DWARF_REG_RSP, 1, &sp))
		return false;
	if (s->rbp_known && !dwfl_thread_state_registers(thread, DWARF_REG_RBP, 1, &s->rbp))
		return false;
	dwfl_thread_state_register_pc(thread, s->pc);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static int open_elf_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	Dwarf_Addr bias;

	dwfl_module_getelf(mod, &bias);
	return DWARF_CB_OK;
}

struct lw_syms *syms__open(pid_t pid)
{
	struct lw_syms *s;
	int err;

	if (pid <= 0) {
		errno = ESRCH;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pid = pid;

	s->dwfl = dwfl_begin(&proc_callbacks);
	if (!s->dwfl) {
		err = -ENOMEM;
		goto err_free;
	}
	dwfl_report_begin(s->dwfl);
	lw_modfile_pid(pid);
	err = dwfl_linux_proc_report(s->dwfl, pid);
	if (err) {
		/* A positive errno from opening /proc/PID/maps, or -1. */
		err = err == ENOENT ? -ESRCH : err > 0 ? -err : -EIO;
		goto err_end;
	}
	if (dwfl_report_end(s->dwfl, NULL, NULL)) {
		err = -EIO;
		goto err_end;
	}
	/*
	 * Every module's file now, while the process lives and the files are
	 * found through its /proc entry: the symbols then outlast it, and name
	 * what it did just before it exited.
	 */
	dwfl_getmodules(s->dwfl, open_elf_cb, NULL, 0);
	lw_modfile_pid(0); /* its maps read for that are let go */
	/* Fails when no module has a readable ELF to pick the unwinder. */
	if (!dwfl_attach_state(s->dwfl, NULL, pid, &thread_callbacks, s)) {
		err = -ENOEXEC;
		goto err_end;
	}
	return s;

err_end:
	lw_modfile_pid(0);
	dwfl_end(s->dwfl);
err_free:
	free(s);
	errno = -err;
	return NULL;
}

static int prepare_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		      void *arg)
{
	lw_modfile_prepare(mod);
	return DWARF_CB_OK;
}

void syms__prepare(struct lw_syms *s)
{
	dwfl_getmodules(s->dwfl, prepare_cb, NULL, 0);
}

void syms__close(struct lw_syms *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	free(s);
}

static const char *module_path(Dwfl_Module *mod)
{
	const char *name, *mainfile = NULL;

	name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	/* mainfile is the file libdw opened; name is the line from maps. */
	if (mainfile && mainfile[0] == '/')
		return mainfile;
	if (name && strncmp(name, "[vdso", 5) == 0)
		return "[vdso]";
	return name;
}

static const struct pc_sym *symbolize(struct lw_syms *s, uint64_t pc, bool activation)
{
	uint64_t addr = activation ? pc : pc - 1;
	struct pc_sym *e;
	Dwfl_Module *mod;
	Dwfl_Line *line;
	GElf_Off off;
	GElf_Sym sym;
	size_t slot;

	slot = ((pc * 0x9e3779b97f4a7c15ULL) >> 32) & (PC_CACHE_SLOTS - 1);
	e = &s->pcs[slot];
	if (e->pc == pc && e->activation == activation)
		return e;

	memset(e, 0, sizeof(*e));
	e->pc = pc;
	e->activation = activation;
	mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return e;
	e->function = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	if (e->function)
		e->offset = off + (pc - addr);
	e->module = module_path(mod);
	line = dwfl_module_getsrc(mod, addr);
	if (line)
		e->file = dwfl_lineinfo(line, NULL, &e->line, NULL, NULL, NULL);
	if (!e->file)
		e->line = 0;
	return e;
}

/* libstdc++'s demangler (a C function: <cxxabi.h> is C++ only). */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define DEMANGLE_MAX 1024 /* longer names stay as they are: the name is the target's */

/* A C++ name as the source spells it ("Account::deposit(long)"): malloc'd,
 * or NULL when name[0..len) is not one. */
static char *demangle(const char *name, size_t len)
{
	char raw[DEMANGLE_MAX];
	int status;

	if (len < 3 || len >= sizeof(raw) || strncmp(name, "_Z", 2))
		return NULL;
	memcpy(raw, name, len);
	raw[len] = '\0';
	return __cxa_demangle(raw, NULL, NULL, &status);
}

static int dup_str(char **dst, const char *src, size_t len)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = len ? strndup(src, len) : strdup(src);
	return *dst ? 0 : -ENOMEM;
}

/*
 * A function's name as people write it, malloc'd into *dst (NULL for none):
 * demangled, and without what libc's debug symtab adds to its aliases (libdw
 * picks one such as "__GI___lll_lock_wait" or
 * "pthread_mutex_lock@@GLIBC_2.2.5"): the internal-alias prefix and the
 * symbol version.
 */
static int set_function(char **dst, const char *fn)
{
	size_t len;

	*dst = NULL;
	if (!fn)
		return 0;
	if (strncmp(fn, "__GI_", 5) == 0 && fn[5])
		fn += 5;
	len = strcspn(fn, "@");
	if (!len)
		len = strlen(fn);
	*dst = demangle(fn, len);
	return *dst ? 0 : dup_str(dst, fn, len);
}

static int fill_frame(struct lw_syms *s, struct lw_frame *f, uint64_t pc, bool activation)
{
	const struct pc_sym *e = symbolize(s, pc, activation);

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	f->offset = e->offset;
	f->line = e->line;
	if (set_function(&f->function, e->function) || dup_str(&f->module, e->module, 0) ||
	    dup_str(&f->file, e->file, 0)) {
		lw_frames_free(f, 1);
		return -ENOMEM;
	}
	return 0;
}

/* A function's name from its DIE or the one it was inlined from: the
 * linkage name (demangled later) where there is one. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	return name;
}

struct inlined {
	const char *function, *file;
	int line;
};

/*
 * The functions the compiler inlined at addr, innermost first, as gdb and
 * eu-stack -i show them: each with where in it addr is (the innermost: addr's
 * own line; each next: the call site of the one inside it). *file and *line
 * come in as addr's place and go out as the place in the function that is
 * really there. At most max; how many. Strings are libdw's.
 */
static int inlined_at(Dwfl_Module *mod, uint64_t addr, struct inlined *out, int max,
		      const char **file, int *line)
{
	Dwarf_Die *cu, *scopes = NULL, *chain = NULL;
	Dwarf_Files *files = NULL;
	Dwarf_Half version = 0;
	Dwarf_Addr bias;
	int n, k = 0;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return 0;
	/* the innermost scope at addr, then the scopes around that DIE with
	 * each inlined instance's own call site (dwarf_getscopes alone gives
	 * the parents of the abstract definition, losing nested inlines) */
	n = dwarf_getscopes(cu, addr - bias, &scopes);
	if (n > 0)
		n = dwarf_getscopes_die(&scopes[0], &chain);
	free(scopes);
	if (n <= 0) {
		free(chain);
		return 0;
	}
	if (dwarf_getsrcfiles(cu, &files, NULL))
		files = NULL;
	dwarf_cu_info(cu->cu, &version, NULL, NULL, NULL, NULL, NULL, NULL);
	for (int i = 0; i < n && k < max; i++) {
		Dwarf_Word call_file = 0, call_line = 0;
		Dwarf_Attribute a;
		int tag = dwarf_tag(&chain[i]);

		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue; /* a lexical block */
		out[k].function = die_name(&chain[i]);
		out[k].file = *file;
		out[k++].line = *line;
		if (!dwarf_attr(&chain[i], DW_AT_call_file, &a) || dwarf_formudata(&a, &call_file))
			call_file = version >= 5 ? (Dwarf_Word)-1 : 0;
		dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &a), &call_line);
		/* file 0 is the unit's own source from DWARF 5 on, none before */
		*file = files && (call_file || version >= 5) && call_file != (Dwarf_Word)-1 ?
				dwarf_filesrc(files, call_file, NULL, NULL) :
				NULL;
		*line = *file && call_line < INT32_MAX ? (int)call_line : 0;
	}
	free(chain);
	return k;
}

/*
 * pc as frames: the functions inlined there (each marked inlined, pc for
 * all), then the function that holds it. At most max (>= 1); how many, or
 * -ENOMEM.
 */
static int fill_frames(struct lw_syms *s, struct lw_frame *f, int max, uint64_t pc, bool activation)
{
	uint64_t addr = activation ? pc : pc - 1;
	struct inlined inl[INLINE_MAX];
	const struct pc_sym *e;
	Dwfl_Module *mod;
	const char *file;
	int k = 0, line;

	if (fill_frame(s, &f[0], pc, activation))
		return -ENOMEM;
	e = symbolize(s, pc, activation);
	mod = max > 1 ? dwfl_addrmodule(s->dwfl, addr) : NULL;
	file = e->file;
	line = e->line;
	if (mod)
		k = inlined_at(mod, addr, inl, max - 1 < INLINE_MAX ? max - 1 : INLINE_MAX, &file,
			       &line);
	if (!k)
		return 1;
	/* the holder of pc goes last, at the call site of what is inlined */
	f[k] = f[0];
	free(f[k].file);
	f[k].file = NULL;
	f[k].line = file ? line : 0;
	if (file && dup_str(&f[k].file, file, 0))
		goto nomem;
	for (int i = 0; i < k; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].pc = pc;
		f[i].inlined = 1;
		f[i].line = inl[i].file ? inl[i].line : 0;
		if (set_function(&f[i].function, inl[i].function) ||
		    dup_str(&f[i].module, f[k].module, 0) || dup_str(&f[i].file, inl[i].file, 0)) {
			lw_frames_free(f, i + 1);
			lw_frames_free(&f[k], 1);
			return -ENOMEM;
		}
	}
	return k + 1;
nomem:
	lw_frames_free(&f[k], 1);
	return -ENOMEM;
}

int syms__frames(struct lw_syms *s, uint64_t pc, int activation, struct lw_frame *f, int max)
{
	return max < 1 ? 0 : fill_frames(s, f, max, pc, activation);
}

struct unwind_ctx {
	struct lw_syms *s;
	struct lw_frame *frames;
	int n;
	int max;
	int err;
	bool resumed; /* first frame's pc is a return address from the scan */
	bool pcs_only; /* record the pcs, symbolize later (syms__frame) */
	bool first;
	uint64_t last_sp; /* sp of the last frame made, 0 if unknown */
	uint64_t last_pc;
	bool last_activation;
};

static int unwind_frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct unwind_ctx *ctx = arg;
	Dwarf_Word sp;
	bool activation;
	Dwarf_Addr pc;
	int err;

	if (!dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	if (dwfl_frame_reg(frame, DWARF_REG_RSP, &sp))
		sp = 0;
	/* A stack torn by a thread that woke mid-read can make CFI loop. */
	if (ctx->n && sp && sp == ctx->last_sp && pc == ctx->last_pc)
		return DWARF_CB_ABORT;
	if (ctx->first && ctx->resumed)
		activation = false;
	ctx->first = false;
	if (ctx->pcs_only) {
		memset(&ctx->frames[ctx->n], 0, sizeof(ctx->frames[0]));
		ctx->frames[ctx->n].pc = pc;
		err = 0;
	} else {
		err = fill_frames(ctx->s, &ctx->frames[ctx->n], ctx->max - ctx->n, pc, activation);
	}
	if (err < 0) {
		ctx->err = err;
		return DWARF_CB_ABORT;
	}
	ctx->last_pc = pc;
	ctx->last_activation = activation;
	ctx->last_sp = sp;
	ctx->n += ctx->pcs_only ? 1 : err;
	if (ctx->n >= ctx->max)
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

/* Whether a PT_LOAD segment of mod with at least `flags` covers addr. */
static bool in_segment(Dwfl_Module *mod, uint64_t addr, GElf_Word flags)
{
	size_t i, nphdr;
	GElf_Phdr phdr;
	Dwarf_Addr bias;
	Elf *elf;

	elf = dwfl_module_getelf(mod, &bias);
	if (!elf || elf_getphdrnum(elf, &nphdr))
		return false;
	for (i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD ||
		    (phdr.p_flags & flags) != flags)
			continue;
		if (addr >= phdr.p_vaddr + bias && addr - (phdr.p_vaddr + bias) < phdr.p_memsz)
			return true;
	}
	return false;
}

/*
 * libdw ends a walk with 0 both at the outermost frame and when a frame's CFA
 * needs a register it does not know. Only the first is a real end: CFI marks
 * the return address undefined there (__clone3, _start).
 */
static bool is_outermost(struct lw_syms *s, uint64_t pc, bool activation)
{
	uint64_t addr = activation ? pc : pc - 1;
	Dwarf_Op ops_mem[3], *ops;
	Dwarf_Frame *frame;
	Dwfl_Module *mod;
	Dwarf_CFI *cfi;
	Dwarf_Addr bias;
	bool undefined = false;
	size_t nops;
	int i, ra;

	mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return false;
	/* Same order as libdw's unwinder: the first CFI with an FDE decides. */
	for (i = 0; i < 2; i++) {
		cfi = i ? dwfl_module_dwarf_cfi(mod, &bias) : dwfl_module_eh_cfi(mod, &bias);
		if (!cfi || dwarf_cfi_addrframe(cfi, addr - bias, &frame))
			continue;
		ra = dwarf_frame_info(frame, NULL, NULL, NULL);
		undefined = ra >= 0 && !dwarf_frame_register(frame, ra, ops_mem, &ops, &nops) &&
			    nops == 0 && ops == ops_mem;
		free(frame);
		break;
	}
	return undefined;
}

/* Whether ret is code and the bytes before it encode a call (e8, ff /2). */
static bool follows_call(struct lw_syms *s, uint64_t ret)
{
	unsigned char b[8];
	Dwfl_Module *mod;
	int k;

	if (ret < sizeof(b))
		return false;
	mod = dwfl_addrmodule(s->dwfl, ret - 1);
	if (!mod || !in_segment(mod, ret - 1, PF_X) ||
	    !read_remote(s->pid, ret - sizeof(b), b, sizeof(b)))
		return false;
	if (b[8 - 5] == 0xe8)
		return true;
	for (k = 2; k <= 7; k++) {
		unsigned char modrm = b[8 - k + 1];
		int md = modrm >> 6, rm = modrm & 7, len = 1;

		if (b[8 - k] != 0xff || ((modrm >> 3) & 7) != 2)
			continue;
		if (md != 3 && rm == 4)
			len++; /* SIB byte */
		if (md == 1)
			len += 1;
		else if (md == 2 || (md == 0 && rm == 5))
			len += 4;
		if (len == k - 1)
			return true;
	}
	return false;
}

/*
 * CFI of code built with frame pointers finds the caller through rbp, which a
 * thread seen only through its syscall sp/pc does not give us, unless a callee
 * happened to save it. Find the frame record (saved rbp, return address) that
 * such a function pushed, the nearest above sp whose return address follows a
 * call in executable code. Prefer a record whose saved rbp points further up
 * the stack, as a frame-pointer caller's does; a caller without frame pointers
 * (main() called from libc) leaves any value there, so accept that second.
 */
static int fp_scan(struct lw_syms *s, uint64_t sp, uint64_t *rec)
{
	uint64_t words[FP_SCAN_WORDS + 1];
	size_t n = FP_SCAN_WORDS + 1, i;
	int strict;

	sp &= ~7ULL;
	/* The stack may end before the window does: shrink it page by page. */
	while (n > 1 && !read_mem(s, sp, words, n * 8)) {
		uint64_t end = (sp + n * 8 - 1) & ~(PAGE_SZ - 1);

		n = end > sp ? (end - sp) / 8 : 0;
	}
	for (strict = 1; strict >= 0; strict--) {
		for (i = 0; i + 1 < n; i++) {
			uint64_t addr = sp + i * 8, rbp = words[i];
			bool fp = rbp > addr && rbp - addr < (1 << 20) && !(rbp & 7);

			if ((fp || !strict) && follows_call(s, words[i + 1])) {
				*rec = addr;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static int unwind(struct lw_syms *s, pid_t tid, const struct lw_unwind_start *st,
		  struct lw_frame *frames, int max, bool pcs_only)
{
	struct unwind_ctx ctx = { .s = s, .frames = frames, .max = max, .pcs_only = pcs_only };
	uint64_t rec, rec_words[2];
	int resumes;

	if (!s || !frames || max <= 0 || !st->pc)
		return -EINVAL;
	s->tid = tid;
	s->sp = st->sp;
	s->pc = st->pc;
	s->rbp = st->bp;
	s->rbp_known = st->bp_known;
	s->snap = st->stack;
	s->snap_base = st->sp;
	s->snap_len = st->stack ? st->stack_len : 0;
	ctx.resumed = st->pc_is_return;

	for (resumes = 0; resumes <= FP_MAX_RESUMES; resumes++) {
		/* The stack changes between calls: never trust an older page. */
		s->page_valid = false;
		ctx.first = true;
		ctx.last_sp = 0;
		dwfl_getthread_frames(s->dwfl, tid, unwind_frame_cb, &ctx);
		if (ctx.err || ctx.n >= max || !ctx.last_sp ||
		    is_outermost(s, ctx.last_pc, ctx.last_activation))
			break;
		if (fp_scan(s, ctx.last_sp, &rec) ||
		    !read_mem(s, rec, rec_words, sizeof(rec_words)))
			break;
		/*
		 * Resume CFI in the caller, as if its callee had returned. libdw
		 * looks up a first frame's CFI at pc itself, which is right
		 * unless the call was the caller's last instruction.
		 */
		s->sp = rec + 16;
		s->rbp = rec_words[0];
		s->rbp_known = true;
		s->pc = rec_words[1];
		ctx.resumed = true;
	}
	s->page_valid = false;
	s->snap = NULL;
	if (ctx.err) {
		if (!pcs_only)
			lw_frames_free(frames, ctx.n);
		return ctx.err;
	}
	if (!ctx.n)
		return -ESRCH;
	return ctx.n;
}

int syms__unwind(struct lw_syms *s, pid_t tid, uint64_t sp, uint64_t pc, struct lw_frame *frames,
		 int max)
{
	struct lw_unwind_start st = { .sp = sp, .pc = pc };

	return unwind(s, tid, &st, frames, max, false);
}

int syms__unwind_from(struct lw_syms *s, pid_t tid, const struct lw_unwind_start *st,
		      struct lw_frame *frames, int max)
{
	return unwind(s, tid, st, frames, max, true);
}

static bool is_data_symbol(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	/* STT_NOTYPE with a size: data defined in assembly. */
	return type == STT_OBJECT || (type == STT_NOTYPE && sym->st_size > 0);
}

struct below_ctx {
	uint64_t addr;
	uint64_t best_end;
	Dwfl_Module *best;
};

static int below_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		    void *arg)
{
	struct below_ctx *ctx = arg;
	Dwarf_Addr end;

	dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	if (end <= ctx->addr && end > ctx->best_end) {
		ctx->best_end = end;
		ctx->best = mod;
	}
	return DWARF_CB_OK;
}

/*
 * Modules span only their file-backed mappings, but the part of .bss past the
 * last file page is an anonymous mapping right after them: ask the segments
 * of the nearest module below addr whether their memory size covers it.
 */
static Dwfl_Module *bss_module(struct lw_syms *s, uint64_t addr)
{
	struct below_ctx ctx = { .addr = addr };

	dwfl_getmodules(s->dwfl, below_cb, &ctx, 0);
	return ctx.best && in_segment(ctx.best, addr, 0) ? ctx.best : NULL;
}

int syms__data_name(struct lw_syms *s, uint64_t addr, char *buf, size_t len)
{
	Dwfl_Module *mod;
	const char *name;
	GElf_Off off;
	GElf_Sym sym;
	char *cxx;
	int n;

	if (!s || !buf || !len)
		return -EINVAL;
	mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		mod = bss_module(s, addr);
	if (!mod)
		return -ENOENT;
	/* The nearest symbol of any type: only an object that covers addr. */
	name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	if (!name || !name[0] || !is_data_symbol(&sym) || off >= sym.st_size)
		return -ENOENT;
	cxx = demangle(name, strlen(name));
	if (cxx)
		name = cxx;
	if (off)
		n = snprintf(buf, len, "%s+%#llx", name, (unsigned long long)off);
	else
		n = snprintf(buf, len, "%s", name);
	free(cxx);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void lw_frames_free(struct lw_frame *frames, int n)
{
	int i;

	if (!frames)
		return;
	for (i = 0; i < n; i++) {
		free(frames[i].function);
		free(frames[i].module);
		free(frames[i].file);
		frames[i].function = NULL;
		frames[i].module = NULL;
		frames[i].file = NULL;
	}
}

static char *dup_or_null(const char *s, int *bad)
{
	char *d = s ? strdup(s) : NULL;

	*bad |= s && !d;
	return d;
}

struct lw_frame *lw_frames_dup(const struct lw_frame *frames, int n)
{
	struct lw_frame *v = calloc(n > 0 ? n : 1, sizeof(*v));
	int bad = 0;

	for (int i = 0; v && i < n; i++) {
		v[i] = frames[i];
		v[i].function = dup_or_null(frames[i].function, &bad);
		v[i].module = dup_or_null(frames[i].module, &bad);
		v[i].file = dup_or_null(frames[i].file, &bad);
	}
	if (v && bad) {
		lw_frames_free(v, n);
		free(v);
		v = NULL;
	}
	return v;
}
