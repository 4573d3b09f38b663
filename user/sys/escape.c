// SPDX-License-Identifier: GPL-2.0
/*
 * Escaping for the sinks (see escape.h). Thread names are whatever a process
 * passes to prctl(PR_SET_NAME), so both the JSON and the text output go
 * through one UTF-8 walker: what is well-formed and harmless is copied, the
 * rest is spelled out so that no raw control byte reaches a terminal or a
 * log, and JSON stays valid UTF-8.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/escape.h"

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF) with its code point in *cp,
 * or 0 when s does not start one. The NUL terminator fails the continuation
 * test, so a sequence cut short at the end (the kernel truncates comm to 15
 * bytes, mid-character if need be) is never read past.
 */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	int n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Code points that a terminal or a reader acts on instead of showing: C0 and
 * C1 controls (a UTF-8 encoded U+009B is CSI to some terminals), DEL, the
 * Unicode line separators (newlines to JavaScript and some log viewers), and
 * the bidi controls that can make a name display as something else.
 */
static bool cp_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	       (cp >= 0x200e && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

static const char *short_escape(uint32_t cp, bool json)
{
	switch (cp) {
	case '\n':
		return "\\n";
	case '\t':
		return "\\t";
	case '\r':
		return "\\r";
	case '\\':
		return "\\\\";
	case '"':
		return json ? "\\\"" : NULL;
	}
	return NULL;
}

static void put_escaped(FILE *f, const char *s, bool json)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *e;
	uint32_t cp;
	int i, n;

	while (*p) {
		n = utf8_decode(p, &cp);
		if (n && !cp_is_control(cp) && !short_escape(cp, json)) {
			fwrite(p, 1, n, f);
		} else if (n && (e = short_escape(cp, json))) {
			fputs(e, f);
		} else if (n && json) {
			/* lossless: every code point cp_is_control() takes is in the BMP */
			fprintf(f, "\\u%04x", cp);
		} else {
			/*
			 * An invalid byte, or a control character the terminal
			 * would act on: its bytes, spelled out one by one.
			 */
			n = n ? n : 1;
			for (i = 0; i < n; i++)
				fprintf(f, json ? "\\\\x%02x" : "\\x%02x", p[i]);
		}
		p += n;
	}
}

void lw_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	put_escaped(f, s, true);
	fputc('"', f);
}

void lw_text_str(FILE *f, const char *s)
{
	if (!s) {
		fputc('?', f);
		return;
	}
	put_escaped(f, s, false);
}

char *lw_value_str(char *buf, size_t len, const char *s)
{
	int empty = !s || !*s;
	size_t o = 0;

	for (; !empty && *s && o + 5 <= len; s++) {
		unsigned char c = *s;

		if (c <= ' ' || c >= 0x7f || c == '=' || c == '\\')
			o += snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = c;
	}
	if (empty && len >= 2)
		buf[o++] = '-'; /* only for what is empty: not for a value cut to nothing */
	if (len)
		buf[o < len ? o : len - 1] = '\0';
	return buf;
}

char *lw_time_str(char *buf, size_t len, const struct timespec *ts, enum lw_time_fmt fmt)
{
	bool utc = fmt == LW_TIME_UTC_ISO;
	char day[24];
	struct tm tm;

	if (!(utc ? gmtime_r(&ts->tv_sec, &tm) : localtime_r(&ts->tv_sec, &tm)) ||
	    !strftime(day, sizeof(day), utc ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm)) {
		/* a time_t that does not fit struct tm; keep the output parseable */
		strcpy(day, utc ? "1970-01-01T00:00:00" : "1970-01-01 00:00:00");
	}
	snprintf(buf, len, "%s.%03lu%s", day, (unsigned long)ts->tv_nsec / 1000000 % 1000,
		 utc ? "Z" : "");
	return buf;
}

char *lw_text_buf(char *buf, size_t len, const char *s)
{
	char *out = NULL;
	size_t n = 0, k;
	FILE *f = open_memstream(&out, &n);

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!f)
		return buf;
	lw_text_str(f, s);
	if (fclose(f) || !out) {
		free(out);
		return buf;
	}
	/* whole pieces only: an escape (\\, \n, \xNN, ...) or a character */
	for (k = 0; k < n;) {
		unsigned char c = out[k];
		size_t piece = c == '\\' ? (k + 1 < n && out[k + 1] == 'x' ? 4 : 2) :
			       c < 0xc0	 ? 1 :
			       c < 0xe0	 ? 2 :
			       c < 0xf0	 ? 3 :
					   4;

		if (k + piece > len - 1 || k + piece > n)
			break;
		k += piece;
	}
	memcpy(buf, out, k);
	buf[k] = '\0';
	free(out);
	return buf;
}
