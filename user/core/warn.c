/* --warn-at: which tests are resident when COMMAND's memory cgroup nears its limit. Pure. */
#include "warn.h"

#include <stdlib.h>
#include <string.h>

static int cmp_resident(const void *a, const void *b)
{
	const struct tkt_resident *x = a, *y = b;
	int c = strcmp(x->worker ? x->worker : "", y->worker ? y->worker : "");

	if (c)
		return c;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

bool tkt_model_warn_check(struct tkt_model *m, uint64_t ts_ns, uint64_t usage)
{
	struct tkt_warning *w;
	unsigned pct = m->o.warn_pct;
	/* Percent of the limit, without overflow for any limit. */
	long double level;

	if (!pct || !m->cg_has_limit || !m->cg_limit)
		return false;
	level = (long double)usage * 100.0L / (long double)m->cg_limit;
	if (m->warn_above) {
		if (level < (long double)pct - TKT_WARN_REARM_PCT)
			m->warn_above = false;
		return false;
	}
	if (level < pct)
		return false;
	m->warn_above = true;
	if (m->nwarnings == TKT_WARNINGS_MAX) {
		m->warnings_dropped++;
		return false;
	}
	if (!m->warnings) {
		m->warnings = calloc(TKT_WARNINGS_MAX, sizeof(*m->warnings));
		if (!m->warnings)
			return false;
	}
	w = &m->warnings[m->nwarnings++];
	memset(w, 0, sizeof(*w));
	w->ts_ns = ts_ns;
	w->usage = usage;
	w->limit = m->cg_limit;
	w->pct = pct;
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct tkt_proc *p = m->buckets[i]; p; p = p->hnext) {
			if (!p->alive || !p->is_pytest)
				continue;
			if (w->nres == TKT_WARN_RESIDENTS) {
				w->more++;
				continue;
			}
			w->res[w->nres].pid = p->pid;
			w->res[w->nres].worker = p->own.worker;
			w->res[w->nres].test = p->own.test;
			w->res[w->nres].phase = p->own.phase;
			w->nres++;
		}
	}
	qsort(w->res, w->nres, sizeof(w->res[0]), cmp_resident);
	return true;
}

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
