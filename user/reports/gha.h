/* GitHub Actions output (when GITHUB_ACTIONS=true): workflow commands that annotate the guilty
 * tests' def lines, and a Markdown job summary for $GITHUB_STEP_SUMMARY. Pure renderers. */
#ifndef TKT_GHA_H
#define TKT_GHA_H

#include <stdbool.h>
#include "core/model.h"
#include "report.h"
#include "core/util.h"

struct tkt_gha_opts {
	const char *workspace; /* $GITHUB_WORKSPACE: annotation paths are made relative to it */
	int top;               /* rows of the summary's memory table; 0: none */
	/* 1-based line of the def of nodeid (relative to cwd), 0 when unknown; NULL: no lines. */
	unsigned (*def_line)(const char *cwd, const char *pyargs, const char *nodeid);
};

/* Workflow command data: %, CR and LF escaped; in a property also ':' and ','. */
void tkt_gha_escape(struct tkt_buf *b, const char *s, bool property);
/* The file of nodeid (relative to cwd), normalised, relative to workspace when under it. */
void tkt_gha_file(struct tkt_buf *b, const char *cwd, const char *pyargs, const char *nodeid,
		  const char *workspace);
/* One ::error per killed test (and per test whose allocation killed another), ::warning for a
 * test that left the memory behind and for each --warn-at crossing. */
int tkt_gha_annotations(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r,
			const struct tkt_gha_opts *o);
/* Markdown: what happened, victim and trigger tests, verdict, warnings, top memory tests. */
int tkt_gha_summary(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r,
		    const struct tkt_gha_opts *o);

#endif /* TKT_GHA_H */
