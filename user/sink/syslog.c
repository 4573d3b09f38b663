// SPDX-License-Identifier: GPL-2.0
/*
 * The syslog sink, for hosts without journald: each alert one RFC 5424
 * message to the system logger's socket (/dev/log), facility daemon,
 * severity by kind, MSGID the kind, the fields a log pipeline filters on
 * (fields.h) as structured data, and the headline as MSG:
 *
 *   <26>1 2026-12-02T13:31:14.123456Z host lockwatch 4242 deadlock
 *   [lockwatch@32473 kind="deadlock" pid="977" comm="bank" thread="poster"
 *   lock="ledger" ...] DEADLOCK: 2 threads of pid 977 (bank) ...
 *
 * (one line). lockwatch has no private enterprise number of its own: its
 * SD-ID uses 32473, the one RFC 5612 sets aside for examples. A value
 * escapes '"', '\' and ']' as RFC 5424 says, after the escaping for a
 * terminal that every name from a watched process gets. The datagram is
 * sent without blocking: a logger that does not keep up loses the message
 * (said once), never stalls detection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>
#include "sink/fields.h"
#include "sink/sink.h"
#include "sys/escape.h"
#include "sys/log.h"

#define SD_ID "lockwatch@32473"
#define MAX_MESSAGE 16384
/* room kept for the headline (a summary of 1 KiB, every byte escaped) */
#define MSG_ROOM 4200

struct syslog_sink {
	struct lw_sink base;
	int fd;
	struct sockaddr_un addr;
	int failed; /* said once that the logger would not take a message */
	struct lw_field fields[LW_FIELDS_MAX];
	char msg[MAX_MESSAGE];
};

/* (Again) a socket connected to the logger's: 0 or an errno. */
static int open_socket(struct syslog_sink *s)
{
	int err;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return errno;
	if (!connect(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)))
		return 0;
	err = errno;
	close(s->fd);
	s->fd = -1;
	return err;
}

/* s as an SD PARAM-VALUE: '"', '\' and ']' escaped. */
static void sd_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* The message for a, into s->msg: its length, or -1. */
static int format(struct syslog_sink *s, const struct lw_alert *a)
{
	const char *kind = lw_alert_kind_name(a->kind);
	char t[LW_TIME_LEN], host[256] = "-";
	struct tm tm;
	long len;
	FILE *f;
	int n;

	/* RFC 5424 TIMESTAMP: UTC, microseconds */
	gmtime_r(&a->time.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	if (gethostname(host, sizeof(host)) || !host[0])
		strcpy(host, "-");
	host[sizeof(host) - 1] = '\0';
	f = fmemopen(s->msg, sizeof(s->msg), "w");
	if (!f)
		return -1;
	fprintf(f, "<%d>1 %s.%06ldZ %s lockwatch %d %s [" SD_ID " kind=\"%s\"",
		LOG_DAEMON | alert__priority(a->kind), t, a->time.tv_nsec / 1000, host,
		(int)getpid(), kind, kind);
	n = alert__fields(a, s->fields);
	for (int i = 0; i < n; i++) {
		/* fields past the room left are not sent (each value at most
		 * doubles, escaped) */
		if (ftell(f) + 2 * (long)strlen(s->fields[i].value) + 40 > MAX_MESSAGE - MSG_ROOM)
			break;
		fprintf(f, " %s=\"", s->fields[i].name);
		sd_value(f, s->fields[i].value);
		fputc('"', f);
	}
	fputs("] ", f);
	sink__headline(f, a);
	len = ftell(f);
	fclose(f);
	return len < 0 || len >= (long)sizeof(s->msg) ? (int)sizeof(s->msg) - 1 : (int)len;
}

static void syslog_alert(struct lw_sink *sk, const struct lw_alert *a)
{
	struct syslog_sink *s = (struct syslog_sink *)sk;
	int len, err = 0;

	if (a->kind == LW_ALERT_DUMP)
		return;
	len = format(s, a);
	if (len < 0)
		err = ENOMEM;
	else if (s->fd < 0 || send(s->fd, s->msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		/* the logger restarted (a new socket), or no socket could be
		 * made last time: once more, to that */
		err = (s->fd < 0 || errno == ECONNREFUSED || errno == ENOTCONN) &&
				      !open_socket(s) &&
				      send(s->fd, s->msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 ?
			      0 :
			      errno;
	if (err && !s->failed) {
		s->failed = 1;
		lw_err("syslog: an alert was not logged: %s: %s", s->addr.sun_path, strerror(err));
	}
}

static void syslog_destroy(struct lw_sink *sk)
{
	struct syslog_sink *s = (struct syslog_sink *)sk;

	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static const struct lw_sink_ops syslog_ops = {
	.alert = syslog_alert,
	.destroy = syslog_destroy,
};

struct lw_sink *sink__syslog(const char *path)
{
	struct syslog_sink *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->fd = -1;
	s->base.ops = &syslog_ops;
	s->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(s->addr.sun_path)) {
		free(s);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(s->addr.sun_path, path);
	err = open_socket(s);
	if (err) {
		syslog_destroy(&s->base);
		errno = err;
		return NULL;
	}
	return &s->base;
}
