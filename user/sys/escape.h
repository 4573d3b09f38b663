/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text helpers shared by the output sinks: escaping of strings that come
 * from the watched processes (thread names, symbols, paths), which a process
 * controls and may fill with newlines, quotes, terminal escapes or invalid
 * UTF-8 - for JSON, for a terminal, and for the files' key=value lines - and
 * the one timestamp format each sink uses.
 */
#ifndef LW_ESCAPE_H
#define LW_ESCAPE_H

#include <stdio.h>
#include <stddef.h>
#include <time.h>

/*
 * Write s as a JSON string literal, quotes included, or `null` when s is
 * NULL. The output is valid UTF-8 whatever s holds: a byte that is not part
 * of well-formed UTF-8 becomes the four characters \xNN (the JSON text holds
 * "\\xNN"), so a consumer still sees which bytes were there.
 */
void lw_json_str(FILE *f, const char *s);

/*
 * Write s for a terminal: printable UTF-8 as is; control characters,
 * backslash and invalid bytes as \n, \t, \r, \\ or \xNN. Never writes a raw
 * control byte. NULL prints "?".
 */
void lw_text_str(FILE *f, const char *s);

/*
 * s as lw_text_str() writes it, into buf (at most len bytes with the NUL, cut
 * before an escape that does not fit whole), for a message: returns buf.
 */
char *lw_text_buf(char *buf, size_t len, const char *s);

/*
 * s as one value of the key=value lines of kmod/FORMAT.md, into buf (at most
 * len bytes with the NUL, cut at a whole escape): printable ASCII as is; a
 * space, '=', '\\', a control byte or any byte past 0x7e as \xNN; an empty
 * (or NULL) s as "-". Returns buf.
 */
char *lw_value_str(char *buf, size_t len, const char *s);

enum lw_time_fmt {
	LW_TIME_UTC_ISO, /* 2026-11-22T00:31:07.123Z, for JSON */
	LW_TIME_LOCAL, /* 2026-11-22 00:31:07.123, local time, for people */
};

#define LW_TIME_LEN 32

/* Format ts (CLOCK_REALTIME) into buf, at least LW_TIME_LEN bytes; returns buf. */
char *lw_time_str(char *buf, size_t len, const struct timespec *ts, enum lw_time_fmt fmt);

#endif /* LW_ESCAPE_H */
