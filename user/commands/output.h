/* The files tktrace writes for the user after a run: report files opened safely, GitHub
 * Actions annotations and step summary, the JUnit XML merge. */
#ifndef TKT_OUTPUT_H
#define TKT_OUTPUT_H

#include <stddef.h>
#include <time.h>
#include "cli.h"
#include "system/launch.h"
#include "core/model.h"
#include "reports/report.h"

/* Open a report file ('-': a duplicate of stdout) for writing, refusing links, FIFOs and
 * files someone else planted (another user's, other hard links) before truncating it; under
 * sudo it is given to the invoking user. -1 with a one-line reason in err. */
int tkt_output_open(const char *path, const struct tkt_creds *creds, char *err, size_t errsz);
/* The same, with the reason said on stderr. */
int tkt_output_open_checked(const char *path, const struct tkt_creds *creds);
/* GITHUB_ACTIONS=true: annotations on stdout, the Markdown summary appended to
 * $GITHUB_STEP_SUMMARY. Nothing otherwise. */
void tkt_github_outputs(const struct tkt_model *m, const struct tkt_run *run,
			const struct tkt_cli *cli, const struct tkt_creds *creds);
/* --junitxml-merge: each killed test with its own kill's section. */
int tkt_junit_outputs(const struct tkt_model *m, const struct tkt_run *run,
		      const struct tkt_cli *cli, const struct tkt_creds *creds, time_t started);

/* pytest --junitxml: each completed test's outcome (passed, failed, skipped, xfailed,
 * error) from the files pytest wrote during this run (not older than started). */
void tkt_outcomes_from_junit(struct tkt_model *m, time_t started);

#endif /* TKT_OUTPUT_H */
