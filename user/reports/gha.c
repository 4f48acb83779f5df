/* GitHub Actions output: ::error workflow commands at the guilty tests' def lines, and a
 * Markdown job summary. Pure: model in, text out (source lines come through a callback). */
#define _GNU_SOURCE
#include "gha.h"
#include "core/pyargs.h"
#include "core/warn.h"
#include "pyreport.h"

#include <stdlib.h>
#include <string.h>

static void put(struct tkt_buf *b, const char *s)
{
	tkt_buf_append(b, s, strlen(s));
}

void tkt_gha_escape(struct tkt_buf *b, const char *s, bool property)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '%':
			put(b, "%25");
			break;
		case '\r':
			put(b, "%0D");
			break;
		case '\n':
			put(b, "%0A");
			break;
		case ':':
			tkt_buf_append(b, property ? "%3A" : ":", property ? 3 : 1);
			break;
		case ',':
			tkt_buf_append(b, property ? "%2C" : ",", property ? 3 : 1);
			break;
		default:
			tkt_buf_append(b, s, 1);
		}
	}
}

/* Lexically normalise a path in place: "/a/./b/../c" -> "/a/c" (leading ".." of a relative
 * path are kept). */
static void normalise(char *p)
{
	bool abs = p[0] == '/';
	char *src = strdup(p), *save = NULL, *seg;
	size_t keep = 0, lead = 0; /* kept segments; of them, leading ".." */
	char *out = p;

	if (!src)
		return;
	if (abs)
		*out++ = '/';
	for (seg = strtok_r(src, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0 && keep > lead) {
			/* back to just after the previous '/' (or the start) */
			out--;
			while (out > p && out[-1] != '/')
				out--;
			if (out > p + abs)
				out--;
			keep--;
			continue;
		}
		if (strcmp(seg, "..") == 0 && abs)
			continue; /* "/.." is "/" */
		if (keep)
			*out++ = '/';
		memmove(out, seg, strlen(seg));
		out += strlen(seg);
		keep++;
		if (strcmp(seg, "..") == 0)
			lead++;
	}
	*out = '\0';
	free(src);
}

void tkt_gha_file(struct tkt_buf *b, const char *cwd, const char *pyargs, const char *nodeid,
		  const char *workspace)
{
	struct tkt_buf full = { 0 };
	size_t wl;

	tkt_test_file(&full, cwd, pyargs, nodeid);
	if (!full.data) {
		tkt_buf_free(&full);
		return;
	}
	normalise(full.data);
	full.len = strlen(full.data);
	wl = workspace ? strlen(workspace) : 0;
	while (wl > 1 && workspace[wl - 1] == '/')
		wl--;
	if (wl == 1 && workspace[0] == '/' && full.data[0] == '/' && full.len > 1)
		tkt_buf_append(b, full.data + 1, full.len - 1);
	else if (wl && full.data[0] == '/' && strncmp(full.data, workspace, wl) == 0 &&
	    full.data[wl] == '/')
		tkt_buf_append(b, full.data + wl + 1, full.len - wl - 1);
	else
		tkt_buf_append(b, full.data, full.len);
	tkt_buf_free(&full);
}

/* "::error file=F,line=L,title=T::" for a test (without file when its place is unknown): at
 * the line its Python stack was at when one was taken in the project's files, else at the
 * test's def line. */
static void command_start(struct tkt_buf *b, const char *level, const char *cwd,
			  const char *pyargs, const char *test, const char *title,
			  const struct tkt_gha_opts *o, const struct tkt_party *p)
{
	const struct tkt_pyframe *at = p ? tkt_py_at_frame(p) : NULL;
	unsigned line;
	bool sep = false;

	if (at && at->line > 0 && at->file[0] == '/' && cwd &&
	    tkt_py_rel_path(p, at->file) != at->file) {
		struct tkt_buf f = { 0 };
		tkt_buf_printf(b, "::%s file=", level);
		tkt_gha_file(&f, NULL, NULL, at->file, o->workspace);
		tkt_gha_escape(b, f.data, true);
		tkt_buf_free(&f);
		tkt_buf_printf(b, ",line=%d,title=", at->line);
		tkt_gha_escape(b, title, true);
		put(b, "::");
		return;
	}
	line = test && o->def_line ? o->def_line(cwd, pyargs, test) : 0;
	tkt_buf_printf(b, "::%s ", level);
	if (test && strstr(test, "::")) {
		struct tkt_buf f = { 0 };
		tkt_gha_file(&f, cwd, pyargs, test, o->workspace);
		put(b, "file=");
		tkt_gha_escape(b, f.data, true);
		tkt_buf_free(&f);
		if (line)
			tkt_buf_printf(b, ",line=%u", line);
		sep = true;
	}
	if (sep)
		put(b, ",");
	put(b, "title=");
	tkt_gha_escape(b, title, true);
	put(b, "::");
}

static void party_where(struct tkt_buf *b, const struct tkt_party *p)
{
	const char *ph = tkt_phase_name(p->attr.phase);
	char s[32];

	tkt_buf_printf(b, "pid %u (%s)", p->pid, p->comm);
	if (p->attr.worker)
		tkt_buf_printf(b, " on worker %s", p->attr.worker);
	if (ph)
		tkt_buf_printf(b, " in its %s phase", ph);
	tkt_buf_printf(b, ", rss %s", tkt_fmt_bytes(p->rss_bytes, s, sizeof(s)));
}

static bool same_test(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void oom_annotations(struct tkt_buf *b, const struct tkt_model *m,
			    const struct tkt_oom_rec *oom, const struct tkt_gha_opts *o)
{
	const struct tkt_party *v = &oom->victim, *t = &oom->trigger;
	struct tkt_buf msg = { 0 }, tmp = { 0 };
	char s1[32], s2[32];
	bool other_trigger = t->pid != v->pid && t->attr.test && !same_test(t->attr.test, v->attr.test);

	if (v->attr.test)
		tkt_buf_printf(&msg, "Test %s was killed by the OOM killer: ", v->attr.test);
	else
		tkt_buf_printf(&msg, "A process outside any test was killed by the OOM killer: ");
	party_where(&msg, v);
	if (oom->has_limit)
		tkt_buf_printf(&msg, "; memory cgroup limit %s",
			       tkt_fmt_bytes(oom->limit_bytes, s1, sizeof(s1)));
	tkt_buf_append(&msg, ".\n", 2);
	if (v->pid == t->pid)
		tkt_buf_printf(&msg, "Its own allocation hit the limit.\n");
	else if (t->attr.test)
		tkt_buf_printf(&msg, "The allocation that hit the limit came from test %s (pid %u); "
				     "the victim was killed for being the largest.\n",
			       t->attr.test, t->pid);
	else
		tkt_buf_printf(&msg, "The allocation that hit the limit came from pid %u (%s); the "
				     "victim was killed for being the largest.\n",
			       t->pid, t->comm);
	if (oom->blame.valid && oom->blame.running >= 0 && oom->blame.ntop &&
	    oom->blame.running_growth < oom->blame.retained_total)
		tkt_buf_printf(&msg, "The running test added only %s; %zu earlier tests on this "
				     "process left %s resident (largest: %s).\n",
			       tkt_fmt_bytes(oom->blame.running_growth, s1, sizeof(s1)),
			       oom->blame.ntests,
			       tkt_fmt_bytes(oom->blame.retained_total, s2, sizeof(s2)),
			       m->tests[oom->blame.top[0]].nodeid);
	if (tkt_rerun_command(&tmp, v))
		tkt_buf_printf(&msg, "Rerun: %s", tmp.data);
	command_start(b, "error", v->cwd, v->pyargs, v->attr.test,
		      v->attr.test ? "tktrace: test OOM-killed" : "tktrace: OOM kill", o, v);
	tkt_gha_escape(b, msg.data, false);
	put(b, "\n");

	if (other_trigger) {
		tkt_buf_reset(&msg);
		tkt_buf_printf(&msg, "Test %s made the allocation that hit the memory limit; the OOM "
				     "killer then killed %s (",
			       t->attr.test, v->attr.test ? v->attr.test : v->comm);
		party_where(&msg, v);
		tkt_buf_append(&msg, ").\n", 3);
		party_where(&msg, t);
		tkt_buf_reset(&tmp);
		if (tkt_rerun_command(&tmp, t))
			tkt_buf_printf(&msg, ".\nRerun: %s", tmp.data);
		command_start(b, "error", t->cwd, t->pyargs, t->attr.test,
			      "tktrace: allocation hit the limit", o, t);
		tkt_gha_escape(b, msg.data, false);
		put(b, "\n");
	}
	if (oom->blame.valid && oom->blame.running >= 0 && oom->blame.ntop &&
	    oom->blame.running_growth < oom->blame.retained_total) {
		const struct tkt_test_rec *r = &m->tests[oom->blame.top[0]];
		tkt_buf_reset(&msg);
		tkt_buf_printf(&msg, "Test %s left %s resident on its worker", r->nodeid,
			       tkt_fmt_bytes((uint64_t)tkt_test_retained(r), s1, sizeof(s1)));
		tkt_buf_printf(&msg, " before %s was OOM-killed there: look at what it keeps "
				     "(caches, fixtures, figures).",
			       v->attr.test ? v->attr.test : v->comm);
		command_start(b, "warning", r->cwd, r->pyargs, r->nodeid,
			      "tktrace: memory left behind", o, NULL);
		tkt_gha_escape(b, msg.data, false);
		put(b, "\n");
	}
	tkt_buf_free(&msg);
	tkt_buf_free(&tmp);
}

int tkt_gha_annotations(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r,
			const struct tkt_gha_opts *o)
{
	struct tkt_buf msg = { 0 };
	char s1[32], s2[32];

	(void)r;
	for (size_t i = 0; i < m->nooms; i++)
		oom_annotations(b, m, &m->ooms[i], o);
	for (size_t i = 0; i < m->nkills; i++) {
		const struct tkt_kill_rec *k = &m->kills[i];
		if (!tkt_kill_fails_test(k))
			continue;
		tkt_buf_reset(&msg);
		if (k->target.attr.test)
			tkt_buf_printf(&msg, "Test %s was killed by SIGKILL from pid %u (%s)%s: ",
				       k->target.attr.test, k->sender_pid, k->sender_comm,
				       k->kernel ? ", sent by the kernel" : "");
		else
			tkt_buf_printf(&msg, "SIGKILL from pid %u (%s)%s: ", k->sender_pid,
				       k->sender_comm, k->kernel ? ", sent by the kernel" : "");
		party_where(&msg, &k->target);
		tkt_buf_append(&msg, ".", 1);
		command_start(b, "error", k->target.cwd, k->target.pyargs, k->target.attr.test,
			      "tktrace: SIGKILL", o, &k->target);
		tkt_gha_escape(b, msg.data, false);
		put(b, "\n");
	}
	for (size_t i = 0; i < m->nwarnings; i++) {
		const struct tkt_warning *w = &m->warnings[i];
		tkt_buf_reset(&msg);
		tkt_buf_printf(&msg, "Memory cgroup at %s of its %s limit at %.2f s; running:",
			       tkt_fmt_bytes(w->usage, s1, sizeof(s1)),
			       tkt_fmt_bytes(w->limit, s2, sizeof(s2)), tkt_model_time_s(m, w->ts_ns));
		for (size_t j = 0; j < w->nres; j++)
			tkt_buf_printf(&msg, "%s %s", j ? "," : "",
				       w->res[j].test ? w->res[j].test : "(no test)");
		if (!w->nres)
			tkt_buf_append(&msg, " no test", 8);
		command_start(b, "warning", NULL, NULL, NULL, "tktrace: memory limit nearly reached", o,
			      NULL);
		tkt_gha_escape(b, msg.data, false);
		put(b, "\n");
	}
	tkt_buf_free(&msg);
	return 0;
}

/* `text` as a Markdown code span inside a table cell: no pipes, backticks or newlines. */
static void md_code(struct tkt_buf *b, const char *s)
{
	put(b, "`");
	for (; s && *s; s++) {
		if (*s == '|')
			put(b, "\\|");
		else if (*s == '`')
			put(b, "'");
		else if (*s == '\n' || *s == '\r')
			put(b, " ");
		else
			tkt_buf_append(b, s, 1);
	}
	put(b, "`");
}

static void md_party_row(struct tkt_buf *b, const char *label, const struct tkt_party *p)
{
	const char *ph = tkt_phase_name(p->attr.phase);
	char s[32];

	tkt_buf_printf(b, "| %s | ", label);
	if (p->attr.test)
		md_code(b, p->attr.test);
	else
		put(b, p->known ? "(no test running)" : "(not traced)");
	tkt_buf_printf(b, " | %s | %s | %u | ", ph ? ph : "-", p->attr.worker ? p->attr.worker : "-",
		       p->pid);
	md_code(b, p->comm);
	tkt_buf_printf(b, " | %s |\n", tkt_fmt_bytes(p->rss_bytes, s, sizeof(s)));
}

static int cmp_need(const void *a, const void *b, void *arg)
{
	const struct tkt_model *m = arg;
	uint64_t x = tkt_test_need(&m->tests[*(const size_t *)a]);
	uint64_t y = tkt_test_need(&m->tests[*(const size_t *)b]);

	if (x != y)
		return x < y ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static void md_top_tests(struct tkt_buf *b, const struct tkt_model *m, int top)
{
	size_t *idx, shown;
	char g[32], p[32], r[32];

	if (top <= 0 || m->ntests == 0 || !(idx = malloc(m->ntests * sizeof(*idx))))
		return;
	for (size_t i = 0; i < m->ntests; i++)
		idx[i] = i;
	qsort_r(idx, m->ntests, sizeof(*idx), cmp_need, (void *)m);
	shown = (size_t)top < m->ntests ? (size_t)top : m->ntests;
	tkt_buf_printf(b, "\n#### Tests by memory needed (top %zu of %zu)\n\n"
			  "| test | worker | growth | retained | peak rss | outcome |\n"
			  "|---|---|---:|---:|---:|---|\n",
		       shown, m->ntests);
	for (size_t i = 0; i < shown; i++) {
		const struct tkt_test_rec *t = &m->tests[idx[i]];
		int64_t ret = tkt_test_retained(t);
		put(b, "| ");
		md_code(b, t->nodeid);
		tkt_fmt_bytes(tkt_test_need(t), g, sizeof(g));
		tkt_fmt_bytes(t->peak, p, sizeof(p));
		if (t->ended) {
			r[0] = ret < 0 ? '-' : '+';
			tkt_fmt_bytes(ret < 0 ? (uint64_t)-ret : (uint64_t)ret, r + 1, sizeof(r) - 1);
		} else {
			snprintf(r, sizeof(r), "-");
		}
		tkt_buf_printf(b, " | %s | +%s | %s | %s | %s |\n", t->worker ? t->worker : "-", g, r,
			       p, tkt_outcome_name(t->outcome));
	}
	free(idx);
}

int tkt_gha_summary(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r,
		    const struct tkt_gha_opts *o)
{
	struct tkt_buf tmp = { 0 };
	char s1[32], s2[32];
	const char *head, *nl;

	/* The headline of the text report, without its "tktrace: " prefix. */
	tkt_report_text(&tmp, m, r, false);
	head = tmp.data ? tmp.data : "";
	if (strncmp(head, "tktrace: ", 9) == 0)
		head += 9;
	nl = strchr(head, '\n');
	put(b, "### tktrace: ");
	tkt_buf_append(b, head, nl ? (size_t)(nl - head) : strlen(head));
	put(b, "\n");
	for (size_t i = 0; i < m->nooms; i++) {
		const struct tkt_oom_rec *oom = &m->ooms[i];
		const struct tkt_blame *bl = &oom->blame;
		tkt_buf_printf(b, "\n#### OOM kill %zu of %zu at %.2f s\n\n", i + 1, m->nooms,
			       tkt_model_time_s(m, oom->ts_ns));
		put(b, "| | test | phase | worker | pid | comm | rss |\n"
				  "|---|---|---|---|---:|---|---:|\n");
		md_party_row(b, "victim", &oom->victim);
		md_party_row(b, "trigger", &oom->trigger);
		put(b, "\n");
		if (oom->cgroup && oom->has_limit)
			tkt_buf_printf(b, "Memory cgroup `%s`: limit %s, usage %s.\n", oom->cgroup,
				       tkt_fmt_bytes(oom->limit_bytes, s1, sizeof(s1)),
				       tkt_fmt_bytes(oom->usage_bytes, s2, sizeof(s2)));
		else if (oom->cgroup)
			tkt_buf_printf(b, "Memory cgroup `%s` has no limit: the whole machine ran out.\n",
				       oom->cgroup);
		if (oom->victim.pid == oom->trigger.pid)
			put(b, "**Why:** the victim's own allocation hit the limit.\n");
		else
			put(b, "**Why:** the trigger's allocation hit the limit; the victim "
					  "was killed for being the largest.\n");
		if (bl->valid && bl->ntests) {
			tkt_buf_printf(b, "**Before:** %zu earlier test%s on this process left %s resident",
				       bl->ntests, bl->ntests == 1 ? "" : "s",
				       tkt_fmt_bytes(bl->retained_total, s1, sizeof(s1)));
			if (bl->ntop) {
				put(b, "; largest ");
				md_code(b, m->tests[bl->top[0]].nodeid);
				tkt_buf_printf(b, " +%s",
					       tkt_fmt_bytes((uint64_t)tkt_test_retained(&m->tests[bl->top[0]]),
							     s2, sizeof(s2)));
			}
			put(b, ".\n");
			if (bl->running >= 0 && bl->running_growth < bl->retained_total)
				tkt_buf_printf(b, "**Verdict:** the running test added only %s: it is "
						  "probably not the main culprit.\n",
					       tkt_fmt_bytes(bl->running_growth, s1, sizeof(s1)));
		}
		tkt_buf_reset(&tmp);
		if (tkt_rerun_command(&tmp, &oom->victim))
			tkt_buf_printf(b, "\nRerun the victim:\n\n```sh\n%s\n```\n", tmp.data);
	}
	for (size_t i = 0; i < m->nkills; i++) {
		const struct tkt_kill_rec *k = &m->kills[i];
		/* Listed, but not as a failure: a test may kill its own subprocess. */
		tkt_buf_printf(b, "\n#### SIGKILL%s at %.2f s from pid %u ",
			       tkt_kill_fails_test(k) ? "" : " of a test's subprocess",
			       tkt_model_time_s(m, k->ts_ns), k->sender_pid);
		md_code(b, k->sender_comm);
		tkt_buf_printf(b, "%s\n\n| | test | phase | worker | pid | comm | rss |\n"
				  "|---|---|---|---|---:|---|---:|\n",
			       k->kernel ? " (the kernel)" : "");
		md_party_row(b, "target", &k->target);
	}
	if (m->nwarnings) {
		put(b, "\n#### Memory limit nearly reached\n");
		for (size_t i = 0; i < m->nwarnings; i++) {
			const struct tkt_warning *w = &m->warnings[i];
			tkt_buf_printf(b, "\nAt %.2f s the memory cgroup used %s of %s. Running then:\n\n",
				       tkt_model_time_s(m, w->ts_ns),
				       tkt_fmt_bytes(w->usage, s1, sizeof(s1)),
				       tkt_fmt_bytes(w->limit, s2, sizeof(s2)));
			for (size_t j = 0; j < w->nres; j++) {
				const struct tkt_resident *res = &w->res[j];
				const char *ph = tkt_phase_name(res->phase);
				tkt_buf_printf(b, "- pid %u%s%s: ", res->pid, res->worker ? " worker " : "",
					       res->worker ? res->worker : "");
				if (res->test)
					md_code(b, res->test);
				else
					put(b, "no test");
				tkt_buf_printf(b, " [%s]\n", ph ? ph : "-");
			}
			if (w->more)
				tkt_buf_printf(b, "- and %zu more processes\n", w->more);
		}
	}
	md_top_tests(b, m, o->top);
	tkt_buf_free(&tmp);
	return 0;
}
