// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel side of lockwatch: keeps the current futex wait of every thread of the
 * watched processes in the `waits` map, and when a new wait closes a chain of
 * "waits for a lock held by" edges inside one address space, tells the daemon
 * at once through the `events` ring buffer.
 *
 * Hooks: syscalls/sys_{enter,exit}_futex, _futex_waitv, _futex_wait (6.7+, not
 * loaded on older kernels), and the BTF tracepoints sched_process_{exit,fork,
 * exec}. Everything here must load on Linux 6.1.
 *
 * Cost is what matters here: these programs run on every futex call of every
 * process, and do real work on every futex wait of a watched one. Numbers
 * from bench/contend futex are in the README.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "lockwatch.h"

#define EDEADLK 35

/* Set before load. targ_all: watch every process (no `targets` lookup). */
const volatile __u32 targ_all = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_TARGETS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} targets SEC(".maps");

/*
 * One slot per thread that has waited, kept until the thread exits and
 * rewritten in place: a lookup costs far less than an insert and a delete
 * per wait (half the cost of a watched wait, measured). how == 0: not
 * waiting now.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_WAITS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tid */
	__type(value, struct lw_futex_wait);
} waits SEC(".maps");

/*
 * The slots each process holds: no process takes more than
 * LW_WAITS_PER_PROC of them, so one with tens of thousands of threads cannot
 * leave the others' waits untracked. Counted where a slot is made and freed
 * (rarely: a thread's first wait, its exit), never per wait.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_WAITS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, __u64); /* 64 bits: the atomics BPF has on every kernel */
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LW_RINGBUF_DEFAULT);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &i);

	if (v)
		*v += 1;
}

static __always_inline int targeted(__u32 tgid)
{
	return targ_all || bpf_map_lookup_elem(&targets, &tgid);
}

/*
 * Who holds the lock a wait is on, read from the process's memory now (not at
 * wait time: glibc writes __owner only after taking the lock word, so a
 * waiter that raced the taker saw 0). Only the current address space can be
 * read here, so callers stay inside one tgid.
 */
static __always_inline __u32 holder_now(const struct lw_futex_wait *w)
{
	__u32 v = 0;

	if (w->flags & (LW_WF_PI | LW_WF_JOIN)) {
		/* PI: the owner is in the word; join: the word is the TID,
		 * cleared when that thread exits */
		if (bpf_probe_read_user(&v, sizeof(v), (void *)w->uaddr))
			return 0;
		return v & LW_FUTEX_TID_MASK;
	}
	if (!(w->flags & (LW_WF_MUTEX | LW_WF_RWLOCK)))
		return 0;
	if (bpf_probe_read_user(
		    &v, sizeof(v),
		    (void *)(w->uaddr +
			     4 * (w->flags & LW_WF_RWLOCK ? (w->kind & 7) : LW_MUTEX_OWNER))))
		return 0;
	return v;
}

static __always_inline void emit_cycle(const struct lw_futex_wait *w, __u32 hops)
{
	struct lw_ev_cycle *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(LW_STAT_DROPS);
		return;
	}
	e->hdr.type = LW_EV_CYCLE;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.tgid = w->tgid;
	e->hdr.tid = w->tid;
	e->wait = *w;
	e->hops = hops;
	e->__pad = 0;
	bpf_ringbuf_submit(e, 0);
	stat_inc(LW_STAT_CYCLE_HINTS);
}

/*
 * Follow waiter -> lock -> holder -> the lock that holder waits on -> ...
 * within this process, starting from the holder the new wait just read. A
 * chain that reaches a thread already on it is a candidate deadlock; the
 * daemon confirms it against /proc before it says so. Stale slots (a woken
 * waiter not yet back from the syscall, a slot being rewritten) only cost a
 * false hint, never a false alert; a hint missed because two waits raced is
 * found by the daemon's sweep.
 */
static __always_inline void walk_chain(const struct lw_futex_wait *w)
{
	__u32 seen[LW_MAX_CHAIN];
	__u32 holder = w->owner;
	const struct lw_futex_wait *cur;

	seen[0] = w->tid;
	for (int i = 1; i < LW_MAX_CHAIN; i++) {
		if (!holder)
			return;
		for (int j = 0; j < i; j++) {
			if (seen[j] == holder) {
				emit_cycle(w, i);
				return;
			}
		}
		cur = bpf_map_lookup_elem(&waits, &holder);
		if (!cur || !cur->how || cur->tgid != w->tgid)
			return;
		seen[i] = holder;
		holder = holder_now(cur);
	}
}

/* The calling thread's slot, created on its first wait while its process
 * holds fewer than its share. */
static __always_inline struct lw_futex_wait *slot(__u32 tid, __u32 tgid)
{
	struct lw_futex_wait *w = bpf_map_lookup_elem(&waits, &tid);
	struct lw_futex_wait zero = {};
	__u64 *n, one = 1;

	if (w)
		return w;
	n = bpf_map_lookup_elem(&slots, &tgid);
	if (n && *n >= LW_WAITS_PER_PROC) {
		stat_inc(LW_STAT_WAITS_SHARE);
		return NULL;
	}
	if (bpf_map_update_elem(&waits, &tid, &zero, BPF_NOEXIST)) {
		stat_inc(LW_STAT_WAITS_FULL);
		return NULL;
	}
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&slots, &tgid, &one, BPF_NOEXIST) &&
		 (n = bpf_map_lookup_elem(&slots, &tgid)))
		__sync_fetch_and_add(n, 1); /* another thread of it made the count first */
	return bpf_map_lookup_elem(&waits, &tid);
}

/* A slot of tgid's freed. Slots lockwatch seeded at attach were not counted:
 * never below zero; a count that changed meanwhile stays (one too many). */
static __always_inline void slot_freed(__u32 tgid)
{
	__u64 *n = bpf_map_lookup_elem(&slots, &tgid), old;

	if (!n)
		return;
	old = *n;
	if (old && __sync_val_compare_and_swap(n, old, old - 1) == old && old == 1)
		bpf_map_delete_elem(&slots, &tgid);
}

/*
 * Record a wait on uaddr. pi: the word holds the owner's TID (LOCK_PI); else
 * the words around uaddr may be a glibc mutex whose __owner names the holder.
 * Returns the slot, filled, or NULL.
 */
static __always_inline struct lw_futex_wait *record(__u32 how, __u64 uaddr, __u32 op, __u32 val,
						    int pi, int shared)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 words[LW_MUTEX_WORDS] = {};
	__u32 flags, owner = 0, owner_word;
	struct lw_futex_wait *w;

	/* one read: __lock (the futex word), __count, __owner, __nusers, __kind */
	bpf_probe_read_user(words, sizeof(words), (void *)uaddr);
	flags = lw_classify(words, val, (__u32)id, pi, &owner, &owner_word);
	if (shared)
		flags |= LW_WF_SHARED;
	w = slot((__u32)id, id >> 32);
	if (!w)
		return NULL;
	w->uaddr = uaddr;
	w->start_ns = bpf_ktime_get_ns();
	w->tgid = id >> 32;
	w->tid = (__u32)id;
	w->op = op;
	w->val = val;
	w->word = words[0];
	w->owner = owner;
	/* an rwlock keeps the index of its owner word instead */
	w->kind = flags & LW_WF_RWLOCK ? owner_word : words[LW_MUTEX_KIND];
	w->nr_futexes = 0;
	w->flags = flags;
	/* readers (the chain walk on another CPU, the daemon) go by `how`:
	 * set it last */
	barrier();
	w->how = how;
	stat_inc(LW_STAT_WAITS);
	return w;
}

/*
 * Whether the kernel will put this wait to sleep, as far as the word read at
 * entry says: a wait whose word no longer holds the expected value returns
 * EAGAIN at once, and a PI lock whose word names no owner is taken at once.
 * Neither can close a chain; a program looping on such calls would otherwise
 * send a hint per call. A word that changes after this read only delays a
 * real cycle to the daemon's next sweep.
 */
static __always_inline int will_sleep(const struct lw_futex_wait *w, int pi)
{
	return pi ? !!(w->word & LW_FUTEX_TID_MASK) : w->word == w->val;
}

/*
 * The per-syscall tracepoints, not raw sys_enter/sys_exit: a raw hook runs on
 * every syscall of every process (+160 ns each on this machine, against +70 ns
 * for any syscall tracepoint); these run only on futex calls.
 */
static __always_inline int futex_enter(__u64 uaddr, int op, __u32 val, __u64 timeout)
{
	int cmd = op & LW_FUTEX_CMD_MASK;
	struct lw_futex_wait *w;
	int pi;

	switch (cmd) {
	case LW_FUTEX_WAIT:
	case LW_FUTEX_WAIT_BITSET:
	case LW_FUTEX_WAIT_REQUEUE_PI: /* sleeps on a condvar word; the PI lock is uaddr2 */
		pi = 0;
		break;
	case LW_FUTEX_LOCK_PI:
	case LW_FUTEX_LOCK_PI2:
		pi = 1;
		break;
	default:
		return 0;
	}
	if (!targeted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	w = record(LW_HOW_FUTEX, uaddr, op, val, pi, !(op & LW_FUTEX_PRIVATE_FLAG));
	if (!w)
		return 0;
	if (timeout)
		w->flags |= LW_WF_TIMED;
	if (will_sleep(w, pi))
		walk_chain(w);
	return 0;
}

/*
 * The syscalls:sys_{enter,exit}_NAME tracepoints' own records,
 * syscall_trace_{enter,exit} (nr an int), not raw_syscalls' (id a long):
 * the two agree only while struct trace_entry is 8 bytes. PREEMPT_RT
 * kernels make it 12, which moves args and ret (CO-RE places the fields as
 * the running kernel's BTF has them).
 */
SEC("tracepoint/syscalls/sys_enter_futex")
int handle_futex_enter(struct syscall_trace_enter *ctx)
{
	return futex_enter(ctx->args[0], (int)ctx->args[1], (__u32)ctx->args[2], ctx->args[3]);
}

/* futex_wait(2), Linux 6.7+: not loaded where the tracepoint is missing */
SEC("tracepoint/syscalls/sys_enter_futex_wait")
int handle_futex2_enter(struct syscall_trace_enter *ctx)
{
	struct lw_futex_wait *w;

	if (!targeted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	w = record(LW_HOW_FUTEX2, ctx->args[0], 0, (__u32)ctx->args[1], 0,
		   !((__u32)ctx->args[3] & LW_FUTEX2_PRIVATE));
	if (w && will_sleep(w, 0))
		walk_chain(w);
	return 0;
}

struct futex_waitv_user {
	__u64 val;
	__u64 uaddr;
	__u32 flags;
	__u32 __reserved;
};

SEC("tracepoint/syscalls/sys_enter_futex_waitv")
int handle_futex_waitv_enter(struct syscall_trace_enter *ctx)
{
	struct futex_waitv_user first = {};
	struct lw_futex_wait *w;

	if (!targeted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (bpf_probe_read_user(&first, sizeof(first), (void *)ctx->args[0]))
		return 0;
	w = record(LW_HOW_WAITV, first.uaddr, 0, (__u32)first.val, 0,
		   !(first.flags & LW_FUTEX2_PRIVATE));
	if (w)
		w->nr_futexes = (__u32)ctx->args[1];
	return 0;
}

static __always_inline int wait_end(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_futex_wait *w;
	struct lw_ev_pi *e;

	w = bpf_map_lookup_elem(&waits, &tid);
	if (!w || !w->how)
		return 0;
	if (ret == -EDEADLK && (w->flags & LW_WF_PI)) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			e->hdr.type = LW_EV_PI_EDEADLK;
			e->hdr.size = sizeof(*e);
			e->hdr.ts_ns = bpf_ktime_get_ns();
			e->hdr.tgid = w->tgid;
			e->hdr.tid = w->tid;
			e->wait = *w;
			bpf_ringbuf_submit(e, 0);
		} else {
			stat_inc(LW_STAT_DROPS);
		}
	}
	w->how = 0;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int handle_futex_exit(struct syscall_trace_exit *ctx)
{
	return wait_end(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_futex_wait")
int handle_futex2_exit(struct syscall_trace_exit *ctx)
{
	return wait_end(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_futex_waitv")
int handle_futex_waitv_exit(struct syscall_trace_exit *ctx)
{
	return wait_end(ctx->ret);
}

static __always_inline void emit_task(__u32 type, struct task_struct *p, __u32 group_dead,
				      __u32 child)
{
	struct lw_ev_task *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(LW_STAT_DROPS);
		return;
	}
	e->hdr.type = type;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.tgid = BPF_CORE_READ(p, tgid);
	e->hdr.tid = BPF_CORE_READ(p, pid);
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	e->group_dead = group_dead;
	e->child_pid = child;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 tid = BPF_CORE_READ(p, pid);
	__u32 dead = BPF_CORE_READ(p, signal, live.counter) == 0;

	/* unconditional: a slot outlives a process that stopped being watched */
	if (!bpf_map_delete_elem(&waits, &tid))
		slot_freed(tgid);
	if (dead) /* a count a lost race left over must not pass to a reused PID */
		bpf_map_delete_elem(&slots, &tgid);
	if (!targeted(tgid))
		return 0;
	if (targ_all && !dead)
		return 0; /* host-wide: only process exits matter */
	if (dead && !targ_all)
		bpf_map_delete_elem(&targets, &tgid);
	emit_task(LW_EV_THREAD_EXIT, p, dead, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (targ_all || ptgid == ctgid || !targeted(ptgid))
		return 0;
	/* follow new processes before their first instruction */
	bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	emit_task(LW_EV_FORK, parent, 0, ctgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p)
{
	if (!targeted(BPF_CORE_READ(p, tgid)))
		return 0;
	emit_task(LW_EV_EXEC, p, 0, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
