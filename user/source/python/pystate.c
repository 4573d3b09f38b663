// SPDX-License-Identifier: GPL-2.0
/*
 * Reads a CPython process's threads and asyncio tasks (see pystate.h).
 * Threads: the interpreter's PyThreadState list, each with its chain of
 * _PyInterpreterFrame. Tasks: asyncio.tasks._all_tasks (a WeakSet; 3.12:
 * _scheduled_tasks, and the set _eager_tasks), each
 * task's coroutine and, through what each suspended coroutine awaits (the
 * top of its value stack), the coroutines it awaits in turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "sys/proc.h"
#include "source/python/pystate.h"

#define GIL_COND_SIZE 48 /* pthread_cond_t */
#define GIL_AGAIN 20 /* re-reads of threads caught running, a look */
#define FRAME_HEAD 80 /* up to localsplus: owner and stack depth within */

/* Room in *v (of *cap items of size) for need: 0 or -ENOMEM. */
static int grow(void **v, int *cap, int need, size_t size)
{
	int c = *cap ? *cap : 256;
	void *nv;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nv = realloc(*v, (size_t)c * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* The frames, holds and name of the participant read last, from the
 * scratch ones into the snapshot's: 0 or -ENOMEM. Pointed at once the
 * snapshot is whole (the arrays move as they grow). */
static int keep(struct lw_pysnap *s)
{
	struct lw_pyparticipant *p = s->n ? &s->p[s->n - 1] : NULL;
	int len;

	if (!p || p->frames != s->scratch)
		return 0;
	len = p->task ? (int)strlen(s->scratch_name) + 1 : 0;
	if (grow((void **)&s->frames, &s->capframes, s->nframes + p->nframes, sizeof(*s->frames)) ||
	    grow((void **)&s->holds, &s->capholds, s->nholds + p->nholds, sizeof(*s->holds)) ||
	    grow((void **)&s->names, &s->capnames, s->nnames + len, 1))
		return -ENOMEM;
	/* an array with nothing in it yet may be NULL, which memcpy may not see */
	if (p->nframes)
		memcpy(s->frames + s->nframes, s->scratch, p->nframes * sizeof(*p->frames));
	if (p->nholds)
		memcpy(s->holds + s->nholds, s->scratch_holds, p->nholds * sizeof(*p->holds));
	if (len)
		memcpy(s->names + s->nnames, s->scratch_name, len);
	p->frame0 = s->nframes;
	p->held0 = s->nholds;
	p->name0 = p->task ? s->nnames : -1;
	p->frames = NULL;
	p->holds = NULL;
	if (p->task)
		p->name = NULL;
	s->nframes += p->nframes;
	s->nholds += p->nholds;
	s->nnames += len;
	return 0;
}

static struct lw_pyparticipant *add(struct lw_pysnap *s)
{
	struct lw_pyparticipant *p;

	if (keep(s) || grow((void **)&s->p, &s->cap, s->n + 1, sizeof(*s->p)))
		return NULL;
	p = memset(&s->p[s->n++], 0, sizeof(s->p[0]));
	p->frames = s->scratch;
	p->holds = s->scratch_holds;
	s->scratch_name[0] = '\0';
	p->name = s->scratch_name;
	return p;
}

static void hold(struct lw_pyparticipant *p, uint64_t lock, int frame)
{
	for (int i = 0; i < p->nholds; i++)
		if (p->holds[i].lock == lock) {
			/* an RLock taken again: held since the outer frame. A
			 * thread's frames come innermost first (a task's
			 * outermost first): its hold moves out, recorded after
			 * what the outer frame took before it */
			if (p->task || frame <= p->holds[i].frame)
				return;
			memmove(&p->holds[i], &p->holds[i + 1],
				(p->nholds - i - 1) * sizeof(p->holds[0]));
			p->nholds--;
			break;
		}
	if (p->nholds < LW_PY_HOLDS)
		p->holds[p->nholds++] = (struct lw_pyheld){ lock, frame };
}

/* The lock an asyncio lock's self holds (a Condition holds its lock). */
static uint64_t alock_held(struct lw_pymem *m, uint64_t self)
{
	switch (pymem__kind(m, self)) {
	case PK_ALOCK:
	case PK_ASEM:
		return self;
	case PK_ACOND:
		return pymem__kind(m, pymem__attr(m, self, "_lock")) == PK_ALOCK ?
			       pymem__attr(m, self, "_lock") :
			       0;
	default:
		return 0;
	}
}

/* A value-stack slot inside `with`: a lock's bound __exit__/__aexit__?
 * The lock it holds (an asyncio.Condition holds its lock), *self the
 * object whose method it is. */
static uint64_t held_lock(struct lw_pymem *m, uint64_t v, uint64_t *bound)
{
	const struct lw_pylayout *L = pymem__layout(m);
	char name[16];
	uint64_t self, fn;

	switch (pymem__kind(m, v)) {
	case PK_METHOD: /* asyncio locks: _ContextManagerMixin.__aexit__ */
		*bound = self = pymem__ptr(m, v + L->method_self);
		fn = pymem__ptr(m, v + L->method_func);
		if (pymem__str(m, pymem__ptr(m, fn + L->func_name), name, sizeof(name)) ||
		    strcmp(name, "__aexit__"))
			return 0;
		return alock_held(m, self);
	case PK_CFUNC: /* threading.Lock, RLock: lock.__exit__ */
		*bound = self = pymem__ptr(m, v + L->cfunc_self);
		fn = pymem__ptr(m, v + L->cfunc_ml);
		if (!fn || pymem__read(m, pymem__ptr(m, fn + L->ml_name), name, 9) ||
		    memcmp(name, "__exit__", 9))
			return 0;
		return pymem__kind(m, self) == PK_TLOCK || pymem__kind(m, self) == PK_RLOCK ? self :
											      0;
	default:
		return 0;
	}
}

/* 3.14: two value-stack slots inside `with`: __exit__/__aexit__ and the
 * object it is called on (LOAD_SPECIAL keeps them apart). The lock held. */
static uint64_t held_pair(struct lw_pymem *m, uint64_t fn, uint64_t self)
{
	const struct lw_pylayout *L = pymem__layout(m);
	char name[16];

	switch (pymem__kind(m, fn)) {
	case PK_FUNC: /* asyncio locks: _ContextManagerMixin.__aexit__ */
		if (pymem__str(m, pymem__ptr(m, fn + L->func_name), name, sizeof(name)) ||
		    strcmp(name, "__aexit__"))
			return 0;
		return alock_held(m, self);
	case PK_MDESCR: /* threading.Lock, RLock: the type's __exit__ */
		if (pymem__str(m, pymem__ptr(m, fn + L->descr_name), name, sizeof(name)) ||
		    strcmp(name, "__exit__"))
			return 0;
		return pymem__kind(m, self) == PK_TLOCK || pymem__kind(m, self) == PK_RLOCK ? self :
											      0;
	default:
		return 0;
	}
}

/*
 * Is v the coroutine of obj.__aenter__()? From 3.12 the await of
 * `async with lock:` is covered by a handler of its own, whose depth takes
 * in the bound __aexit__ pushed just before: the lock is being taken, not
 * held.
 */
static int entering(struct lw_pymem *m, uint64_t v, uint64_t obj)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct lw_pycode *c;
	size_t n;

	if (pymem__kind(m, v) != PK_CORO)
		return 0;
	c = pymem__code(m, pymem__ref(m, v + L->gen_iframe + L->fr_code));
	n = c ? strlen(c->qualname) : 0;
	return n >= 11 && !strcmp(c->qualname + n - 11, ".__aenter__") &&
	       pymem__ref(m, v + L->gen_iframe + L->fr_localsplus) == obj;
}

/* One frame: its code and instruction, and the locks its `with`s hold.
 * Fills head with the frame's header words (for its caller); returns 0, 1
 * for a shim frame of the C stack (not recorded), or -1. */
static int frame(struct lw_pymem *m, struct lw_pyparticipant *p, uint64_t addr, uint64_t *head)
{
	const struct lw_pylayout *L = pymem__layout(m);
	const struct lw_pycode *c;
	struct lw_pyframe *f;
	uint64_t slots[64];
	int depth, idx;

	if (pymem__read(m, addr, head, FRAME_HEAD))
		return -1;
	if (L->owner_cstack >= 0 && ((uint8_t *)head)[L->fr_owner] >= L->owner_cstack) {
		/* the C stack entered the interpreter here: the frame before
		 * this shim was the first of that entry */
		if (p->nframes && !p->truncated)
			p->frames[p->nframes - 1].entry = 1;
		return 1;
	}
	c = pymem__code(m, pymem__unref(m, head[L->fr_code / 8]));
	if (!c)
		return -1;
	if (p->nframes == LW_PY_FRAMES) {
		p->truncated = 1;
		return 0; /* deeper than we keep: follow, don't record */
	}
	idx = p->nframes++;
	f = &p->frames[idx];
	f->addr = addr;
	f->code = c->addr;
	f->entry = L->fr_is_entry >= 0 && ((uint8_t *)head)[L->fr_is_entry];
	f->instr = ((int64_t)head[L->fr_prev_instr / 8] - (int64_t)(c->addr + L->co_code)) / 2;
	depth = pycode__handler_depth(c, f->instr);
	if (depth <= 0 || depth > c->stacksize)
		return 0;
	if (depth > 64)
		depth = 64;
	if (pymem__read(m, addr + L->fr_localsplus + c->nlocalsplus * 8, slots, depth * 8))
		return 0;
	for (int i = 0; i < depth; i++)
		slots[i] = pymem__unref(m, slots[i]);
	for (int i = 0; i < depth; i++) {
		uint64_t self = 0, lock;
		int next = i + 1; /* the slot of what `async with` awaits */

		if (L->with_exit_pair) {
			self = i + 1 < depth ? slots[i + 1] : 0;
			lock = held_pair(m, slots[i], self);
			next = i + 2;
		} else {
			lock = held_lock(m, slots[i], &self);
		}
		if (lock && !(next < depth && entering(m, slots[next], self)))
			hold(p, lock, idx);
	}
	return 0;
}

static void reverse_frames(struct lw_pyparticipant *p)
{
	for (int i = 0, j = p->nframes - 1; i < j; i++, j--) {
		struct lw_pyframe t = p->frames[i];

		p->frames[i] = p->frames[j];
		p->frames[j] = t;
	}
	for (int i = 0; i < p->nholds; i++)
		p->holds[i].frame = p->nframes - 1 - p->holds[i].frame;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && !strcmp(s + n - k, tail);
}

/* What a task waits for, from its innermost frame and its fut_waiter. */
static void task_wait(struct lw_pymem *m, struct lw_pyparticipant *p, uint64_t fut_waiter)
{
	const struct lw_pylayout *L = pymem__layout(m);
	static const struct {
		const char *qualname, *file;
		enum lw_pywait_kind wait;
		enum lw_pykind kind;
	} sites[] = {
		{ "Lock.acquire", "asyncio/locks.py", PW_ALOCK, PK_ALOCK },
		{ "Semaphore.acquire", "asyncio/locks.py", PW_ASEM, PK_ASEM },
		{ "Condition.wait", "asyncio/locks.py", PW_ACOND, PK_ACOND },
		{ "Event.wait", "asyncio/locks.py", PW_AEVENT, PK_AEVENT },
		{ "Queue.get", "asyncio/queues.py", PW_AQUEUE, PK_AQUEUE },
		{ "Queue.put", "asyncio/queues.py", PW_AQUEUE, PK_AQUEUE },
	};
	const struct lw_pycode *c = p->nframes ? pymem__code(m, p->frames[0].code) : NULL;

	for (size_t i = 0; c && i < sizeof(sites) / sizeof(sites[0]); i++) {
		uint64_t self;

		if (strcmp(c->qualname, sites[i].qualname) ||
		    !ends_with(c->filename, sites[i].file))
			continue;
		/* the method's first local is self */
		self = pymem__ref(m, p->frames[0].addr + L->fr_localsplus);
		if (pymem__kind(m, self) == sites[i].kind) {
			p->wait = sites[i].wait;
			p->wait_obj = self;
			return;
		}
	}
	if (!fut_waiter)
		return;
	switch (pymem__kind(m, fut_waiter)) {
	case PK_TASK:
		p->wait = PW_TASK;
		break;
	case PK_GATHER:
		p->wait = PW_GATHER;
		break;
	default:
		p->wait = PW_FUTURE;
	}
	p->wait_obj = fut_waiter;
}

/* A task: name, state, and its coroutine chain if it is suspended. */
static int read_one(struct lw_pymem *m, struct lw_pysnap *s, uint64_t task)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t t[LW_PY_FRAMES], head[FRAME_HEAD / 8], coro;
	struct lw_pyparticipant *p;
	int32_t state;
	int64_t num;
	size_t len = L->task_name + 8;

	if (len > sizeof(t) || pymem__read(m, task, t, len))
		return -1;
	p = add(s);
	if (!p)
		return -ENOMEM;
	s->ntasks++;
	p->task = 1;
	p->addr = task;
	memcpy(&state, (char *)t + L->fut_state, sizeof(state));
	p->state = state;
	p->exception = t[L->fut_exception / 8];
	p->loop = t[16 / 8];
	if (pymem__str(m, t[L->task_name / 8], s->scratch_name, sizeof(s->scratch_name)) &&
	    !pymem__int(m, t[L->task_name / 8], &num))
		snprintf(s->scratch_name, sizeof(s->scratch_name), "Task-%lld", (long long)num);
	if (p->state)
		return 0; /* done: no frames left */
	coro = t[L->task_coro / 8];
	for (int depth = 0; depth < 64; depth++) {
		const struct lw_pycode *c;
		int8_t fs;
		int top;

		if (pymem__kind(m, coro) != PK_CORO ||
		    pymem__read(m, coro + L->gen_frame_state, &fs, 1))
			return -1;
		if (fs < L->gen_suspended || fs > L->gen_suspended_yf) {
			if (fs == L->gen_executing && !depth)
				p->state = -1; /* running: its frames are its thread's */
			break;
		}
		if (frame(m, p, coro + L->gen_iframe, head) < 0)
			return -1;
		c = pymem__code(m, pymem__unref(m, head[L->fr_code / 8]));
		/* the depth of its stack: an index, or (3.14) a pointer */
		top = L->fr_stackpointer ?
			      (int)(((int64_t)head[L->fr_stacktop / 8] -
				     (int64_t)(coro + L->gen_iframe + L->fr_localsplus)) /
				    8) :
			      (int32_t)head[L->fr_stacktop / 8];
		top -= L->gen_await_below; /* the awaited object's slot, plus one */
		if (!c || top <= c->nlocalsplus || top > c->nlocalsplus + c->stacksize)
			break;
		/* what a suspended coroutine awaits: the top of its stack */
		coro = pymem__ref(m, coro + L->gen_iframe + L->fr_localsplus + (top - 1) * 8);
		if (pymem__kind(m, coro) != PK_CORO)
			break;
	}
	reverse_frames(p);
	task_wait(m, p, t[L->task_fut_waiter / 8]);
	return 0;
}

/* Whether a partial read keeps task p (see pystate__read()). */
static int kept(struct lw_pysnap *s, const struct lw_pyparticipant *p)
{
	int loop_seen = 0;

	if (pymem__find(s->want, s->nwant, sizeof(*s->want), p->addr) || p->nholds ||
	    p->state == -1)
		return 1;
	for (int i = 0; i < s->nloops; i++)
		loop_seen |= s->loops[i] == p->loop;
	if (loop_seen || !p->loop || s->nloops == LW_PY_PARTIAL_LOOPS)
		return 0;
	s->loops[s->nloops++] = p->loop;
	return 1;
}

static int read_task(struct lw_pymem *m, struct lw_pysnap *s, uint64_t task)
{
	int n = s->n, err = read_one(m, s, task);

	if (s->want && s->n > n && !kept(s, &s->p[s->n - 1])) {
		s->n--;
		s->ntasks--;
	}
	return err;
}

/*
 * The tasks in a set: of weak references to them, or of the tasks. A set
 * keeps them in hash order, all over the heap: the references, then the
 * tasks (and their coroutines, made with them) are read in address order,
 * so that one page read serves the objects next to each other.
 */
static int read_set(struct lw_pymem *m, struct lw_pysnap *s, uint64_t set, int weak, uint64_t *refs)
{
	const struct lw_pylayout *L = pymem__layout(m);
	int n = set ? pymem__set_keys(m, set, refs, LW_PY_MAX_TASKS) : -1, k = 0, bad = 0;

	if (n > 0)
		pymem__sort(refs, n, sizeof(*refs));
	for (int i = 0; i < n; i++) {
		uint64_t task = refs[i];

		if (weak) {
			if (pymem__kind(m, task) != PK_WEAKREF)
				continue; /* the set's dummy: a removed entry */
			task = pymem__ptr(m, task + L->weakref_object);
		}
		refs[k++] = task;
	}
	if (weak && k > 0)
		pymem__sort(refs, k, sizeof(*refs));
	for (int i = 0; i < k; i++) {
		if (pymem__kind(m, refs[i]) != PK_TASK)
			continue; /* a dead reference (None), or the dummy */
		if (read_task(m, s, refs[i]))
			bad++;
	}
	return n < 0 || bad ? -EAGAIN : 0;
}

/* 3.14+: the native tasks on the list at head (a thread's or the
 * interpreter's), at most *room of them. */
static int read_list(struct lw_pymem *m, struct lw_pysnap *s, uint64_t head, int *room)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t node = pymem__ptr(m, head);
	int err, bad = 0;

	for (; node && node != head; node = pymem__ptr(m, node)) {
		uint64_t task = node - L->task_node;

		if (--*room < 0 || pymem__kind(m, task) != PK_TASK)
			return -EAGAIN; /* torn, or not a list */
		err = read_task(m, s, task);
		if (err == -ENOMEM)
			return err;
		bad |= !!err;
	}
	return node && !bad ? 0 : -EAGAIN;
}

int pystate__gather_children(struct lw_pymem *m, uint64_t gather, uint64_t *items, int max)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t list = pymem__attr(m, gather, "_children");
	int64_t n;

	if (pymem__kind(m, list) != PK_LIST || pymem__read(m, list + L->var_size, &n, sizeof(n)) ||
	    n <= 0 || n > max || pymem__read(m, pymem__ptr(m, list + L->list_item), items, n * 8))
		return -1;
	return n;
}

/*
 * 3.14+: a task leaves its list when it is done, while a gather that
 * awaits it keeps it: the children of the gathers that tasks await, as
 * participants too (what they ended with tells why a lock is orphaned).
 */
static int gathered(struct lw_pymem *m, struct lw_pysnap *s)
{
	uint64_t *seen = calloc(s->ntasks + 1, sizeof(*seen)), items[64];
	int n = 0, end = s->n, err = 0;

	if (!seen)
		return -ENOMEM;
	for (int i = 0; i < s->n; i++)
		if (s->p[i].task)
			seen[n++] = s->p[i].addr;
	pymem__sort(seen, n, sizeof(*seen));
	for (int i = 0; i < end && !err; i++) {
		int k = s->p[i].task && s->p[i].wait == PW_GATHER ?
				pystate__gather_children(m, s->p[i].wait_obj, items, 64) :
				0;

		for (int j = 0; j < k && !err; j++)
			if (pymem__kind(m, items[j]) == PK_TASK &&
			    !pymem__find(seen, n, sizeof(*seen), items[j]))
				err = read_task(m, s, items[j]) == -ENOMEM ? -ENOMEM : 0;
	}
	free(seen);
	return err;
}

/* 3.14+: every thread's list, then the interpreter's (tasks of threads
 * that are gone). */
static int read_lists(struct lw_pymem *m, struct lw_pysnap *s, uint64_t interp)
{
	const struct lw_pylayout *L = pymem__layout(m);
	int room = LW_PY_MAX_TASKS, err = 0, nthreads = s->n;

	for (int i = 0; i < nthreads && !err; i++)
		if (!s->p[i].task)
			err = read_list(m, s, s->p[i].addr + L->ts_asyncio_tasks, &room);
	if (!err)
		err = read_list(m, s, interp + L->is_asyncio_tasks, &room);
	return err ? err : gathered(m, s);
}

static int read_tasks(struct lw_pymem *m, struct lw_pysnap *s, uint64_t interp, uint64_t modules)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t mod = pymem__dict_get(m, modules, "asyncio.tasks"), dict, weakset, *refs;
	int err;

	if (!mod)
		return 0; /* asyncio never imported: no tasks */
	if (L->task_size && !L->task_node)
		return -EAGAIN; /* its lists are not described (yet): not all is seen */
	if (L->task_node) {
		err = read_lists(m, s, interp);
		if (err)
			return err;
	}
	dict = pymem__ptr(m, mod + L->module_dict);
	weakset = pymem__dict_get(m, dict, L->tasks_weakset);
	refs = calloc(LW_PY_MAX_TASKS, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	err = read_set(m, s, weakset ? pymem__attr(m, weakset, "data") : 0, 1, refs);
	if (!err && L->tasks_eager)
		err = read_set(m, s, pymem__dict_get(m, dict, L->tasks_eager), 0, refs);
	free(refs);
	return err;
}

/* threading._active: ident -> Thread, for the threads' Python names. */
static int thread_name(struct lw_pymem *m, uint64_t key, uint64_t value, void *arg)
{
	struct lw_pysnap *s = arg;
	int64_t ident;

	if (pymem__int(m, key, &ident))
		return 0;
	for (int i = 0; i < s->n; i++)
		if (!s->p[i].task && s->p[i].th->ident == (uint64_t)ident)
			pymem__str(m, pymem__attr(m, value, "_name"), s->p[i].th->name,
				   sizeof(s->p[i].th->name));
	return 0;
}

/*
 * Where thread p sits. A thread waiting for the GIL another holds wakes
 * every few milliseconds to ask again and runs for microseconds: caught
 * running, it is read again 100 us later (at most *again times a look).
 */
static int thread_syscall(const struct lw_pysnap *s, pid_t pid, struct lw_pyparticipant *p,
			  int *again)
{
	struct lw_syscall *sc = &p->th->sc;
	int err = lw_proc_syscall(pid, p->tid, sc);

	while (!err && sc->nr != SYS_futex && s->gil_holder && s->gil_holder != p->addr &&
	       *again > 0) {
		--*again;
		usleep(100);
		err = lw_proc_syscall(pid, p->tid, sc);
		if (!err && sc->nr == SYS_futex)
			break;
	}
	return err;
}

static int read_threads(struct lw_pymem *m, struct lw_pysnap *s, uint64_t interp, uint64_t modules)
{
	const struct lw_pylayout *L = pymem__layout(m);
	pid_t pid = pymem__pid(m);
	uint64_t ts = pymem__ptr(m, interp + L->interp_threads_head), threading;
	int bad = 0, again = GIL_AGAIN;

	for (int k = 0; ts && k < LW_PY_MAX_THREADS; k++) {
		uint64_t head[FRAME_HEAD / 8], f, tid = 0;
		struct lw_pyparticipant *p = add(s);

		if (!p)
			return -ENOMEM;
		p->th = memset(&s->threads[s->nthreads++], 0, sizeof(*p->th));
		p->name = p->th->name;
		p->addr = ts;
		p->state = -1;
		if (pymem__read(m, ts + L->ts_native_thread_id, &tid, sizeof(tid)) ||
		    pymem__read(m, ts + L->ts_thread_id, &p->th->ident, sizeof(p->th->ident))) {
			bad++;
			break;
		}
		/* a TID of its namespace no thread has (any more): unknown, rather
		 * than taken for a host thread of that number */
		p->tid = lw_proc_global_tid(pid, tid);
		/* a TID another thread state has already: that of a thread that
		 * exited, whose state is not freed yet, and whose TID a new
		 * thread got. The list is newest first: the first is that thread */
		if (p->tid < 0 || pystate__thread(s, p->tid) != p)
			p->tid = 0;
		f = L->ts_cframe ? pymem__ptr(m, pymem__ptr(m, ts + L->ts_cframe) +
							 L->cframe_current_frame) :
				   pymem__ptr(m, ts + L->ts_current_frame);
		for (int depth = 0; f && depth < 256; depth++) {
			if (frame(m, p, f, head) < 0) {
				bad++;
				break;
			}
			f = head[L->fr_previous / 8];
		}
		if (!thread_syscall(s, pid, p, &again) &&
		    !lw_proc_ctxsw(pid, p->tid, &p->th->ctxsw) && p->th->sc.nr == SYS_futex) {
			/* asleep on the GIL's condition variable: waiting for it */
			uint64_t word = p->th->sc.args[0];
			int gil = s->gil && word >= s->gil + L->gil_cond &&
				  word < s->gil + L->gil_cond + GIL_COND_SIZE;

			p->wait = gil ? PW_GIL : PW_FUTEX;
			p->wait_obj = gil ? s->gil : word;
		}
		ts = pymem__ptr(m, ts + L->ts_next);
	}
	threading = pymem__dict_get(m, modules, "threading");
	if (threading)
		pymem__dict_pairs(
			m, pymem__dict_get(m, pymem__ptr(m, threading + L->module_dict), "_active"),
			thread_name, s);
	return bad ? -EAGAIN : 0;
}

/* The GIL, and who holds it now: its last holder, while it is locked. */
static void read_gil(struct lw_pymem *m, struct lw_pysnap *s, uint64_t interp)
{
	const struct lw_pylayout *L = pymem__layout(m);
	int32_t locked;

	s->gil = L->gil_runtime	     ? pymem__runtime(m) + L->gil_runtime :
		 L->interp_ceval_gil ? pymem__ptr(m, interp + L->interp_ceval_gil) :
				       0;
	if (s->gil && !pymem__read(m, s->gil + L->gil_locked, &locked, sizeof(locked)) &&
	    locked > 0)
		s->gil_holder = pymem__ptr(m, s->gil + L->gil_last_holder);
}

/* The thread each task's loop runs on: loop._thread_id while it runs. */
static void loop_threads(struct lw_pymem *m, struct lw_pysnap *s)
{
	uint64_t loop = 0;
	pid_t tid = 0;

	for (int i = 0; i < s->n; i++) {
		struct lw_pyparticipant *p = &s->p[i];
		int64_t ident;

		if (!p->task || !p->loop)
			continue;
		if (p->loop != loop) {
			loop = p->loop;
			tid = 0;
			if (!pymem__int(m, pymem__attr(m, loop, "_thread_id"), &ident))
				for (int j = 0; j < s->n; j++)
					if (!s->p[j].task && s->p[j].th->ident == (uint64_t)ident)
						tid = s->p[j].tid;
		}
		p->tid = tid;
	}
}

int pystate__read(struct lw_pymem *m, struct lw_pysnap *s, const uint64_t *want, int nwant)
{
	const struct lw_pylayout *L = pymem__layout(m);
	uint64_t interp, modules;
	int err, err2;

	s->n = s->ntasks = s->nthreads = s->nframes = s->nholds = s->nnames = 0;
	s->gil = s->gil_holder = 0;
	s->complete = 0;
	s->want = want;
	s->nwant = nwant;
	s->nloops = 0;
	if (!s->threads && !(s->threads = calloc(LW_PY_MAX_THREADS, sizeof(*s->threads))))
		return -ENOMEM;
	pymem__reset(m);
	interp = pymem__ptr(m, pymem__runtime(m) + L->runtime_interp_head);
	modules = interp ? pymem__ptr(m, interp + L->interp_modules) : 0;
	if (!modules)
		return -EAGAIN; /* not initialized yet, or finalizing */
	read_gil(m, s, interp);
	err = read_threads(m, s, interp, modules);
	if (err == -ENOMEM)
		return err;
	err2 = read_tasks(m, s, interp, modules);
	if (err2 == -ENOMEM)
		return err2;
	if (keep(s))
		return -ENOMEM;
	for (int i = 0; i < s->n; i++) {
		struct lw_pyparticipant *p = &s->p[i];

		p->frames = s->frames + p->frame0;
		p->holds = s->holds + p->held0;
		if (p->task)
			p->name = s->names + p->name0;
	}
	loop_threads(m, s);
	s->complete = !err && !err2 && !want;
	s->want = NULL;
	return 0;
}

void pystate__free(struct lw_pysnap *s)
{
	free(s->p);
	free(s->frames);
	free(s->holds);
	free(s->names);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}

const struct lw_pyparticipant *pystate__thread(const struct lw_pysnap *s, pid_t tid)
{
	/* threads come first */
	for (int i = 0; tid && i < s->n && !s->p[i].task; i++)
		if (s->p[i].tid == tid)
			return &s->p[i];
	return NULL;
}
