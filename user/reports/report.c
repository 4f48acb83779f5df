/* Report rendering: the JSON contract and the human summary on stderr. */
#define _GNU_SOURCE
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "core/pyargs.h"
#include "pyreport.h"

const char *tkt_cause_name(enum tkt_cause c)
{
	switch (c) {
	case TKT_CAUSE_OOM:
		return "oom-kill";
	case TKT_CAUSE_SIGKILL:
		return "sigkill";
	case TKT_CAUSE_SIGNAL:
		return "signal";
	default:
		return "exit";
	}
}

int tkt_shell_status(bool signaled, int sig, int status)
{
	return signaled ? 128 + sig : status;
}

static const struct tkt_oom_rec *root_oom(const struct tkt_model *m)
{
	for (size_t i = 0; i < m->nooms; i++)
		if (m->ooms[i].victim.pid == m->o.root_pid)
			return &m->ooms[i];
	return NULL;
}

static const struct tkt_kill_rec *root_kill(const struct tkt_model *m)
{
	const struct tkt_kill_rec *k = NULL;

	for (size_t i = 0; i < m->nkills; i++)
		if (m->kills[i].target.pid == m->o.root_pid)
			k = &m->kills[i];
	return k;
}

enum tkt_cause tkt_report_cause(const struct tkt_model *m, const struct tkt_run *r)
{
	if (!r->signaled)
		return TKT_CAUSE_EXIT;
	if (r->sig != 9)
		return TKT_CAUSE_SIGNAL;
	return root_oom(m) ? TKT_CAUSE_OOM : TKT_CAUSE_SIGKILL;
}

const char *tkt_oom_why(const struct tkt_oom_rec *o)
{
	if (o->victim.pid == o->trigger.pid)
		return "the victim's own allocation hit the limit";
	if (o->trigger.attr.test && o->victim.attr.test &&
	    strcmp(o->trigger.attr.test, o->victim.attr.test) != 0)
		return "the trigger's allocation hit the limit; the victim was killed for being the "
		       "largest: both tests share the memory";
	return "the trigger's allocation hit the limit; the victim was killed for being the largest";
}

bool tkt_rerun_command(struct tkt_buf *out, const struct tkt_party *p)
{
	struct tkt_buf spec = { 0 };
	const char *cmd = p->pytest_cmd ? p->pytest_cmd : "python3 -m pytest";

	if (!p->attr.test)
		return false;
	if (p->cwd) {
		tkt_buf_append(out, "cd ", 3);
		tkt_shell_quote(out, p->cwd);
		tkt_buf_append(out, " && ", 4);
	}
	/* --pyargs: the node id is relative to a package that Python finds; rerun it the same
	 * way from the same directory (same rootdir, conftest and caches as the run). */
	if (p->pyargs && tkt_pyargs_spec(p->pyargs, p->attr.test, &spec)) {
		tkt_buf_printf(out, "%s --pyargs ", cmd);
		tkt_shell_quote(out, spec.data);
	} else {
		tkt_buf_printf(out, "%s ", cmd);
		tkt_shell_quote(out, p->attr.test);
	}
	tkt_buf_free(&spec);
	return true;
}

uint64_t tkt_test_need(const struct tkt_test_rec *t)
{
	uint64_t g = tkt_test_growth(t);

	return t->children_peak > g ? t->children_peak : g;
}

static void json_test_fields(struct tkt_json *j, const struct tkt_model *m,
			     const struct tkt_test_rec *t)
{
	tkt_json_str(j, "nodeid", t->nodeid);
	tkt_json_str(j, "worker", t->worker);
	tkt_json_double(j, "duration_s",
			t->ended || t->end_ns ? (double)(t->end_ns - t->start_ns) / 1e9 :
				   tkt_model_time_s(m, m->last_ns) - tkt_model_time_s(m, t->start_ns),
			3);
	tkt_json_uint(j, "peak_rss_bytes", t->peak);
	tkt_json_uint(j, "peak_growth_bytes", tkt_test_growth(t));
	if (t->ended)
		tkt_json_int(j, "retained_bytes", tkt_test_retained(t));
	else
		tkt_json_null(j, "retained_bytes");
	tkt_json_uint(j, "children_peak_rss_bytes", t->children_peak);
}

static void json_test(struct tkt_json *j, const struct tkt_model *m, const struct tkt_test_rec *t)
{
	tkt_json_obj_begin(j, NULL);
	json_test_fields(j, m, t);
	tkt_json_uint(j, "pid", t->pid);
	tkt_json_uint(j, "rss_start_bytes", t->rss_start);
	if (t->ended)
		tkt_json_uint(j, "rss_end_bytes", t->rss_end);
	else
		tkt_json_null(j, "rss_end_bytes");
	tkt_json_uint(j, "page_faults", t->faults);
	tkt_json_uint(j, "mmap_bytes", t->mmap_bytes);
	tkt_json_str(j, "outcome", tkt_outcome_name(t->outcome));
	tkt_json_obj_end(j);
}

static void json_blame(struct tkt_json *j, const struct tkt_model *m, const struct tkt_blame *b)
{
	if (!b->valid) {
		tkt_json_null(j, "blame");
		return;
	}
	tkt_json_obj_begin(j, "blame");
	tkt_json_uint(j, "pid", b->pid);
	tkt_json_str(j, "running_test",
		     b->running >= 0 ? m->tests[b->running].nodeid : NULL);
	tkt_json_uint(j, "running_test_growth_bytes", b->running_growth);
	tkt_json_uint(j, "retained_tests", b->ntests);
	tkt_json_uint(j, "retained_total_bytes", b->retained_total);
	if (b->running >= 0)
		tkt_json_bool(j, "running_test_is_main_culprit", b->running_growth >= b->retained_total);
	else
		tkt_json_null(j, "running_test_is_main_culprit");
	tkt_json_arr_begin(j, "largest_retained");
	for (size_t i = 0; i < b->ntop; i++) {
		const struct tkt_test_rec *t = &m->tests[b->top[i]];
		tkt_json_obj_begin(j, NULL);
		tkt_json_str(j, "nodeid", t->nodeid);
		tkt_json_int(j, "retained_bytes", tkt_test_retained(t));
		tkt_json_obj_end(j);
	}
	tkt_json_arr_end(j);
	tkt_json_obj_end(j);
}

static void json_party(struct tkt_json *j, const struct tkt_model *m, const char *key,
		       const struct tkt_party *p)
{
	tkt_json_obj_begin(j, key);
	tkt_json_uint(j, "pid", p->pid);
	tkt_json_str(j, "comm", p->comm);
	tkt_json_str(j, "test", p->attr.test);
	tkt_json_str(j, "phase", tkt_phase_name(p->attr.phase));
	tkt_json_str(j, "worker", p->attr.worker);
	tkt_json_uint(j, "rss_bytes", p->rss_bytes);
	tkt_json_bool(j, "traced", p->known);
	tkt_py_json(j, m, p);
	tkt_json_obj_end(j);
}

/* --warn-at crossings: when, how full, and which tests were resident. */
static void json_warnings(struct tkt_json *j, const struct tkt_model *m)
{
	tkt_json_arr_begin(j, "warnings");
	for (size_t i = 0; i < m->nwarnings; i++) {
		const struct tkt_warning *w = &m->warnings[i];
		tkt_json_obj_begin(j, NULL);
		tkt_json_double(j, "time_s", tkt_model_time_s(m, w->ts_ns), 3);
		tkt_json_uint(j, "threshold_percent", w->pct);
		tkt_json_uint(j, "usage_bytes", w->usage);
		tkt_json_uint(j, "limit_bytes", w->limit);
		tkt_json_arr_begin(j, "running");
		for (size_t k = 0; k < w->nres; k++) {
			tkt_json_obj_begin(j, NULL);
			tkt_json_uint(j, "pid", w->res[k].pid);
			tkt_json_str(j, "worker", w->res[k].worker);
			tkt_json_str(j, "test", w->res[k].test);
			tkt_json_str(j, "phase", tkt_phase_name(w->res[k].phase));
			tkt_json_obj_end(j);
		}
		tkt_json_arr_end(j);
		tkt_json_uint(j, "more_processes", w->more);
		tkt_json_obj_end(j);
	}
	tkt_json_arr_end(j);
}

int tkt_report_json(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r)
{
	struct tkt_json j;
	struct tkt_buf tmp = { 0 };

	tkt_json_init(&j, out, true);
	tkt_json_obj_begin(&j, NULL);
	tkt_json_int(&j, "format_version", 1);
	tkt_json_arr_begin(&j, "command");
	for (int i = 0; i < r->argc; i++)
		tkt_json_str(&j, NULL, r->argv[i]);
	tkt_json_arr_end(&j);
	if (r->cut) { /* how it ended is not known */
		tkt_json_null(&j, "exit_code");
		tkt_json_null(&j, "cause");
	} else {
		tkt_json_int(&j, "exit_code", r->exit_code);
		tkt_json_str(&j, "cause", tkt_cause_name(tkt_report_cause(m, r)));
	}
	if (r->signaled)
		tkt_json_int(&j, "signal", r->sig);
	else
		tkt_json_null(&j, "signal");
	tkt_json_uint(&j, "pid", m->o.root_pid);
	tkt_json_double(&j, "duration_s", r->duration_s, 3);
	if (r->cut)
		tkt_json_double(&j, "recording_cut_at_s", r->duration_s, 3);
	tkt_json_arr_begin(&j, "oom_kills");
	for (size_t i = 0; i < m->nooms; i++) {
		const struct tkt_oom_rec *o = &m->ooms[i];
		tkt_json_obj_begin(&j, NULL);
		tkt_json_double(&j, "time_s", tkt_model_time_s(m, o->ts_ns), 6);
		json_party(&j, m, "victim", &o->victim);
		json_party(&j, m, "trigger", &o->trigger);
		tkt_json_str(&j, "cgroup", o->cgroup);
		if (o->has_limit)
			tkt_json_uint(&j, "limit_bytes", o->limit_bytes);
		else
			tkt_json_null(&j, "limit_bytes");
		tkt_json_uint(&j, "cgroup_usage_bytes", o->usage_bytes);
		tkt_json_obj_begin(&j, "victim_rss");
		tkt_json_uint(&j, "anon_bytes", o->victim.anon_bytes);
		tkt_json_uint(&j, "file_bytes", o->victim.file_bytes);
		tkt_json_uint(&j, "shmem_bytes", o->victim.shmem_bytes);
		tkt_json_obj_end(&j);
		tkt_json_int(&j, "oom_score_adj", o->oom_score_adj);
		json_blame(&j, m, &o->blame);
		tkt_buf_reset(&tmp);
		if (tkt_rerun_command(&tmp, &o->victim))
			tkt_json_str(&j, "rerun", tmp.data);
		else
			tkt_json_null(&j, "rerun");
		tkt_json_obj_end(&j);
	}
	tkt_json_arr_end(&j);
	tkt_json_arr_begin(&j, "kills");
	for (size_t i = 0; i < m->nkills; i++) {
		const struct tkt_kill_rec *k = &m->kills[i];
		tkt_json_obj_begin(&j, NULL);
		tkt_json_double(&j, "time_s", tkt_model_time_s(m, k->ts_ns), 6);
		json_party(&j, m, "target", &k->target);
		tkt_json_obj_begin(&j, "sender");
		tkt_json_uint(&j, "pid", k->sender_pid);
		tkt_json_str(&j, "comm", k->sender_comm);
		tkt_json_bool(&j, "kernel", k->kernel);
		tkt_json_obj_end(&j);
		tkt_json_obj_end(&j);
	}
	tkt_json_arr_end(&j);
	tkt_json_uint(&j, "lost_events", r->kernel_drops + m->lost_events);
	tkt_json_uint(&j, "processes_traced", m->procs_seen);
	tkt_json_uint(&j, "tests_seen", m->tests_seen);
	tkt_json_arr_begin(&j, "tests");
	for (size_t i = 0; i < m->ntests; i++)
		json_test(&j, m, &m->tests[i]);
	tkt_json_arr_end(&j);
	tkt_json_obj_begin(&j, "cgroup");
	tkt_json_str(&j, "path", m->cg_path);
	if (m->cg_has_limit)
		tkt_json_uint(&j, "limit_bytes", m->cg_limit);
	else
		tkt_json_null(&j, "limit_bytes");
	tkt_json_uint(&j, "peak_usage_bytes", m->cg_peak);
	tkt_json_arr_begin(&j, "samples");
	for (size_t i = 0; i < m->ncg_samples; i++) {
		tkt_json_arr_begin(&j, NULL);
		tkt_json_double(&j, NULL, tkt_model_time_s(m, m->cg_samples[i][0]), 3);
		tkt_json_uint(&j, NULL, m->cg_samples[i][1]);
		tkt_json_arr_end(&j);
	}
	tkt_json_arr_end(&j);
	tkt_json_obj_end(&j);
	json_warnings(&j, m);
	tkt_json_obj_end(&j);
	tkt_buf_free(&tmp);
	return 0;
}

static void text_party(struct tkt_buf *b, const char *label, const struct tkt_party *p,
		       bool rss_split)
{
	char s1[32], s2[32], s3[32], s4[32];
	const char *ph = tkt_phase_name(p->attr.phase);

	tkt_buf_printf(b, "  %-8s pid %u (%s)", label, p->pid, p->comm);
	if (p->attr.worker)
		tkt_buf_printf(b, " worker %s", p->attr.worker);
	if (p->attr.test)
		tkt_buf_printf(b, ", test %s [%s]", p->attr.test, ph ? ph : "?");
	else if (ph)
		tkt_buf_printf(b, ", no test running [%s]", ph);
	else if (!p->known)
		tkt_buf_printf(b, ", not traced");
	tkt_buf_printf(b, ", rss %s", tkt_fmt_bytes(p->rss_bytes, s1, sizeof(s1)));
	if (rss_split)
		tkt_buf_printf(b, " (anon %s, file %s, shmem %s)",
			       tkt_fmt_bytes(p->anon_bytes, s2, sizeof(s2)),
			       tkt_fmt_bytes(p->file_bytes, s3, sizeof(s3)),
			       tkt_fmt_bytes(p->shmem_bytes, s4, sizeof(s4)));
	tkt_buf_append(b, "\n", 1);
}

static void text_blame(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_blame *bl)
{
	char s1[32], s2[32];

	if (!bl->valid || bl->ntests == 0)
		return;
	tkt_buf_printf(b, "  before   %zu earlier test%s on this process left %s resident", bl->ntests,
		       bl->ntests == 1 ? "" : "s", tkt_fmt_bytes(bl->retained_total, s1, sizeof(s1)));
	if (bl->ntop)
		tkt_buf_printf(b, "; largest %s +%s", m->tests[bl->top[0]].nodeid,
			       tkt_fmt_bytes(tkt_test_retained(&m->tests[bl->top[0]]), s2, sizeof(s2)));
	tkt_buf_append(b, "\n", 1);
	for (size_t i = 1; i < bl->ntop; i++)
		tkt_buf_printf(b, "           +%s %s\n",
			       tkt_fmt_bytes(tkt_test_retained(&m->tests[bl->top[i]]), s1, sizeof(s1)),
			       m->tests[bl->top[i]].nodeid);
	if (bl->running >= 0 && bl->running_growth < bl->retained_total)
		tkt_buf_printf(b, "  verdict  the running test added only %s: it is probably not the main "
				  "culprit; look at what earlier tests keep (caches, fixtures, figures)\n",
			       tkt_fmt_bytes(bl->running_growth, s1, sizeof(s1)));
}

static const char *sig_name(int sig)
{
	static const char *names[] = { "0",	"SIGHUP",  "SIGINT",  "SIGQUIT", "SIGILL",
					"SIGTRAP", "SIGABRT", "SIGBUS",  "SIGFPE",  "SIGKILL",
					"SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
					"SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",
					"SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",  "SIGXCPU",
					"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
					"SIGPWR",  "SIGSYS" };
	return sig >= 0 && sig < 32 ? names[sig] : "signal";
}

static void headline(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r)
{
	const char *cmd = r->argc > 0 ? r->argv[0] : "command";
	const struct tkt_kill_rec *k;

	if (r->cut) {
		tkt_buf_printf(b, "tktrace: the recording of %s (pid %u) stops at %.2f s, before the end "
				  "(was tktrace killed?); %zu processes, %zu tests so far\n",
			       cmd, m->o.root_pid, r->duration_s, m->procs_seen, m->tests_seen);
		return;
	}
	switch (tkt_report_cause(m, r)) {
	case TKT_CAUSE_OOM:
		tkt_buf_printf(b, "tktrace: %s (pid %u) was killed by the OOM killer (exit %d)\n", cmd,
			       m->o.root_pid, r->exit_code);
		return;
	case TKT_CAUSE_SIGKILL:
		k = root_kill(m);
		if (k)
			tkt_buf_printf(b,
				       "tktrace: %s (pid %u) was killed by SIGKILL from pid %u (%s) (exit %d)\n",
				       cmd, m->o.root_pid, k->sender_pid, k->sender_comm, r->exit_code);
		else
			tkt_buf_printf(b, "tktrace: %s (pid %u) was killed by SIGKILL (exit %d)\n", cmd,
				       m->o.root_pid, r->exit_code);
		return;
	case TKT_CAUSE_SIGNAL:
		if (m->root_signaled && (int)m->root_sig == r->sig && m->root_sig_kernel)
			/* The pid would be whichever task the tty layer ran in (a kworker). */
			tkt_buf_printf(b, "tktrace: %s (pid %u) was killed by %s from the terminal "
				       "(a key such as Ctrl-C, or a hangup) (exit %d)\n",
				       cmd, m->o.root_pid, sig_name(r->sig), r->exit_code);
		else if (m->root_signaled && (int)m->root_sig == r->sig)
			tkt_buf_printf(b, "tktrace: %s (pid %u) was killed by %s from pid %u (%s) (exit %d)\n",
				       cmd, m->o.root_pid, sig_name(r->sig), m->root_sig_sender,
				       m->root_sig_sender_comm, r->exit_code);
		else
			tkt_buf_printf(b, "tktrace: %s (pid %u) was killed by %s (exit %d)\n", cmd,
				       m->o.root_pid, sig_name(r->sig), r->exit_code);
		return;
	case TKT_CAUSE_EXIT:
		break;
	}
	if (m->nooms)
		tkt_buf_printf(b, "tktrace: %s exited with status %d after the OOM killer killed %zu traced process%s\n",
			       cmd, r->status, m->nooms, m->nooms == 1 ? "" : "es");
	else if (m->nkills)
		tkt_buf_printf(b, "tktrace: %s exited with status %d after %zu SIGKILL%s of traced processes\n",
			       cmd, r->status, m->nkills, m->nkills == 1 ? "" : "s");
	else
		tkt_buf_printf(b, "tktrace: %s exited with status %d; no kills (%zu processes, %zu tests, %.1f s)\n",
			       cmd, r->status, m->procs_seen, m->tests_seen, r->duration_s);
}

bool tkt_kill_fails_test(const struct tkt_kill_rec *k)
{
	return k->target.is_pytest;
}

/* Every frame of the Python stacks with -v. */
static bool full_stacks(void)
{
	return tkt_log_get_level() >= TKT_LOG_INFO;
}

void tkt_report_oom_text(struct tkt_buf *b, const struct tkt_model *m, size_t i)
{
	const struct tkt_oom_rec *o = &m->ooms[i];
	struct tkt_buf tmp = { 0 };
	char s1[32], s2[32];

	tkt_buf_printf(b, "OOM kill %zu of %zu at %.2f s\n", i + 1, m->nooms,
		       tkt_model_time_s(m, o->ts_ns));
	text_party(b, "victim", &o->victim, true);
	/* The same process: its stack is the trigger's, shown once, under the trigger. */
	if (o->victim.pid != o->trigger.pid)
		tkt_py_text(b, m, &o->victim, full_stacks());
	text_party(b, "trigger", &o->trigger, false);
	tkt_py_text(b, m, &o->trigger, full_stacks());
	if (o->cgroup && o->has_limit)
		tkt_buf_printf(b, "  cgroup   %s, limit %s, usage %s\n", o->cgroup,
			       tkt_fmt_bytes(o->limit_bytes, s1, sizeof(s1)),
			       tkt_fmt_bytes(o->usage_bytes, s2, sizeof(s2)));
	else if (o->cgroup)
		tkt_buf_printf(b, "  cgroup   %s (no memory limit: the whole machine ran out)\n",
			       o->cgroup);
	tkt_buf_printf(b, "  why      %s\n", tkt_oom_why(o));
	tkt_buf_reset(&tmp);
	if (tkt_rerun_command(&tmp, &o->victim))
		tkt_buf_printf(b, "  rerun    %s\n", tmp.data);
	tkt_buf_reset(&tmp);
	if (o->trigger.pid != o->victim.pid && o->trigger.attr.test &&
	    (!o->victim.attr.test || strcmp(o->trigger.attr.test, o->victim.attr.test)) &&
	    tkt_rerun_command(&tmp, &o->trigger))
		tkt_buf_printf(b, "  rerun    %s\n", tmp.data);
	text_blame(b, m, &o->blame);
	if (o->has_limit && o->victim.attr.test) {
		if (o->limit_bytes % (1 << 20) == 0)
			snprintf(s1, sizeof(s1), "%lluM",
				 (unsigned long long)(o->limit_bytes >> 20));
		else
			snprintf(s1, sizeof(s1), "%llu", (unsigned long long)o->limit_bytes);
		tkt_buf_printf(b, "  hint     reproduce under the same limit: sudo tktrace --memory-limit %s -- <rerun command>\n",
			       s1);
	}
	tkt_buf_free(&tmp);
}

void tkt_report_kill_text(struct tkt_buf *b, const struct tkt_model *m, size_t i)
{
	const struct tkt_kill_rec *k = &m->kills[i];

	tkt_buf_printf(b, "SIGKILL at %.2f s from pid %u (%s)%s\n", tkt_model_time_s(m, k->ts_ns),
		       k->sender_pid, k->sender_comm, k->kernel ? ", sent by the kernel" : "");
	text_party(b, "target", &k->target, false);
	tkt_py_text(b, m, &k->target, full_stacks());
}

int tkt_report_text(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r,
		    bool quiet)
{
	uint64_t lost = r->kernel_drops + m->lost_events;

	if (quiet && !m->nooms && !m->nkills && !r->signaled && !lost)
		return 0;
	headline(b, m, r);
	for (size_t i = 0; i < m->nooms; i++)
		tkt_report_oom_text(b, m, i);
	for (size_t i = 0; i < m->nkills; i++)
		tkt_report_kill_text(b, m, i);
	if (lost)
		tkt_buf_printf(b, "tktrace: warning: %llu events were lost; the report may be incomplete\n",
			       (unsigned long long)lost);
	return 0;
}

static int cmp_growth(const void *a, const void *b, void *arg)
{
	const struct tkt_model *sort_model = arg;

	uint64_t x = tkt_test_need(&sort_model->tests[*(const size_t *)a]);
	uint64_t y = tkt_test_need(&sort_model->tests[*(const size_t *)b]);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_retained(const void *a, const void *b, void *arg)
{
	const struct tkt_model *sort_model = arg;

	int64_t x = tkt_test_retained(&sort_model->tests[*(const size_t *)a]);
	int64_t y = tkt_test_retained(&sort_model->tests[*(const size_t *)b]);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_nodeid(const void *a, const void *b, void *arg)
{
	const struct tkt_model *sort_model = arg;

	const struct tkt_test_rec *x = &sort_model->tests[*(const size_t *)a];
	const struct tkt_test_rec *y = &sort_model->tests[*(const size_t *)b];
	int c = strcmp(x->nodeid, y->nodeid);

	if (c)
		return c;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Indices of tests[] sorted by cmp. */
static size_t *sorted(const struct tkt_model *m, int (*cmp)(const void *, const void *, void *))
{
	size_t *idx = malloc((m->ntests ? m->ntests : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < m->ntests; i++)
		idx[i] = i;
	qsort_r(idx, m->ntests, sizeof(*idx), cmp, (void *)m);
	return idx;
}

static void table_row(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_test_rec *t)
{
	char g[32], r[32], p[32], c[32];
	int64_t ret = tkt_test_retained(t);
	double dur = t->ended || t->end_ns ? (double)(t->end_ns - t->start_ns) / 1e9 :
				tkt_model_time_s(m, m->last_ns) - tkt_model_time_s(m, t->start_ns);

	tkt_fmt_bytes(tkt_test_growth(t), g, sizeof(g));
	if (t->ended) {
		r[0] = ret < 0 ? '-' : '+';
		tkt_fmt_bytes(ret < 0 ? (uint64_t)-ret : (uint64_t)ret, r + 1, sizeof(r) - 1);
	} else {
		snprintf(r, sizeof(r), "%s", t->outcome == TKT_OUTCOME_KILLED ? "killed" : "-");
	}
	tkt_fmt_bytes(t->peak, p, sizeof(p));
	if (t->children_peak)
		tkt_fmt_bytes(t->children_peak, c, sizeof(c));
	else
		snprintf(c, sizeof(c), "-");
	tkt_buf_printf(b, "  +%-10s %-11s %-10s %-10s %7.2f s  %s", g, r, p, c, dur, t->nodeid);
	if (t->worker)
		tkt_buf_printf(b, " [%s]", t->worker);
	tkt_buf_append(b, "\n", 1);
}

int tkt_report_memory_text(struct tkt_buf *b, const struct tkt_model *m,
			   const struct tkt_mem_opts *o)
{
	static const char *hdr = "  growth      retained    peak rss   children      time    test\n";
	size_t *by_growth, *by_ret, *by_id, nover = 0, shown;
	char s1[32];

	if (m->ntests == 0)
		return 0;
	by_growth = sorted(m, cmp_growth);
	by_ret = sorted(m, cmp_retained);
	by_id = sorted(m, cmp_nodeid);
	if (!by_growth || !by_ret || !by_id)
		goto out;
	if (o->top > 0) {
		shown = (size_t)o->top < m->ntests ? (size_t)o->top : m->ntests;
		tkt_buf_printf(b, "Tests by peak memory growth (top %zu of %zu, measured in the kernel):\n",
			       shown, m->ntests);
		tkt_buf_append(b, hdr, strlen(hdr));
		for (size_t i = 0; i < shown; i++)
			table_row(b, m, &m->tests[by_growth[i]]);
		shown = 0;
		for (size_t i = 0; i < m->ntests && shown < (size_t)o->top; i++)
			if (tkt_test_retained(&m->tests[by_ret[i]]) > 0)
				shown++;
		if (shown) {
			tkt_buf_printf(b, "Tests that left memory resident (top %zu):\n", shown);
			tkt_buf_append(b, hdr, strlen(hdr));
			for (size_t i = 0; i < shown; i++)
				table_row(b, m, &m->tests[by_ret[i]]);
		}
	}
	/* Over the threshold and not marked: once per node id. */
	for (size_t i = 0; i < m->ntests; i++) {
		size_t k = by_id[i];
		const struct tkt_test_rec *t = &m->tests[k];
		if (i > 0 && strcmp(m->tests[by_id[i - 1]].nodeid, t->nodeid) == 0)
			continue;
		bool over = false;
		for (size_t j = i; j < m->ntests && strcmp(m->tests[by_id[j]].nodeid, t->nodeid) == 0; j++)
			if (tkt_test_need(&m->tests[by_id[j]]) > o->threshold &&
			    !(o->marked && o->marked[by_id[j]] == 1))
				over = true;
		if (!over)
			continue;
		if (nover++ == 0)
			tkt_buf_printf(b, "Tests needing more than %s, not marked %s; paste into conftest.py:\n"
					  "  %s_TESTS = {\n",
				       tkt_fmt_bytes(o->threshold, s1, sizeof(s1)), o->marker, "MEMORY");
		tkt_buf_append(b, "      ", 6);
		/* A Python string literal: node ids may hold quotes and backslashes. */
		tkt_buf_append(b, "\"", 1);
		for (const char *c = t->nodeid; *c; c++) {
			if (*c == '"' || *c == '\\')
				tkt_buf_append(b, "\\", 1);
			tkt_buf_append(b, c, 1);
		}
		tkt_buf_append(b, "\",\n", 3);
	}
	if (nover)
		tkt_buf_printf(b, "  }\n"
				  "  def pytest_collection_modifyitems(items):\n"
				  "      for item in items:\n"
				  "          if item.nodeid in MEMORY_TESTS:\n"
				  "              item.add_marker(\"%s\")\n",
			       o->marker);
out:
	free(by_growth);
	free(by_ret);
	free(by_id);
	return 0;
}

int tkt_report_per_test(struct tkt_buf *b, const struct tkt_model *m)
{
	size_t *by_id = sorted(m, cmp_nodeid);

	if (!by_id)
		return -1;
	for (size_t i = 0; i < m->ntests;) {
		/* Repeats (reruns, several workers): keep the one that needed the most. */
		size_t best = by_id[i], j = i + 1;
		for (; j < m->ntests && strcmp(m->tests[by_id[j]].nodeid, m->tests[best].nodeid) == 0; j++)
			if (tkt_test_need(&m->tests[by_id[j]]) > tkt_test_need(&m->tests[best]))
				best = by_id[j];
		struct tkt_json js;
		tkt_json_init(&js, b, false);
		tkt_json_obj_begin(&js, NULL);
		json_test_fields(&js, m, &m->tests[best]);
		tkt_json_obj_end(&js);
		tkt_buf_append(b, "\n", 1);
		i = j;
	}
	free(by_id);
	return 0;
}
