/* A running process's environment as its C library has it now (what setenv changed, which
 * /proc/PID/environ does not show), read from its memory through the C library's __environ. */
#ifndef TKT_ENVIRON_H
#define TKT_ENVIRON_H

#include <stdint.h>
#include "core/util.h"

/* The value of name (e.g. "PYTEST_CURRENT_TEST") in pid's environment into out: 1 when set,
 * 0 when not, -errno when it cannot be read (no glibc-like __environ, process gone). */
int tkt_proc_getenv(unsigned pid, const char *name, struct tkt_buf *out);

/* Where pid's environment pointer (__environ) is in its memory: 0, or -errno (-ENOENT: not
 * mapped yet, e.g. a C library the loader has still to map). */
int tkt_proc_environ_addr(unsigned pid, uint64_t *addr);

/* The value of name in the environment pid was started with (/proc/PID/environ: its exec, or
 * for a forked child its parent's): 1 when there, 0 when not, -errno. */
int tkt_proc_initial_env(unsigned pid, const char *name, struct tkt_buf *out);

#endif /* TKT_ENVIRON_H */
