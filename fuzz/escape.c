// SPDX-License-Identifier: GPL-2.0
/*
 * escape - libFuzzer over the escaping of text a watched process controls
 * (user/sys/escape.c), against what each form promises: JSON strings are
 * valid UTF-8 with no raw control byte, terminal text has no control byte,
 * values of the key=value lines are printable ASCII without a space or '='
 * and decode back to the input; nothing is written past a buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/escape.h"

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k = c < 0x80		  ? 1 :
			   c >= 0xc2 && c <= 0xdf ? 2 :
			   c >= 0xe0 && c <= 0xef ? 3 :
			   c >= 0xf0 && c <= 0xf4 ? 4 :
						    0;
		uint32_t cp;

		if (!k || i + k > n)
			return 0;
		cp = k == 1 ? c : c & (0x3f >> (k - 1));
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += k;
	}
	return 1;
}

static int no_control(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void check_value(const char *in, size_t cap)
{
	char *buf = malloc(cap), *out = malloc(cap); /* decoded: never longer */
	size_t n = 0;

	if (!buf || !out)
		goto done;
	lw_value_str(buf, cap, in);
	if (strlen(buf) >= cap)
		abort();
	for (const char *p = buf; *p; p++) {
		unsigned int x;

		if (*p < 0x21 || *p > 0x7e || *p == '=')
			abort();
		if (*p == '\\') {
			if (sscanf(p, "\\x%2x", &x) != 1 || !p[2] || !p[3])
				abort();
			out[n++] = (char)x;
			p += 3;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	/* whole: the input back (or "-" for an empty one); cut: a prefix */
	if (*in ? strncmp(out, in, n) : strcmp(buf, cap >= 2 ? "-" : ""))
		abort();
	if (cap > 4 * strlen(in) + 2 && *in && strcmp(out, in))
		abort();
done:
	free(buf);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *out = NULL, *buf;
	size_t len = 0, cap = size ? data[0] % 64 + 1 : 1;
	FILE *f;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	f = open_memstream(&out, &len);
	if (f) {
		lw_json_str(f, s);
		fclose(f);
		if (len < 2 || out[0] != '"' || out[len - 1] != '"' ||
		    !utf8_ok((unsigned char *)out, len) || !no_control((unsigned char *)out, len))
			abort();
		free(out);
	}
	f = open_memstream(&out, &len);
	if (f) {
		lw_text_str(f, s);
		fclose(f);
		if (!utf8_ok((unsigned char *)out, len) || !no_control((unsigned char *)out, len))
			abort();
		free(out);
	}
	buf = malloc(cap);
	if (buf) {
		lw_text_buf(buf, cap, s);
		if (strlen(buf) >= cap || !no_control((unsigned char *)buf, strlen(buf)) ||
		    !utf8_ok((unsigned char *)buf, strlen(buf)))
			abort();
		free(buf);
	}
	check_value(s, cap);
	check_value(s, 4 * size + 8);
	free(s);
	return 0;
}
