/* Process tree and attribution of kernel records to pytest tests. */
#include "model.h"
#include "pystack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *phase_names[] = {
	[TKT_PHASE_NONE] = NULL,	   [TKT_PHASE_COLLECTION] = "collection",
	[TKT_PHASE_SETUP] = "setup",	   [TKT_PHASE_CALL] = "call",
	[TKT_PHASE_TEARDOWN] = "teardown", [TKT_PHASE_SESSION] = "session",
};

const char *tkt_phase_name(enum tkt_phase p)
{
	return p <= TKT_PHASE_SESSION ? phase_names[p] : NULL;
}

const char *tkt_outcome_name(enum tkt_outcome o)
{
	switch (o) {
	case TKT_OUTCOME_COMPLETED:
		return "completed";
	case TKT_OUTCOME_KILLED:
		return "killed";
	case TKT_OUTCOME_PASSED:
		return "passed";
	case TKT_OUTCOME_FAILED:
		return "failed";
	case TKT_OUTCOME_SKIPPED:
		return "skipped";
	case TKT_OUTCOME_XFAILED:
		return "xfailed";
	case TKT_OUTCOME_ERROR:
		return "error";
	default:
		return "interrupted";
	}
}

int64_t tkt_test_retained(const struct tkt_test_rec *t)
{
	uint64_t d;

	if (!t->ended)
		return 0;
	/* Saturating: a hostile recording may hold any sizes. */
	if (t->rss_end >= t->rss_start) {
		d = t->rss_end - t->rss_start;
		return d > INT64_MAX ? INT64_MAX : (int64_t)d;
	}
	d = t->rss_start - t->rss_end;
	return d > INT64_MAX ? -INT64_MAX : -(int64_t)d;
}

uint64_t tkt_test_growth(const struct tkt_test_rec *t)
{
	return t->peak > t->rss_start ? t->peak - t->rss_start : 0;
}

int tkt_model_init(struct tkt_model *m, const struct tkt_model_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->o = *o;
	if (!m->o.page_size)
		m->o.page_size = 4096;
	m->strings = tkt_intern_new();
	m->nbuckets = 4096;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (!m->strings || !m->buckets) {
		tkt_model_free(m);
		return -ENOMEM;
	}
	if (m->o.cg_mount)
		m->o.cg_mount = tkt_intern(m->strings, o->cg_mount, strlen(o->cg_mount));
	return 0;
}

static void proc_free(struct tkt_proc *p)
{
	tkt_buf_free(&p->env);
	free(p);
}

void tkt_model_free(struct tkt_model *m)
{
	if (m->buckets) {
		for (size_t i = 0; i < m->nbuckets; i++) {
			struct tkt_proc *p = m->buckets[i], *n;
			for (; p; p = n) {
				n = p->hnext;
				proc_free(p);
			}
		}
	}
	free(m->buckets);
	free(m->ooms);
	free(m->kills);
	free(m->tests);
	free(m->junitxml);
	free(m->cg_samples);
	free(m->warnings);
	for (size_t i = 0; i < m->nrss; i++)
		free(m->rss[i].pts);
	free(m->rss);
	tkt_intern_free(m->strings);
	memset(m, 0, sizeof(*m));
}

static size_t bucket_of(const struct tkt_model *m, uint32_t pid)
{
	return (pid * 2654435761u) & (m->nbuckets - 1);
}

struct tkt_proc *tkt_model_find(struct tkt_model *m, uint32_t pid)
{
	struct tkt_proc *p = m->buckets[bucket_of(m, pid)];

	while (p && p->pid != pid)
		p = p->hnext;
	return p;
}

static void unlink_proc(struct tkt_model *m, struct tkt_proc *victim)
{
	struct tkt_proc **pp = &m->buckets[bucket_of(m, victim->pid)];

	while (*pp && *pp != victim)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = victim->hnext;
		m->nprocs--;
	}
}

static void dead_remove(struct tkt_model *m, struct tkt_proc *p)
{
	struct tkt_proc **pp = &m->dead_head, *prev = NULL;

	while (*pp && *pp != p) {
		prev = *pp;
		pp = &(*pp)->dnext;
	}
	if (!*pp)
		return;
	*pp = p->dnext;
	if (m->dead_tail == p)
		m->dead_tail = prev;
}

/* A fresh entry for pid; a stale one (pid reuse) is replaced. */
static struct tkt_proc *proc_new(struct tkt_model *m, uint32_t pid)
{
	struct tkt_proc *old = tkt_model_find(m, pid), *p;
	size_t b = bucket_of(m, pid);

	if (old) {
		unlink_proc(m, old);
		if (!old->alive)
			dead_remove(m, old);
		proc_free(old);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->alive = true;
	p->cur_test = -1;
	p->test_idx = -1;
	p->hnext = m->buckets[b];
	m->buckets[b] = p;
	m->nprocs++;
	m->procs_seen++;
	return p;
}

struct tkt_attr tkt_model_attr(struct tkt_model *m, uint32_t pid)
{
	struct tkt_proc *p = tkt_model_find(m, pid);
	struct tkt_attr none = { NULL, TKT_PHASE_NONE, NULL };

	if (!p)
		return none;
	return p->is_pytest ? p->own : p->inherited;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Longest string an input carries in a recording: paths and comm fit. */
#define TAP_STR_MAX 4096

/* Hand one input to the tap: a fixed part, then a string (cut at TAP_STR_MAX, so the
 * replayed call gets exactly what this call used). */
static void tap(struct tkt_model *m, uint16_t type, const void *fixed, size_t flen, const char *str)
{
	char buf[64 + TAP_STR_MAX];
	size_t slen = str ? strnlen(str, TAP_STR_MAX) : 0;

	if (!m->tap)
		return;
	memcpy(buf, fixed, flen);
	if (slen)
		memcpy(buf + flen, str, slen);
	m->tap(m->tap_ctx, type, buf, flen + slen);
}

/* Is pid a descendant of anc (while the processes between are still known)? */
static bool descends_from(struct tkt_model *m, uint32_t pid, uint32_t anc)
{
	struct tkt_proc *p = tkt_model_find(m, pid);

	for (int depth = 0; p && depth < 64; depth++) {
		if (p->ppid == anc)
			return true;
		if (p->ppid == p->pid)
			break;
		p = tkt_model_find(m, p->ppid);
	}
	return false;
}

static void party_move_cwd(struct tkt_model *m, struct tkt_party *pt, uint32_t pid,
			   const char *old, const char *cwd)
{
	if (same_str(pt->cwd, old) && (pt->pid == pid || descends_from(m, pt->pid, pid)))
		pt->cwd = cwd;
}

void tkt_model_set_cwd(struct tkt_model *m, uint32_t pid, const char *cwd)
{
	struct tkt_proc *p = tkt_model_find(m, pid);
	struct tkt_tap_pid in = { .pid = pid };
	const char *old;

	if (cwd)
		tap(m, TKT_TAP_CWD, &in, sizeof(in), cwd);
	if (!p || !cwd)
		return;
	old = p->cwd;
	p->cwd = tkt_intern(m->strings, cwd, strlen(cwd));
	if (!old || !p->cwd || same_str(old, p->cwd))
		return;
	/* The rootdir, found after its first test started: node ids recorded since are
	 * relative to it. */
	for (size_t i = 0; i < m->ntests; i++)
		if (m->tests[i].pid == pid && same_str(m->tests[i].cwd, old))
			m->tests[i].cwd = p->cwd;
	for (size_t i = 0; i < m->nooms; i++) {
		party_move_cwd(m, &m->ooms[i].victim, pid, old, p->cwd);
		party_move_cwd(m, &m->ooms[i].trigger, pid, old, p->cwd);
	}
	for (size_t i = 0; i < m->nkills; i++)
		party_move_cwd(m, &m->kills[i].target, pid, old, p->cwd);
	/* Its children copied the old one at fork (pytest processes among them have their own). */
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct tkt_proc *c = m->buckets[i]; c; c = c->hnext)
			if (!c->is_pytest && same_str(c->cwd, old) && descends_from(m, c->pid, pid))
				c->cwd = p->cwd;
}

void tkt_model_set_pyargs(struct tkt_model *m, uint32_t pid, const char *roots)
{
	struct tkt_proc *p = tkt_model_find(m, pid);
	struct tkt_tap_pid in = { .pid = pid };

	if (!roots)
		return;
	tap(m, TKT_TAP_PYARGS, &in, sizeof(in), roots);
	if (p)
		p->pyargs = tkt_intern(m->strings, roots, strlen(roots));
}

void tkt_model_add_junitxml(struct tkt_model *m, uint32_t pid, const char *path)
{
	struct tkt_tap_pid in = { .pid = pid };
	const char *s, **n;

	if (!path)
		return;
	tap(m, TKT_TAP_JUNITXML, &in, sizeof(in), path);
	s = tkt_intern(m->strings, path, strlen(path));
	for (size_t i = 0; i < m->njunitxml; i++)
		if (m->junitxml[i] == s)
			return;
	n = realloc(m->junitxml, (m->njunitxml + 1) * sizeof(*n));
	if (!s || !n)
		return;
	m->junitxml = n;
	m->junitxml[m->njunitxml++] = s;
}

double tkt_model_time_s(const struct tkt_model *m, uint64_t ts_ns)
{
	return ts_ns > m->o.t0_ns ? (double)(ts_ns - m->o.t0_ns) / 1e9 : 0.0;
}

/* --warn-at: which tests are resident when COMMAND's memory cgroup crosses the mark. */
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

void tkt_model_set_root_pid(struct tkt_model *m, uint32_t pid)
{
	m->o.root_pid = pid;
}

void tkt_model_set_tap(struct tkt_model *m, tkt_tap_fn fn, void *ctx)
{
	m->tap = fn;
	m->tap_ctx = ctx;
}

bool tkt_model_rootdir_due(struct tkt_model *m, uint32_t pid)
{
	struct tkt_proc *p = tkt_model_find(m, pid);

	if (!p || p->cwd_checked || !p->cwd || !p->own.test)
		return false;
	p->cwd_checked = true;
	return true;
}

int tkt_model_add_root(struct tkt_model *m, uint32_t pid, const char *comm, uint64_t ts_ns)
{
	struct tkt_tap_root in = { .pid = pid, .root_pid = m->o.root_pid, .ts_ns = ts_ns };
	char c[17];
	struct tkt_proc *p;

	/* Only what the model keeps of comm goes to the tap. */
	snprintf(c, sizeof(c), "%s", comm ? comm : "");
	tap(m, TKT_TAP_ROOT, &in, sizeof(in), c);
	p = proc_new(m, pid);

	if (!p)
		return -ENOMEM;
	snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
	p->start_ns = ts_ns;
	return 0;
}

bool tkt_parse_current_test(const char *val, size_t len, size_t *nodeid_len, enum tkt_phase *ph)
{
	static const struct {
		const char *suffix;
		enum tkt_phase phase;
	} sfx[] = {
		{ " (setup)", TKT_PHASE_SETUP },
		{ " (call)", TKT_PHASE_CALL },
		{ " (teardown)", TKT_PHASE_TEARDOWN },
	};

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t sl = strlen(sfx[i].suffix);
		if (len > sl && memcmp(val + len - sl, sfx[i].suffix, sl) == 0) {
			*nodeid_len = len - sl;
			*ph = sfx[i].phase;
			return true;
		}
	}
	*nodeid_len = len;
	*ph = TKT_PHASE_CALL;
	return false;
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

/* pytest, py.test, pytest-3, pytest-3.11 */
static bool is_pytest_name(const char *s)
{
	const char *b = base_name(s);
	size_t n;

	if (strncmp(b, "pytest", 6) == 0)
		n = 6;
	else if (strncmp(b, "py.test", 7) == 0)
		n = 7;
	else
		return false;
	b += n;
	if (*b == '\0')
		return true;
	if (*b != '-')
		return false;
	for (b++; *b; b++)
		if (!((*b >= '0' && *b <= '9') || *b == '.'))
			return false;
	return true;
}

static bool is_python_name(const char *s)
{
	return strncmp(base_name(s), "python", 6) == 0;
}

bool tkt_pytest_invocation(const char *args, size_t len, struct tkt_buf *cmd)
{
	const char *argv[8];
	int argc = 0;
	size_t off = 0;

	while (off < len && argc < 8) {
		size_t n = strnlen(args + off, len - off);
		if (off + n == len)
			break; /* cut short by the capture limit: no trailing NUL */
		argv[argc++] = args + off;
		off += n + 1;
	}
	if (argc == 0)
		return false;
	if (is_pytest_name(argv[0])) {
		tkt_buf_reset(cmd);
		tkt_shell_quote(cmd, argv[0]);
		return true;
	}
	if (!is_python_name(argv[0]))
		return false;
	/* python [-X opt|-W arg|-flags]... (-m pytest | path/to/pytest) */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-m") == 0 && i + 1 < argc) {
			if (strcmp(argv[i + 1], "pytest") && strcmp(argv[i + 1], "py.test"))
				return false;
			tkt_buf_reset(cmd);
			tkt_shell_quote(cmd, argv[0]);
			tkt_buf_printf(cmd, " -m %s", argv[i + 1]);
			return true;
		}
		if (strcmp(a, "-mpytest") == 0) {
			tkt_buf_reset(cmd);
			tkt_shell_quote(cmd, argv[0]);
			tkt_buf_printf(cmd, " -m pytest");
			return true;
		}
		if (strcmp(a, "-X") == 0 || strcmp(a, "-W") == 0) {
			i++;
			continue;
		}
		if (a[0] == '-')
			continue;
		if (is_pytest_name(a)) {
			tkt_buf_reset(cmd);
			tkt_shell_quote(cmd, argv[0]);
			tkt_buf_append(cmd, " ", 1);
			tkt_shell_quote(cmd, a);
			return true;
		}
		return false;
	}
	return false;
}

int tkt_pick_limiting_cg(const struct tkt_cg *cg, uint32_t ncg, uint64_t page_size)
{
	/* The kernel's PAGE_COUNTER_MAX is LONG_MAX / PAGE_SIZE: anything near it is "max". */
	uint64_t unlimited = (uint64_t)INT64_MAX / (page_size ? page_size : 4096) / 2;
	int first_limited = -1;

	if (ncg > TKT_CG_DEPTH)
		ncg = TKT_CG_DEPTH;
	for (uint32_t i = 0; i < ncg; i++) {
		uint64_t max = cg[i].max_pages;
		if (max == 0 || max >= unlimited)
			continue;
		if (first_limited < 0)
			first_limited = i;
		/* The charge that failed had brought this one to its limit. */
		if (cg[i].usage_pages + max / 32 + 64 >= max)
			return i;
	}
	return first_limited;
}

/* "/sys/fs/cgroup/memory" + names from the top ancestor down to level idx. */
static const char *cg_path(struct tkt_model *m, const struct tkt_cg *cg, uint32_t ncg, int idx)
{
	struct tkt_buf b = { 0 };
	const char *r;
	int top;

	if (ncg > TKT_CG_DEPTH || idx < 0 || idx >= (int)ncg)
		return NULL;
	top = (int)ncg - 1; /* after the check: a corrupted ncg may be anything */
	tkt_buf_printf(&b, "%s", m->o.cg_mount ? m->o.cg_mount : "");
	/* Level top is the hierarchy root ("/" on v2, "" on v1) unless the walk was cut at
	 * TKT_CG_DEPTH. */
	if (cg[top].name[0] == '\0' || (cg[top].name[0] == '/' && cg[top].name[1] == '\0'))
		top--;
	else
		tkt_buf_printf(&b, "/...");
	for (int i = top; i >= idx; i--)
		tkt_buf_printf(&b, "/%.*s", TKT_CG_NAME, cg[i].name);
	if (b.len == 0)
		tkt_buf_append(&b, "/", 1);
	r = tkt_intern(m->strings, b.data, b.len);
	tkt_buf_free(&b);
	return r;
}

static void party_fill(struct tkt_model *m, struct tkt_party *pt, uint32_t pid, const char *comm)
{
	struct tkt_proc *p = tkt_model_find(m, pid);

	memset(pt, 0, sizeof(*pt));
	pt->pid = pid;
	tkt_comm_copy(pt->comm, comm);
	pt->attr = tkt_model_attr(m, pid);
	if (p) {
		pt->known = true;
		pt->is_pytest = p->is_pytest;
		pt->pytest_cmd = p->pytest_cmd;
		pt->cwd = p->cwd;
		pt->pyargs = p->pyargs;
		if (!pt->comm[0])
			memcpy(pt->comm, p->comm, sizeof(pt->comm));
	}
}

/* Room for one more element; the old array stays valid when memory runs out. */
static int grow(void *arrp, size_t *cap, size_t n, size_t elem)
{
	void **arr = arrp;
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	/* 1.5x: a long run's per-test array wastes a sixth on average, not a quarter. */
	ncap = *cap ? *cap + *cap / 2 : 8;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int ev_fork(struct tkt_model *m, const struct tkt_ev_fork *e)
{
	/* A process is never its own parent; a corrupted record must not free the parent. */
	struct tkt_proc *parent = e->ppid == e->h.pid ? NULL : tkt_model_find(m, e->ppid);
	struct tkt_proc *p = proc_new(m, e->h.pid);

	if (!p)
		return -ENOMEM;
	p->ppid = e->ppid;
	p->start_ns = e->h.ts_ns;
	tkt_comm_copy(p->comm, e->comm);
	if (parent) {
		/* Snapshot: the child belongs to what its parent was doing when it was made. */
		p->inherited = parent->is_pytest ? parent->own : parent->inherited;
		p->pytest_cmd = parent->pytest_cmd;
		p->cwd = parent->cwd;
		p->pyargs = parent->pyargs;
		p->test_idx = parent->is_pytest ? parent->cur_test : parent->test_idx;
	}
	return 0;
}

static int ev_exec(struct tkt_model *m, const struct tkt_ev_exec *e)
{
	struct tkt_proc *p = tkt_model_find(m, e->h.pid);
	struct tkt_buf cmd = { 0 };
	size_t alen = e->args_len > TKT_ARGS_MAX ? TKT_ARGS_MAX : e->args_len;

	if (!p) {
		p = proc_new(m, e->h.pid);
		if (!p)
			return -ENOMEM;
		p->start_ns = e->h.ts_ns;
	}
	tkt_comm_copy(p->comm, e->comm);
	if (tkt_pytest_invocation(e->args, alen, &cmd)) {
		if (!p->is_pytest) {
			p->is_pytest = true;
			p->own.test = NULL;
			p->own.phase = TKT_PHASE_COLLECTION;
			p->own.worker = NULL;
		}
		p->pytest_cmd = tkt_intern(m->strings, cmd.data, cmd.len);
		p->cwd = NULL; /* the tracer fills it in from /proc while the process lives */
		p->pyargs = NULL;
		p->cwd_checked = false;
	} else if (p->is_pytest) {
		/* A pytest process replaced by another program keeps what it was doing. */
		p->inherited = p->own;
		p->is_pytest = false;
	}
	tkt_buf_free(&cmd);
	return 0;
}

static struct tkt_test_rec *cur_test(struct tkt_model *m, struct tkt_proc *p);

static int ev_exit(struct tkt_model *m, const struct tkt_ev_exit *e)
{
	struct tkt_proc *p = tkt_model_find(m, e->h.pid);

	if (!p || !p->alive)
		return 0;
	p->alive = false;
	p->exit_ns = e->h.ts_ns;
	if (p->is_pytest && cur_test(m, p) && !cur_test(m, p)->end_ns)
		cur_test(m, p)->end_ns = e->h.ts_ns; /* interrupted: it lasted until here */
	if (!p->is_pytest && p->test_idx >= 0 && (size_t)p->test_idx < m->ntests) {
		struct tkt_test_rec *t = &m->tests[p->test_idx];
		uint64_t peak = e->peak_rss_pages * m->o.page_size;
		if (peak > t->children_peak)
			t->children_peak = peak;
	}
	/* Kept a while: a kill record from the other ring may still name it. */
	p->dnext = NULL;
	if (m->dead_tail)
		m->dead_tail->dnext = p;
	else
		m->dead_head = p;
	m->dead_tail = p;
	return 0;
}

static void become_pytest(struct tkt_proc *p)
{
	if (p->is_pytest)
		return;
	p->is_pytest = true;
	p->own.test = NULL;
	p->own.phase = TKT_PHASE_COLLECTION;
	p->own.worker = p->inherited.worker; /* a forked test runner stays on its xdist worker */
}

static struct tkt_test_rec *cur_test(struct tkt_model *m, struct tkt_proc *p)
{
	return p->cur_test >= 0 && (size_t)p->cur_test < m->ntests ? &m->tests[p->cur_test] : NULL;
}

/* A test's record ends at the boundary whose snapshot p holds. */
static void test_end(struct tkt_model *m, struct tkt_proc *p, struct tkt_test_rec *t, uint64_t ts)
{
	t->ended = true;
	t->end_ns = ts;
	t->rss_end = p->env_snap.rss_pages * m->o.page_size;
	t->faults = p->env_snap.faults - t->faults_start;
	if (t->outcome == TKT_OUTCOME_RUNNING)
		t->outcome = TKT_OUTCOME_COMPLETED;
}

/* A boundary closes the memory period of the phase before it. */
static void test_boundary(struct tkt_model *m, struct tkt_proc *p, uint64_t ts)
{
	struct tkt_test_rec *t = cur_test(m, p);
	uint64_t ps = m->o.page_size;

	if (!t)
		return;
	if (p->env_snap.peak_pages * ps > t->peak)
		t->peak = p->env_snap.peak_pages * ps;
	t->mmap_bytes += p->env_snap.mmap_bytes;
	if (p->env_op == TKT_ENV_UNSET) {
		test_end(m, p, t, ts);
		p->cur_test = -1;
	}
}

/* setup of a new test (or the first phase seen of one) opens its record. */
static void test_begin(struct tkt_model *m, struct tkt_proc *p, uint64_t ts)
{
	struct tkt_test_rec *t = cur_test(m, p);
	uint64_t ps = m->o.page_size;

	if (t && t->nodeid == p->own.test && p->own.phase != TKT_PHASE_SETUP)
		return; /* call and teardown continue the same record */
	if (t && !t->ended)
		test_end(m, p, t, ts); /* a new test without the old one's end: close it here */
	/* Counted here, not at setup: a test skipped by a skip/skipif marker never shows a
	 * setup (pytest's skipping plugin raises before PYTEST_CURRENT_TEST is set), only its
	 * teardown. */
	m->tests_seen++;
	if (grow(&m->tests, &m->cap_tests, m->ntests, sizeof(*m->tests))) {
		p->cur_test = -1;
		return;
	}
	t = &m->tests[m->ntests];
	memset(t, 0, sizeof(*t));
	t->nodeid = p->own.test;
	t->worker = p->own.worker;
	t->cwd = p->cwd;
	t->pyargs = p->pyargs;
	t->pid = p->pid;
	t->start_ns = ts;
	t->rss_start = p->env_snap.rss_pages * ps;
	t->peak = t->rss_start;
	t->faults_start = p->env_snap.faults;
	p->cur_test = m->ntests++;
}

static void env_complete(struct tkt_model *m, struct tkt_proc *p, uint64_t ts)
{
	const char *v = p->env.data ? p->env.data : "";
	size_t len = p->env.len;

	become_pytest(p);
	if (p->env_key == TKT_ENV_CURRENT_TEST) {
		test_boundary(m, p, ts);
		if (p->env_op == TKT_ENV_UNSET) {
			p->own.test = NULL;
			p->own.phase = TKT_PHASE_SESSION;
			return;
		}
		size_t idlen;
		enum tkt_phase ph;
		tkt_parse_current_test(v, len, &idlen, &ph);
		p->own.test = tkt_intern(m->strings, v, idlen);
		p->own.phase = ph;
		test_begin(m, p, ts);
	} else if (p->env_key == TKT_ENV_XDIST_WORKER) {
		p->own.worker = p->env_op == TKT_ENV_SET ? tkt_intern(m->strings, v, len) : NULL;
	}
}

static void kill_attr_late(struct tkt_model *m, struct tkt_proc *p);

static int ev_env(struct tkt_model *m, const struct tkt_ev_env *e)
{
	struct tkt_proc *p = tkt_model_find(m, e->h.pid);
	uint32_t len = e->len > TKT_ENV_CHUNK ? TKT_ENV_CHUNK : e->len;
	bool at_kill = e->flags & TKT_ENV_F_KILL;

	if (!p)
		return 0;
	/* Read from its memory as it was killed: only news for a process neither its probes nor
	 * the catch-up have heard from, and once per variable (every kill of it sends them). */
	if (at_kill && e->chunk == 0)
		p->env_kill_skip = (p->env_tid && !p->env_kill) || e->key > 7 ||
				   (p->env_kill & (1u << e->key));
	if (at_kill && p->env_kill_skip)
		return 0;
	if (e->chunk == 0) {
		p->env_tid = e->h.tid;
		p->env_snap = e->snap;
		tkt_buf_reset(&p->env);
		p->env_key = e->key;
		p->env_op = e->op;
		p->env_next = 0;
		p->env_broken = false;
	}
	if (e->chunk != p->env_next || e->key != p->env_key || e->h.tid != p->env_tid) {
		/* A chunk went missing (ring full): never guess a node id. */
		if (!p->env_broken)
			m->lost_events++;
		p->env_broken = true;
		return 0;
	}
	if (p->env_broken)
		return 0;
	tkt_buf_append(&p->env, e->data, len);
	p->env_next++;
	if (e->flags & TKT_ENV_F_LAST) {
		env_complete(m, p, e->h.ts_ns);
		tkt_buf_free(&p->env);
		p->env_next = 0; /* the next value must start with chunk 0 */
		if (at_kill) {
			p->env_kill |= 1u << e->key;
			kill_attr_late(m, p);
		}
	}
	return 0;
}

/* The test a killed pytest process was running ends there, marked killed. */
static void mark_killed(struct tkt_model *m, uint32_t pid, uint64_t peak, uint64_t ts)
{
	struct tkt_proc *p = tkt_model_find(m, pid);
	struct tkt_test_rec *t;

	if (!p || !p->is_pytest || !(t = cur_test(m, p)))
		return;
	t->outcome = TKT_OUTCOME_KILLED;
	if (!t->end_ns)
		t->end_ns = ts; /* it lasted until its kill, not until the run ended */
	if (peak > t->peak)
		t->peak = peak;
}

/* The pytest process a process belongs to: itself, or its nearest pytest ancestor. */
static struct tkt_proc *pytest_of(struct tkt_model *m, uint32_t pid)
{
	struct tkt_proc *p = tkt_model_find(m, pid);

	for (int depth = 0; p && depth < 64; depth++) {
		if (p->is_pytest)
			return p;
		p = tkt_model_find(m, p->ppid);
	}
	return NULL;
}

/* Which earlier tests on the victim's worker left memory resident. */
static void blame(struct tkt_model *m, struct tkt_oom_rec *r, uint32_t victim)
{
	struct tkt_proc *p = pytest_of(m, victim);
	struct tkt_blame *b = &r->blame;
	struct tkt_test_rec *cur;

	memset(b, 0, sizeof(*b));
	b->running = -1;
	if (!p)
		return;
	b->valid = true;
	b->pid = p->pid;
	cur = cur_test(m, p);
	if (cur) {
		uint64_t now = p->pid == victim ? r->victim.rss_bytes :
			       p->pid == r->trigger.pid ? r->trigger.rss_bytes : cur->peak;
		b->running = p->cur_test;
		b->running_growth = now > cur->rss_start ? now - cur->rss_start : 0;
		/* A process the running test spawned is the victim: its memory is the test's. */
		struct tkt_proc *v = tkt_model_find(m, victim);
		if (v && v != p && v->test_idx == p->cur_test)
			b->running_growth += r->victim.rss_bytes;
	}
	for (size_t i = 0; i < m->ntests; i++) {
		const struct tkt_test_rec *t = &m->tests[i];
		int64_t ret = tkt_test_retained(t);
		/* Below the noise of the rss counters (pytest's own bookkeeping, percpu slack). */
		if (t->pid != p->pid || !t->ended || ret <= 0 || (uint64_t)ret < m->o.retained_noise)
			continue;
		b->ntests++;
		b->retained_total += ret;
		/* Insert into the top list, largest first. */
		size_t pos = b->ntop;
		while (pos > 0 && tkt_test_retained(&m->tests[b->top[pos - 1]]) < ret)
			pos--;
		if (pos >= TKT_BLAME_TOP)
			continue;
		size_t last = b->ntop < TKT_BLAME_TOP ? b->ntop : TKT_BLAME_TOP - 1;
		memmove(&b->top[pos + 1], &b->top[pos], (last - pos) * sizeof(b->top[0]));
		b->top[pos] = i;
		if (b->ntop < TKT_BLAME_TOP)
			b->ntop++;
	}
}

/* What a party recorded without a test or worker learns from its process now. */
static bool party_late(struct tkt_model *m, struct tkt_party *pt, const struct tkt_proc *p)
{
	struct tkt_attr a = tkt_model_attr(m, p->pid);
	bool changed = false;

	if (!pt->attr.worker && a.worker) {
		pt->attr.worker = a.worker;
		changed = true;
	}
	if (!pt->attr.test && a.test) {
		pt->attr.test = a.test;
		pt->attr.phase = a.phase;
		changed = true;
	}
	pt->is_pytest |= changed && p->is_pytest;
	return changed;
}

/* The kills of p recorded before its variables, read at the kill, arrived (the OOM record
 * comes first, the killed task's own reading after it): named now, and its test marked
 * killed from the kill on. */
static void kill_attr_late(struct tkt_model *m, struct tkt_proc *p)
{
	struct tkt_test_rec *t;

	for (size_t i = 0; i < m->nooms; i++) {
		struct tkt_oom_rec *r = &m->ooms[i];
		bool v, tr;

		if (r->ts_ns < p->start_ns)
			continue; /* an earlier process with this pid */
		v = r->victim.pid == p->pid && party_late(m, &r->victim, p);
		tr = r->trigger.pid == p->pid && party_late(m, &r->trigger, p);
		if (v)
			mark_killed(m, p->pid, r->victim.rss_bytes, r->ts_ns);
		if ((v || tr) && (t = cur_test(m, p)) && t->start_ns > r->ts_ns)
			t->start_ns = r->ts_ns;
		if (v || tr)
			blame(m, r, r->victim.pid);
	}
	for (size_t i = 0; i < m->nkills; i++) {
		struct tkt_kill_rec *k = &m->kills[i];

		if (k->ts_ns < p->start_ns || k->target.pid != p->pid || !party_late(m, &k->target, p))
			continue;
		mark_killed(m, p->pid, 0, k->ts_ns);
		if ((t = cur_test(m, p)) && t->start_ns > k->ts_ns)
			t->start_ns = k->ts_ns;
	}
}

static void py_take_pending(struct tkt_model *m, struct tkt_party *p, uint64_t ts, uint8_t role);
static bool py_better(const struct tkt_pystack *old, const struct tkt_pystack *s, uint32_t pid);

static int ev_oom(struct tkt_model *m, const struct tkt_ev_oom *e)
{
	struct tkt_oom_rec *r;
	uint64_t ps = m->o.page_size;
	int lim;

	if (grow(&m->ooms, &m->cap_ooms, m->nooms, sizeof(*m->ooms)))
		return -ENOMEM;
	r = &m->ooms[m->nooms++];
	memset(r, 0, sizeof(*r));
	r->ts_ns = e->h.ts_ns;
	party_fill(m, &r->victim, e->victim.pid, e->victim.comm);
	r->victim.anon_bytes = e->victim.rss_anon_pages * ps;
	r->victim.file_bytes = e->victim.rss_file_pages * ps;
	r->victim.shmem_bytes = e->victim.rss_shmem_pages * ps;
	r->victim.rss_bytes = r->victim.anon_bytes + r->victim.file_bytes + r->victim.shmem_bytes;
	party_fill(m, &r->trigger, e->trigger.pid, e->trigger.comm);
	r->trigger.anon_bytes = e->trigger.rss_anon_pages * ps;
	r->trigger.file_bytes = e->trigger.rss_file_pages * ps;
	r->trigger.shmem_bytes = e->trigger.rss_shmem_pages * ps;
	r->trigger.rss_bytes = r->trigger.anon_bytes + r->trigger.file_bytes + r->trigger.shmem_bytes;
	r->oom_score_adj = e->oom_score_adj;
	r->total_vm_bytes = e->total_vm_pages * ps;
	lim = tkt_pick_limiting_cg(e->cg, e->ncg, ps);
	if (lim >= 0) {
		r->has_limit = true;
		r->limit_bytes = e->cg[lim].max_pages * ps;
		r->usage_bytes = e->cg[lim].usage_pages * ps;
		r->cgroup = cg_path(m, e->cg, e->ncg, lim);
	} else if (e->ncg > 0) {
		r->usage_bytes = e->cg[0].usage_pages * ps;
		r->cgroup = cg_path(m, e->cg, e->ncg, 0);
	}
	/* The OOM killer's SIGKILL to this victim came just before: not a separate kill. */
	for (size_t i = 0; i < m->nkills;) {
		struct tkt_kill_rec *k = &m->kills[i];
		if (k->kernel && k->target.pid == e->victim.pid && k->sender_pid == e->trigger.pid &&
		    e->h.ts_ns - k->ts_ns < 1000000000ULL) {
			/* A victim's thread that dequeued this SIGKILL before mark_victim's record was
			 * stamped hung its stack here: it is the victim's. */
			if (k->target.py.present && py_better(&r->victim.py, &k->target.py, k->target.pid))
				r->victim.py = k->target.py;
			memmove(k, k + 1, (m->nkills - i - 1) * sizeof(*k));
			m->nkills--;
			continue;
		}
		i++;
	}
	m->last_oom_sender = e->trigger.pid;
	m->last_oom_ns = e->h.ts_ns;
	mark_killed(m, e->victim.pid, e->victim_peak_pages * ps, e->h.ts_ns);
	blame(m, r, e->victim.pid);
	/* Stacks that came before this record (another CPU, or the same trigger's program
	 * running first): the trigger's own, then the victim's. */
	py_take_pending(m, &r->trigger, e->h.ts_ns, TKT_PY_TRIGGER);
	if (r->victim.pid == r->trigger.pid && r->trigger.py.present)
		r->victim.py = r->trigger.py;
	py_take_pending(m, &r->victim, e->h.ts_ns, TKT_PY_KILLED);
	return 0;
}

static int ev_signal(struct tkt_model *m, const struct tkt_ev_signal *e)
{
	struct tkt_kill_rec *k;

	if (e->h.pid == m->o.root_pid) {
		m->root_signaled = true;
		m->root_sig = e->sig;
		m->root_sig_sender = e->sender_pid;
		tkt_comm_copy(m->root_sig_sender_comm, e->sender_comm);
		m->root_sig_kernel = e->flags & TKT_SIG_F_KERNEL;
	}
	/* Only signals that took effect: a SIGKILL to a process already dying (a group kill
	 * after a kill of the child) is "ignored" or "already pending" (TRACE_SIGNAL_*). */
	if (e->sig != 9 || (e->result != 0 && e->result != 4))
		return 0;
	/* The OOM killer also kills processes sharing the victim's memory, right after. */
	if ((e->flags & TKT_SIG_F_KERNEL) && m->nooms && e->sender_pid == m->last_oom_sender &&
	    e->h.ts_ns >= m->last_oom_ns && e->h.ts_ns - m->last_oom_ns < 100000000ULL)
		return 0;
	if (grow(&m->kills, &m->cap_kills, m->nkills, sizeof(*m->kills)))
		return -ENOMEM;
	k = &m->kills[m->nkills++];
	memset(k, 0, sizeof(*k));
	k->ts_ns = e->h.ts_ns;
	party_fill(m, &k->target, e->h.pid, e->target_comm);
	k->target.rss_bytes = e->target_rss_pages * m->o.page_size;
	k->sender_pid = e->sender_pid;
	tkt_comm_copy(k->sender_comm, e->sender_comm);
	k->kernel = e->flags & TKT_SIG_F_KERNEL;
	mark_killed(m, e->h.pid, 0, e->h.ts_ns);
	return 0;
}

static bool py_record_ok(const struct tkt_ev_pystack *e, size_t len)
{
	size_t fixed = offsetof(struct tkt_ev_pystack, pool);

	if (len < fixed || e->nframes > TKT_PY_FRAMES || e->pool_used > TKT_PY_POOL ||
	    len < fixed + e->pool_used)
		return false;
	for (uint32_t i = 0; i < e->nframes; i++)
		if ((uint64_t)e->f[i].table_off + e->f[i].table_len > e->pool_used)
			return false;
	return true;
}

/* Which stack a party keeps: the trigger's own (the allocating thread) over any taken at
 * signal delivery; frames over none; the main thread's over another's. */
static bool py_better(const struct tkt_pystack *old, const struct tkt_pystack *s, uint32_t pid)
{
	if (!old->present)
		return true;
	if (old->role == TKT_PY_TRIGGER || !s->nframes)
		return false;
	return !old->nframes || (s->tid == pid && old->tid != pid);
}

static void py_fill(struct tkt_model *m, struct tkt_pystack *s, const struct tkt_ev_pystack *e)
{
	struct tkt_buf b = { 0 };

	memset(s, 0, sizeof(*s));
	s->present = true;
	s->role = e->role;
	s->more = e->more;
	s->tid = e->h.tid;
	s->version = e->version;
	s->err = e->err;
	s->walk_ns = e->walk_ns;
	s->ts_ns = e->h.ts_ns;
	s->nframes = e->nframes;
	for (uint32_t i = 0; i < e->nframes; i++) {
		const struct tkt_py_frame *f = &e->f[i];

		tkt_buf_reset(&b);
		tkt_py_str_utf8(&b, f->file, f->file_len < TKT_PY_FILE ? f->file_len : TKT_PY_FILE,
				f->file_kind);
		s->f[i].file = tkt_intern(m->strings, b.data ? b.data : "", b.len);
		tkt_buf_reset(&b);
		tkt_py_str_utf8(&b, f->name, f->name_len < TKT_PY_NAME ? f->name_len : TKT_PY_NAME,
				f->name_kind);
		s->f[i].func = tkt_intern(m->strings, b.data ? b.data : "", b.len);
		/* The record was checked to hold every frame's table (py_record_ok). */
		s->f[i].line = tkt_py_line(e->version, e->pool + f->table_off, f->table_len,
					   f->table_total, f->lasti, f->firstlineno);
	}
	tkt_buf_free(&b);
}

/* An OOM victim's threads may dequeue their SIGKILL on another CPU before mark_victim's own
 * record is stamped: their stacks wait here for the OOM record (TKT_PY_PENDING ago at most). */
#define TKT_PY_PENDING_NS 1000000000ULL

static void py_take_pending(struct tkt_model *m, struct tkt_party *p, uint64_t ts, uint8_t role)
{
	for (size_t i = 0; i < TKT_PY_NPENDING; i++) {
		struct tkt_pystack *s = &m->py_pending[i];
		if (s->present && s->role == role && m->py_pending_pid[i] == p->pid &&
		    s->ts_ns <= ts + TKT_PY_PENDING_NS &&
		    ts <= s->ts_ns + TKT_PY_PENDING_NS && py_better(&p->py, s, p->pid))
			p->py = *s;
	}
}

/* A stack walked in the kernel: the trigger's at an OOM, or a killed process's thread's at
 * its SIGKILL's delivery. Hung on the newest OOM or kill it belongs to. */
static int ev_pystack(struct tkt_model *m, const struct tkt_ev_pystack *e)
{
	uint32_t pid = e->h.pid;
	struct tkt_pystack s;

	m->py_walks++;
	m->py_walk_ns += e->walk_ns;
	if (e->walk_ns > m->py_walk_max_ns)
		m->py_walk_max_ns = e->walk_ns;
	py_fill(m, &s, e);
	for (size_t i = m->nooms; i-- > 0;) {
		struct tkt_oom_rec *r = &m->ooms[i];

		if (e->role == TKT_PY_TRIGGER) {
			if (r->trigger.pid != pid || r->trigger.py.present)
				continue;
			r->trigger.py = s;
			if (r->victim.pid == pid)
				r->victim.py = s;
			return 0;
		}
		if (r->victim.pid == pid && r->ts_ns + TKT_PY_PENDING_NS >= e->h.ts_ns) {
			if (py_better(&r->victim.py, &s, pid))
				r->victim.py = s;
			return 0;
		}
	}
	for (size_t i = m->nkills; e->role == TKT_PY_KILLED && i-- > 0;) {
		struct tkt_kill_rec *k = &m->kills[i];

		if (k->target.pid == pid) {
			if (py_better(&k->target.py, &s, pid))
				k->target.py = s;
			return 0;
		}
	}
	{
		size_t slot = m->py_npending++ % TKT_PY_NPENDING;
		m->py_pending[slot] = s;
		m->py_pending_pid[slot] = pid;
	}
	return 0;
}

int tkt_model_apply(struct tkt_model *m, const void *data, size_t len)
{
	const struct tkt_hdr *h = data;
	static const size_t sizes[] = {
		[TKT_EV_FORK] = sizeof(struct tkt_ev_fork), [TKT_EV_EXEC] = sizeof(struct tkt_ev_exec),
		[TKT_EV_EXIT] = sizeof(struct tkt_ev_exit), [TKT_EV_ENV] = offsetof(struct tkt_ev_env, data),
		[TKT_EV_OOM] = sizeof(struct tkt_ev_oom),   [TKT_EV_SIGNAL] = sizeof(struct tkt_ev_signal),
	};

	if (m->tap)
		m->tap(m->tap_ctx, TKT_TAP_RAW, data, len);
	if (len >= sizeof(*h) && h->type == TKT_EV_PYSTACK) {
		const struct tkt_ev_pystack *e = data;

		/* At its used length: the frames and the used part of the pool. */
		if (!py_record_ok(e, len)) {
			m->lost_events++;
			return -EINVAL;
		}
		if (h->ts_ns > m->last_ns)
			m->last_ns = h->ts_ns;
		return ev_pystack(m, e);
	}
	if (len < sizeof(*h) || h->type < TKT_EV_FORK || h->type > TKT_EV_SIGNAL ||
	    len < sizes[h->type]) {
		m->lost_events++;
		return -EINVAL;
	}
	/* Env records come at their used length. */
	if (h->type == TKT_EV_ENV &&
	    len < offsetof(struct tkt_ev_env, data) + ((const struct tkt_ev_env *)data)->len) {
		m->lost_events++;
		return -EINVAL;
	}
	if (h->ts_ns > m->last_ns)
		m->last_ns = h->ts_ns;
	switch (h->type) {
	case TKT_EV_FORK:
		return ev_fork(m, data);
	case TKT_EV_EXEC:
		return ev_exec(m, data);
	case TKT_EV_EXIT:
		return ev_exit(m, data);
	case TKT_EV_ENV:
		return ev_env(m, data);
	case TKT_EV_OOM:
		return ev_oom(m, data);
	case TKT_EV_SIGNAL:
		return ev_signal(m, data);
	}
	return -EINVAL;
}

void tkt_model_sweep(struct tkt_model *m, uint64_t grace_ns)
{
	struct tkt_tap_sweep in = { .grace_ns = grace_ns };

	/* A sweep that frees nothing changes nothing: not worth recording. */
	if (m->dead_head && m->last_ns > m->dead_head->exit_ns + grace_ns)
		tap(m, TKT_TAP_SWEEP, &in, sizeof(in), NULL);
	while (m->dead_head && m->last_ns > m->dead_head->exit_ns + grace_ns) {
		struct tkt_proc *p = m->dead_head;
		m->dead_head = p->dnext;
		if (!m->dead_head)
			m->dead_tail = NULL;
		unlink_proc(m, p);
		proc_free(p);
	}
}

void tkt_model_set_cgroup(struct tkt_model *m, const char *path, bool has_limit, uint64_t limit)
{
	struct tkt_tap_cgroup in = { .has_path = path != NULL, .has_limit = has_limit, .limit = limit };

	tap(m, TKT_TAP_CGROUP, &in, sizeof(in), path);
	m->cg_path = path ? tkt_intern(m->strings, path, strlen(path)) : NULL;
	m->cg_has_limit = has_limit;
	m->cg_limit = limit;
	/* A new cgroup starts a new series: samples of the old one would mislead. */
	m->ncg_samples = 0;
	m->cg_peak = 0;
	m->cg_stride = 1;
	m->cg_skip = 0;
	m->warn_above = false;
}

void tkt_model_cg_sample(struct tkt_model *m, uint64_t ts_ns, uint64_t bytes)
{
	struct tkt_tap_sample in = { .ts_ns = ts_ns, .bytes = bytes };

	tap(m, TKT_TAP_CG_SAMPLE, &in, sizeof(in), NULL);
	if (bytes > m->cg_peak)
		m->cg_peak = bytes;
	tkt_model_warn_check(m, ts_ns, bytes);
	if (!m->cg_samples) {
		m->cg_samples = calloc(TKT_CG_SAMPLES, sizeof(*m->cg_samples));
		if (!m->cg_samples)
			return;
		m->cg_stride = 1;
	}
	/* Bounded memory however long the run: halve the resolution when full. */
	if (m->cg_skip + 1 < m->cg_stride) {
		m->cg_skip++;
		return;
	}
	m->cg_skip = 0;
	if (m->ncg_samples == TKT_CG_SAMPLES) {
		for (size_t i = 0; i < TKT_CG_SAMPLES / 2; i++)
			memcpy(m->cg_samples[i], m->cg_samples[2 * i], sizeof(m->cg_samples[0]));
		m->ncg_samples = TKT_CG_SAMPLES / 2;
		m->cg_stride *= 2;
	}
	m->cg_samples[m->ncg_samples][0] = ts_ns;
	m->cg_samples[m->ncg_samples][1] = bytes;
	m->ncg_samples++;
}

const struct tkt_rss_series *tkt_model_rss_series(const struct tkt_model *m, uint32_t pid)
{
	for (size_t i = 0; i < m->nrss; i++)
		if (m->rss[i].pid == pid)
			return &m->rss[i];
	return NULL;
}

static void rss_store(struct tkt_rss_series *s)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 4 : 64;
		void *p;

		if (ncap > TKT_RSS_SAMPLES)
			ncap = TKT_RSS_SAMPLES;
		p = realloc(s->pts, ncap * sizeof(s->pts[0]));
		if (!p)
			return;
		s->pts = p;
		s->cap = ncap;
	}
	s->pts[s->n][0] = s->pend_ts;
	s->pts[s->n][1] = s->pend_bytes;
	s->n++;
	s->pend_n = 0;
	if (s->n == TKT_RSS_SAMPLES) {
		/* Full: pairs become one point, the larger of the two, and windows double. */
		for (size_t i = 0; i < s->n / 2; i++) {
			uint64_t *a = s->pts[2 * i], *b = s->pts[2 * i + 1];
			memcpy(s->pts[i], b[1] > a[1] ? b : a, sizeof(s->pts[0]));
		}
		s->n /= 2;
		s->stride *= 2;
	}
}

void tkt_model_rss_sample(struct tkt_model *m, uint32_t pid, uint64_t ts_ns, uint64_t bytes)
{
	struct tkt_rss_series *s = (struct tkt_rss_series *)tkt_model_rss_series(m, pid);
	struct tkt_proc *p = tkt_model_find(m, pid);
	struct tkt_tap_rss in = { .pid = pid, .ts_ns = ts_ns, .bytes = bytes };

	tap(m, TKT_TAP_RSS_SAMPLE, &in, sizeof(in), NULL);
	if (!s) {
		if (m->nrss >= TKT_RSS_SERIES ||
		    grow(&m->rss, &m->cap_rss, m->nrss, sizeof(*m->rss))) {
			m->rss_dropped++;
			return;
		}
		s = &m->rss[m->nrss++];
		memset(s, 0, sizeof(*s));
		s->pid = pid;
		s->stride = 1;
	}
	if (p && p->is_pytest && p->own.worker)
		s->worker = p->own.worker;
	if (bytes > s->max_bytes)
		s->max_bytes = bytes;
	if (s->pend_n == 0 || bytes > s->pend_bytes) {
		s->pend_ts = ts_ns;
		s->pend_bytes = bytes;
	}
	if (++s->pend_n >= s->stride)
		rss_store(s);
}

size_t tkt_model_live_pytest(const struct tkt_model *m, uint32_t *pids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nbuckets && n < max; i++)
		for (const struct tkt_proc *p = m->buckets[i]; p && n < max; p = p->hnext)
			if (p->is_pytest && p->alive)
				pids[n++] = p->pid;
	return n;
}

/* A string after a fixed part: copied out with a NUL (inputs carry none). */
static char *tap_str(const void *data, size_t flen, size_t len)
{
	char *s;

	if (len - flen > TAP_STR_MAX || !(s = malloc(len - flen + 1)))
		return NULL;
	memcpy(s, (const char *)data + flen, len - flen);
	s[len - flen] = '\0';
	return s;
}

int tkt_model_replay(struct tkt_model *m, uint16_t type, const void *data, size_t len)
{
	union {
		struct tkt_tap_root root;
		struct tkt_tap_pid pid;
		struct tkt_tap_cgroup cg;
		struct tkt_tap_sample sample;
		struct tkt_tap_sweep sweep;
		struct tkt_tap_rss rss;
	} in;
	static const size_t fixed[] = {
		[TKT_TAP_ROOT] = sizeof(in.root),     [TKT_TAP_CWD] = sizeof(in.pid),
		[TKT_TAP_CGROUP] = sizeof(in.cg),     [TKT_TAP_CG_SAMPLE] = sizeof(in.sample),
		[TKT_TAP_SWEEP] = sizeof(in.sweep),  [TKT_TAP_RSS_SAMPLE] = sizeof(in.rss),
		[TKT_TAP_PYARGS] = sizeof(in.pid),   [TKT_TAP_JUNITXML] = sizeof(in.pid),
	};
	char *str = NULL;
	int r = 0;

	if (type == TKT_TAP_RAW) {
		/* A copy: the record's fields are read in place, and data need not be aligned. */
		void *copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
		tkt_model_apply(m, copy, len); /* a malformed one counts as lost, as it did live */
		free(copy);
		return 0;
	}
	if (type < TKT_TAP_ROOT || type > TKT_TAP_JUNITXML)
		return -EOPNOTSUPP;
	if (len < fixed[type])
		return -EINVAL;
	memcpy(&in, data, fixed[type]);
	if (type == TKT_TAP_ROOT || type == TKT_TAP_CWD || type == TKT_TAP_CGROUP ||
	    type == TKT_TAP_PYARGS || type == TKT_TAP_JUNITXML) {
		str = tap_str(data, fixed[type], len);
		if (!str)
			return -EINVAL;
		if (memchr(str, '\0', len - fixed[type])) {
			free(str);
			return -EINVAL;
		}
	} else if (len != fixed[type]) {
		return -EINVAL;
	}
	switch (type) {
	case TKT_TAP_ROOT:
		m->o.root_pid = in.root.root_pid;
		r = tkt_model_add_root(m, in.root.pid, str, in.root.ts_ns);
		break;
	case TKT_TAP_CWD:
		tkt_model_set_cwd(m, in.pid.pid, str);
		break;
	case TKT_TAP_CGROUP:
		if (in.cg.has_path > 1 || in.cg.has_limit > 1 || (!in.cg.has_path && *str))
			r = -EINVAL;
		else
			tkt_model_set_cgroup(m, in.cg.has_path ? str : NULL, in.cg.has_limit,
					     in.cg.limit);
		break;
	case TKT_TAP_CG_SAMPLE:
		tkt_model_cg_sample(m, in.sample.ts_ns, in.sample.bytes);
		break;
	case TKT_TAP_SWEEP:
		tkt_model_sweep(m, in.sweep.grace_ns);
		break;
	case TKT_TAP_RSS_SAMPLE:
		tkt_model_rss_sample(m, in.rss.pid, in.rss.ts_ns, in.rss.bytes);
		break;
	case TKT_TAP_PYARGS:
		tkt_model_set_pyargs(m, in.pid.pid, str);
		break;
	case TKT_TAP_JUNITXML:
		tkt_model_add_junitxml(m, in.pid.pid, str);
		break;
	}
	free(str);
	return r;
}
