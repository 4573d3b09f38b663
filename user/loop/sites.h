/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lock sites as the kernel sees them: one uprobe event in tracefs for each
 * function (or function return) of each binary that a watched process
 * maps, shared by every process that uses it, with the BPF program on one
 * anchor perf event (on lockwatch itself, which the program ignores). A
 * watched process gets a perf event of its own on the site: that only
 * adds its address space to the probe's filter, and closing it only takes
 * the breakpoints out of it again - cheap both ways, where a uprobe of its
 * own would cost a ~0.1 s synchronisation to take down when the process
 * exits (uprobe_unregister), a second of lockwatch's time for every process
 * of a `make test` that ends. Only the anchors pay that, once each, when
 * lockwatch exits.
 */
#ifndef LW_SITES_H
#define LW_SITES_H

#include <stdint.h>
#include <sys/types.h>

struct bpf_program;
struct lw_sites;

/* NULL and errno (ENOENT: no tracefs) on failure. Takes down the events a
 * lockwatch that died left behind. */
struct lw_sites *sites__new(void);
/*
 * A perf event fd on which prog runs (with cookie: bpf_get_attach_cookie())
 * when pid calls the function at file offset off of the binary open as fd
 * (dev, ino say which file it is; ret: on its return): the site's event and
 * anchor are made on first use.
 * The caller closes it. -errno on failure.
 */
int sites__open(struct lw_sites *s, const struct bpf_program *prog, uint64_t cookie, int fd,
		dev_t dev, ino_t ino, uint64_t off, int ret, pid_t pid);
/* Sites made, in all. */
int sites__count(const struct lw_sites *s);
/* Closes the anchors and removes the events. */
void sites__free(struct lw_sites *s);

#endif /* LW_SITES_H */
