// SPDX-License-Identifier: GPL-2.0
/*
 * escape - what the sinks do with strings a watched process controls
 * (user/sys/escape.c): JSON is always valid UTF-8 with every control
 * character escaped and every invalid byte spelled \\xNN; terminal text
 * never carries a raw control byte, a C1 control, a line separator or a
 * bidi override; a files value is printable ASCII without a space, '=' or
 * '\\'. Exact outputs for hostile names, then 200,000 random strings.
 * Needs no root.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/escape.h"
#include "tap.h"

static char *render(void (*fn)(FILE *, const char *), const char *s)
{
	static char *buf;
	static size_t len;
	FILE *f;

	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	fn(f, s);
	fclose(f);
	return buf;
}

/* Length of a well-formed UTF-8 sequence at s with its code point, or 0. */
static int utf8(const unsigned char *s, uint32_t *cp)
{
	int n = s[0] < 0x80		     ? 1 :
		s[0] >= 0xc2 && s[0] <= 0xdf ? 2 :
		(s[0] & 0xf0) == 0xe0	     ? 3 :
		s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 :
					       0;
	uint32_t c = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;

	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (!n || (n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Whether out is valid UTF-8 with no code point a terminal acts on. */
static int safe(const char *out)
{
	const unsigned char *p = (const unsigned char *)out;
	uint32_t cp;
	int n;

	for (; *p; p += n) {
		n = utf8(p, &cp);
		if (!n || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
		    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		    cp == 0x200e || cp == 0x200f || cp == 0x061c)
			return 0;
	}
	return 1;
}

static void exact(void)
{
	static const struct {
		const char *in, *json, *text;
	} cases[] = {
		{ "poster", "\"poster\"", "poster" },
		{ "po\n\"\x1b[1m", "\"po\\n\\\"\\u001b[1m\"", "po\\n\"\\x1b[1m" },
		{ "a\\b\tc", "\"a\\\\b\\tc\"", "a\\\\b\\tc" },
		{ "bad\xff", "\"bad\\\\xff\"", "bad\\xff" },
		{ "over\xc0\xaf", "\"over\\\\xc0\\\\xaf\"", "over\\xc0\\xaf" },
		{ "sur\xed\xa0\x80", "\"sur\\\\xed\\\\xa0\\\\x80\"", "sur\\xed\\xa0\\x80" },
		{ "cut\xe2\x82", "\"cut\\\\xe2\\\\x82\"", "cut\\xe2\\x82" },
		{ "\xc3\xa9t\xc3\xa9", "\"\xc3\xa9t\xc3\xa9\"", "\xc3\xa9t\xc3\xa9" },
		{ "rtl\xe2\x80\xaeok", "\"rtl\\u202eok\"", "rtl\\xe2\\x80\\xaeok" },
		{ "ls\xe2\x80\xa8", "\"ls\\u2028\"", "ls\\xe2\\x80\\xa8" },
		{ "c1\xc2\x9b", "\"c1\\u009b\"", "c1\\xc2\\x9b" },
		{ "del\x7f", "\"del\\u007f\"", "del\\x7f" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *j = strdup(render(lw_json_str, cases[i].in));
		char *t = render(lw_text_str, cases[i].in);

		ok(!strcmp(j, cases[i].json) && !strcmp(t, cases[i].text),
		   "case %zu: JSON %s, text %s", i, j, t);
		free(j);
	}
	ok(!strcmp(render(lw_json_str, NULL), "null") && !strcmp(render(lw_text_str, NULL), "?"),
	   "NULL: null in JSON, ? in text");
}

static void values(void)
{
	char buf[64];

	ok(!strcmp(lw_value_str(buf, sizeof(buf), "poster"), "poster"), "value: plain");
	ok(!strcmp(lw_value_str(buf, sizeof(buf), "a b=c\\\n\xff"), "a\\x20b\\x3dc\\x5c\\x0a\\xff"),
	   "value: space, =, \\, newline and a high byte as \\xNN");
	ok(!strcmp(lw_value_str(buf, sizeof(buf), ""), "-") &&
		   !strcmp(lw_value_str(buf, sizeof(buf), NULL), "-"),
	   "value: empty is -");
	lw_value_str(buf, 8, "\xff\xff\xff");
	ok(strlen(buf) < 8 && !strcmp(buf, "\\xff"), "value: cut at a whole escape (%s)", buf);
}

/* Text escaped into a buffer, for a one-line message. */
static void text_bufs(void)
{
	char buf[64];

	ok(!strcmp(lw_text_buf(buf, sizeof(buf), "ev\nil\x1b[2J"), "ev\\nil\\x1b[2J"),
	   "text buffer: a newline and an escape as \\n and \\x1b (%s)", buf);
	lw_text_buf(buf, 7, "abc\x1b\x1b");
	ok(!strcmp(buf, "abc"), "text buffer: cut before an escape that does not fit (%s)", buf);
	lw_text_buf(buf, 9, "abc\x1b\x1b");
	ok(!strcmp(buf, "abc\\x1b"), "text buffer: a whole escape that fits is kept (%s)", buf);
	ok(!strcmp(lw_text_buf(buf, sizeof(buf), NULL), "?"), "text buffer: NULL is ?");
	/* fuzz/escape.c found these two */
	lw_text_buf(buf, 6, "ab\xf0\x9f\x98\x80");
	ok(!strcmp(buf, "ab"), "text buffer: cut before a character that does not fit whole (%s)",
	   buf);
	lw_text_buf(buf, 4, "a\\bc");
	ok(!strcmp(buf, "a\\\\"), "text buffer: an escaped backslash kept whole (%s)", buf);
	lw_text_buf(buf, 5, "\\abc");
	ok(!strcmp(buf, "\\\\ab"),
	   "text buffer: no escaped backslash taken for an escape's start (%s)", buf);
	lw_value_str(buf, 4,
		     "\x03"
		     "abc");
	ok(!strcmp(buf, ""), "files value: cut to nothing is empty, not \"-\" (%s)", buf);
}

static void random_strings(void)
{
	int json_ok = 1, text_ok = 1, value_ok = 1;
	unsigned int seed = 1;
	char in[40], v[4 * sizeof(in) + 8];

	for (int k = 0; k < 200000; k++) {
		int n = rand_r(&seed) % (sizeof(in) - 1);
		const char *j;

		for (int i = 0; i < n; i++) {
			unsigned char c = rand_r(&seed) % 255 + 1;

			/* bias towards the bytes that make or break UTF-8 */
			in[i] = k & 1 ? c : (char)(c | 0x80);
		}
		in[n] = '\0';
		j = render(lw_json_str, in);
		json_ok &= j[0] == '"' && j[strlen(j) - 1] == '"' && safe(j);
		text_ok &= safe(render(lw_text_str, in));
		lw_value_str(v, sizeof(v), in);
		for (const char *p = v; *p; p++)
			value_ok &= *p > ' ' && *p < 0x7f && *p != '=';
	}
	ok(json_ok, "200,000 random strings: every JSON string quoted, valid UTF-8, no control");
	ok(text_ok, "and every text rendering valid UTF-8 without a control the terminal acts on");
	ok(value_ok, "and every files value printable ASCII, no space, no '='");
}

int main(void)
{
	tap_begin();
	exact();
	values();
	text_bufs();
	random_strings();
	return done();
}
