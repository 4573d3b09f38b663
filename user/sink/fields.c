// SPDX-License-Identifier: GPL-2.0
/* An alert's fields (see fields.h). */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "sink/fields.h"
#include "sys/escape.h"

struct fields {
	struct lw_field *f;
	int n;
};

static void add(struct fields *fs, const char *name, const char *value)
{
	struct lw_field *f = &fs->f[fs->n];
	FILE *m;

	if (!value || !value[0] || fs->n == LW_FIELDS_MAX)
		return;
	m = fmemopen(f->value, sizeof(f->value), "w");
	if (!m)
		return;
	lw_text_str(m, value);
	if (fclose(m))
		return;
	f->value[sizeof(f->value) - 1] = '\0';
	for (int i = 0; i < fs->n; i++)
		if (!strcmp(fs->f[i].name, name) && !strcmp(fs->f[i].value, f->value))
			return;
	f->name = name;
	fs->n++;
}

static void add_num(struct fields *fs, const char *name, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	add(fs, name, num);
}

static void add_participant(struct fields *fs, const struct lw_alert_participant *p)
{
	int task = p->type && !strcmp(p->type, "task");

	if (!p->pid)
		return;
	add_num(fs, "pid", p->pid);
	if (p->tid && !task)
		add_num(fs, "tid", p->tid);
	add(fs, task ? "task" : "thread", p->name);
}

int alert__fields(const struct lw_alert *a, struct lw_field *f)
{
	struct fields fs = { f, 0 };

	for (int i = 0; i < a->nprocs; i++) {
		add_num(&fs, "pid", a->procs[i].pid);
		add(&fs, "comm", a->procs[i].comm);
	}
	for (int i = 0; i < a->nwaits; i++) {
		add_participant(&fs, &a->waits[i].waiter);
		add_participant(&fs, &a->waits[i].held_by);
	}
	for (int i = 0; i < a->nthreads; i++)
		add_participant(&fs, &a->threads[i].who);
	for (int i = 0; i < a->nholds; i++)
		add_participant(&fs, &a->holds[i].holder);
	for (int i = 0; i < a->nlocks; i++)
		add(&fs, "lock", a->locks[i].name);
	return fs.n;
}

int alert__priority(enum lw_alert_kind k)
{
	switch (k) {
	case LW_ALERT_DEADLOCK:
	case LW_ALERT_ORPHANED_LOCK:
	case LW_ALERT_HANG:
		return LOG_CRIT;
	case LW_ALERT_LOCK_ORDER:
		return LOG_ERR;
	case LW_ALERT_LONG_WAIT:
	case LW_ALERT_LONG_HOLD:
	case LW_ALERT_LOOP_STALL:
		return LOG_WARNING;
	default:
		return LOG_NOTICE;
	}
}
