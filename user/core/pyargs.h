/* pytest --pyargs: node ids are relative to the package (or module) each argument names, not
 * to the rootdir, and the files are wherever Python finds them (site-packages). What tktrace
 * needs to turn such a node id into a file and a rerun command, and to read a pytest command
 * line (--pyargs names, --junitxml). */
#ifndef TKT_PYARGS_H
#define TKT_PYARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

/* argv: a pytest process's command line (NUL-separated, as /proc/PID/cmdline). */

/* The arguments --pyargs makes modules ("numpy.lib", the part before any "::"), one a line,
 * into names; false when the command has no --pyargs. */
bool tkt_pyargs_names(const char *argv, size_t len, struct tkt_buf *names);
/* --junitxml=PATH / --junit-xml PATH, made absolute with cwd; false when absent. */
bool tkt_pytest_junitxml(const char *argv, size_t len, const char *cwd, struct tkt_buf *path);

/* roots: "module\tpath\n" per argument, path the package's directory or the module's file.
 * The root nodeid's file is under: the first in which that file exists (none: the node id
 * is relative to the rootdir, or the files are not on this machine). */
bool tkt_pyargs_root(const char *roots, const char *nodeid, struct tkt_buf *module,
		     struct tkt_buf *file);
/* What to pass to pytest --pyargs to run nodeid alone: "numpy.lib.tests.test_format::test_x". */
bool tkt_pyargs_spec(const char *roots, const char *nodeid, struct tkt_buf *out);
/* The file of nodeid: under its --pyargs root when there is one, else cwd/file (or the node
 * id's file part alone without cwd). */
void tkt_test_file(struct tkt_buf *out, const char *cwd, const char *pyargs, const char *nodeid);

#endif /* TKT_PYARGS_H */
