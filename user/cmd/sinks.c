// SPDX-License-Identifier: GPL-2.0
/* The sinks the options ask for (see cmd.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "sink/sink.h"
#include "sys/log.h"

int cmd_sinks(const struct env *env, struct lw_sink **head)
{
	struct lw_sink *s;

	*head = env->json ? sink__json(stdout) : sink__text(stdout);
	if (!*head)
		goto oom;
	if (env->journal) {
		if (!(s = sink__journal()))
			goto oom;
		sinks__add(head, s);
	}
	if (env->syslog) {
		if (!(s = sink__syslog(env->syslog)) && errno == ENOMEM)
			goto oom;
		if (!s) {
			lw_err("--syslog: cannot reach the system logger at %s: %s (is rsyslog or "
			       "syslog-ng running?)",
			       env->syslog, strerror(errno));
			return LW_EXIT_ENV;
		}
		sinks__add(head, s);
	}
	return 0;
oom:
	lw_err("out of memory");
	return LW_EXIT_INTERNAL;
}
