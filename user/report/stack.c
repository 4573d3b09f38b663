// SPDX-License-Identifier: GPL-2.0
/*
 * Stacks for reports (see report.h). A native stack is unwound with libdw
 * from the sp/pc a wait was confirmed at (sys/syms.c); a Python stack is
 * the frames the CPython source saw when it confirmed the wait. For a
 * Python thread in native code, each activation of the interpreter's eval
 * loop stands for the Python frames it was running: those frames go in its
 * place, so the stack reads top to bottom as the thread got there - a C
 * library's lock call, the ctypes call, the Python function that made it,
 * and so on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"
#include "sys/proc.h"

#define MAX_FRAMES 64
#define INLINED_MAX 16 /* frames of inlined functions beside a few pcs' */

static int native(struct lw_syms_cache *syms, const struct lw_participant *p,
		  const struct lw_syscall *sc, struct lw_frame *out, int max, int *err)
{
	struct lw_syms *s = syms_cache__get(syms, p->pid);
	int k;

	if (!s) {
		*err = -errno;
		return 0;
	}
	k = syms__unwind(s, p->tid, sc->sp, sc->pc, out, max);
	if (k < 0) {
		*err = k;
		return 0;
	}
	return k;
}

/* A copy of the frames a source saw (innermost first). */
static int copy_frames(const struct lw_frame *in, int n, struct lw_frame *out, int max)
{
	int k = 0;

	for (int i = 0; i < n && k < max; i++) {
		out[k] = in[i];
		out[k].function = in[i].function ? strdup(in[i].function) : NULL;
		out[k].module = in[i].module ? strdup(in[i].module) : NULL;
		out[k].file = in[i].file ? strdup(in[i].file) : NULL;
		k++;
	}
	return k;
}

static int is_eval_loop(const struct lw_frame *f)
{
	return f->function && !strcmp(f->function, "_PyEval_EvalFrameDefault");
}

/* Native frames with each eval-loop activation replaced by the group of
 * Python frames it ran; Python frames left over go last. */
static int merge(struct lw_frame *nat, int nn, const struct lw_frame *py, int np,
		 struct lw_frame *out, int max)
{
	int n = 0, k = 0;

	for (int i = 0; i < nn && n < max; i++) {
		int j = i;

		/* what the interpreter inlined into its eval loop: the Python
		 * frames that replace the loop say it better */
		while (j < nn - 1 && nat[j].inlined)
			j++;
		if (nat[i].inlined && is_eval_loop(&nat[j]) && k < np) {
			lw_frames_free(&nat[i], 1);
			continue;
		}
		if (!is_eval_loop(&nat[i]) || k == np) {
			out[n++] = nat[i];
			continue;
		}
		lw_frames_free(&nat[i], 1);
		do
			out[n++] = py[k];
		while (!py[k++].entry && k < np && n < max);
	}
	while (k < np && n < max)
		out[n++] = py[k++];
	return n;
}

void stack__of(struct lw_syms_cache *syms, const struct lw_participant *p,
	       const struct lw_observation *o, struct lw_stack *st)
{
	struct lw_frame nat[MAX_FRAMES], py[MAX_FRAMES];
	int nn = 0, np = 0, n;

	memset(st, 0, sizeof(*st));
	if (o && o->has_sc && p->type == LW_PARTICIPANT_THREAD)
		nn = native(syms, p, &o->sc, nat, MAX_FRAMES, &st->err);
	if (o)
		np = copy_frames(o->frames, o->nframes, py, MAX_FRAMES);
	st->frames = calloc(nn + np ? nn + np : 1, sizeof(*st->frames));
	if (!st->frames) {
		lw_frames_free(nat, nn);
		lw_frames_free(py, np);
		st->err = -ENOMEM;
		return;
	}
	n = merge(nat, nn, py, np, st->frames, nn + np);
	st->n = n;
}

void stack__free(struct lw_stack *st)
{
	lw_frames_free(st->frames, st->n);
	free(st->frames);
	memset(st, 0, sizeof(*st));
}

int stack__pcs(struct lw_syms_cache *syms, pid_t pid, const uint64_t *pcs, int n, int from_call,
	       struct lw_frame **out)
{
	struct lw_syms *s = syms_cache__get(syms, pid);
	int k = 0;

	int max = n + INLINED_MAX;

	*out = s && n > 0 ? calloc(max, sizeof(**out)) : NULL;
	for (int i = 0; *out && i < n && k < max; i++) {
		int got = pcs[i] ? syms__frames(s, pcs[i], i == 0 && !from_call, &(*out)[k],
						max - k) :
				   0;

		k += got > 0 ? got : 0;
	}
	if (!k) { /* nothing to keep: no array for the caller to lose */
		free(*out);
		*out = NULL;
	}
	return k;
}

static int is_runtime(const char *module)
{
	const char *base;

	if (!module)
		return 1;
	base = strrchr(module, '/');
	base = base ? base + 1 : module;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
	       !strncmp(base, "libpthread", 10) || !strncmp(base, "ld-linux", 8);
}

const char *stack__caller(const struct lw_stack *st)
{
	for (int i = 0; i < st->n; i++)
		if (st->frames[i].function && !st->frames[i].python &&
		    !is_runtime(st->frames[i].module))
			return st->frames[i].function;
	return NULL;
}

const char *stack__futex_kind(struct lw_syms_cache *syms, const struct lw_participant *p)
{
	static const struct {
		const char *fn, *type;
	} kinds[] = {
		{ "sem_", "semaphore" },	{ "cond_", "condvar" },
		{ "barrier_wait", "barrier" },	{ "rwlock", "rwlock" },
		{ "join", "thread_exit" },	{ "mutex_lock", "mutex" },
		{ "mutex_timedlock", "mutex" },
	};
	struct lw_observation o = { .has_sc = 1 };
	const char *type = "futex";
	struct lw_stack st;

	if (p->type != LW_PARTICIPANT_THREAD || lw_proc_syscall(p->pid, p->tid, &o.sc))
		return type;
	stack__of(syms, p, &o, &st);
	for (int i = 0; i < st.n && !strcmp(type, "futex"); i++)
		for (size_t k = 0; st.frames[i].function && k < sizeof(kinds) / sizeof(kinds[0]);
		     k++)
			if (!st.frames[i].python && strstr(st.frames[i].function, kinds[k].fn)) {
				type = kinds[k].type;
				break;
			}
	stack__free(&st);
	return type;
}
