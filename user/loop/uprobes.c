// SPDX-License-Identifier: GPL-2.0
/*
 * Loads and attaches the lock-site uprobes (see uprobes.h). Binaries are
 * opened as the process maps them (/proc/PID/map_files/), so a deleted
 * libc or one in a container's mount namespace is the one probed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "locks.skel.h"
#include "loop/binary.h"
#include "loop/sites.h"
#include "loop/tracer.h"
#include "loop/uprobes.h"
#include "sys/log.h"
#include "sys/maps.h"
#include "sys/probeat.h"
#include "sys/proc.h"

#define BINARIES_MAX 256 /* mapped files looked at for lock sites, a process */
#define LOOKS_AFTER_EXEC 10 /* looks at a process's maps after attaching, one a sweep */
#define NAMES_MAX (18 + 3 * LW_LOCK_FNS_MAX) /* functions probed: pthread's, --lock-fn's */
_Static_assert(NAMES_MAX <= LW_BINARY_NAMES_MAX, "names of lock functions");

/* One probe of a process: its perf event on a shared site (sites.h), or a
 * USDT probe's link. Probes stay until the process exits: one never goes
 * away and comes back while the program runs (a release missed between the
 * two would leave its lock held). */
struct probe {
	int fd; /* -1: a link */
	struct bpf_link *link;
};

struct attached {
	pid_t pid;
	struct probe *probes;
	int n, cap;
	int looks; /* looks at its maps still to come (uprobes__look_again) */
	int ncustom; /* --lock-fn functions found */
	dev_t seen_dev[BINARIES_MAX]; /* binaries looked at */
	ino_t seen_ino[BINARIES_MAX];
	int nseen;
	int full; /* files past BINARIES_MAX */
};

struct lw_uprobes {
	struct locks_bpf *skel;
	const struct lw_lock_fn *fns;
	int nfns;
	const char *names[NAMES_MAX]; /* every function name a probe may want */
	int nnames;
	struct attached *procs;
	int nprocs, cap;
	uint64_t nlinks;
	struct lw_sites *sites;
};

/* The pthread functions and the program each one gets; `ret`: whether its
 * return says if the lock was taken. */
enum site_kind { TAKE, TIMED, TRY, RELEASE, REMADE };

static const struct {
	const char *fn;
	enum site_kind kind;
	int rw; /* 0 mutex, 1 rwlock for writing, 2 for reading */
} pthread_sites[] = {
	{ "pthread_mutex_lock", TAKE, 0 },	    { "pthread_mutex_timedlock", TIMED, 0 },
	{ "pthread_mutex_clocklock", TIMED, 0 },    { "pthread_mutex_trylock", TRY, 0 },
	{ "pthread_mutex_unlock", RELEASE, 0 },	    { "pthread_mutex_init", REMADE, 0 },
	{ "pthread_mutex_destroy", REMADE, 0 },	    { "pthread_rwlock_wrlock", TAKE, 1 },
	{ "pthread_rwlock_timedwrlock", TIMED, 1 }, { "pthread_rwlock_clockwrlock", TIMED, 1 },
	{ "pthread_rwlock_trywrlock", TRY, 1 },	    { "pthread_rwlock_rdlock", TAKE, 2 },
	{ "pthread_rwlock_timedrdlock", TIMED, 2 }, { "pthread_rwlock_clockrdlock", TIMED, 2 },
	{ "pthread_rwlock_tryrdlock", TRY, 2 },	    { "pthread_rwlock_unlock", RELEASE, 0 },
	{ "pthread_rwlock_init", REMADE, 0 },	    { "pthread_rwlock_destroy", REMADE, 0 },
};

static struct bpf_program *program(struct lw_uprobes *u, enum site_kind kind, int rw)
{
	__typeof__(u->skel->progs) *p = &u->skel->progs;
	struct bpf_program *take[] = { p->handle_mutex_take, p->handle_wrlock_take,
				       p->handle_rdlock_take };
	struct bpf_program *timed[] = { p->handle_mutex_timed, p->handle_wrlock_timed,
					p->handle_rdlock_timed };
	struct bpf_program *try[] = { p->handle_mutex_try, p->handle_wrlock_try,
				      p->handle_rdlock_try };

	switch (kind) {
	case TAKE:
		return take[rw];
	case TIMED:
		return timed[rw];
	case TRY:
		return try[rw];
	case RELEASE:
		return p->handle_release;
	case REMADE:
		return p->handle_remade;
	}
	return NULL;
}

int uprobes__open(struct lw_uprobes **out, struct lw_tracer *t, const struct lw_lock_fn *fns,
		  int nfns)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = tracer__btf(t));
	struct lw_uprobes *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	u->fns = fns;
	u->nfns = nfns;
	for (size_t i = 0; i < sizeof(pthread_sites) / sizeof(pthread_sites[0]); i++)
		u->names[u->nnames++] = pthread_sites[i].fn;
	for (int i = 0; i < nfns && i < LW_LOCK_FNS_MAX; i++) {
		u->names[u->nnames++] = fns[i].acquire;
		u->names[u->nnames++] = fns[i].release;
		if (fns[i].try[0])
			u->names[u->nnames++] = fns[i].try;
	}
	u->sites = sites__new();
	if (!u->sites) {
		err = -errno;
		lw_err("--lock-order needs tracefs for its uprobes: %s (mount -t tracefs nodev "
		       "/sys/kernel/tracing)",
		       strerror(-err));
		free(u);
		return err;
	}
	u->skel = locks_bpf__open_opts(&oo);
	if (!u->skel) {
		err = -errno;
		lw_err("failed to open the lock-site BPF object: %s", strerror(-err));
		sites__free(u->sites);
		free(u);
		return err;
	}
	u->skel->rodata->lw_self = getpid();
	bpf_map__set_max_entries(u->skel->maps.events, tracer__ringbuf_size(t));
	err = bpf_map__reuse_fd(u->skel->maps.events, tracer__events_fd(t));
	if (!err)
		err = bpf_map__reuse_fd(u->skel->maps.stats, tracer__stats_fd(t));
	if (!err)
		err = locks_bpf__load(u->skel);
	if (err) {
		lw_err("failed to load the lock-site BPF programs: %s (run with -v for the "
		       "verifier log)",
		       strerror(-err));
		locks_bpf__destroy(u->skel);
		sites__free(u->sites);
		free(u);
		return err;
	}
	/* a thread's exit with locks held; the uprobes are per process */
	u->nlinks++;
	err = locks_bpf__attach(u->skel);
	if (err) {
		lw_err("failed to attach the lock-site exit tracepoint: %s", strerror(-err));
		locks_bpf__destroy(u->skel);
		sites__free(u->sites);
		free(u);
		return err;
	}
	*out = u;
	return 0;
}

static struct attached *find(struct lw_uprobes *u, pid_t pid, int add)
{
	struct attached *a;

	for (int i = 0; i < u->nprocs; i++)
		if (u->procs[i].pid == pid)
			return &u->procs[i];
	if (!add)
		return NULL;
	if (u->nprocs == u->cap) {
		int cap = u->cap ? u->cap * 2 : 16;
		struct attached *v = realloc(u->procs, cap * sizeof(*v));

		if (!v)
			return NULL;
		u->procs = v;
		u->cap = cap;
	}
	a = &u->procs[u->nprocs++];
	memset(a, 0, sizeof(*a));
	a->pid = pid;
	return a;
}

static int name_index(const struct lw_uprobes *u, const char *name)
{
	for (int i = 0; i < u->nnames; i++)
		if (!strcmp(u->names[i], name))
			return i;
	return -1;
}

/* Probe name (a function, or a USDT probe) of bin with prog, at its
 * return when ret, for a. 0 or -errno. */
static int want(struct lw_uprobes *u, struct attached *a, const struct lw_binary *bin,
		const struct bpf_program *prog, const char *name, int ret, int usdt,
		uint64_t cookie)
{
	int k = usdt ? -1 : name_index(u, name);
	struct probe p = { .fd = -1 };

	if (!usdt && (k < 0 || !bin->off[k]))
		return -ENOENT; /* not in this binary */
	if (a->n == a->cap) {
		int cap = a->cap ? a->cap * 2 : 32;
		struct probe *v = realloc(a->probes, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->probes = v;
		a->cap = cap;
	}
	if (usdt) {
		p.link = bpf_program__attach_usdt((struct bpf_program *)prog, a->pid, bin->path,
						  "lockwatch", name, NULL);
		if (!p.link)
			p.fd = -errno;
	} else {
		/* where the kernel need not single-step: see sys/probeat.h */
		p.fd = sites__open(u->sites, prog, cookie, bin->fd, bin->dev, bin->ino,
				   bin->off[k] + lw_probe_offset(bin->fd, bin->off[k], bin->size[k],
								 cookie ? cookie : 1),
				   ret, a->pid);
	}
	if (!p.link && p.fd < 0) {
		lw_debug("pid %d: %s%s in %s: %s", a->pid, name, ret ? " (return)" : "", bin->name,
			 strerror(-p.fd));
		return p.fd;
	}
	a->probes[a->n++] = p;
	u->nlinks++;
	return 0;
}

/* A lock-taking function: the take, the try or the timed program, and
 * for the last two the return's too, which goes first (a return with no
 * entry before it does nothing; an entry with no return would leave a call
 * pending). */
static int want_site(struct lw_uprobes *u, struct attached *a, const struct lw_binary *bin,
		     struct bpf_program *prog, enum site_kind kind, const char *fn, int arg)
{
	int err = 0;

	if (kind == TRY || kind == TIMED)
		err = want(u, a, bin, u->skel->progs.handle_pending_ret, fn, 1, 0, 0);
	return err ? err : want(u, a, bin, prog, fn, 0, 0, arg);
}

/*
 * The pthread lock functions in one binary; how many were found. Every
 * release goes live before any take: a lock taken and released between
 * the two would otherwise stay held. The takes of a kind whose unlock
 * could not be probed are left out.
 */
static int want_pthread(struct lw_uprobes *u, struct attached *a, const struct lw_binary *bin)
{
	int n = 0, released[2] = { 0, 0 };

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof(pthread_sites) / sizeof(pthread_sites[0]); i++) {
			const char *fn = pthread_sites[i].fn;
			enum site_kind k = pthread_sites[i].kind;
			int rwlock = !strncmp(fn, "pthread_rwlock_", 15);

			if ((k == RELEASE || k == REMADE) != !pass)
				continue;
			if (pass && !released[rwlock])
				continue;
			if (want_site(u, a, bin, program(u, k, pthread_sites[i].rw), k, fn, 1))
				continue;
			n++;
			if (k == RELEASE)
				released[rwlock] = 1;
		}
	}
	return n;
}

/* lockwatch:release, :acquire, :acquire_read, :acquired in one binary: the
 * release first, and none of the others without it. */
static int want_usdt(struct lw_uprobes *u, struct attached *a, const struct lw_binary *bin)
{
	__typeof__(u->skel->progs) *p = &u->skel->progs;
	const struct {
		const char *name;
		struct bpf_program *prog;
	} probes[] = {
		{ "release", p->handle_usdt_release },
		{ "acquire", p->handle_usdt_acquire },
		{ "acquire_read", p->handle_usdt_acquire_read },
		{ "acquired", p->handle_usdt_acquired },
	};
	int n = 0;

	if (!bin->usdt)
		return 0;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (!want(u, a, bin, probes[i].prog, probes[i].name, 0, 1, 0))
			n++;
		else if (!i)
			return 0;
	}
	return n;
}

static int is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	/* glibc 2.34+: before, the lock functions were libpthread's, with
	 * forwarders of the same names in libc (not probed) */
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
}

static int matches(const char *path, const char *want)
{
	const char *base = strrchr(path, '/');

	if (!want[0])
		return 0;
	base = base ? base + 1 : path;
	return !strcmp(path, want) || !strcmp(base, want);
}

/* --lock-fn functions that live in this binary. */
static int want_custom(struct lw_uprobes *u, struct attached *a, const struct lw_binary *bin)
{
	__typeof__(u->skel->progs) *p = &u->skel->progs;
	int n = 0, err;

	for (int i = 0; i < u->nfns; i++) {
		const struct lw_lock_fn *f = &u->fns[i];

		if (f->binary[0] ? !matches(bin->name, f->binary) : !bin->is_exe)
			continue;
		/* the cookie names the argument that is the lock; the release
		 * goes live first, as with pthread's */
		err = want_site(u, a, bin, p->handle_custom_release, RELEASE, f->release, f->arg);
		if (!err)
			err = want_site(u, a, bin, p->handle_custom_take, TAKE, f->acquire, f->arg);
		if (!err && f->try[0])
			err = want_site(u, a, bin, p->handle_custom_try, TRY, f->try, f->arg);
		if (err)
			lw_debug("pid %d: --lock-fn %s,%s%s%s not in %s: %s", a->pid, f->acquire,
				 f->release, f->try[0] ? "," : "", f->try, bin->name,
				 strerror(-err));
		else
			n++;
	}
	a->ncustom += n;
	return n;
}

/* Every lock site of one binary: libc's lock functions, or a statically
 * linked executable's own (in a dynamic one they are undefined); --lock-fn
 * functions; USDT probes. How many. */
static int want_binary(struct lw_uprobes *u, struct attached *a, struct lw_binary *bin)
{
	int n = 0;

	binary__inspect(bin, u->names, u->nnames);
	if (is_libc(bin->name) || (bin->is_exe && !bin->dynamic))
		n += want_pthread(u, a, bin);
	return n + want_custom(u, a, bin) + want_usdt(u, a, bin);
}

/* Whether a binary was looked at for a already; else it is now. Past
 * BINARIES_MAX files, every new one counts as looked at (and is not probed):
 * one looked at twice would get its probes twice. */
static int known(struct attached *a, const struct lw_binary *bin)
{
	for (int i = 0; i < a->nseen; i++)
		if (a->seen_dev[i] == bin->dev && a->seen_ino[i] == bin->ino)
			return 1;
	if (a->nseen == BINARIES_MAX) {
		if (!a->full++)
			lw_err("pid %d maps more than %d files: the lock sites of the rest are "
			       "not probed",
			       a->pid, BINARIES_MAX);
		return 1;
	}
	a->seen_dev[a->nseen] = bin->dev;
	a->seen_ino[a->nseen++] = bin->ino;
	return 0;
}

/* Probes for every binary pid maps now that has lock sites; ones already
 * there stay, and so do those of files it maps no more (after execve they
 * cost nothing, and a libc the new program maps again keeps its probes
 * throughout). How many it has. */
static int sync_probes(struct lw_uprobes *u, struct attached *a)
{
	char exe[PATH_MAX], path[96];
	struct lw_mapping m;
	struct lw_maps *maps;
	struct lw_binary bin;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/exe", a->pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	maps = maps__open(a->pid);
	if (!maps)
		return a->n;
	while (maps__next(maps, &m)) {
		/* one look per file, at its first mapping */
		if (m.path[0] != '/' || m.offset || m.perms[0] != 'r' || !m.inode)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, a->pid,
			 m.start, m.end);
		bin = (struct lw_binary){ .path = path, .name = m.path };
		bin.is_exe = !strcmp(m.path, exe) || (!strncmp(m.path, exe, strlen(exe)) &&
						      !strcmp(m.path + strlen(exe), " (deleted)"));
		if (binary__open(&bin))
			continue;
		if (!known(a, &bin))
			want_binary(u, a, &bin);
		binary__close(&bin);
	}
	maps__close(maps);
	return a->n;
}

int uprobes__attach(struct lw_uprobes *u, pid_t pid)
{
	struct attached *a = find(u, pid, 1);

	if (!a)
		return -ENOMEM;
	/* after execve the dynamic loader maps the libraries: look again */
	a->looks = LOOKS_AFTER_EXEC;
	if (sync_probes(u, a))
		lw_debug("pid %d: %d lock-site probes", pid, a->n);
	return 0;
}

void uprobes__look_again(struct lw_uprobes *u)
{
	for (int i = 0; i < u->nprocs; i++) {
		struct attached *a = &u->procs[i];
		int n = a->n;

		if (!a->looks)
			continue;
		a->looks--;
		if (sync_probes(u, a) != n)
			lw_debug("pid %d: %d lock-site probes", a->pid, a->n);
		if (!a->looks && !a->n)
			lw_err("pid %d: no lock functions to probe (no libc, no --lock-fn, no USDT "
			       "probe): its lock orders are not seen",
			       a->pid);
		else if (!a->looks && u->nfns && !a->ncustom)
			lw_err("pid %d: none of the --lock-fn functions is in a binary it maps",
			       a->pid);
	}
}

int uprobes__attach_exe(struct lw_uprobes *u, pid_t pid, const char *path)
{
	struct lw_binary bin = { .path = path, .name = path, .is_exe = 1 };
	struct attached *a = find(u, pid, 1);
	int err;

	if (!a)
		return -ENOMEM;
	err = binary__open(&bin);
	if (err)
		return err;
	if (!known(a, &bin))
		want_binary(u, a, &bin);
	binary__close(&bin);
	return 0;
}

void uprobes__detach(struct lw_uprobes *u, pid_t pid)
{
	struct attached *a = find(u, pid, 0);

	if (!a)
		return;
	for (int i = 0; i < a->n; i++)
		if (a->probes[i].link)
			bpf_link__destroy(a->probes[i].link);
		else
			close(a->probes[i].fd);
	free(a->probes);
	*a = u->procs[--u->nprocs];
}

int uprobes__for_each_holds(struct lw_uprobes *u, lw_holds_fn fn, void *ctx)
{
	int fd = bpf_map__fd(u->skel->maps.holds), err, ret = 0;
	static struct lw_holds h;
	__u32 key, next;

	/* a key deleted under the walk (a thread exiting) starts it over:
	 * bounded by the map's size */
	err = bpf_map_get_next_key(fd, NULL, &next);
	for (int steps = 0; !err && !ret && steps < LW_WAITS_MAX; steps++) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &h) && h.n)
			ret = fn(ctx, key, &h);
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	return ret > 0 ? 0 : ret;
}

uint64_t uprobes__acquires(struct lw_uprobes *u)
{
	int fd = bpf_map__fd(u->skel->maps.holds);
	static struct lw_holds h;
	uint64_t sum = 0;
	__u32 key, next;
	int err;

	err = bpf_map_get_next_key(fd, NULL, &next);
	for (int steps = 0; !err && steps < LW_WAITS_MAX; steps++) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &h))
			sum += h.acquires;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	return sum;
}

int uprobes__holds(struct lw_uprobes *u, pid_t tid, struct lw_holds *h)
{
	__u32 key = tid;

	return bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.holds), &key, h) ? -ENOENT : 0;
}

uint32_t uprobes__lockgen(struct lw_uprobes *u, pid_t pid, uint64_t lock)
{
	struct lw_lock_id id = { .tgid = pid, .lock = lock };
	__u32 g = 0;

	bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.lockgen), &id, &g);
	return g;
}

void uprobes__forget_order(struct lw_uprobes *u, const struct lw_order_key *k)
{
	bpf_map_delete_elem(bpf_map__fd(u->skel->maps.orders), k);
}

uint64_t uprobes__attached(const struct lw_uprobes *u)
{
	return u->nlinks;
}

void uprobes__destroy(struct lw_uprobes *u)
{
	if (!u)
		return;
	while (u->nprocs)
		uprobes__detach(u, u->procs[0].pid);
	free(u->procs);
	sites__free(u->sites);
	locks_bpf__destroy(u->skel);
	free(u);
}
