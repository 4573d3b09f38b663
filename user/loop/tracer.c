// SPDX-License-Identifier: GPL-2.0
/*
 * Loads and drives the BPF side (libbpf skeleton of bpf/lockwatch.bpf.c).
 * Before loading it checks what the kernel must offer — capabilities, BTF,
 * tracefs (libbpf finds tracepoint ids there) — so each missing piece gets
 * its own message instead of a libbpf error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lockwatch.skel.h"
#include "sys/log.h"
#include "loop/tracer.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"
#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

struct lw_tracer {
	struct lockwatch_bpf *skel;
	struct ring_buffer *rb;
	int nr_cpus;
	int batch_ok; /* BPF_MAP_LOOKUP_BATCH works on `waits` */
	struct lw_tracer_opts opts;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !lw_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

/* BPF with tracepoints needs CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN);
 * reading other processes' stacks and memory needs CAP_SYS_PTRACE. */
static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	char missing[128] = "";

	if (syscall(SYS_capget, &hdr, d))
		return 0; /* cannot tell: let the load say */
	if (!has_cap(d, CAP_SYS_ADMIN)) {
		if (!has_cap(d, CAP_BPF))
			strcat(missing, " CAP_BPF");
		if (!has_cap(d, CAP_PERFMON))
			strcat(missing, " CAP_PERFMON");
	}
	if (!has_cap(d, CAP_SYS_PTRACE))
		strcat(missing, " CAP_SYS_PTRACE");
	if (!missing[0])
		return 0;
	lw_err("needs root: missing%s (run as root)", missing);
	return -EPERM;
}

static int check_btf(const char *path)
{
	const char *p = path ? path : VMLINUX_BTF;

	if (access(p, R_OK) == 0)
		return 0;
	if (path)
		lw_err("no BTF: cannot read %s: %s", p, strerror(errno));
	else
		lw_err("no BTF: %s is missing (kernel built without CONFIG_DEBUG_INFO_BTF); "
		       "give one with --btf FILE",
		       p);
	return -ENOENT;
}

static int dir_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int check_tracefs(void)
{
	if (dir_exists(TRACEFS "/events") || dir_exists(DEBUGFS_TRACING "/events"))
		return 0;
	/* as bpftrace users expect: mount it where the kernel documents it */
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0 && dir_exists(TRACEFS "/events")) {
		lw_debug("mounted tracefs on " TRACEFS);
		return 0;
	}
	lw_err("no tracefs: %s is not mounted and mounting it failed: %s", TRACEFS,
	       strerror(errno));
	return -ENODEV;
}

static int tracepoint_exists(const char *category, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s", category, name);
	if (dir_exists(path))
		return 1;
	snprintf(path, sizeof(path), DEBUGFS_TRACING "/events/%s/%s", category, name);
	return dir_exists(path);
}

static int ringbuf_cb(void *ctx, void *data, size_t size)
{
	struct lw_tracer *t = ctx;

	return t->opts.on_event(t->opts.ctx, data, size);
}

int tracer__open(struct lw_tracer **out, const struct lw_tracer_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = opts->btf);
	struct lw_tracer *t;
	int err;

	libbpf_set_print(libbpf_print);
	err = check_privileges();
	if (!err)
		err = check_btf(opts->btf);
	if (!err)
		err = check_tracefs();
	if (err)
		return err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->nr_cpus = libbpf_num_possible_cpus();
	t->batch_ok = 1;
	t->opts = *opts;

	t->skel = lockwatch_bpf__open_opts(&oo);
	if (!t->skel) {
		err = -errno;
		lw_err("failed to open BPF object: %s", strerror(-err));
		goto out_free;
	}
	bpf_map__set_max_entries(t->skel->maps.events, opts->ringbuf_size);
	t->skel->rodata->targ_all = !!opts->all;
	/* futex_wait(2) is Linux 6.7+ (futex2); 6.1 has only futex and waitv */
	if (!tracepoint_exists("syscalls", "sys_enter_futex_wait")) {
		bpf_program__set_autoload(t->skel->progs.handle_futex2_enter, false);
		bpf_program__set_autoload(t->skel->progs.handle_futex2_exit, false);
	}
	if (!tracepoint_exists("syscalls", "sys_enter_futex_waitv")) {
		bpf_program__set_autoload(t->skel->progs.handle_futex_waitv_enter, false);
		bpf_program__set_autoload(t->skel->progs.handle_futex_waitv_exit, false);
	}

	err = lockwatch_bpf__load(t->skel);
	if (err) {
		if (err == -ENOSYS)
			lw_err("no BPF: the kernel has no bpf(2) (CONFIG_BPF_SYSCALL off)");
		else if (err == -EPERM || err == -EACCES)
			lw_err("failed to load BPF programs: %s (needs root)", strerror(-err));
		else
			lw_err("failed to load BPF programs: %s (run with -v for the verifier log)",
			       strerror(-err));
		goto out_destroy;
	}
	err = lockwatch_bpf__attach(t->skel);
	if (err) {
		lw_err("failed to attach futex tracepoints: %s", strerror(-err));
		goto out_destroy;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), ringbuf_cb, t, NULL);
	if (!t->rb) {
		err = -errno;
		lw_err("failed to create ring buffer: %s", strerror(-err));
		goto out_destroy;
	}
	*out = t;
	return 0;

out_destroy:
	lockwatch_bpf__destroy(t->skel);
out_free:
	free(t);
	return err;
}

int tracer__add_target(struct lw_tracer *t, pid_t tgid)
{
	__u32 key = tgid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.targets), &key, &one, BPF_ANY))
		return -errno;
	return 0;
}

int tracer__poll(struct lw_tracer *t, int timeout_ms)
{
	int n = ring_buffer__poll(t->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

static int waits_iterate(struct lw_tracer *t, struct lw_futex_wait *out, int max)
{
	int fd = bpf_map__fd(t->skel->maps.waits);
	__u32 key, next;
	int n = 0, err;

	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err && n < max) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &out[n]))
			n++;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	return n;
}

/* Keep the slots of threads waiting now (how != 0); count kept. */
static int only_waiting(struct lw_futex_wait *w, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (w[i].how)
			w[k++] = w[i];
	return k;
}

static int waits_read(struct lw_tracer *t, struct lw_futex_wait *out, int max)
{
	int fd = bpf_map__fd(t->skel->maps.waits);
	__u32 keys[256], batch;
	void *in = NULL;
	int n = 0, err;

	if (!t->batch_ok)
		return waits_iterate(t, out, max);
	/* one syscall per 256 entries; the map changes under us, which only
	 * means a wait that began or ended during the read is seen or not */
	while (n < max) {
		__u32 count = max - n < 256 ? max - n : 256;

		err = bpf_map_lookup_batch(fd, in, &batch, keys, &out[n], &count, NULL);
		if (err && errno != ENOENT) {
			if (n == 0 && (errno == EINVAL || errno == 524 /* ENOTSUPP */ ||
				       errno == EOPNOTSUPP)) {
				t->batch_ok = 0;
				return waits_iterate(t, out, max);
			}
			return -errno;
		}
		n += count;
		if (err) /* ENOENT: that was the last batch */
			break;
		in = &batch;
	}
	return n;
}

int tracer__waits(struct lw_tracer *t, struct lw_futex_wait *out, int max)
{
	int n = waits_read(t, out, max);

	return n < 0 ? n : only_waiting(out, n);
}

void tracer__seed(struct lw_tracer *t, const struct lw_futex_wait *w, int n)
{
	int fd = bpf_map__fd(t->skel->maps.waits);
	struct lw_futex_wait cur;

	for (int i = 0; i < n; i++) {
		__u32 tid = w[i].tid;

		if (!bpf_map_lookup_elem(fd, &tid, &cur) && cur.how)
			continue;
		bpf_map_update_elem(fd, &tid, &w[i], BPF_ANY);
	}
}

void tracer__unseed(struct lw_tracer *t, const struct lw_futex_wait *w)
{
	int fd = bpf_map__fd(t->skel->maps.waits);
	__u32 tid = w->tid;
	struct lw_futex_wait cur;

	/* only if it is still the seeded wait, not one the kernel wrote since */
	if (!bpf_map_lookup_elem(fd, &tid, &cur) && cur.how && (cur.flags & LW_WF_ATTACH) &&
	    cur.uaddr == w->uaddr) {
		cur.how = 0;
		bpf_map_update_elem(fd, &tid, &cur, BPF_EXIST);
	}
}

void tracer__stats(struct lw_tracer *t, uint64_t stats[LW_STAT_NR])
{
	int fd = bpf_map__fd(t->skel->maps.stats);
	__u64 vals[t->nr_cpus];

	for (__u32 i = 0; i < LW_STAT_NR; i++) {
		stats[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < t->nr_cpus; c++)
			stats[i] += vals[c];
	}
}

int tracer__events_fd(struct lw_tracer *t)
{
	return bpf_map__fd(t->skel->maps.events);
}

int tracer__stats_fd(struct lw_tracer *t)
{
	return bpf_map__fd(t->skel->maps.stats);
}

const char *tracer__btf(struct lw_tracer *t)
{
	return t->opts.btf;
}

uint32_t tracer__ringbuf_size(struct lw_tracer *t)
{
	return t->opts.ringbuf_size;
}

void tracer__destroy(struct lw_tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	lockwatch_bpf__destroy(t->skel);
	free(t);
}
