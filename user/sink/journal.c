// SPDX-License-Identifier: GPL-2.0
/*
 * The journald sink: each alert one structured entry, sent through
 * libsystemd's native protocol (sd_journal_sendv(): a value is length-
 * prefixed when it must be, so nothing in it can end the entry or start
 * another). MESSAGE is the alert's headline, PRIORITY follows its kind,
 * MESSAGE_ID names the kind (user/lockwatch.catalog explains each one to
 * `journalctl -x`), and LOCKWATCH_* fields carry what a log pipeline filters
 * on (fields.h) and the whole JSON record.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include "sink/fields.h"
#include "sink/sink.h"
#include "sys/escape.h"
#include "sys/log.h"

/* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID, LOCKWATCH_KIND and _JSON */
#define FIXED_FIELDS 6

struct journal_sink {
	struct lw_sink base;
	int failed; /* said once that journald would not take an entry */
	struct lw_field fields[LW_FIELDS_MAX];
};

/* Each kind's catalog entry (user/lockwatch.catalog) */
static const char *const ids[] = {
	[LW_ALERT_DEADLOCK] = "35605e0885374b35b2d7e3316ea8c0cf",
	[LW_ALERT_ORPHANED_LOCK] = "037e3dc8f6d440fea67c26b570f6fb4c",
	[LW_ALERT_HANG] = "89dc5dd39e5b4deab9ccb885561ec507",
	[LW_ALERT_LOCK_ORDER] = "9f553742129944b69a52aa164e620888",
	[LW_ALERT_LONG_WAIT] = "af9442804cd641d6aa1cd315d3ce3144",
	[LW_ALERT_LONG_HOLD] = "8f2c293e38634456a9ede373e0b7b7ff",
	[LW_ALERT_LOOP_STALL] = "5121a8196c0444609569941a5ae7a4e6",
};

/* NAME=VALUE into v (malloc'd; NULL: no memory). */
static int put(struct iovec *v, const char *name, const char *value)
{
	char *s = NULL;
	int len = asprintf(&s, "%s=%s", name, value);

	*v = (struct iovec){ len < 0 ? NULL : s, len < 0 ? 0 : len };
	return len < 0 ? -1 : 0;
}

static void journal_alert(struct lw_sink *s, const struct lw_alert *a)
{
	struct journal_sink *js = (struct journal_sink *)s;
	const char *kind = lw_alert_kind_name(a->kind);
	struct iovec v[FIXED_FIELDS + LW_FIELDS_MAX];
	char prio[8], *msg = NULL, *json;
	size_t len;
	FILE *f;
	int n = 0, nf, ok, err = 0;

	if ((size_t)a->kind >= sizeof(ids) / sizeof(ids[0]) || !ids[a->kind])
		return; /* a dump is no alert */
	if ((f = open_memstream(&msg, &len))) {
		sink__headline(f, a);
		fclose(f);
	}
	snprintf(prio, sizeof(prio), "%d", alert__priority(a->kind));
	json = sink__json_line(a); /* lw_json_str(): printable as it is */
	ok = msg && json && !put(&v[n++], "MESSAGE", msg) && !put(&v[n++], "PRIORITY", prio) &&
	     !put(&v[n++], "SYSLOG_IDENTIFIER", "lockwatch") &&
	     !put(&v[n++], "MESSAGE_ID", ids[a->kind]) && !put(&v[n++], "LOCKWATCH_KIND", kind) &&
	     !put(&v[n++], "LOCKWATCH_JSON", json);
	nf = ok ? alert__fields(a, js->fields) : 0;
	for (int i = 0; i < nf && ok; i++) {
		char name[32];

		snprintf(name, sizeof(name), "LOCKWATCH_%s", js->fields[i].name);
		for (char *c = name; *c; c++)
			*c = toupper((unsigned char)*c);
		ok = !put(&v[n++], name, js->fields[i].value);
	}
	if (ok)
		err = sd_journal_sendv(v, n);
	if ((!ok || err < 0) && !js->failed) {
		js->failed = 1;
		lw_err("journal: an alert was not logged: %s",
		       ok ? strerror(-err) : "out of memory");
	}
	for (int i = 0; i < n; i++)
		free(v[i].iov_base);
	free(msg);
	free(json);
}

static void journal_destroy(struct lw_sink *s)
{
	free(s);
}

static const struct lw_sink_ops journal_ops = {
	.alert = journal_alert,
	.destroy = journal_destroy,
};

struct lw_sink *sink__journal(void)
{
	struct journal_sink *js = calloc(1, sizeof(*js));

	if (!js)
		return NULL;
	js->base.ops = &journal_ops;
	return &js->base;
}
