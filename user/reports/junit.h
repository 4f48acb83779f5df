/* --junitxml-merge: add tktrace's explanation of a kill to the killed test's <testcase> in
 * pytest's JUnit XML, or write a minimal file when pytest was killed before writing one. */
#ifndef TKT_JUNIT_H
#define TKT_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "core/model.h"
#include "core/util.h"

struct tkt_junit_kill {
	const char *nodeid;
	const char *message; /* one line: the error/failure message */
	const char *details; /* the text report */
};

/* Text with &, <, > and " escaped; control characters XML cannot hold become '?'. */
void tkt_xml_escape(struct tkt_buf *b, const char *s);
/* pytest's classname and name attributes of the <testcase> of nodeid. */
void tkt_junit_names(const char *nodeid, struct tkt_buf *classname, struct tkt_buf *name);
/* Pure: xml with each kill merged into out. A test case with a <failure>/<error> gets the
 * explanation first in its text; one without gets an <error>; a test pytest did not record
 * gets a new <testcase> in the first <testsuite> (its errors and tests counts raised).
 * *added: kills written. -EINVAL when there is no <testsuite> to add to. */
int tkt_junit_merge(struct tkt_buf *out, const char *xml, size_t len,
		    const struct tkt_junit_kill *kills, size_t nkills, size_t *added);
/* A whole JUnit file of the kills alone, for when pytest wrote none. */
int tkt_junit_minimal(struct tkt_buf *out, const struct tkt_junit_kill *kills, size_t nkills,
		      double duration_s);
/* Pure: each <testcase> of a JUnit XML file pytest wrote, with its outcome
 * (TKT_OUTCOME_PASSED ... ERROR). Returns the number of test cases. */
typedef void (*tkt_junit_outcome_fn)(void *ctx, const char *classname, const char *name,
				     enum tkt_outcome outcome);
int tkt_junit_outcomes(const char *xml, size_t len, tkt_junit_outcome_fn fn, void *ctx);

#endif /* TKT_JUNIT_H */
