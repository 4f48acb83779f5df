/* watch mode's tracing: its BPF object (bpf/watch.bpf.c) through the loader, and the C
 * libraries of the whole machine's processes probed as they appear. */
#ifndef TKT_WATCHER_H
#define TKT_WATCHER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct tkt_watcher;

/* Load, attach, probe the C libraries in use. cg_version: which hierarchy names a process's
 * cgroup in the records (1: the memory controller's). -errno with a message in err. */
int tkt_watcher_open(struct tkt_watcher **out, int cg_version, char *err, size_t errsz);
/* Wait up to timeout_ms for records, and take both rings' (0: only take them). */
int tkt_watcher_wait(struct tkt_watcher *w, int timeout_ms);
/* Hand the records taken to fn in time order. */
void tkt_watcher_apply(struct tkt_watcher *w, void (*fn)(void *ctx, const void *rec, size_t len),
		       void *ctx);
/* Look at processes started since the last scan (every few seconds); all=true: every process
 * again, and unprobe the libraries none maps any more (every few minutes). */
void tkt_watcher_scan(struct tkt_watcher *w, uint64_t now_ns, bool all);
/* Kill records the kernel could not deliver, into *total: 0 or -errno (tkt_loader_drops). */
int tkt_watcher_drops(struct tkt_watcher *w, uint64_t *total);
int tkt_watcher_nlibcs(struct tkt_watcher *w);
void tkt_watcher_free(struct tkt_watcher *w);

#endif /* TKT_WATCHER_H */
