/* Command-line parsing: pure, so unit tests can check every option and error. */
#ifndef TKT_CLI_H
#define TKT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* GNU convention, as timeout(1) and env(1). */
#define TKT_EXIT_FAIL 125
#define TKT_EXIT_NOEXEC 126
#define TKT_EXIT_NOTFOUND 127

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

#define TKT_VERSION "0.1.0"

#endif /* TKT_CLI_H */
