/* Reports: the JSON contract (docs/json.md) and the human summary. Pure: model in, text out. */
#ifndef TKT_REPORT_H
#define TKT_REPORT_H

#include <stdbool.h>
#include "model.h"
#include "util.h"

enum tkt_cause { TKT_CAUSE_EXIT, TKT_CAUSE_OOM, TKT_CAUSE_SIGKILL, TKT_CAUSE_SIGNAL };

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
};

enum tkt_cause tkt_report_cause(const struct tkt_model *m, const struct tkt_run *r);
const char *tkt_cause_name(enum tkt_cause c);
int tkt_report_json(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r);
int tkt_report_text(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r,
		    bool quiet);
/* "cd DIR && python3 -m pytest 'NODEID'" for a party that ran a test; false otherwise. */
bool tkt_rerun_command(struct tkt_buf *out, const struct tkt_party *p);
/* Exit status in shell convention: N, or 128+S for signal S. */
int tkt_shell_status(bool signaled, int sig, int status);

#endif /* TKT_REPORT_H */
