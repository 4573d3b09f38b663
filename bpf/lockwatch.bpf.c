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
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "lockwatch.h"

#define EDEADLK 35

#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))
#define FUTEX_TID_MASK 0x3fffffff
#define FUTEX2_PRIVATE 128

/* glibc pthread_mutex_t (bits/struct_mutex.h): __lock, __count, __owner, ... */
#define MUTEX_OWNER_OFF 8
#define MUTEX_KIND_OFF 16
/* Every bit a glibc mutex kind may carry: type 0..3, robust, PI, PP, pshared,
 * elision flags. */
#define MUTEX_KIND_BITS (0x3 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200)

/* Set before load. targ_all: watch every process (no `targets` lookup). */
const volatile __u32 targ_all = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct lw_wait);
} waits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Scratch for building a wait: too large for comfort on the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_wait);
} scratch SEC(".maps");

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

static __always_inline int mutex_kind_valid(__u32 kind)
{
	return (kind & ~MUTEX_KIND_BITS) == 0;
}

/*
 * Who holds the lock a wait is on, read from the process's memory now (not at
 * wait time: glibc writes __owner only after taking the lock word, so a
 * waiter that raced the taker saw 0). Only the current address space can be
 * read here, so callers stay inside one tgid.
 */
static __always_inline __u32 holder_now(const struct lw_wait *w)
{
	__u32 v = 0;

	if (w->flags & LW_WF_PI) {
		if (bpf_probe_read_user(&v, sizeof(v), (void *)w->uaddr))
			return 0;
		return v & FUTEX_TID_MASK;
	}
	if (!(w->flags & LW_WF_MUTEX))
		return 0;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(w->uaddr + MUTEX_OWNER_OFF)))
		return 0;
	return v;
}

static __always_inline void emit_cycle(const struct lw_wait *w, __u32 hops)
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
 * within this process. A chain that reaches a thread already on it is a
 * candidate deadlock; the daemon confirms it against /proc before it says so.
 * Stale entries (a woken waiter not yet back from the syscall) only cost a
 * false hint, never a false alert.
 */
static __always_inline void walk_chain(const struct lw_wait *w)
{
	__u32 seen[LW_MAX_CHAIN];
	const struct lw_wait *cur = w;
	__u32 n = 0;

	for (int i = 0; i < LW_MAX_CHAIN; i++) {
		__u32 holder = holder_now(cur);

		if (!holder)
			return;
		seen[i] = cur->tid;
		n = i + 1;
		for (int j = 0; j < LW_MAX_CHAIN; j++) {
			if (j >= n)
				break;
			if (seen[j] == holder) {
				emit_cycle(w, n);
				return;
			}
		}
		cur = bpf_map_lookup_elem(&waits, &holder);
		if (!cur || cur->tgid != w->tgid)
			return;
	}
}

static __always_inline struct lw_wait *new_wait(__u32 how, __u64 uaddr)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct lw_wait *w;

	w = bpf_map_lookup_elem(&scratch, &zero);
	if (!w)
		return NULL;
	__builtin_memset(w, 0, sizeof(*w));
	w->tgid = id >> 32;
	w->tid = (__u32)id;
	w->how = how;
	w->uaddr = uaddr;
	w->start_ns = bpf_ktime_get_ns();
	bpf_probe_read_user(&w->word, sizeof(w->word), (void *)uaddr);
	return w;
}

static __always_inline int track(struct lw_wait *w)
{
	if (bpf_map_update_elem(&waits, &w->tid, w, BPF_ANY)) {
		stat_inc(LW_STAT_WAITS_FULL);
		return -1;
	}
	stat_inc(LW_STAT_WAITS);
	return 0;
}

/* A futex wait on uaddr with the given op flags: capture holder identity. */
static __always_inline void futex_wait_common(struct lw_wait *w, int pi, int private)
{
	if (!private)
		w->flags |= LW_WF_SHARED;
	if (pi) {
		w->flags |= LW_WF_PI;
		w->owner = w->word & FUTEX_TID_MASK;
		bpf_probe_read_user(&w->kind, sizeof(w->kind), (void *)(w->uaddr + MUTEX_KIND_OFF));
	} else {
		__u32 words[5] = {};

		/* __lock, __count, __owner, __nusers, __kind */
		if (!bpf_probe_read_user(words, sizeof(words), (void *)w->uaddr)) {
			w->kind = words[4];
			/* glibc's lll_lock_wait sleeps with the word at 2 */
			if (w->val == 2 && mutex_kind_valid(words[4]) && words[2]) {
				w->flags |= LW_WF_MUTEX;
				w->owner = words[2];
			}
		}
	}
	if (track(w))
		return;
	walk_chain(w);
}

SEC("tracepoint/syscalls/sys_enter_futex")
int handle_futex_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	int op = (int)ctx->args[1];
	int cmd = op & FUTEX_CMD_MASK;
	struct lw_wait *w;
	int pi;

	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		pi = 0;
		break;
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
	case FUTEX_WAIT_REQUEUE_PI:
		pi = 1;
		break;
	default:
		return 0;
	}
	if (!targeted(tgid))
		return 0;
	w = new_wait(LW_HOW_FUTEX, ctx->args[0]);
	if (!w)
		return 0;
	w->op = op;
	w->val = (__u32)ctx->args[2];
	/* WAIT_REQUEUE_PI sleeps on a condvar word; the PI lock is uaddr2 */
	futex_wait_common(w, pi && cmd != FUTEX_WAIT_REQUEUE_PI, op & FUTEX_PRIVATE_FLAG);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_futex_wait")
int handle_futex2_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_wait *w;

	if (!targeted(tgid))
		return 0;
	w = new_wait(LW_HOW_FUTEX2, ctx->args[0]);
	if (!w)
		return 0;
	w->val = (__u32)ctx->args[1];
	futex_wait_common(w, 0, ctx->args[3] & FUTEX2_PRIVATE);
	return 0;
}

struct futex_waitv_user {
	__u64 val;
	__u64 uaddr;
	__u32 flags;
	__u32 __reserved;
};

SEC("tracepoint/syscalls/sys_enter_futex_waitv")
int handle_futex_waitv_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct futex_waitv_user first = {};
	struct lw_wait *w;

	if (!targeted(tgid))
		return 0;
	if (bpf_probe_read_user(&first, sizeof(first), (void *)ctx->args[0]))
		return 0;
	w = new_wait(LW_HOW_WAITV, first.uaddr);
	if (!w)
		return 0;
	w->val = (__u32)first.val;
	w->nr_futexes = (__u32)ctx->args[1];
	if (!(first.flags & FUTEX2_PRIVATE))
		w->flags |= LW_WF_SHARED;
	track(w);
	return 0;
}

static __always_inline int wait_end(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_wait *w;
	struct lw_ev_pi *e;

	w = bpf_map_lookup_elem(&waits, &tid);
	if (!w)
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
	bpf_map_delete_elem(&waits, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int handle_futex_exit(struct trace_event_raw_sys_exit *ctx)
{
	return wait_end(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_futex_wait")
int handle_futex2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return wait_end(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_futex_waitv")
int handle_futex_waitv_exit(struct trace_event_raw_sys_exit *ctx)
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
	__u32 dead;

	if (!targeted(tgid))
		return 0;
	bpf_map_delete_elem(&waits, &tid);
	dead = BPF_CORE_READ(p, signal, live.counter) == 0;
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
