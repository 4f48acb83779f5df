/* The Python stacks of killed and triggering processes, in the reports. */
#ifndef TKT_PYREPORT_H
#define TKT_PYREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include "core/json.h"
#include "core/model.h"
#include "core/util.h"

/* The frame a report points at: the innermost in the project's own files (under the pytest
 * rootdir, not an installed package or the standard library), else the innermost in the
 * test's own file (an installed one, with --pyargs), else the innermost with a line outside
 * installed code, else the innermost. NULL without frames. */
const struct tkt_pyframe *tkt_py_at_frame(const struct tkt_party *p);
/* file relative to the party's pytest rootdir when under it. */
const char *tkt_py_rel_path(const struct tkt_party *p, const char *file);
/* The frame's source line, read from disk now, without its indentation. */
bool tkt_py_source_line(const struct tkt_party *p, const struct tkt_pyframe *f, char *buf,
			size_t sz);
/* "  at       FILE:LINE  source" under a party; full: every frame, or why there are none. */
void tkt_py_text(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_party *p, bool full);
/* "python_stack": [{file, line, function}] or null, and "python_stack_error"; with a stack,
 * the thread it was walked in and when. */
void tkt_py_json(struct tkt_json *j, const struct tkt_model *m, const struct tkt_party *p);

#endif /* TKT_PYREPORT_H */
