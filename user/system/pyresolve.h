/* pytest --pyargs, live: where the names a pytest process was given are, asked of its own
 * Python (core/pyargs.h turns the answer into files and rerun commands). */
#ifndef TKT_PYRESOLVE_H
#define TKT_PYRESOLVE_H

#include <stdint.h>
#include "core/util.h"

/* Ask pid's own Python where names are: run as pid's user, in cwd, with pid's environment,
 * with Python's import finders (package code is not run). roots as above; -errno. */
int tkt_pyargs_resolve(uint32_t pid, const char *cwd, const char *names, struct tkt_buf *roots);

#endif /* TKT_PYRESOLVE_H */
