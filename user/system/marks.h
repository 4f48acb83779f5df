/* Is a test already marked (e.g. memory_intensive)? Read from its source, without pytest. */
#ifndef TKT_MARKS_H
#define TKT_MARKS_H

#include <stdbool.h>
#include <stddef.h>

/* 1 when the test function named by nodeid, its class, or its module (pytestmark) carries
 * marker in src; 0 when not; -1 when the function is not found. Pure. */
int tkt_marker_in_source(const char *src, size_t len, const char *nodeid, const char *marker);
/* The same, reading the test file relative to dir. -1 when it cannot be read. */
int tkt_test_marked(const char *dir, const char *pyargs, const char *nodeid, const char *marker);
/* 1-based line of the test's "def" (or "async def") in src, inside its class when the node
 * id names one; 0 when not found. Pure. */
unsigned tkt_def_line_in_source(const char *src, size_t len, const char *nodeid);
/* The same, reading the test file relative to dir; 0 when it cannot be read. */
unsigned tkt_test_def_line(const char *dir, const char *pyargs, const char *nodeid);

/* pytest's node ids are relative to its rootdir (where pytest.ini, pyproject.toml, ... is),
 * not its working directory (cd tests && pytest). Writes to out the first of cwd and its
 * parents holding the node id's file as a regular file; false (out untouched) when none
 * does, or the node id names no file. */
bool tkt_find_rootdir(const char *cwd, const char *nodeid, char *out, size_t outsz);

#endif /* TKT_MARKS_H */
