// SPDX-License-Identifier: GPL-2.0
/*
 * The futex source (see futex.h): waits from the kernel's `waits` map or
 * /proc, holders from memory, into the one graph; and the re-check the
 * confirmation driver asks for. A PI thread refused with EDEADLK parks in a
 * wait for a zero word on its own stack; the lock it was refused is what it
 * waits for, so that wait stands in for the park.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "core/graph.h"
#include "loop/tracer.h"
#include "source/futex/attach.h"
#include "source/futex/futex.h"
#include "source/futex/holder.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/proc.h"

#define COUNTS_MAX 64 /* processes whose threads are counted, remembered */
#define COUNT_EVERY_NS 1000000000ull
#define HINTS_MAX 256
#define PI_MAX 16
#define PI_PATIENCE_NS (1000 * 1000000ull) /* for glibc to park a refused thread */
#define EXITED_MAX 64
#define CHECK_PIDS_MAX 16 /* processes `check` follows through shared locks */
#define LINKED_MAX 64

struct pi_refusal {
	struct lw_futex_wait w; /* the PI lock attempt, flagged LW_WF_PARKED */
	uint64_t deadline_ns;
	int parked; /* seen in glibc's park */
};

struct exited {
	pid_t pid, tid;
	char comm[LW_COMM_LEN + 1];
};

struct lw_futex_source {
	struct lw_source base;
	struct lw_tracer *tracer; /* NULL: `check`, waits from /proc */
	int follow_linked;
	struct lw_futex_wait *snap; /* this turn's waits */
	struct lw_held *held; /* their holders, as memory says */
	int nsnap;
	pid_t hints[HINTS_MAX];
	int nhints, hint_all;
	struct pi_refusal pi[PI_MAX];
	int npi;
	struct exited exited[EXITED_MAX];
	unsigned int nexited;
	pid_t check_pids[CHECK_PIDS_MAX];
	int ncheck;
	pid_t linked[LINKED_MAX];
	int nlinked;
	struct {
		pid_t pid;
		int n;
		uint64_t at_ns;
	} counts[COUNTS_MAX]; /* thread counts read lately (the hang rule's) */
	uint64_t hung_ns; /* when maybe_hung() looked last */
};

static const struct lw_source_ops futex_ops;

struct lw_futex_source *futex_source__new(struct lw_tracer *t, int follow_linked)
{
	struct lw_futex_source *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->base.ops = &futex_ops;
	fs->tracer = t;
	fs->follow_linked = follow_linked;
	fs->snap = calloc(LW_WAITS_MAX, sizeof(*fs->snap));
	fs->held = calloc(LW_WAITS_MAX, sizeof(*fs->held));
	if (!fs->snap || !fs->held) {
		free(fs->snap);
		free(fs->held);
		free(fs);
		return NULL;
	}
	return fs;
}

struct lw_source *futex_source__source(struct lw_futex_source *fs)
{
	return &fs->base;
}

static void futex_destroy(struct lw_source *s)
{
	struct lw_futex_source *fs = (struct lw_futex_source *)s;

	free(fs->snap);
	free(fs->held);
	free(fs);
}

void futex_source__hint(struct lw_futex_source *fs, pid_t tid)
{
	for (int i = 0; i < fs->nhints; i++)
		if (fs->hints[i] == tid)
			return;
	if (fs->nhints == HINTS_MAX)
		fs->hint_all = 1;
	else
		fs->hints[fs->nhints++] = tid;
}

void futex_source__pi_refused(struct lw_futex_source *fs, const struct lw_futex_wait *w)
{
	struct pi_refusal *p;

	lw_debug("PI lock 0x%llx refused with EDEADLK for tid %u", (unsigned long long)w->uaddr,
		 w->tid);
	if (fs->npi == PI_MAX)
		memmove(&fs->pi[0], &fs->pi[1], --fs->npi * sizeof(fs->pi[0]));
	p = &fs->pi[fs->npi++];
	p->w = *w;
	p->w.flags |= LW_WF_PARKED;
	p->deadline_ns = lw_now_ns() + PI_PATIENCE_NS;
	p->parked = 0;
}

void futex_source__thread_exited(struct lw_futex_source *fs, pid_t pid, pid_t tid, const char *comm)
{
	struct exited *e = &fs->exited[fs->nexited++ % EXITED_MAX];

	e->pid = pid;
	e->tid = tid;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
}

static const char *exited_name(const struct lw_futex_source *fs, pid_t pid, pid_t tid)
{
	for (unsigned int i = 0; i < EXITED_MAX && i < fs->nexited; i++)
		if (fs->exited[i].pid == pid && fs->exited[i].tid == tid)
			return fs->exited[i].comm;
	return "";
}

#define SEED_MAX 4096

static int same_wait(const struct lw_futex_wait *a, const struct lw_futex_wait *b, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i].tid == a->tid && b[i].uaddr == a->uaddr)
			return 1;
	return 0;
}

int futex_source__seed(struct lw_futex_source *fs, pid_t pid)
{
	static struct lw_futex_wait before[SEED_MAX], after[SEED_MAX];
	uint64_t now = lw_now_ns();
	int n, m;

	if (!fs->tracer)
		return 0;
	n = attach__scan(pid, before, SEED_MAX, now);
	if (n <= 0)
		return 0;
	tracer__seed(fs->tracer, before, n);
	m = attach__scan(pid, after, SEED_MAX, now);
	for (int i = 0; i < n; i++)
		if (m < 0 || !same_wait(&before[i], after, m))
			tracer__unseed(fs->tracer, &before[i]);
	return 1;
}

int futex_source__linked(struct lw_futex_source *fs, pid_t *out, int max)
{
	int n = fs->nlinked < max ? fs->nlinked : max;

	memcpy(out, fs->linked, n * sizeof(*out));
	fs->nlinked = 0;
	return n;
}

static void note_linked(struct lw_futex_source *fs, pid_t pid)
{
	for (int i = 0; i < fs->nlinked; i++)
		if (fs->linked[i] == pid)
			return;
	if (fs->nlinked < LINKED_MAX)
		fs->linked[fs->nlinked++] = pid;
}

static int add_check_pid(struct lw_futex_source *fs, pid_t pid)
{
	for (int i = 0; i < fs->ncheck; i++)
		if (fs->check_pids[i] == pid)
			return 0;
	if (fs->ncheck == CHECK_PIDS_MAX)
		return 0;
	fs->check_pids[fs->ncheck++] = pid;
	return 1;
}

static void futex_watch(struct lw_source *s, pid_t pid)
{
	struct lw_futex_source *fs = (struct lw_futex_source *)s;

	if (!fs->tracer)
		add_check_pid(fs, pid);
}

/* The waits of the checked processes, from /proc; n or -errno. */
static int scan(struct lw_futex_source *fs)
{
	uint64_t now = lw_now_ns();
	int n = 0, k;

	for (int i = 0; i < fs->ncheck; i++) {
		k = attach__scan(fs->check_pids[i], fs->snap + n, LW_WAITS_MAX - n, now);
		if (k > 0)
			n += k;
	}
	return n;
}

/* Waits that read the same words the same way have the same holder: the
 * snapshot in an order that puts them together (a join's is its own: a
 * thread cannot join itself). */
static int same_words(const struct lw_futex_wait *a, const struct lw_futex_wait *b)
{
	return a->tgid == b->tgid && a->uaddr == b->uaddr && a->flags == b->flags &&
	       a->kind == b->kind && !(a->flags & LW_WF_JOIN);
}

static int by_words(const void *x, const void *y, void *snap)
{
	const struct lw_futex_wait *a = (struct lw_futex_wait *)snap + *(const int *)x;
	const struct lw_futex_wait *b = (struct lw_futex_wait *)snap + *(const int *)y;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->uaddr != b->uaddr)
		return a->uaddr < b->uaddr ? -1 : 1;
	if (a->flags != b->flags)
		return a->flags < b->flags ? -1 : 1;
	return a->kind < b->kind ? -1 : a->kind > b->kind;
}

/* Holders of every wait of the snapshot, each lock's words read once a
 * turn (a thousand waiters of one mutex are one read); for `check`, 1 when a
 * holder lives in a process not read yet (read it too: the chain may run
 * through it). */
static int resolve(struct lw_futex_source *fs)
{
	int more = 0, *order = malloc((fs->nsnap + 1) * sizeof(*order));

	for (int i = 0; i < fs->nsnap; i++)
		if (order)
			order[i] = i;
	if (order)
		qsort_r(order, fs->nsnap, sizeof(*order), by_words, fs->snap);
	for (int k = 0; k < fs->nsnap; k++) {
		int i = order ? order[k] : k, prev = order && k ? order[k - 1] : -1;
		struct lw_held *h = &fs->held[i];

		if (prev >= 0 && same_words(&fs->snap[i], &fs->snap[prev])) {
			*h = fs->held[prev];
			continue;
		}
		if (holder__resolve(&fs->snap[i], h))
			h->kind = LW_LOCK_NKINDS; /* unreadable: no wait */
		else if (!fs->tracer && h->holder_tid && add_check_pid(fs, h->holder_pid))
			more = 1;
	}
	free(order);
	return more;
}

/* A process's threads, read at most once a second. */
static int thread_count(struct lw_futex_source *fs, pid_t pid, uint64_t now)
{
	struct lw_proc_stat st;
	int k = 0;

	for (int i = 0; i < COUNTS_MAX; i++) {
		if (fs->counts[i].pid == pid && now - fs->counts[i].at_ns < COUNT_EVERY_NS)
			return fs->counts[i].n;
		if (fs->counts[i].at_ns < fs->counts[k].at_ns)
			k = i; /* the oldest goes */
	}
	if (lw_proc_stat(pid, 0, &st))
		return 0;
	fs->counts[k].pid = pid;
	fs->counts[k].n = st.nthreads;
	fs->counts[k].at_ns = now;
	return st.nthreads;
}

/* A wait the hang rule counts: on a private word, with no timeout, for
 * LW_HANG_NS. */
static int hang_wait(const struct lw_futex_wait *w, const struct lw_turn *t)
{
	return !(w->flags & (LW_WF_TIMED | LW_WF_SHARED)) && w->start_ns &&
	       t->now_ns >= w->start_ns + LW_HANG_NS;
}

static int by_tgid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Some process has every thread in a hang_wait(): the graph is worth
 * building though no wait is on a lock (a lost wakeup on a condition
 * variable, threads parked on semaphores). Looked at once a second: the
 * thread counts are /proc reads, and a hang is LW_HANG_NS old anyway. */
static int maybe_hung(struct lw_futex_source *fs, const struct lw_turn *t)
{
	uint32_t *v;
	int n = 0, hung = 0;

	if (t->now_ns - fs->hung_ns < COUNT_EVERY_NS)
		return 0;
	fs->hung_ns = t->now_ns;
	v = malloc(fs->nsnap * sizeof(*v) + 1);
	if (!v)
		return 0;
	for (int i = 0; i < fs->nsnap; i++)
		if (hang_wait(&fs->snap[i], t))
			v[n++] = fs->snap[i].tgid;
	qsort(v, n, sizeof(*v), by_tgid);
	for (int i = 0, j; i < n && !hung; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		hung = thread_count(fs, v[i], t->now_ns) == j - i;
	}
	free(v);
	return hung;
}

static int old_enough(const struct lw_futex_wait *w, const struct lw_turn *t)
{
	return (w->flags & (LW_WF_MUTEX | LW_WF_PI | LW_WF_RWLOCK | LW_WF_JOIN)) &&
	       t->now_ns >= w->start_ns && t->now_ns - w->start_ns >= t->min_age_ns;
}

/* The current waits into fs->snap, or none worth a graph: n or -errno. */
static int snapshot(struct lw_futex_source *fs, const struct lw_turn *t)
{
	int n, i;

	if (!fs->tracer) {
		do
			fs->nsnap = scan(fs);
		while (resolve(fs));
		return fs->nsnap;
	}
	n = tracer__waits(fs->tracer, fs->snap, LW_WAITS_MAX);
	if (n < 0) {
		lw_debug("cannot read the waits map: %s", strerror(-n));
		return n;
	}
	fs->nsnap = n;
	/* a busy healthy process has only short waits: nothing to build */
	for (i = 0; i < n && !old_enough(&fs->snap[i], t); i++)
		;
	if (i == n && !t->look_now && !fs->nhints && !fs->hint_all && !fs->npi &&
	    !maybe_hung(fs, t)) {
		fs->nsnap = 0;
		return 0;
	}
	resolve(fs);
	return n;
}

static const struct lw_futex_wait *current_wait(const struct lw_futex_source *fs, pid_t tid)
{
	for (int i = 0; i < fs->nsnap; i++)
		if ((pid_t)fs->snap[i].tid == tid)
			return &fs->snap[i];
	return NULL;
}

/*
 * The refused PI threads still worth standing in for: until glibc parks one
 * (a wait for 0 on a zero word) and for as long as it stays parked; one that
 * never parks (an error-checking mutex let it go on) goes at the deadline.
 */
static void update_refusals(struct lw_futex_source *fs, const struct lw_turn *t)
{
	for (int i = 0; i < fs->npi; i++) {
		struct pi_refusal *p = &fs->pi[i];
		const struct lw_futex_wait *cur = current_wait(fs, p->w.tid);
		int park = cur && cur->how == LW_HOW_FUTEX &&
			   attach__is_park(cur->op, cur->val, cur->word);

		if (park)
			p->parked = 1;
		if (park || (!p->parked && t->now_ns <= p->deadline_ns))
			continue;
		memmove(p, p + 1, (fs->npi - i - 1) * sizeof(*p));
		fs->npi--;
		i--;
	}
}

static int hinted(const struct lw_futex_source *fs, pid_t tid)
{
	if (fs->hint_all)
		return 1;
	for (int i = 0; i < fs->nhints; i++)
		if (fs->hints[i] == tid)
			return 1;
	return 0;
}

/* One wait into the graph, with its holder as memory said this turn. */
static void add_wait(struct lw_futex_source *fs, struct lw_graph *g, const struct lw_futex_wait *w,
		     const struct lw_held *h)
{
	struct lw_wait gw = { .src = &fs->base, .rec = w, .start_ns = w->start_ns };
	struct lw_participant *p;
	struct lw_lock *l;

	if (h->kind == LW_LOCK_NKINDS)
		return;
	p = graph__thread(g, w->tgid, w->tid);
	if (!p)
		return;
	if (w->flags & LW_WF_TIMED)
		gw.flags |= LW_WAIT_TIMED;
	if (w->flags & LW_WF_ATTACH)
		gw.flags |= LW_WAIT_SINCE_ATTACH;
	if (hinted(fs, w->tid))
		gw.flags |= LW_WAIT_HINTED;
	l = graph__wait(g, p, h->kind, h->key, w->tgid, h->addr, &gw);
	if (!l)
		return;
	if (h->holder_tid && !l->holder)
		graph__hold(l, graph__thread(g, h->holder_pid, h->holder_tid));
	if (h->holder_tid && h->holder_pid != (pid_t)w->tgid && fs->tracer && fs->follow_linked)
		note_linked(fs, h->holder_pid);
	if (h->gone_tid && !(w->flags & LW_WF_TIMED) && !l->holder) {
		l->holder_gone = 1;
		l->gone_tid = h->gone_tid;
		snprintf(l->gone_name, sizeof(l->gone_name), "%s",
			 exited_name(fs, w->tgid, h->gone_tid));
	}
}

/* For the hang rule: the thread count of each process some thread of which
 * has waited LW_HANG_NS, with no timeout, on a word of its own. */
static void put_counts(struct lw_futex_source *fs, struct lw_graph *g, const struct lw_turn *t)
{
	for (int i = 0; i < fs->nsnap; i++) {
		const struct lw_futex_wait *w = &fs->snap[i];

		if (!hang_wait(w, t) || graph__threads(g, w->tgid))
			continue;
		graph__set_threads(g, w->tgid, thread_count(fs, w->tgid, t->now_ns));
	}
}

static int futex_threads(struct lw_source *s, pid_t pid)
{
	struct lw_proc_stat st;
	int err = lw_proc_stat(pid, 0, &st);

	return err ? err : st.nthreads;
}

static int futex_contribute(struct lw_source *s, struct lw_graph *g, const struct lw_turn *t)
{
	struct lw_futex_source *fs = (struct lw_futex_source *)s;
	int n = snapshot(fs, t);

	if (n < 0) {
		fs->nhints = 0; /* the next sweep reads the map again */
		fs->hint_all = 0;
		return n;
	}
	update_refusals(fs, t);
	/* refused PI threads first: their PI lock, not the park, is their wait */
	for (int i = 0; i < fs->npi; i++) {
		struct lw_held h;

		if (!holder__resolve(&fs->pi[i].w, &h))
			add_wait(fs, g, &fs->pi[i].w, &h);
	}
	for (int i = 0; i < fs->nsnap; i++)
		add_wait(fs, g, &fs->snap[i], &fs->held[i]);
	if (fs->tracer) /* waits found at attach have no age to judge by */
		put_counts(fs, g, t);
	fs->nhints = 0;
	fs->hint_all = 0;
	return 0;
}

/* Where a waiter must be sitting for its wait to be real. */
static int in_place(const struct lw_futex_wait *w, const struct lw_syscall *sc)
{
	if (w->flags & LW_WF_PARKED) /* glibc's park after EDEADLK, still */
		return sc->nr == SYS_futex && attach__is_park(sc->args[1], sc->args[2], 0);
	if (sc->nr == SYS_futex || sc->nr == LW_SYS_FUTEX_WAIT)
		return sc->args[0] == w->uaddr;
	return sc->nr == LW_SYS_FUTEX_WAITV;
}

/* Still sitting in the same wait, its lock naming the holder the graph has
 * (or the same exited owner). */
static int futex_observe(struct lw_source *s, const struct lw_participant *p, unsigned int round,
			 struct lw_observation *o)
{
	const struct lw_futex_wait *w = p->wait.rec;
	const struct lw_lock *l = p->wait.lock;
	pid_t holder = l->holder ? l->holder->tid : 0;
	struct lw_proc_stat st;
	uint64_t ctxsw;
	struct lw_held h;

	if (lw_proc_syscall(p->pid, p->tid, &o->sc) || lw_proc_ctxsw(p->pid, p->tid, &ctxsw))
		return 0;
	/* asleep: a thread preempted inside its futex call (runnable, R) keeps
	 * its syscall and its switch count while it waits for a CPU, and a
	 * loop of 1 us timed waits on a loaded host looked stuck twice */
	if (lw_proc_stat(p->pid, p->tid, &st) || (st.state != 'S' && st.state != 'D'))
		return 0;
	if (!in_place(w, &o->sc) || holder__resolve(w, &h))
		return 0;
	/* the holder it reads from the lock, unless the lock names none (an
	 * rwlock's readers) and a source that saw it taken said who (and
	 * re-checks that itself) */
	if ((h.holder_tid != holder && (h.holder_tid || !l->hold.src)) ||
	    (l->holder_gone && h.gone_tid != l->gone_tid))
		return 0;
	o->has_sc = 1;
	o->fingerprint = ctxsw;
	return 1;
}

static int futex_next_turn_ms(struct lw_source *s)
{
	struct lw_futex_source *fs = (struct lw_futex_source *)s;

	/* a refused PI thread parks a moment after EDEADLK: look again soon */
	for (int i = 0; i < fs->npi; i++)
		if (!fs->pi[i].parked)
			return 10;
	return fs->nhints || fs->hint_all ? 0 : -1;
}

static const struct lw_source_ops futex_ops = {
	.name = "futex",
	.contribute = futex_contribute,
	.observe = futex_observe,
	.threads = futex_threads,
	.watch = futex_watch,
	.next_turn_ms = futex_next_turn_ms,
	.destroy = futex_destroy,
};
