/* Run mode's tracing: its BPF object (bpf/run.bpf.c) through the loader, records applied to
 * the model in time order, and the C library of every new Python probed as it maps one. */
#ifndef TKT_TRACER_H
#define TKT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/model.h"

struct tkt_tracer;

/* Errors carry a one-line message (with a hint for common causes) in err. */
/* 0, or -errno with a one-line reason in err when this kernel cannot run tktrace at all. */
int tkt_kernel_check(char *err, size_t errsz);
int tkt_tracer_open(struct tkt_tracer **out, struct tkt_model *m, char *err, size_t errsz);
int tkt_tracer_attach(struct tkt_tracer *t, char *err, size_t errsz);
/* Follow pid and its future descendants; mark it as COMMAND. */
int tkt_tracer_track_root(struct tkt_tracer *t, pid_t pid);
/* Wait up to timeout_ms for records, apply them in time order. -EINTR on a signal. */
int tkt_tracer_poll(struct tkt_tracer *t, int timeout_ms);
/* Let tkt_tracer_poll return as soon as fd is readable too (COMMAND's pidfd: its exit must
 * not wait for the poll's timeout when SIGCHLD came just before the poll began). */
int tkt_tracer_wake_on(struct tkt_tracer *t, int fd);
/* Apply whatever the rings still hold, without waiting. */
int tkt_tracer_drain(struct tkt_tracer *t);
/* Records the kernel side could not deliver (ring full, table full), summed into *total:
 * 0, or -errno when a counter could not be read (*total then holds what could). */
int tkt_tracer_drops(struct tkt_tracer *t, uint64_t *total);
/* Per-program run counts and time (kernel.bpf_stats_enabled), map memory. */
void tkt_tracer_stats(struct tkt_tracer *t, struct tkt_buf *out);
/* Detach and free; the slow part (each uprobe detach waits for an RCU grace period, ~0.1 s
 * apiece on recent kernels) happens in a detached child, so tktrace exits at once. */
void tkt_tracer_destroy_async(struct tkt_tracer *t);

#endif /* TKT_TRACER_H */
