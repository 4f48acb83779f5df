/* One loader for both modes' BPF objects: kernel and BTF checks, open with retry, load, the
 * two rings read into one time-ordered batch, the attach list and the libc uprobes, drop
 * counters, program statistics, and a detach that does not hold up tktrace's exit. */
#ifndef TKT_LOADER_H
#define TKT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"
#include "libcprobe.h"

struct bpf_object;
struct bpf_object_open_opts;
struct tkt_loader;

/* What a mode's object gives the loader: its skeleton's functions (wrapped: the loader does
 * not know the skeleton's type), the programs attached at once and the libc uprobes. Both
 * objects have the rings rb_urgent and rb and the per-CPU counters drops. */
struct tkt_bpf_mode {
	const char *prefix; /* "" or "watch: ", before every message */
	void *(*open)(const struct bpf_object_open_opts *opts);
	void (*configure)(void *skel, void *ctx); /* rodata, between open and load; or NULL */
	/* After configure: turn off the optional programs, for a kernel that refused the object
	 * with them; false when none was on. Or NULL. */
	bool (*drop_optional)(void *skel, void *ctx);
	const char *optional_consequence; /* what dropping them costs, for the warning */
	int (*load)(void *skel);
	void (*destroy)(void *skel);
	struct bpf_object *(*object)(void *skel);
	const char *const *attach; /* program names, NULL-terminated */
	const char *env_progs[3];  /* the setenv, unsetenv and putenv uprobe programs */
	int max_libcs;
	/* The libc probes per followed process (tkt_libcs_follow), unless TKTRACE_LIBC_PROBES=file
	 * in the environment; else file-wide. */
	bool per_pid_probes;
	const char *libc_consequence; /* what a refused uprobe costs, for the warning */
};

/* The four skeleton functions of bpf/NAME.bpf.c as the loader calls them: put
 * TKT_LOADER_SKEL_FNS(NAME) after including NAME.skel.h, and TKT_LOADER_SKEL(NAME) in the
 * mode's struct tkt_bpf_mode. */
#define TKT_LOADER_SKEL_FNS(name)                                                            \
	static void *name##_skel_open(const struct bpf_object_open_opts *o)                  \
	{                                                                                    \
		return name##_bpf__open_opts(o);                                             \
	}                                                                                    \
	static int name##_skel_load(void *skel)                                              \
	{                                                                                    \
		return name##_bpf__load(skel);                                               \
	}                                                                                    \
	static void name##_skel_destroy(void *skel)                                          \
	{                                                                                    \
		name##_bpf__destroy(skel);                                                   \
	}                                                                                    \
	static struct bpf_object *name##_skel_object(void *skel)                             \
	{                                                                                    \
		return ((struct name##_bpf *)skel)->obj;                                     \
	}
#define TKT_LOADER_SKEL(name)                                                                \
	.open = name##_skel_open, .load = name##_skel_load, .destroy = name##_skel_destroy,  \
	.object = name##_skel_object

/* Errors return -errno with a one-line message (and a hint for common causes) in err. */
int tkt_loader_open(struct tkt_loader **out, const struct tkt_bpf_mode *mode, void *ctx,
		    char *err, size_t errsz);
/* The attach list, then the system's C libraries. */
int tkt_loader_attach(struct tkt_loader *l, char *err, size_t errsz);
/* One line (-v): which way the libc probes are attached. */
void tkt_loader_say_probes(const struct tkt_loader *l);
void *tkt_loader_skel(struct tkt_loader *l);
struct tkt_libcs *tkt_loader_libcs(struct tkt_loader *l);
/* Wait up to timeout_ms for records (or the wake fd), then take both rings into the batch.
 * A signal ends the wait early (0). */
int tkt_loader_wait(struct tkt_loader *l, int timeout_ms);
/* Take what the rings hold into the batch, without waiting. */
int tkt_loader_consume(struct tkt_loader *l);
/* Hand the batch's records to fn in time order (tkt_batch_flush). */
void tkt_loader_flush(struct tkt_loader *l, void (*fn)(void *ctx, const void *rec, size_t len),
		      void *ctx, size_t keep_cap);
/* Let tkt_loader_wait return as soon as fd is readable too (COMMAND's pidfd). */
int tkt_loader_wake_on(struct tkt_loader *l, int fd);
/* Records the kernel side could not deliver (a ring full), all CPUs together, into *total:
 * 0, or -errno when a counter could not be read (*total then holds what could). */
int tkt_loader_drops(struct tkt_loader *l, uint64_t *total);
/* The same for the per-CPU array map_fd of TKT_DROP_NR counters. */
int tkt_drops_read(int map_fd, uint64_t *total);
/* Per-program run counts and time (kernel.bpf_stats_enabled), map memory, peak RSS. */
void tkt_loader_stats(struct tkt_loader *l, struct tkt_buf *out);
void tkt_loader_destroy(struct tkt_loader *l);
/* The same, but the slow part (each uprobe detach waits for an RCU grace period, ~0.1 s
 * apiece on recent kernels) happens in a detached child, so tktrace exits at once. */
void tkt_loader_destroy_async(struct tkt_loader *l);
/* Close fds (sorted here) in a detached process, for links whose detach would hold us up;
 * here they are only let go of. */
void tkt_close_detached(int *fds, size_t n);

#endif /* TKT_LOADER_H */
