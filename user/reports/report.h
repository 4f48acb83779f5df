/* Reports: the JSON contract (docs/json.md) and the human summary. Pure: model in, text out. */
#ifndef TKT_REPORT_H
#define TKT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/model.h"
#include "core/run.h"
#include "core/util.h"

enum tkt_cause { TKT_CAUSE_EXIT, TKT_CAUSE_OOM, TKT_CAUSE_SIGKILL, TKT_CAUSE_SIGNAL };

enum tkt_cause tkt_report_cause(const struct tkt_model *m, const struct tkt_run *r);
const char *tkt_cause_name(enum tkt_cause c);
int tkt_report_json(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r);
int tkt_report_text(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r,
		    bool quiet);
/* One section of the text report: OOM kill i (m->ooms[i]) or SIGKILL i (m->kills[i]), as
 * tkt_report_text writes it (e.g. a killed test's own JUnit details). */
void tkt_report_oom_text(struct tkt_buf *out, const struct tkt_model *m, size_t i);
void tkt_report_kill_text(struct tkt_buf *out, const struct tkt_model *m, size_t i);
/* Tables of the top tests by peak growth and by memory left behind, and the tests over the
 * threshold that are not marked, as a conftest.py snippet. */
int tkt_report_memory_text(struct tkt_buf *out, const struct tkt_model *m,
			   const struct tkt_mem_opts *o);
/* One JSON object per line and node id, sorted by node id (the largest of repeats). */
int tkt_report_per_test(struct tkt_buf *out, const struct tkt_model *m);
/* Whether a test needs at least this much memory (its growth or a child's peak). */
uint64_t tkt_test_need(const struct tkt_test_rec *t);
/* Why this OOM kill happened, in one sentence (the text and HTML reports' "why"). */
const char *tkt_oom_why(const struct tkt_oom_rec *o);
/* "cd DIR && python3 -m pytest 'NODEID'" for a party that ran a test; false otherwise. */
bool tkt_rerun_command(struct tkt_buf *out, const struct tkt_party *p);
/* Whether a kill fails a test (GitHub annotations, JUnit): a SIGKILL of a pytest process
 * (the main one or an xdist worker). A test that kills its own subprocess passes. */
bool tkt_kill_fails_test(const struct tkt_kill_rec *k);
/* Exit status in shell convention: N, or 128+S for signal S. */
int tkt_shell_status(bool signaled, int sig, int status);

#endif /* TKT_REPORT_H */
