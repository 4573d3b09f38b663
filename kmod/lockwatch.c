// SPDX-License-Identifier: GPL-2.0
/*
 * lockwatch.c - /sys/kernel/lockwatch: the lockwatch daemon's wait-for graph,
 * published by the daemon through a root-only binary attribute and served to
 * readers as whole, immutable, refcounted snapshots (kobject, sysfs
 * attributes and bin_attributes, kref).  Files and formats: kmod/FORMAT.md;
 * ABI: kmod/ABI/sysfs-kernel-lockwatch.
 *
 * Sysfs gives a binary attribute no open or release hook, and moves at most
 * one page per read()/write() call, so both directions keep a small table
 * keyed by the struct file the callbacks receive:
 *  - publish: a staging buffer per writer, filled page by page at increasing
 *    offsets and turned into a snapshot when its last byte arrives;
 *  - graph, alerts: the snapshot pinned by a read at offset 0, served until
 *    the read reaches the end, so one cat never mixes two snapshots.
 * Each entry holds a reference on its file, so a freed and reused struct file
 * cannot inherit another reader's entry.  Entries idle for too long are swept.
 *
 * Memory is bounded: LOCKWATCH_MAX_WRITERS staging buffers of at most
 * LOCKWATCH_MAX_RECORD bytes, plus at most LOCKWATCH_MAX_READERS + 1
 * snapshots (the current one and one per pin) of at most
 * LOCKWATCH_MAX_RECORD + 256 bytes: 21 MiB in the worst case.
 */
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/threads.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "parse.h"

#define LOCKWATCH_MAX_WRITERS		4
#define LOCKWATCH_MAX_READERS		16
/* rendered section header and trailer with the generation filled in */
#define LOCKWATCH_SECTION_SLACK		128
#define LOCKWATCH_STAGE_TIMEOUT		(5 * HZ)
#define LOCKWATCH_PIN_TIMEOUT		(10 * HZ)
#define LOCKWATCH_SWEEP_PERIOD		HZ
#define LOCKWATCH_STALE_DEFAULT_MS	3000
#define LOCKWATCH_STALE_MIN_MS		100
#define LOCKWATCH_STALE_MAX_MS		3600000

/* One accepted publish; never modified after it is made current. */
struct lockwatch_snap {
	struct kref ref;
	u64 generation;
	struct timespec64 updated;	/* CLOCK_REALTIME of the publish */
	u64 published_ns;		/* CLOCK_BOOTTIME: counts suspend */
	u32 pid;
	u32 deadlocks;
	u32 blocked_threads;
	u32 tracked_locks;
	bool stopping;
	size_t graph_len;
	size_t alerts_len;
	char text[];			/* graph text, then alerts text */
};

/* A multi-page publish in progress. */
struct lockwatch_stage {
	struct file *file;
	char *buf;
	size_t len;			/* bytes received: the next offset */
	struct lockwatch_hdr hdr;
	unsigned long touched;
};

/* A read of graph or alerts in progress. */
struct lockwatch_pin {
	struct file *file;
	const struct bin_attribute *attr;
	struct lockwatch_snap *snap;
	unsigned long touched;
};

static struct kobject *lockwatch_kobj;

/* lockwatch_snap_lock guards the pointer only; snapshots are immutable */
static DEFINE_SPINLOCK(lockwatch_snap_lock);
static struct lockwatch_snap *lockwatch_current;

/* serializes publishes: the staging table, lockwatch_generation */
static DEFINE_MUTEX(lockwatch_stage_lock);
static struct lockwatch_stage lockwatch_stages[LOCKWATCH_MAX_WRITERS];
static u64 lockwatch_generation;

static DEFINE_MUTEX(lockwatch_pin_lock);
static struct lockwatch_pin lockwatch_pins[LOCKWATCH_MAX_READERS];

static unsigned int lockwatch_stale_after_ms = LOCKWATCH_STALE_DEFAULT_MS;

static void lockwatch_sweep(struct work_struct *work);
static DECLARE_DELAYED_WORK(lockwatch_sweep_work, lockwatch_sweep);

static void lockwatch_snap_release(struct kref *ref)
{
	kvfree(container_of(ref, struct lockwatch_snap, ref));
}

static struct lockwatch_snap *lockwatch_snap_get(void)
{
	struct lockwatch_snap *snap;

	spin_lock(&lockwatch_snap_lock);
	snap = lockwatch_current;
	kref_get(&snap->ref);
	spin_unlock(&lockwatch_snap_lock);
	return snap;
}

static void lockwatch_snap_put(struct lockwatch_snap *snap)
{
	kref_put(&snap->ref, lockwatch_snap_release);
}

static bool lockwatch_snap_stale(const struct lockwatch_snap *snap)
{
	u64 limit = (u64)READ_ONCE(lockwatch_stale_after_ms) * NSEC_PER_MSEC;

	return !snap->generation || snap->stopping ||
	       ktime_get_boottime_ns() - snap->published_ns > limit;
}

static struct lockwatch_snap *lockwatch_snap_build(const char *graph,
						   size_t graph_len,
						   u32 graph_lines,
						   const char *alerts,
						   size_t alerts_len,
						   u32 alerts_lines, u64 gen)
{
	size_t room = graph_len + alerts_len + 2 * LOCKWATCH_SECTION_SLACK;
	struct lockwatch_snap *snap;

	snap = kvzalloc(struct_size(snap, text, room), GFP_KERNEL);
	if (!snap)
		return NULL;
	kref_init(&snap->ref);
	snap->generation = gen;
	snap->graph_len = lockwatch_render(snap->text, room,
					   LOCKWATCH_GRAPH_MAGIC, gen, graph,
					   graph_len, graph_lines);
	snap->alerts_len = lockwatch_render(snap->text + snap->graph_len,
					    room - snap->graph_len,
					    LOCKWATCH_ALERTS_MAGIC, gen, alerts,
					    alerts_len, alerts_lines);
	return snap;
}

/* Validate a whole record and make it current.  Under lockwatch_stage_lock. */
static int lockwatch_commit(const char *buf, const struct lockwatch_hdr *hdr)
{
	const char *graph, *alerts;
	size_t graph_len, alerts_len;
	u32 graph_lines, alerts_lines;
	struct lockwatch_snap *snap, *old;
	int err;

	err = lockwatch_parse_body(buf, hdr, &graph, &graph_len, &graph_lines,
				   &alerts, &alerts_len, &alerts_lines);
	if (err)
		return err;

	snap = lockwatch_snap_build(graph, graph_len, graph_lines, alerts,
				    alerts_len, alerts_lines,
				    lockwatch_generation + 1);
	if (!snap)
		return -ENOMEM;
	ktime_get_real_ts64(&snap->updated);
	snap->published_ns = ktime_get_boottime_ns();
	snap->pid = hdr->pid;
	snap->deadlocks = hdr->deadlocks;
	snap->blocked_threads = hdr->blocked_threads;
	snap->tracked_locks = hdr->tracked_locks;
	snap->stopping = hdr->stopping;

	lockwatch_generation++;
	spin_lock(&lockwatch_snap_lock);
	old = lockwatch_current;
	lockwatch_current = snap;
	spin_unlock(&lockwatch_snap_lock);
	lockwatch_snap_put(old);
	return 0;
}

static void lockwatch_stage_drop(struct lockwatch_stage *st)
{
	kvfree(st->buf);
	fput(st->file);
	memset(st, 0, sizeof(*st));
}

static struct lockwatch_stage *lockwatch_stage_find(struct file *file)
{
	int i;

	for (i = 0; i < LOCKWATCH_MAX_WRITERS; i++) {
		if (lockwatch_stages[i].file == file)
			return &lockwatch_stages[i];
	}
	return NULL;
}

/* Drop abandoned publishes; returns whether any staging buffer is left. */
static bool lockwatch_stage_expire(unsigned long now)
{
	bool busy = false;
	int i;

	for (i = 0; i < LOCKWATCH_MAX_WRITERS; i++) {
		struct lockwatch_stage *st = &lockwatch_stages[i];

		if (!st->file)
			continue;
		if (time_after(now, st->touched + LOCKWATCH_STAGE_TIMEOUT))
			lockwatch_stage_drop(st);
		else
			busy = true;
	}
	return busy;
}

/* The first page of a record: commit it or start staging the rest. */
static int lockwatch_publish_start(struct file *file, const char *buf,
				   size_t count)
{
	struct lockwatch_stage *st;
	struct lockwatch_hdr hdr;
	int err;

	err = lockwatch_parse_hdr(buf, count, &hdr);
	if (err)
		return err;
	if (count > hdr.length)
		return -EINVAL;
	if (count == hdr.length)
		return lockwatch_commit(buf, &hdr);
	/* a short piece that does not finish the record: it was truncated */
	if (count != PAGE_SIZE)
		return -EINVAL;

	st = lockwatch_stage_find(NULL);
	if (!st)
		return -EBUSY;
	st->buf = kvmalloc(hdr.length, GFP_KERNEL);
	if (!st->buf)
		return -ENOMEM;
	memcpy(st->buf, buf, count);
	st->len = count;
	st->hdr = hdr;
	st->touched = jiffies;
	st->file = get_file(file);
	schedule_delayed_work(&lockwatch_sweep_work, LOCKWATCH_SWEEP_PERIOD);
	return 0;
}

/* A later page; the staging buffer is dropped unless more is expected. */
static int lockwatch_publish_continue(struct lockwatch_stage *st,
				      const char *buf, size_t count, loff_t off)
{
	int err;

	if (off != st->len || count > st->hdr.length - st->len) {
		err = -EINVAL;
		goto out_drop_stage;
	}
	memcpy(st->buf + st->len, buf, count);
	st->len += count;
	st->touched = jiffies;
	if (st->len == st->hdr.length) {
		err = lockwatch_commit(st->buf, &st->hdr);
		goto out_drop_stage;
	}
	if (count != PAGE_SIZE) {
		err = -EINVAL;
		goto out_drop_stage;
	}
	return 0;

out_drop_stage:
	lockwatch_stage_drop(st);
	return err;
}

/*
 * kernfs hands a bin_attribute write over at most a page at a time (one
 * write(2) returns a short count; the writer's loop writes the rest), and
 * serializes calls on one open file.
 */
static ssize_t lockwatch_publish_write(struct file *file, struct kobject *kobj,
				       struct bin_attribute *attr, char *buf,
				       loff_t off, size_t count)
{
	struct lockwatch_stage *st;
	int err;

	mutex_lock(&lockwatch_stage_lock);
	lockwatch_stage_expire(jiffies);
	st = lockwatch_stage_find(file);
	if (off == 0) {
		/* a new record on the same file replaces an unfinished one */
		if (st)
			lockwatch_stage_drop(st);
		err = lockwatch_publish_start(file, buf, count);
	} else if (st) {
		err = lockwatch_publish_continue(st, buf, count, off);
	} else {
		err = -EINVAL;
	}
	mutex_unlock(&lockwatch_stage_lock);
	return err ? err : count;
}

static void lockwatch_pin_drop(struct lockwatch_pin *pin)
{
	lockwatch_snap_put(pin->snap);
	fput(pin->file);
	memset(pin, 0, sizeof(*pin));
}

static bool lockwatch_pin_expire(unsigned long now)
{
	bool busy = false;
	int i;

	for (i = 0; i < LOCKWATCH_MAX_READERS; i++) {
		struct lockwatch_pin *pin = &lockwatch_pins[i];

		if (!pin->file)
			continue;
		if (time_after(now, pin->touched + LOCKWATCH_PIN_TIMEOUT))
			lockwatch_pin_drop(pin);
		else
			busy = true;
	}
	return busy;
}

/* A free slot, else the least recently used one (its reader gets -ESTALE). */
static struct lockwatch_pin *lockwatch_pin_new(struct file *file,
					       const struct bin_attribute *attr)
{
	struct lockwatch_pin *pin = &lockwatch_pins[0];
	int i;

	for (i = 0; i < LOCKWATCH_MAX_READERS; i++) {
		if (!lockwatch_pins[i].file) {
			pin = &lockwatch_pins[i];
			break;
		}
		if (time_before(lockwatch_pins[i].touched, pin->touched))
			pin = &lockwatch_pins[i];
	}
	if (pin->file)
		lockwatch_pin_drop(pin);
	pin->file = get_file(file);
	pin->attr = attr;
	pin->snap = lockwatch_snap_get();
	schedule_delayed_work(&lockwatch_sweep_work, LOCKWATCH_SWEEP_PERIOD);
	return pin;
}

static ssize_t lockwatch_text_read(struct file *file,
				   const struct bin_attribute *attr, char *buf,
				   loff_t off, size_t count, bool alerts)
{
	struct lockwatch_pin *pin = NULL;
	const char *text;
	ssize_t ret;
	size_t len;
	int i;

	mutex_lock(&lockwatch_pin_lock);
	lockwatch_pin_expire(jiffies);
	for (i = 0; i < LOCKWATCH_MAX_READERS; i++) {
		if (lockwatch_pins[i].file == file) {
			pin = &lockwatch_pins[i];
			break;
		}
	}
	if (off == 0) {
		if (pin)
			lockwatch_pin_drop(pin);
		pin = lockwatch_pin_new(file, attr);
	} else if (!pin || pin->attr != attr) {
		/* the pin timed out or was evicted: restart from offset 0 */
		ret = -ESTALE;
		goto out_unlock;
	}

	if (alerts) {
		text = pin->snap->text + pin->snap->graph_len;
		len = pin->snap->alerts_len;
	} else {
		text = pin->snap->text;
		len = pin->snap->graph_len;
	}
	/*
	 * End of file keeps the pin: readers read past the end more than once
	 * (sendfile loops), and each such read must see 0, not -ESTALE. The
	 * pin goes with the next offset-0 read, idleness or eviction.
	 */
	ret = off >= len ? 0 : min_t(size_t, count, len - off);
	if (ret)
		memcpy(buf, text + off, ret);
	pin->touched = jiffies;

out_unlock:
	mutex_unlock(&lockwatch_pin_lock);
	return ret;
}

static ssize_t lockwatch_graph_read(struct file *file, struct kobject *kobj,
				    struct bin_attribute *attr, char *buf,
				    loff_t off, size_t count)
{
	return lockwatch_text_read(file, attr, buf, off, count, false);
}

static ssize_t lockwatch_alerts_read(struct file *file, struct kobject *kobj,
				     struct bin_attribute *attr, char *buf,
				     loff_t off, size_t count)
{
	return lockwatch_text_read(file, attr, buf, off, count, true);
}

/* Release what idle readers and stalled writers hold, even if none returns. */
static void lockwatch_sweep(struct work_struct *work)
{
	bool busy;

	mutex_lock(&lockwatch_stage_lock);
	busy = lockwatch_stage_expire(jiffies);
	mutex_unlock(&lockwatch_stage_lock);
	mutex_lock(&lockwatch_pin_lock);
	busy |= lockwatch_pin_expire(jiffies);
	mutex_unlock(&lockwatch_pin_lock);
	if (busy)
		schedule_delayed_work(&lockwatch_sweep_work,
				      LOCKWATCH_SWEEP_PERIOD);
}

enum lockwatch_field {
	LOCKWATCH_VERSION,
	LOCKWATCH_GENERATION,
	LOCKWATCH_DEADLOCKS,
	LOCKWATCH_BLOCKED_THREADS,
	LOCKWATCH_TRACKED_LOCKS,
	LOCKWATCH_UPDATED,
	LOCKWATCH_DAEMON_PID,
	LOCKWATCH_STALE,
};

struct lockwatch_attr {
	struct kobj_attribute kattr;
	enum lockwatch_field field;
};

static ssize_t lockwatch_value_show(struct kobject *kobj,
				    struct kobj_attribute *kattr, char *buf)
{
	struct lockwatch_attr *attr;
	struct lockwatch_snap *snap;
	ssize_t ret = -EIO;

	attr = container_of(kattr, struct lockwatch_attr, kattr);
	snap = lockwatch_snap_get();
	switch (attr->field) {
	case LOCKWATCH_VERSION:
		ret = sysfs_emit(buf, "%d\n", LOCKWATCH_FORMAT_VERSION);
		break;
	case LOCKWATCH_GENERATION:
		ret = sysfs_emit(buf, "%llu\n", snap->generation);
		break;
	case LOCKWATCH_DEADLOCKS:
		ret = sysfs_emit(buf, "%u\n", snap->deadlocks);
		break;
	case LOCKWATCH_BLOCKED_THREADS:
		ret = sysfs_emit(buf, "%u\n", snap->blocked_threads);
		break;
	case LOCKWATCH_TRACKED_LOCKS:
		ret = sysfs_emit(buf, "%u\n", snap->tracked_locks);
		break;
	case LOCKWATCH_UPDATED:
		ret = sysfs_emit(buf, "%lld.%09ld\n",
				 (long long)snap->updated.tv_sec,
				 snap->updated.tv_nsec);
		break;
	case LOCKWATCH_DAEMON_PID:
		ret = sysfs_emit(buf, "%u\n", snap->pid);
		break;
	case LOCKWATCH_STALE:
		ret = sysfs_emit(buf, "%d\n", lockwatch_snap_stale(snap));
		break;
	}
	lockwatch_snap_put(snap);
	return ret;
}

static ssize_t lockwatch_stale_after_ms_show(struct kobject *kobj,
					     struct kobj_attribute *kattr,
					     char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(lockwatch_stale_after_ms));
}

static ssize_t lockwatch_stale_after_ms_store(struct kobject *kobj,
					      struct kobj_attribute *kattr,
					      const char *buf, size_t count)
{
	unsigned int ms;
	int err;

	err = kstrtouint(buf, 10, &ms);
	if (err)
		return err;
	if (ms < LOCKWATCH_STALE_MIN_MS || ms > LOCKWATCH_STALE_MAX_MS)
		return -ERANGE;
	WRITE_ONCE(lockwatch_stale_after_ms, ms);
	return count;
}

#define LOCKWATCH_VALUE_ATTR(_name, _field)				\
	struct lockwatch_attr lockwatch_attr_##_name = {		\
		.kattr = __ATTR(_name, 0444, lockwatch_value_show, NULL), \
		.field = _field,					\
	}

static LOCKWATCH_VALUE_ATTR(version, LOCKWATCH_VERSION);
static LOCKWATCH_VALUE_ATTR(generation, LOCKWATCH_GENERATION);
static LOCKWATCH_VALUE_ATTR(deadlocks, LOCKWATCH_DEADLOCKS);
static LOCKWATCH_VALUE_ATTR(blocked_threads, LOCKWATCH_BLOCKED_THREADS);
static LOCKWATCH_VALUE_ATTR(tracked_locks, LOCKWATCH_TRACKED_LOCKS);
static LOCKWATCH_VALUE_ATTR(updated, LOCKWATCH_UPDATED);
static LOCKWATCH_VALUE_ATTR(daemon_pid, LOCKWATCH_DAEMON_PID);
static LOCKWATCH_VALUE_ATTR(stale, LOCKWATCH_STALE);

static struct kobj_attribute lockwatch_attr_stale_after_ms =
	__ATTR(stale_after_ms, 0644, lockwatch_stale_after_ms_show,
	       lockwatch_stale_after_ms_store);

/* size 0: the length changes with every publish; readers read to EOF */
static struct bin_attribute lockwatch_bin_graph =
	__BIN_ATTR(graph, 0400, lockwatch_graph_read, NULL, 0);
static struct bin_attribute lockwatch_bin_alerts =
	__BIN_ATTR(alerts, 0400, lockwatch_alerts_read, NULL, 0);
static struct bin_attribute lockwatch_bin_publish =
	__BIN_ATTR(publish, 0200, NULL, lockwatch_publish_write, 0);

static struct attribute *lockwatch_attrs[] = {
	&lockwatch_attr_version.kattr.attr,
	&lockwatch_attr_generation.kattr.attr,
	&lockwatch_attr_deadlocks.kattr.attr,
	&lockwatch_attr_blocked_threads.kattr.attr,
	&lockwatch_attr_tracked_locks.kattr.attr,
	&lockwatch_attr_updated.kattr.attr,
	&lockwatch_attr_daemon_pid.kattr.attr,
	&lockwatch_attr_stale.kattr.attr,
	&lockwatch_attr_stale_after_ms.attr,
	NULL,
};

static struct bin_attribute *lockwatch_bin_attrs[] = {
	&lockwatch_bin_graph,
	&lockwatch_bin_alerts,
	&lockwatch_bin_publish,
	NULL,
};

static const struct attribute_group lockwatch_group = {
	.attrs = lockwatch_attrs,
	.bin_attrs = lockwatch_bin_attrs,
};

static void lockwatch_drop_all(void)
{
	int i;

	for (i = 0; i < LOCKWATCH_MAX_WRITERS; i++) {
		if (lockwatch_stages[i].file)
			lockwatch_stage_drop(&lockwatch_stages[i]);
	}
	for (i = 0; i < LOCKWATCH_MAX_READERS; i++) {
		if (lockwatch_pins[i].file)
			lockwatch_pin_drop(&lockwatch_pins[i]);
	}
}

static int __init lockwatch_init(void)
{
	int err;

	/* generation 0, empty sections, stale until the daemon publishes */
	lockwatch_current = lockwatch_snap_build("", 0, 0, "", 0, 0, 0);
	if (!lockwatch_current)
		return -ENOMEM;

	lockwatch_kobj = kobject_create_and_add("lockwatch", kernel_kobj);
	if (!lockwatch_kobj) {
		err = -ENOMEM;
		goto out_put_snap;
	}
	err = sysfs_create_group(lockwatch_kobj, &lockwatch_group);
	if (err)
		goto out_put_kobj;
	return 0;

out_put_kobj:
	kobject_put(lockwatch_kobj);
out_put_snap:
	lockwatch_snap_put(lockwatch_current);
	return err;
}

static void __exit lockwatch_exit(void)
{
	/*
	 * kobject_del() removes the files now (kobject_put() may defer the
	 * release): kernfs deactivates them and waits for callbacks in
	 * progress, and later calls on still-open files fail with -ENODEV.
	 * Only then can nothing add to the tables.
	 */
	kobject_del(lockwatch_kobj);
	kobject_put(lockwatch_kobj);
	cancel_delayed_work_sync(&lockwatch_sweep_work);
	lockwatch_drop_all();
	lockwatch_snap_put(lockwatch_current);
}

module_init(lockwatch_init);
module_exit(lockwatch_exit);

MODULE_DESCRIPTION("lockwatch: the user-space deadlock detector's wait-for graph in sysfs");
MODULE_AUTHOR("lockwatch developers");
MODULE_LICENSE("GPL");
