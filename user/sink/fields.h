/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a log pipeline filters an alert on, for the sinks that send fields
 * (journal, syslog): its processes, threads, tasks and locks, each value
 * once, names escaped as for a terminal (lw_text_str()).
 */
#ifndef LW_SINK_FIELDS_H
#define LW_SINK_FIELDS_H

#include "report/model.h"

#define LW_FIELDS_MAX 200
#define LW_FIELD_LEN (LW_NAME_LEN * 4 + 1) /* a name, every byte as \xNN */

struct lw_field {
	const char *name; /* "pid", "comm", "tid", "thread", "task", "lock" */
	char value[LW_FIELD_LEN];
};

/* The syslog priority (severity) of an alert of kind k: LOG_CRIT for a
 * deadlock, an orphaned lock, a hang; LOG_ERR a lock-order inversion;
 * LOG_WARNING a long wait or hold, a stalled loop. */
int alert__priority(enum lw_alert_kind k);
/* a's fields into f (at most LW_FIELDS_MAX): how many. */
int alert__fields(const struct lw_alert *a, struct lw_field *f);

#endif /* LW_SINK_FIELDS_H */
