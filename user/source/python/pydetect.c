// SPDX-License-Identifier: GPL-2.0
/*
 * Python deadlocks from reads of the process (see pydetect.h): each read is
 * a snapshot (pystate.c) and its graph (pygraph.c); a finding becomes an
 * alert (pyreport.c) when the next read finds it again, unchanged. Also when
 * a watched process is worth reading again, and `check`'s list of waits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sys/log.h"
#include "sys/proc.h"
#include "source/python/pydetect.h"
#include "source/python/pygraph.h"
#include "source/python/pyfind.h"
#include "report/pyreport.h"

#define CONFIRM_GAP_MS 10
#define READS 4 /* reads of one look at most: confirm, or retry a torn one */
#define SIG_MAX 64
#define DUE_IDLE_NS (1000 * 1000000ull)
#define DUE_ANY_NS (10000 * 1000000ull)

struct lw_pyproc {
	pid_t pid;
	struct lw_pymem *m;
	struct lw_pysnap snap[2];
	int cur; /* snap[cur]: the latest read */
	struct lw_pygraph g; /* of snap[cur] */
	uint64_t reported[SIG_MAX];
	int nreported;
	uint64_t last_ns, last_cpu;
};

int pydetect__open(pid_t pid, struct lw_pyproc **out, char *why, size_t len)
{
	const struct lw_pylayout *L;
	struct lw_pyfound f;
	struct lw_pyproc *pp;
	int err = pyfind(pid, &f);

	if (err)
		return err;
	L = f.freethreaded ? NULL : pylayout__find(f.major << 8 | f.minor);
	if (!L) {
		if (f.freethreaded) {
			snprintf(why, len, "free-threaded Python %u.%ut", f.major, f.minor);
			return -ENOTSUP;
		}
		if (f.major)
			snprintf(why, len, "Python %u.%u", f.major, f.minor);
		else
			snprintf(why, len, "Python of unknown version (%s)", f.file);
		return -ENOTSUP;
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->pid = pid;
	pp->m = pymem__new(pid, L, f.runtime, f.hexversion);
	if (!pp->m) {
		free(pp);
		return -ENOMEM;
	}
	lw_debug("pid %d: Python %u.%u (%s), _PyRuntime at 0x%" PRIx64, pid, f.major, f.minor,
		 f.file, f.runtime);
	*out = pp;
	return 0;
}

void pydetect__close(struct lw_pyproc *pp)
{
	if (!pp)
		return;
	pystate__free(&pp->snap[0]);
	pystate__free(&pp->snap[1]);
	pygraph__free(&pp->g);
	pymem__free(pp->m);
	free(pp);
}

pid_t pydetect__pid(const struct lw_pyproc *pp)
{
	return pp->pid;
}

static int analyze(struct lw_pyproc *pp)
{
	struct lw_pysnap *s = &pp->snap[pp->cur];
	int err = pystate__read(pp->m, s);

	pp->g.nfound = 0;
	return err ? err : pygraph__build(&pp->g, pp->m, s);
}

static const struct lw_pypart *same_part(const struct lw_pysnap *s, const struct lw_pypart *p)
{
	for (int i = 0; i < s->n; i++)
		if (s->p[i].addr == p->addr && s->p[i].task == p->task)
			return &s->p[i];
	return NULL;
}

/* Exactly where it was, and a thread that did not run in between. */
static int unchanged(const struct lw_pypart *a, const struct lw_pypart *b)
{
	if (!b || a->state != b->state || a->nframes != b->nframes || a->wait != b->wait ||
	    a->wait_obj != b->wait_obj || a->nholds != b->nholds ||
	    memcmp(a->holds, b->holds, sizeof(a->holds[0]) * a->nholds))
		return 0;
	for (int i = 0; i < a->nframes; i++)
		if (a->frames[i].code != b->frames[i].code ||
		    a->frames[i].instr != b->frames[i].instr)
			return 0;
	return a->task || (a->ctxsw == b->ctxsw && !memcmp(&a->sc, &b->sc, sizeof(a->sc)));
}

static int confirmed(const struct lw_pyfinding *was, const struct lw_pyfinding *now,
		     const struct lw_pysnap *s)
{
	if (was->n != now->n)
		return 0;
	for (int i = 0; i < now->n; i++) {
		const struct lw_pyedge *e = &now->e[i];

		if (!unchanged(e->waiter, same_part(s, e->waiter)) ||
		    (e->holder && !unchanged(e->holder, same_part(s, e->holder))))
			return 0;
	}
	return 1;
}

static int reported(struct lw_pyproc *pp, uint64_t sig)
{
	for (int i = 0; i < pp->nreported && i < SIG_MAX; i++)
		if (pp->reported[i] == sig)
			return 1;
	return 0;
}

static int check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx);

int pydetect__check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx)
{
	int n = check(pp, emit, ctx);

	pymem__trim(pp->m);
	return n;
}

/* The candidates of the latest read that a read before (in snapshot s)
 * saw exactly the same: reported. */
static int emit_confirmed(struct lw_pyproc *pp, const struct lw_pyfinding *first, int nfirst,
			  const struct lw_pysnap *s, lw_pyemit_fn emit, void *ctx)
{
	int n = 0;

	for (int i = 0; i < pp->g.nfound; i++) {
		struct lw_pyfinding *c = &pp->g.found[i];
		struct lw_alert *a;

		for (int j = 0; j < nfirst; j++) {
			if (first[j].sig != c->sig || reported(pp, c->sig) ||
			    !confirmed(&first[j], c, s))
				continue;
			a = calloc(1, sizeof(*a));
			if (!a)
				return n;
			if (c->orphan)
				pyreport__orphan(a, pp->m, c->e, c->n, c->ended);
			else
				pyreport__cycle(a, pp->m, c->e, c->n);
			pp->reported[pp->nreported++ % SIG_MAX] = c->sig;
			emit(ctx, a);
			n++;
			break;
		}
	}
	return n;
}

/*
 * Reads, CONFIRM_GAP_MS apart, until every candidate was seen the same in
 * two reads in a row, or READS reads: a read torn by the running process
 * (an object freed or moved under it) is retried, never believed.
 */
static int check(struct lw_pyproc *pp, lw_pyemit_fn emit, void *ctx)
{
	struct timespec gap = { 0, CONFIRM_GAP_MS * 1000000L };
	struct lw_pyfinding first[LW_PY_FINDINGS];
	int nfirst = 0, fs = -1, err = 0, n = 0;

	for (int r = 0; r < READS; r++) {
		if (r)
			nanosleep(&gap, NULL);
		/* first[] points into snapshot fs: read into the other one */
		if (fs >= 0)
			pp->cur = fs ^ 1;
		err = analyze(pp);
		if (err == -EAGAIN)
			continue;
		if (err)
			break;
		if (fs >= 0)
			n += emit_confirmed(pp, first, nfirst, &pp->snap[fs], emit, ctx);
		nfirst = 0;
		for (int i = 0; i < pp->g.nfound; i++)
			if (!reported(pp, pp->g.found[i].sig))
				first[nfirst++] = pp->g.found[i];
		fs = pp->cur;
		if (!nfirst)
			return n;
	}
	return n ? n : err;
}

/* utime + stime of the whole process, in clock ticks */
static uint64_t cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

int pydetect__due(struct lw_pyproc *pp, uint64_t now_ns)
{
	uint64_t cpu, since = now_ns - pp->last_ns;
	int due;

	if (since < DUE_IDLE_NS)
		return 0;
	cpu = cpu_ticks(pp->pid);
	/* it ran no code since the last look: nothing new to see. Otherwise
	 * look after a second when it was mostly idle (a hung event loop
	 * sleeps), and every ten seconds anyway. */
	due = !pp->last_ns ||
	      (cpu != pp->last_cpu &&
	       ((cpu - pp->last_cpu) * 10000000ull < since / 2 || since >= DUE_ANY_NS));
	if (due) {
		pp->last_ns = now_ns;
		pp->last_cpu = cpu;
	}
	return due;
}

int pydetect__blocked(struct lw_pyproc *pp, struct lw_blocked *out, int max)
{
	const struct lw_pysnap *s = &pp->snap[pp->cur];
	int n = 0;

	for (int i = 0; pp->g.edges && i < s->n; i++) {
		const struct lw_pyedge *e = &pp->g.edges[i];
		struct lw_blocked *b = NULL;

		if (!e->lock || e->kind == PL_LOOP)
			continue;
		for (int j = 0; j < n; j++)
			if (out[j].lock.addr == e->lock && out[j].lock.pid == pp->pid)
				b = &out[j];
		if (!b) {
			if (n == max)
				continue;
			b = &out[n++];
			memset(b, 0, sizeof(*b));
			pyreport__lock(&b->lock, pp->m, e);
			if (e->holder)
				pyreport__party(&b->holder, pp->m, e->holder);
		}
		if (b->nwaiters < LW_BLOCKED_NAMED)
			pyreport__party(&b->waiters[b->nwaiters], pp->m, e->waiter);
		b->nwaiters++;
	}
	pymem__trim(pp->m);
	return n;
}
