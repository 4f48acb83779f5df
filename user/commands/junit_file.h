/* --junitxml-merge on disk: pytest's JUnit XML read without following links, the merge
 * (reports/junit.c) written next to it and renamed over it. */
#ifndef TKT_JUNIT_FILE_H
#define TKT_JUNIT_FILE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include "reports/junit.h"

struct tkt_junit_io {
	time_t started;     /* a file older than this was not written by this run's pytest */
	double duration_s;  /* for a file tktrace writes itself */
	bool chown;         /* give a new file to uid/gid (the invoking user under sudo) */
	uid_t uid;
	gid_t gid;
};

/* Merge into path atomically (temporary file in the same directory, rename; no links
 * followed; the owner and mode kept). Nothing is written when nkills is 0. */
int tkt_junit_merge_file(const char *path, const struct tkt_junit_kill *kills, size_t nkills,
			 const struct tkt_junit_io *io, char *err, size_t errsz);

#endif /* TKT_JUNIT_FILE_H */
