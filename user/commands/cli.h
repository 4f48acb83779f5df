/* Command-line parsing of the run and of watch: pure, so unit tests can check every option
 * and error. */
#ifndef TKT_CLI_H
#define TKT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/util.h"

struct tkt_cli {
	const char *json_path;
	const char *memory_limit_arg;
	const char *cgroup_path; /* --cgroup: an existing cgroup for COMMAND */
	const char *per_test_path;
	const char *html_path; /* --html: the HTML report */
	const char *record_path; /* --record: the run's event log for `tktrace report` */
	int top;             /* -1: default (5 when something was killed, else none) */
	uint64_t intensive_threshold;
	const char *marker;
	uint64_t memory_limit;
	bool quiet;
	int verbose;
	bool as_root;
	bool stats; /* --stats: BPF program costs and tracer memory, for benchmarks */
	unsigned warn_at;       /* --warn-at: percent of the cgroup limit (default 90); 0: off */
	bool best_effort;       /* --best-effort: run COMMAND untraced when tracing is impossible */
	const char *junit_path; /* --junitxml-merge: pytest's JUnit XML to annotate */
	bool help;
	bool version;
	char **argv; /* COMMAND and its arguments */
	int argc;
};

/* 0 on success; otherwise fills err with a one-line message and returns TKT_EXIT_FAIL. */
int tkt_cli_parse(struct tkt_cli *c, int argc, char **argv, char *err, size_t errsz);
void tkt_cli_usage(FILE *f);

/* tktrace watch's options. */
struct tkt_watch_cli {
	const char *output; /* "-": stdout */
	const char *cgroup; /* --cgroup, as given */
	int verbose;
	bool help;
};

/* argv[0] is "watch". 0, or TKT_EXIT_FAIL with a one-line message in err. */
int tkt_watch_parse(struct tkt_watch_cli *c, int argc, char **argv, char *err, size_t errsz);
void tkt_watch_usage(FILE *f);

#endif /* TKT_CLI_H */
