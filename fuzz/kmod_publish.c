// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_publish - libFuzzer over the module's publish parser (kmod/parse.h),
 * in user space: any bytes as a whole record, as lockwatch_publish_write()
 * hands it to the parser once its last page is in. What is accepted must
 * render, as lockwatch_snap_build() renders it, inside the room the module
 * gives, whole: a reader never gets half a section.
 */
#include "kernel.h"
#include "../kmod/parse.h"

#define SLACK 128 /* LOCKWATCH_SECTION_SLACK */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *graph, *alerts;
	size_t graph_len, alerts_len, room, n;
	u32 graph_lines, alerts_lines;
	struct lockwatch_hdr hdr;
	char *text;

	if (lockwatch_parse_hdr(buf, size, &hdr))
		return 0;
	if (hdr.len > size || hdr.length < hdr.len || hdr.length > LOCKWATCH_MAX_RECORD)
		abort(); /* the header's own checks */
	if (hdr.length > size)
		return 0; /* the module waits for the rest */
	if (lockwatch_parse_body(buf, &hdr, &graph, &graph_len, &graph_lines, &alerts, &alerts_len,
				 &alerts_lines))
		return 0;
	if (graph < buf + hdr.len || graph + graph_len > buf + hdr.length ||
	    alerts < graph + graph_len || alerts + alerts_len > buf + hdr.length ||
	    alerts_lines > LOCKWATCH_MAX_ALERTS)
		abort();
	room = graph_len + alerts_len + 2 * SLACK;
	text = malloc(room);
	if (!text)
		return 0;
	n = lockwatch_render(text, room, LOCKWATCH_GRAPH_MAGIC, UINT64_MAX, graph, graph_len,
			     graph_lines);
	n += lockwatch_render(text + n, room - n, LOCKWATCH_ALERTS_MAGIC, UINT64_MAX, alerts,
			      alerts_len, alerts_lines);
	if (n >= room || text[n - 1] != '\n')
		abort(); /* cut short: a reader would get half a section */
	free(text);
	return 0;
}
