/* Finding the CPython a process runs, for the kernel's stack walk (bpf/pystack.bpf.h). */
#ifndef TKT_PYPROC_H
#define TKT_PYPROC_H

#include <stdbool.h>
#include "tktrace.h"

/* python3.11, /usr/lib/libpython3.12.so.1.0, python3.6m: its version. */
bool tkt_py_version_of_path(const char *path, unsigned *major, unsigned *minor);

/* Overwrite o's fields that CPython 3.13 describes in its _Py_DebugOffsets (the start of
 * _PyRuntime's initial value in the ELF file at path); -errno when it has none. */
int tkt_py_debug_offsets(const char *path, struct tkt_py_offsets *o);

/* Look at pid's mappings for a CPython binary or libpython holding _PyRuntime. 1: out is
 * filled (layout TKT_PYL_NONE for a version without offsets), 0: none mapped (yet), -errno:
 * the process is gone. */
int tkt_py_find(unsigned pid, struct tkt_py_proc *out);

#endif /* TKT_PYPROC_H */
