/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parse.h - the publish record's parser (kmod/FORMAT.md): the one part of
 * the module that reads bytes someone else wrote.  Kernel C with no state,
 * included by lockwatch.c, and by fuzz/kmod_publish.c in user space with a
 * few definitions in place of the kernel's (fuzz/kernel.h).
 */
#ifndef LOCKWATCH_PARSE_H
#define LOCKWATCH_PARSE_H

#define LOCKWATCH_FORMAT_VERSION	1
#define LOCKWATCH_MAX_RECORD		SZ_1M
#define LOCKWATCH_MAX_ALERTS		64
/* the publish header line fits easily: its numbers have at most 10 digits */
#define LOCKWATCH_HDR_MAX		256

#define LOCKWATCH_GRAPH_MAGIC		"lockwatch-graph"
#define LOCKWATCH_ALERTS_MAGIC		"lockwatch-alerts"

struct lockwatch_hdr {
	size_t len;			/* header line, '\n' included */
	u32 length;
	u32 pid;
	u32 deadlocks;
	u32 blocked_threads;
	u32 tracked_locks;
	bool stopping;
};

/* Consume the literal @lit at *@p: the daemon writes exactly this text. */
static inline bool lockwatch_eat(const char **p, const char *end,
				 const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

/* Consume "@key<decimal>@sep"; the number must fit in a u32. */
static inline int lockwatch_eat_u32(const char **p, const char *end,
				    const char *key, char sep, u32 *val)
{
	char num[11];
	const char *s;
	size_t n;

	if (!lockwatch_eat(p, end, key))
		return -EINVAL;
	for (s = *p; *p < end && isdigit(**p); (*p)++)
		;
	n = *p - s;
	if (!n || n >= sizeof(num) || *p >= end || **p != sep)
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	(*p)++;
	return kstrtou32(num, 10, val) ? -EINVAL : 0;
}

/*
 * "lockwatch-publish 1 length=N pid=P deadlocks=D blocked_threads=B
 * tracked_locks=L stopping=S\n" at the start of @buf.
 */
static inline int lockwatch_parse_hdr(const char *buf, size_t len,
				      struct lockwatch_hdr *hdr)
{
	const char *p = buf, *end;
	u32 version, stopping;

	end = memchr(buf, '\n', min_t(size_t, len, LOCKWATCH_HDR_MAX));
	if (!end)
		return -EINVAL;
	end++;
	if (lockwatch_eat_u32(&p, end, "lockwatch-publish ", ' ', &version) ||
	    version != LOCKWATCH_FORMAT_VERSION ||
	    lockwatch_eat_u32(&p, end, "length=", ' ', &hdr->length) ||
	    lockwatch_eat_u32(&p, end, "pid=", ' ', &hdr->pid) ||
	    lockwatch_eat_u32(&p, end, "deadlocks=", ' ', &hdr->deadlocks) ||
	    lockwatch_eat_u32(&p, end, "blocked_threads=", ' ',
			      &hdr->blocked_threads) ||
	    lockwatch_eat_u32(&p, end, "tracked_locks=", ' ',
			      &hdr->tracked_locks) ||
	    lockwatch_eat_u32(&p, end, "stopping=", '\n', &stopping) ||
	    p != end || stopping > 1 || hdr->pid > PID_MAX_LIMIT)
		return -EINVAL;
	hdr->len = end - buf;
	hdr->stopping = stopping;
	if (hdr->length > LOCKWATCH_MAX_RECORD)
		return -EFBIG;
	if (hdr->length < hdr->len)
		return -EINVAL;
	return 0;
}

/*
 * "@magic 1 generation=0 lines=K\n", K non-empty lines, "end generation=0\n".
 * On success *@p is past the trailer and @body, @body_len span the K lines.
 */
static inline int lockwatch_parse_section(const char **p, const char *end,
					  const char *magic, u32 max_lines,
					  const char **body, size_t *body_len,
					  u32 *lines)
{
	const char *q = *p, *nl;
	u32 i;

	if (!lockwatch_eat(&q, end, magic) ||
	    lockwatch_eat_u32(&q, end, " 1 generation=0 lines=", '\n', lines) ||
	    *lines > max_lines)
		return -EINVAL;
	*body = q;
	for (i = 0; i < *lines; i++) {
		nl = memchr(q, '\n', end - q);
		if (!nl || nl == q)
			return -EINVAL;
		q = nl + 1;
	}
	*body_len = q - *body;
	if (!lockwatch_eat(&q, end, "end generation=0\n"))
		return -EINVAL;
	*p = q;
	return 0;
}

static inline size_t lockwatch_render(char *dst, size_t room,
				      const char *magic, u64 gen,
				      const char *body, size_t body_len,
				      u32 lines)
{
	size_t n;

	n = scnprintf(dst, room, "%s %d generation=%llu lines=%u\n", magic,
		      LOCKWATCH_FORMAT_VERSION, gen, lines);
	memcpy(dst + n, body, body_len);
	n += body_len;
	n += scnprintf(dst + n, room - n, "end generation=%llu\n", gen);
	return n;
}

/*
 * The rest of a record whose header @hdr parsed: no control byte but '\n'
 * (readers split on '\n' and ' '), then the graph section and the alerts
 * section, and nothing after them.  On success the two bodies' spans.
 */
static inline int lockwatch_parse_body(const char *buf,
				       const struct lockwatch_hdr *hdr,
				       const char **graph, size_t *graph_len,
				       u32 *graph_lines, const char **alerts,
				       size_t *alerts_len, u32 *alerts_lines)
{
	const char *p = buf + hdr->len, *end = buf + hdr->length;
	size_t i;
	int err;

	for (i = 0; i < hdr->length; i++) {
		unsigned char c = buf[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return -EINVAL;
	}
	err = lockwatch_parse_section(&p, end, LOCKWATCH_GRAPH_MAGIC, U32_MAX,
				      graph, graph_len, graph_lines);
	if (err)
		return err;
	err = lockwatch_parse_section(&p, end, LOCKWATCH_ALERTS_MAGIC,
				      LOCKWATCH_MAX_ALERTS, alerts,
				      alerts_len, alerts_lines);
	if (err)
		return err;
	return p == end ? 0 : -EINVAL;
}

#endif /* LOCKWATCH_PARSE_H */
