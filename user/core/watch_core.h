/* tktrace watch's pure part: kill records to JSON lines, container ids from cgroup paths, the
 * bounded table of pytest processes. No system calls, so unit tests drive it. */
#ifndef TKT_WATCH_CORE_H
#define TKT_WATCH_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tktrace.h"
#include "util.h"

#define TKT_WATCH_TABLE_CAP 4096 /* pytest processes remembered at once */
#define TKT_WATCH_TEST_MAX 4096  /* bytes of a node id kept */
#define TKT_WATCH_HELD 64        /* kernel SIGKILLs waiting for their OOM record */
#define TKT_WATCH_HOLD_NS (200ULL * 1000 * 1000)

struct tkt_container {
	char runtime[16]; /* docker, containerd, cri-o, podman, kubepods, unknown */
	char id[72];
	char pod[40];     /* kubernetes pod uid, "" when none */
};

/* The innermost container in a cgroup path ("/docker/<id>", ".../docker-<id>.scope", ...). */
bool tkt_container_of(const char *path, struct tkt_container *c);
/* The innermost systemd unit (a ".scope" or ".service" level) in a cgroup path. */
bool tkt_unit_of(const char *path, char *out, size_t sz);

struct tkt_wentry {
	uint32_t pid;
	bool test_done; /* the last value arrived whole */
	uint64_t used;  /* table clock at the last change: the least recent goes first */
	char *test;     /* PYTEST_CURRENT_TEST with its " (call)" phase, NULL when unset */
	size_t test_len;
	char worker[32];
};

/* pid -> what pytest set in it, at most cap entries. */
struct tkt_wtab {
	struct tkt_wentry *e;
	size_t n, cap;
	uint64_t clock;
	uint64_t evicted;
};

int tkt_wtab_init(struct tkt_wtab *t, size_t cap);
struct tkt_wentry *tkt_wtab_find(struct tkt_wtab *t, uint32_t pid);
/* Find or add pid, evicting the least recently changed entry when full. */
struct tkt_wentry *tkt_wtab_get(struct tkt_wtab *t, uint32_t pid);
void tkt_wtab_remove(struct tkt_wtab *t, uint32_t pid);
void tkt_wtab_free(struct tkt_wtab *t);

struct tkt_watch_opts {
	const char *cg_filter; /* only kills whose target is in this subtree ("/a/b"); NULL: all */
	uint64_t page_size;
	size_t table_cap;
};

struct tkt_held {
	uint64_t ts;
	uint32_t pid;
	char *line;
};

struct tkt_watch {
	struct tkt_watch_opts o;
	struct tkt_wtab tab;
	struct tkt_held held[TKT_WATCH_HELD];
	size_t nheld;
	int64_t rt_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC, kept current by the caller */
	uint64_t sigkills, ooms, filtered;
};

int tkt_watch_init(struct tkt_watch *w, const struct tkt_watch_opts *o);
/* Apply one ring record; lines now due are appended to out. -EINVAL for a malformed one. */
int tkt_watch_apply(struct tkt_watch *w, const void *rec, size_t len, struct tkt_buf *out);
/* The kernel's own SIGKILLs are held back a moment: an OOM kill's SIGKILL is reported as the
 * oom_kill that follows it. Emit those held since before now_ns - TKT_WATCH_HOLD_NS
 * (UINT64_MAX: all). */
void tkt_watch_flush(struct tkt_watch *w, uint64_t now_ns, struct tkt_buf *out);
/* A line saying n records were lost in the kernel (ring full). */
void tkt_watch_lost(struct tkt_watch *w, uint64_t now_ns, uint64_t n, struct tkt_buf *out);
void tkt_watch_free(struct tkt_watch *w);

/* --cgroup's argument ("/sys/fs/cgroup/memory/a/b/" or "/a/b") as a path in the hierarchy
 * mounted at mount ("/a/b"). -EINVAL when it is not an absolute path, -EXDEV when it is a
 * directory of another cgroup hierarchy. */
int tkt_watch_cg_filter(const char *arg, const char *mount, char *out, size_t sz);
/* Is path filter itself or below it (whole components)? */
bool tkt_cg_under(const char *path, const char *filter);
/* "/a/b/c" from a record's levels (leaf first); "" for the root, ".../b/c" when cut. */
void tkt_wtask_cgpath(const struct tkt_wtask *t, struct tkt_buf *b);
/* Between two scans of /proc, may a pid have been handed out again? last_pid: the pid
 * namespace's last pid then and now (/proc/sys/kernel/ns_last_pid); forks: processes and
 * threads created since (/proc/stat "processes"). Pids are handed out increasing until they
 * wrap: a lower last pid, or a whole cycle of forks, means a scanned pid may be another
 * process now. */
bool tkt_pids_wrapped(uint32_t prev_last, uint32_t last, uint64_t forks, uint32_t pid_max);
/* ns since the epoch -> "2026-11-26T05:40:01.123456Z" */
void tkt_fmt_iso8601(int64_t realtime_ns, char *out, size_t sz);

#endif /* TKT_WATCH_CORE_H */
