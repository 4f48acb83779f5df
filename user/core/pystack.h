/* Python stacks taken in the kernel at a kill: the per-version layouts the walk reads, and
 * naming each copied frame afterwards (line tables, strings). Pure: no system state. */
#ifndef TKT_PYSTACK_H
#define TKT_PYSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tktrace.h"
#include "util.h"

/* The offsets of CPython major.minor (x86-64 builds); false when tktrace has none. */
bool tkt_py_offsets_for(unsigned major, unsigned minor, struct tkt_py_offsets *o);

/* The line of the instruction at byte offset lasti, from the first len of the total bytes of a
 * code object's line table as version (major << 8 | minor) writes it (co_lnotab before 3.10,
 * co_linetable from 3.10, the location table from 3.11); -1 when the table says none or the
 * prefix given ends first. */
int tkt_py_line(uint32_t version, const uint8_t *table, size_t len, size_t total, int32_t lasti,
		int32_t firstlineno);

/* Append a copied str (kind TKT_PYF_ASCII, or 1, 2, 4 bytes per character) as UTF-8. */
void tkt_py_str_utf8(struct tkt_buf *out, const void *data, size_t len, unsigned kind);

/* Why a stack is missing, for the reports ("page not resident", "unsupported python 3.7"). */
const char *tkt_py_err_text(int err, uint32_t version, char *buf, size_t sz);

#endif /* TKT_PYSTACK_H */
