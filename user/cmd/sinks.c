// SPDX-License-Identifier: GPL-2.0
/* The sinks the options ask for (see cmd.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "sink/sink.h"
#include "sys/log.h"

/* One more sink, made by make(arg): 0, or the exit status after a line
 * saying why it cannot be (opt, what it failed to reach). */
static int add(struct lw_sink **head, const char *opt, const char *what,
	       struct lw_sink *(*make)(const char *), const char *arg)
{
	struct lw_sink *s = make(arg);

	if (s) {
		sinks__add(head, s);
		return 0;
	}
	if (errno == ENOMEM) {
		lw_err("out of memory");
		return LW_EXIT_INTERNAL;
	}
	lw_err("%s: cannot %s %s: %s", opt, what, arg, strerror(errno));
	return LW_EXIT_ENV;
}

static struct lw_sink *svg(const char *path)
{
	return sink__dot(NULL, path);
}

static struct lw_sink *journal(const char *arg)
{
	(void)arg;
	return sink__journal();
}

int cmd_sinks(const struct env *env, struct lw_sink **head)
{
	int status = 0;

	*head = env->dot  ? sink__dot(stdout, NULL) :
		env->json ? sink__json(stdout) :
			    sink__text(stdout);
	if (!*head) {
		lw_err("out of memory");
		return LW_EXIT_INTERNAL;
	}
	if (env->journal)
		status = add(head, "--journal", "send to", journal, "journald");
	if (!status && env->syslog)
		status = add(head, "--syslog", "reach the system logger at", sink__syslog,
			     env->syslog);
	if (!status && env->log_file)
		status = add(head, "--log-file", "open", sink__logfile, env->log_file);
	if (!status && env->metrics_file)
		status = add(head, "--metrics-file", "write", sink__metrics, env->metrics_file);
	if (!status && env->svg)
		status = add(head, "--svg", "draw into", svg, env->svg);
	if (!status && env->on_alert)
		status = add(head, "--on-alert", "run", sink__onalert, env->on_alert);
	return status;
}
