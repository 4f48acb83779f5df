/* What the reports render besides the model: how the run ended, and the options of the
 * per-test memory part; filled live by the run or from a recording's end record. */
#ifndef TKT_RUN_H
#define TKT_RUN_H

#include <stdbool.h>
#include <stdint.h>

struct tkt_run {
	char *const *argv; /* COMMAND */
	int argc;
	bool signaled;     /* COMMAND died of a signal */
	int sig;           /* that signal */
	int status;        /* its exit status otherwise */
	int exit_code;     /* what tktrace exits with */
	double duration_s;
	uint64_t kernel_drops; /* failed ring-buffer reserves counted in BPF */
	const char *memory_limit; /* --memory-limit as given, or NULL */
	bool cut; /* a replayed recording that stops before the end: duration_s is where */
};

/* Options of the per-test memory part of the human report. */
struct tkt_mem_opts {
	int top;                /* rows per table; 0: no tables */
	uint64_t threshold;     /* memory_intensive above this peak growth */
	const char *marker;     /* "memory_intensive" */
	const int8_t *marked;   /* per tests[] entry: 1 marked, 0 not, -1 unknown; or NULL */
};

#endif /* TKT_RUN_H */
