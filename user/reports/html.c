/* The HTML report: the page, the kill explanation and the sortable tables; the chart is
 * html_chart.c, the style and script html.css and html.js (embedded at build time). */
#define _GNU_SOURCE
#include "html.h"

#include <stdlib.h>
#include <string.h>
#include "core/util.h"
#include "html_chart.h"
#include "html_text.h"
#include "pyreport.h"

/* scripts/embed.sh makes these from html.css and html.js. */
extern const char tkt_html_css[];
extern const char tkt_html_js[];

/* ---- the kill explanation --------------------------------------------------------------- */

static void party_html(struct tkt_buf *b, const struct tkt_party *p, bool rss_split)
{
	char s1[32], s2[32], s3[32], s4[32];
	const char *ph = tkt_phase_name(p->attr.phase);

	tkt_buf_printf(b, "pid %u (", p->pid);
	ESC(b, p->comm);
	tkt_buf_printf(b, ")");
	if (p->attr.worker) {
		tkt_buf_printf(b, " worker ");
		ESC(b, p->attr.worker);
	}
	if (p->attr.test) {
		tkt_buf_printf(b, ", test <code>");
		ESC(b, p->attr.test);
		tkt_buf_printf(b, "</code> [%s]", ph ? ph : "?");
	} else if (ph) {
		tkt_buf_printf(b, ", no test running [%s]", ph);
	} else if (!p->known) {
		tkt_buf_printf(b, ", not traced");
	}
	tkt_buf_printf(b, ", rss %s", fmt_b(p->rss_bytes, s1, sizeof(s1)));
	if (rss_split)
		tkt_buf_printf(b, " (anon %s, file %s, shmem %s)", fmt_b(p->anon_bytes, s2, sizeof(s2)),
			       fmt_b(p->file_bytes, s3, sizeof(s3)),
			       fmt_b(p->shmem_bytes, s4, sizeof(s4)));
}

static void kv_begin(struct tkt_buf *b, const char *k)
{
	tkt_buf_printf(b, "<tr><th>%s</th><td>", k);
}

static void kv_end(struct tkt_buf *b)
{
	tkt_buf_printf(b, "</td></tr>\n");
}

static void rerun_row(struct tkt_buf *b, const struct tkt_party *p)
{
	struct tkt_buf tmp = { 0 };

	if (tkt_rerun_command(&tmp, p)) {
		kv_begin(b, "rerun");
		tkt_buf_printf(b, "<code class=\"sh\">");
		ESC(b, tmp.data);
		tkt_buf_printf(b, "</code>");
		kv_end(b);
	}
	tkt_buf_free(&tmp);
}

/* The party's Python stack: the line it was at, the whole stack folded under it. */
static void py_row(struct tkt_buf *b, const struct tkt_party *p)
{
	const struct tkt_pyframe *at = tkt_py_at_frame(p);
	char src[512];

	if (!at)
		return;
	kv_begin(b, "at");
	tkt_buf_printf(b, "<details><summary><code>");
	ESC(b, tkt_py_rel_path(p, at->file));
	tkt_buf_printf(b, at->line > 0 ? ":%d" : ":?", at->line);
	tkt_buf_printf(b, "</code>");
	if (tkt_py_source_line(p, at, src, sizeof(src)) && src[0]) {
		tkt_buf_printf(b, " <code class=\"sh\">");
		ESC(b, src);
		tkt_buf_printf(b, "</code>");
	}
	tkt_buf_printf(b, "</summary><ol class=\"top\">");
	for (uint32_t i = 0; i < p->py.nframes; i++) {
		const struct tkt_pyframe *f = &p->py.f[i];
		tkt_buf_printf(b, "<li><code>");
		ESC(b, f->file);
		tkt_buf_printf(b, f->line > 0 ? ":%d" : ":?", f->line);
		tkt_buf_printf(b, "</code> in <code>");
		ESC(b, f->func);
		tkt_buf_printf(b, "</code></li>");
	}
	tkt_buf_printf(b, "</ol></details>");
	kv_end(b);
}

static void oom_card(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_oom_rec *o,
		     size_t i)
{
	const struct tkt_blame *bl = &o->blame;
	char s1[32], s2[32];

	tkt_buf_printf(b, "<h3>OOM kill %zu of %zu at %.2f s</h3>\n<table class=\"kv\">\n", i + 1,
		       m->nooms, tkt_model_time_s(m, o->ts_ns));
	kv_begin(b, "victim");
	party_html(b, &o->victim, true);
	kv_end(b);
	if (o->victim.pid != o->trigger.pid)
		py_row(b, &o->victim);
	kv_begin(b, "trigger");
	party_html(b, &o->trigger, false);
	kv_end(b);
	py_row(b, &o->trigger);
	if (o->cgroup) {
		kv_begin(b, "cgroup");
		ESC(b, o->cgroup);
		if (o->has_limit)
			tkt_buf_printf(b, ", limit %s, usage %s", fmt_b(o->limit_bytes, s1, sizeof(s1)),
				       fmt_b(o->usage_bytes, s2, sizeof(s2)));
		else
			tkt_buf_printf(b, " (no memory limit: the whole machine ran out)");
		kv_end(b);
	}
	kv_begin(b, "why");
	tkt_buf_printf(b, "%s", tkt_oom_why(o));
	kv_end(b);
	rerun_row(b, &o->victim);
	if (o->trigger.pid != o->victim.pid && o->trigger.attr.test &&
	    (!o->victim.attr.test || strcmp(o->trigger.attr.test, o->victim.attr.test)))
		rerun_row(b, &o->trigger);
	if (bl->valid && bl->ntests) {
		kv_begin(b, "before");
		tkt_buf_printf(b, "%zu earlier test%s on this process left %s resident:<ul class=\"top\">",
			       bl->ntests, bl->ntests == 1 ? "" : "s",
			       fmt_b(bl->retained_total, s1, sizeof(s1)));
		for (size_t k = 0; k < bl->ntop; k++) {
			const struct tkt_test_rec *t = &m->tests[bl->top[k]];
			tkt_buf_printf(b, "<li>+%s <code>", fmt_b(tkt_test_retained(t), s1, sizeof(s1)));
			ESC(b, t->nodeid);
			tkt_buf_printf(b, "</code></li>");
		}
		tkt_buf_printf(b, "</ul>");
		kv_end(b);
		if (bl->running >= 0 && bl->running_growth < bl->retained_total) {
			kv_begin(b, "verdict");
			tkt_buf_printf(b, "<strong>the running test added only %s: it is probably not the "
					  "main culprit; look at what earlier tests keep (caches, fixtures, "
					  "figures)</strong>",
				       fmt_b(bl->running_growth, s1, sizeof(s1)));
			kv_end(b);
		}
	}
	if (o->has_limit && o->victim.attr.test) {
		kv_begin(b, "hint");
		if (o->limit_bytes % (1 << 20) == 0)
			snprintf(s1, sizeof(s1), "%lluM", (unsigned long long)(o->limit_bytes >> 20));
		else
			snprintf(s1, sizeof(s1), "%llu", (unsigned long long)o->limit_bytes);
		tkt_buf_printf(b, "reproduce under the same limit: <code class=\"sh\">sudo tktrace "
				  "--memory-limit %s -- &lt;rerun command&gt;</code>", s1);
		kv_end(b);
	}
	tkt_buf_printf(b, "</table>\n");
}

static void explanation(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r,
			const char *text)
{
	const char *nl = strchr(text, '\n');
	const char *head = text;
	size_t hl = nl ? (size_t)(nl - text) : strlen(text);
	bool bad = m->nooms || m->nkills || r->signaled;
	char s1[32];
	struct tkt_buf h = { 0 };

	if (strncmp(head, "tktrace: ", 9) == 0)
		head += 9, hl -= 9;
	tkt_buf_append(&h, head, hl);
	tkt_buf_printf(b, "<section class=\"card verdict%s\"><p class=\"headline\">", bad ? "" : " ok");
	ESC(b, h.data);
	tkt_buf_printf(b, "</p>\n");
	for (size_t i = 0; i < m->nooms; i++)
		oom_card(b, m, &m->ooms[i], i);
	for (size_t i = 0; i < m->nkills; i++) {
		const struct tkt_kill_rec *k = &m->kills[i];
		tkt_buf_printf(b, "<h3>SIGKILL at %.2f s from pid %u (", tkt_model_time_s(m, k->ts_ns),
			       k->sender_pid);
		ESC(b, k->sender_comm);
		tkt_buf_printf(b, ")%s</h3>\n<table class=\"kv\">", k->kernel ? ", sent by the kernel" : "");
		kv_begin(b, "target");
		party_html(b, &k->target, false);
		kv_end(b);
		py_row(b, &k->target);
		rerun_row(b, &k->target);
		tkt_buf_printf(b, "</table>\n");
	}
	if (r->kernel_drops + m->lost_events)
		tkt_buf_printf(b, "<p class=\"warn\">%llu events were lost; the report may be "
				  "incomplete.</p>\n",
			       (unsigned long long)(r->kernel_drops + m->lost_events));
	if (!bad && m->ntests) {
		uint64_t top = 0;
		size_t ti = 0;
		for (size_t i = 0; i < m->ntests; i++)
			if (tkt_test_need(&m->tests[i]) > top)
				top = tkt_test_need(&m->tests[i]), ti = i;
		tkt_buf_printf(b, "<p>Largest memory need: <code>");
		ESC(b, m->tests[ti].nodeid);
		tkt_buf_printf(b, "</code>, +%s.</p>\n", fmt_b(top, s1, sizeof(s1)));
	}
	tkt_buf_printf(b, "</section>\n");
	tkt_buf_free(&h);
}

/* ---- tables ----------------------------------------------------------------------------- */

static void td_num(struct tkt_buf *b, long long v, const char *shown)
{
	tkt_buf_printf(b, "<td class=\"n\" data-v=\"%lld\">%s</td>", v, shown);
}

static void td_bytes(struct tkt_buf *b, long long v, bool sign)
{
	char s[40];
	uint64_t mag = v < 0 ? (uint64_t)-v : (uint64_t)v;

	s[0] = v < 0 ? '-' : '+';
	tkt_fmt_bytes(mag, s + 1, sizeof(s) - 1);
	td_num(b, v, sign ? s : s + 1);
}

static void tests_table(struct tkt_buf *b, const struct tkt_model *m, double run_end)
{
	char s[32];

	tkt_buf_printf(b, "<section><h2>Tests <span class=\"muted\">(%zu; click a column to sort)"
			  "</span></h2>\n",
		       m->ntests);
	if (!m->ntests) {
		tkt_buf_printf(b, "<p class=\"muted\">No test ran under a traced pytest process.</p>"
				  "</section>\n");
		return;
	}
	tkt_buf_printf(b, "<div class=\"scroll\"><table class=\"sort\"><thead><tr>"
			  "<th class=\"n\">#</th><th>node id</th><th>worker</th><th class=\"n\">pid</th>"
			  "<th class=\"n\">start</th><th class=\"n\">duration</th>"
			  "<th class=\"n\">peak growth</th><th class=\"n\">retained</th>"
			  "<th class=\"n\">peak rss</th><th class=\"n\">children peak</th>"
			  "<th class=\"n\">faults</th><th>outcome</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < m->ntests; i++) {
		const struct tkt_test_rec *t = &m->tests[i];
		double st = tkt_model_time_s(m, t->start_ns);
		double dur = tkt_html_test_end_s(m, t, run_end) - st;

		tkt_buf_printf(b, "<tr%s>", t->outcome == TKT_OUTCOME_KILLED ? " class=\"killed\"" : "");
		snprintf(s, sizeof(s), "%zu", i + 1);
		td_num(b, (long long)i + 1, s);
		tkt_buf_printf(b, "<td class=\"id\">");
		ESC(b, t->nodeid);
		tkt_buf_printf(b, "</td><td>");
		ESC(b, t->worker ? t->worker : "");
		tkt_buf_printf(b, "</td>");
		snprintf(s, sizeof(s), "%u", t->pid);
		td_num(b, t->pid, s);
		snprintf(s, sizeof(s), "%.2f s", st);
		td_num(b, (long long)(st * 1000), s);
		snprintf(s, sizeof(s), "%.2f s", dur < 0 ? 0 : dur);
		td_num(b, (long long)(dur * 1000), s);
		td_bytes(b, (long long)tkt_test_growth(t), true);
		if (t->ended)
			td_bytes(b, tkt_test_retained(t), true);
		else
			tkt_buf_printf(b, "<td class=\"n\" data-v=\"-9e18\">-</td>");
		td_bytes(b, (long long)t->peak, false);
		if (t->children_peak)
			td_bytes(b, (long long)t->children_peak, false);
		else
			td_num(b, 0, "-");
		snprintf(s, sizeof(s), "%llu", (unsigned long long)t->faults);
		td_num(b, (long long)t->faults, s);
		tkt_buf_printf(b, "<td>%s</td></tr>\n", tkt_outcome_name(t->outcome));
	}
	tkt_buf_printf(b, "</tbody></table></div></section>\n");
}

static void party_cells(struct tkt_buf *b, const struct tkt_party *p)
{
	const char *ph = tkt_phase_name(p->attr.phase);

	tkt_buf_printf(b, "<td class=\"n\" data-v=\"%u\">%u</td><td>", p->pid, p->pid);
	ESC(b, p->comm);
	tkt_buf_printf(b, "</td><td class=\"id\">");
	ESC(b, p->attr.test ? p->attr.test : "");
	tkt_buf_printf(b, "</td><td>%s</td><td>", ph ? ph : "");
	ESC(b, p->attr.worker ? p->attr.worker : "");
	tkt_buf_printf(b, "</td>");
	td_bytes(b, (long long)p->rss_bytes, false);
}

static void kills_table(struct tkt_buf *b, const struct tkt_model *m)
{
	char s[32];

	tkt_buf_printf(b, "<section><h2>Processes killed</h2>\n");
	if (!m->nooms && !m->nkills) {
		tkt_buf_printf(b, "<p class=\"muted\">None.</p></section>\n");
		return;
	}
	tkt_buf_printf(b, "<div class=\"scroll\"><table class=\"sort\"><thead><tr><th class=\"n\">time</th>"
			  "<th>kind</th><th class=\"n\">pid</th><th>comm</th><th>test</th><th>phase</th>"
			  "<th>worker</th><th class=\"n\">rss</th><th>by</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < m->nooms; i++) {
		const struct tkt_oom_rec *o = &m->ooms[i];
		double t = tkt_model_time_s(m, o->ts_ns);
		snprintf(s, sizeof(s), "%.2f s", t);
		tkt_buf_printf(b, "<tr>");
		td_num(b, (long long)(t * 1000), s);
		tkt_buf_printf(b, "<td>OOM kill</td>");
		party_cells(b, &o->victim);
		tkt_buf_printf(b, "<td>trigger pid %u (", o->trigger.pid);
		ESC(b, o->trigger.comm);
		tkt_buf_printf(b, ")</td></tr>\n");
	}
	for (size_t i = 0; i < m->nkills; i++) {
		const struct tkt_kill_rec *k = &m->kills[i];
		double t = tkt_model_time_s(m, k->ts_ns);
		snprintf(s, sizeof(s), "%.2f s", t);
		tkt_buf_printf(b, "<tr>");
		td_num(b, (long long)(t * 1000), s);
		tkt_buf_printf(b, "<td>SIGKILL</td>");
		party_cells(b, &k->target);
		tkt_buf_printf(b, "<td>pid %u (", k->sender_pid);
		ESC(b, k->sender_comm);
		tkt_buf_printf(b, ")%s</td></tr>\n", k->kernel ? ", the kernel" : "");
	}
	tkt_buf_printf(b, "</tbody></table></div></section>\n");
}

static void run_facts(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r)
{
	struct tkt_buf cmd = { 0 };
	char s1[32];

	for (int i = 0; i < r->argc; i++) {
		if (i)
			tkt_buf_append(&cmd, " ", 1);
		tkt_shell_quote(&cmd, r->argv[i]);
	}
	tkt_buf_printf(b, "<section><h2>Run</h2><table class=\"kv card\">\n");
	kv_begin(b, "command");
	tkt_buf_printf(b, "<code class=\"sh\">");
	ESC(b, cmd.data ? cmd.data : "");
	tkt_buf_printf(b, "</code>");
	kv_end(b);
	kv_begin(b, "pid");
	tkt_buf_printf(b, "%u", m->o.root_pid);
	kv_end(b);
	kv_begin(b, "duration");
	tkt_buf_printf(b, "%.2f s", r->duration_s);
	kv_end(b);
	kv_begin(b, "exit status");
	tkt_buf_printf(b, "%d (%s", r->exit_code, tkt_cause_name(tkt_report_cause(m, r)));
	if (r->signaled)
		tkt_buf_printf(b, ", signal %d", r->sig);
	tkt_buf_printf(b, ")");
	kv_end(b);
	if (r->memory_limit) {
		kv_begin(b, "--memory-limit");
		ESC(b, r->memory_limit);
		kv_end(b);
	}
	if (m->cg_path) {
		kv_begin(b, "memory cgroup");
		ESC(b, m->cg_path);
		if (m->cg_has_limit)
			tkt_buf_printf(b, ", limit %s", fmt_b(m->cg_limit, s1, sizeof(s1)));
		tkt_buf_printf(b, ", peak usage %s", fmt_b(m->cg_peak, s1, sizeof(s1)));
		kv_end(b);
	}
	kv_begin(b, "processes traced");
	tkt_buf_printf(b, "%zu", m->procs_seen);
	kv_end(b);
	kv_begin(b, "tests seen");
	tkt_buf_printf(b, "%zu", m->tests_seen);
	kv_end(b);
	kv_begin(b, "lost events");
	tkt_buf_printf(b, "%llu%s", (unsigned long long)(r->kernel_drops + m->lost_events),
		       r->kernel_drops + m->lost_events ? " (the report may be incomplete)" :
							  " (complete)");
	kv_end(b);
	tkt_buf_printf(b, "</table></section>\n");
	tkt_buf_free(&cmd);
}

int tkt_report_html(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r)
{
	struct tkt_buf text = { 0 }, cmd = { 0 };
	double run_end = r->duration_s;

	if (tkt_model_time_s(m, m->last_ns) > run_end)
		run_end = tkt_model_time_s(m, m->last_ns);
	for (int i = 0; i < r->argc; i++) {
		if (i)
			tkt_buf_append(&cmd, " ", 1);
		tkt_shell_quote(&cmd, r->argv[i]);
	}
	tkt_report_text(&text, m, r, false);
	tkt_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
			  "<title>tktrace: ");
	tkt_html_escape(b, cmd.data ? cmd.data : "", 80);
	tkt_buf_printf(b, "</title>\n<style>%s</style></head>\n<body><main>\n", tkt_html_css);
	tkt_buf_printf(b, "<header><h1>tktrace report</h1><p class=\"cmd\"><code>");
	ESC(b, cmd.data ? cmd.data : "");
	tkt_buf_printf(b, "</code> &middot; %.2f s &middot; exit %d</p></header>\n", r->duration_s,
		       r->exit_code);
	explanation(b, m, r, text.data ? text.data : "");
	tkt_html_timelines(b, m, r);
	tests_table(b, m, run_end);
	kills_table(b, m);
	run_facts(b, m, r);
	tkt_buf_printf(b, "<details><summary>The text report</summary><pre>");
	ESC(b, text.data ? text.data : "");
	tkt_buf_printf(b, "</pre></details>\n<footer>tktrace %s</footer>\n</main>\n<script>%s</script>"
			  "\n</body></html>\n",
		       TKT_VERSION, tkt_html_js);
	tkt_buf_free(&text);
	tkt_buf_free(&cmd);
	return 0;
}
