// SPDX-License-Identifier: GPL-2.0
/* The list of sinks (sink.h): each record goes to every sink that takes it. */
#include <ctype.h>
#include <stdlib.h>
#include "sink/sink.h"
#include "sys/escape.h"

void sink__headline(FILE *f, const struct lw_alert *a)
{
	for (const char *k = lw_alert_kind_name(a->kind); *k; k++)
		fputc(toupper((unsigned char)*k), f);
	fputs(": ", f);
	lw_text_str(f, a->summary);
}

void sinks__add(struct lw_sink **head, struct lw_sink *s)
{
	while (*head)
		head = &(*head)->next;
	*head = s;
}

void sinks__alert(struct lw_sink *head, const struct lw_alert *a)
{
	for (struct lw_sink *s = head; s; s = s->next)
		if (s->ops->alert)
			s->ops->alert(s, a);
}

int sinks__want_graph(const struct lw_sink *head)
{
	for (const struct lw_sink *s = head; s; s = s->next)
		if (s->ops->graph)
			return 1;
	return 0;
}

void sinks__graph(struct lw_sink *head, const struct lw_graph_model *m, uint64_t now_ns)
{
	for (struct lw_sink *s = head; s; s = s->next)
		if (s->ops->graph)
			s->ops->graph(s, m, now_ns);
}

void sinks__summary(struct lw_sink *head, const struct lw_summary *sum)
{
	for (struct lw_sink *s = head; s; s = s->next)
		if (s->ops->summary)
			s->ops->summary(s, sum);
}

int sinks__want_stats(const struct lw_sink *head)
{
	for (const struct lw_sink *s = head; s; s = s->next)
		if (s->ops->stats)
			return 1;
	return 0;
}

void sinks__stats(struct lw_sink *head, const struct lw_summary *sum)
{
	for (struct lw_sink *s = head; s; s = s->next)
		if (s->ops->stats)
			s->ops->stats(s, sum);
}

void sinks__reopen(struct lw_sink *head)
{
	for (struct lw_sink *s = head; s; s = s->next)
		if (s->ops->reopen)
			s->ops->reopen(s);
}

void sinks__destroy(struct lw_sink *head)
{
	struct lw_sink *s, *next;

	for (s = head; s; s = next) {
		/* destroy() frees s, next with it */
		next = s->next;
		s->ops->destroy(s);
	}
}
