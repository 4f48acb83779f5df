/* --warn-at: the block printed when COMMAND's memory cgroup nears its limit (the crossing itself
 * is the model's: tkt_model_warn_check). Pure. */
#include "warn.h"

void tkt_warn_text(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_warning *w)
{
	char s1[32], s2[32];

	tkt_buf_printf(b, "tktrace: warning: memory cgroup %s at %.0Lf%% of its limit (%s of %s) at "
			  "%.2f s; running:\n",
		       m->cg_path ? m->cg_path : "?",
		       (long double)w->usage * 100.0L / (long double)(w->limit ? w->limit : 1),
		       tkt_fmt_bytes(w->usage, s1, sizeof(s1)), tkt_fmt_bytes(w->limit, s2, sizeof(s2)),
		       tkt_model_time_s(m, w->ts_ns));
	for (size_t i = 0; i < w->nres; i++) {
		const struct tkt_resident *r = &w->res[i];
		const char *ph = tkt_phase_name(r->phase);
		tkt_buf_printf(b, "  pid %u", r->pid);
		if (r->worker)
			tkt_buf_printf(b, " worker %s", r->worker);
		if (r->test)
			tkt_buf_printf(b, ": %s [%s]\n", r->test, ph ? ph : "?");
		else
			tkt_buf_printf(b, ": no test running [%s]\n", ph ? ph : "?");
	}
	if (w->more)
		tkt_buf_printf(b, "  and %zu more pytest processes\n", w->more);
	if (!w->nres && !w->more)
		tkt_buf_printf(b, "  no pytest process\n");
}
