// SPDX-License-Identifier: GPL-2.0
/*
 * stamp_lines: copy stdin to stdout, prefixing each line with the
 * CLOCK_REALTIME time (ns, decimal) at which its last byte was read.
 *
 *   lockwatch --json ... | stamp_lines > out
 *
 * The detection-latency benchmark compares that time with the stamp that
 * tests/deadlock writes just before the lock call that closes its cycle, so the
 * figure covers everything up to a reader holding the alert line: detection,
 * confirmation, formatting and the pipe. read(2) on the pipe returns as soon as
 * the writer's write(2) lands, without stdio's buffering in the way; the clock is
 * read once per read() that completes one or more lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int write_all(const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int emit(unsigned long long ns, const char *line, size_t len)
{
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "%llu ", ns);
	int err = write_all(prefix, n);

	return err ? err : write_all(line, len);
}

int main(void)
{
	size_t size = 65536, have = 0;
	char *buf = malloc(size);
	int err = 0;

	if (!buf) {
		fprintf(stderr, "stamp_lines: out of memory\n");
		return 1;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + have, size - have);
		unsigned long long ns = realtime_ns();
		size_t start = 0;
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "stamp_lines: read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		have += n;
		while ((nl = memchr(buf + start, '\n', have - start))) {
			size_t len = nl - (buf + start) + 1;

			err = emit(ns, buf + start, len);
			if (err)
				goto out;
			start += len;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == size) { /* a line longer than the buffer: grow it */
			char *p = realloc(buf, size * 2);

			if (!p) {
				fprintf(stderr, "stamp_lines: out of memory\n");
				return 1;
			}
			buf = p;
			size *= 2;
		}
	}
	if (have) { /* a last line without a newline */
		err = emit(realtime_ns(), buf, have);
		if (!err)
			err = write_all("\n", 1);
	}
out:
	free(buf);
	if (err) {
		fprintf(stderr, "stamp_lines: write: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
