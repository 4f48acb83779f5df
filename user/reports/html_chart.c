/* The HTML report's chart: a memory timeline per pytest process in inline SVG (resident memory,
 * per-test peaks, the cgroup and its limit, a marker at each kill). */
#define _GNU_SOURCE
#include "html_chart.h"

#include <stdlib.h>
#include <string.h>
#include "html_text.h"

/* SVG geometry of one timeline, in viewBox units (scaled to the page width). */
#define SVG_W 1200
#define PL 74			/* y labels */
#define PR 14
#define PT 4
#define STRIP 18		/* test names above the data area */
#define PH 180			/* data area */
#define PB 26			/* x labels */
#define SVG_H (PT + STRIP + PH + PB)
#define PW (SVG_W - PL - PR)
#define DT (PT + STRIP)		/* top of the data area */
#define DB (DT + PH)		/* its bottom */
#define TL_MAX 16		/* timelines drawn */
#define TL_PIDS 256		/* processes considered */
#define BAND_MIN 3.0		/* narrower tests are drawn as one band */

/* Colours: the kill marker's is used nowhere else (the screenshot test looks for it). */
#define C_RSS "#1f6fb4"
#define C_PEAK "#0e9f8e"
#define C_CG "#8a8f98"
#define C_LIMIT "#9b2226"
#define C_KILL "#e4002b"
#define C_TRIGGER "#e07b00"
#define C_SIGKILL "#6a3d9a"


struct tl {
	uint32_t pid;
	const char *worker;
	const struct tkt_rss_series *s;
	size_t ntests;
	uint64_t first_ns;
	bool party; /* a kill happened on it: always drawn */
};

struct axes {
	double t_end;	/* seconds at the right edge */
	uint64_t ymax;	/* bytes at the top */
	uint64_t ystep;
	bool limit_on_scale;
	uint64_t limit;
	bool has_limit;
};

static double X(const struct axes *a, double t)
{
	if (t < 0)
		t = 0;
	if (t > a->t_end)
		t = a->t_end;
	return PL + t / a->t_end * PW;
}

static double Y(const struct axes *a, uint64_t bytes)
{
	if (bytes > a->ymax)
		bytes = a->ymax;
	return DB - (double)bytes / (double)a->ymax * PH;
}

static size_t tl_find(struct tl *tl, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (tl[i].pid == pid)
			return i;
	return SIZE_MAX;
}

static size_t tl_add(struct tl *tl, size_t *n, uint32_t pid)
{
	size_t i = tl_find(tl, *n, pid);

	if (i != SIZE_MAX || *n >= TL_PIDS)
		return i;
	memset(&tl[*n], 0, sizeof(tl[0]));
	tl[*n].pid = pid;
	tl[*n].first_ns = UINT64_MAX;
	return (*n)++;
}

static size_t tl_of_worker(struct tl *tl, size_t n, const char *worker)
{
	for (size_t i = 0; worker && i < n; i++)
		if (tl[i].worker && strcmp(tl[i].worker, worker) == 0)
			return i;
	return SIZE_MAX;
}

/* Which drawn timeline shows something that happened to party p (pytest process pyt). */
static size_t tl_of_party(struct tl *tl, size_t n, uint32_t pyt, const struct tkt_party *p)
{
	size_t i = pyt ? tl_find(tl, n, pyt) : SIZE_MAX;

	if (i == SIZE_MAX)
		i = tl_find(tl, n, p->pid);
	if (i == SIZE_MAX)
		i = tl_of_worker(tl, n, p->attr.worker);
	return i;
}

/* gw2 before gw10; the main process first. */
static long worker_num(const char *w)
{
	if (!w || strncmp(w, "gw", 2) || !w[2])
		return -1;
	for (const char *c = w + 2; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	return atol(w + 2);
}

static int tl_cmp_display(const void *a, const void *b, void *arg)
{
	const struct tl *x = a, *y = b;
	uint32_t root = *(const uint32_t *)arg;
	int rx = x->pid == root ? 0 : x->worker ? 1 : 2, ry = y->pid == root ? 0 : y->worker ? 1 : 2;
	long nx, ny;

	if (rx != ry)
		return rx - ry;
	if (x->worker && y->worker) {
		nx = worker_num(x->worker);
		ny = worker_num(y->worker);
		if (nx != ny)
			return nx < ny ? -1 : 1;
		if (strcmp(x->worker, y->worker))
			return strcmp(x->worker, y->worker);
	}
	if (x->first_ns != y->first_ns)
		return x->first_ns < y->first_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int tl_cmp_pick(const void *a, const void *b)
{
	const struct tl *x = a, *y = b;

	if (x->party != y->party)
		return x->party ? -1 : 1;
	if (x->ntests != y->ntests)
		return x->ntests > y->ntests ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static uint32_t oom_pytest_pid(const struct tkt_oom_rec *o)
{
	return o->blame.valid ? o->blame.pid : 0;
}

/* The processes to draw, in display order; *nall: how many there were. */
static size_t pick_timelines(const struct tkt_model *m, struct tl *tl, size_t *nall)
{
	size_t n = 0, k = 0, i;

	for (i = 0; i < m->nrss; i++) {
		size_t j = tl_add(tl, &n, m->rss[i].pid);
		if (j == SIZE_MAX)
			continue;
		tl[j].s = &m->rss[i];
		tl[j].worker = m->rss[i].worker;
		if (m->rss[i].n && m->rss[i].pts[0][0] < tl[j].first_ns)
			tl[j].first_ns = m->rss[i].pts[0][0];
	}
	for (i = 0; i < m->ntests; i++) {
		const struct tkt_test_rec *t = &m->tests[i];
		size_t j = tl_add(tl, &n, t->pid);
		if (j == SIZE_MAX)
			continue;
		tl[j].ntests++;
		if (t->worker)
			tl[j].worker = t->worker;
		if (t->start_ns < tl[j].first_ns)
			tl[j].first_ns = t->start_ns;
	}
	for (i = 0; i < m->nooms; i++) {
		const struct tkt_oom_rec *o = &m->ooms[i];
		size_t v = tl_of_party(tl, n, oom_pytest_pid(o), &o->victim);
		size_t g = tl_of_party(tl, n, 0, &o->trigger);
		if (v != SIZE_MAX)
			tl[v].party = true;
		if (g != SIZE_MAX)
			tl[g].party = true;
	}
	for (i = 0; i < m->nkills; i++) {
		size_t j = tl_of_party(tl, n, 0, &m->kills[i].target);
		if (j != SIZE_MAX)
			tl[j].party = true;
	}
	/* Processes that ran tests or saw a kill; else (no tests at all) every sampled one. */
	for (i = 0; i < n; i++)
		if (tl[i].ntests || tl[i].party)
			tl[k++] = tl[i];
	if (k == 0)
		k = n;
	*nall = k;
	qsort(tl, k, sizeof(*tl), tl_cmp_pick);
	if (k > TL_MAX)
		k = TL_MAX;
	qsort_r(tl, k, sizeof(*tl), tl_cmp_display, (void *)&m->o.root_pid);
	return k;
}

static double nice_step(double raw)
{
	double p = 1;

	if (raw <= 0)
		return 1;
	while (p * 10 <= raw)
		p *= 10;
	while (p > raw)
		p /= 10;
	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

static void axes_init(struct axes *a, const struct tkt_model *m, const struct tkt_run *r,
		      const struct tl *tl, size_t ntl)
{
	uint64_t data = 0;
	double mib;

	memset(a, 0, sizeof(*a));
	a->t_end = r->duration_s;
	if (tkt_model_time_s(m, m->last_ns) > a->t_end)
		a->t_end = tkt_model_time_s(m, m->last_ns);
	for (size_t i = 0; i < ntl; i++) {
		const struct tkt_rss_series *s = tl[i].s;
		if (!s)
			continue;
		if (s->max_bytes > data)
			data = s->max_bytes;
		if (s->n && tkt_model_time_s(m, s->pts[s->n - 1][0]) > a->t_end)
			a->t_end = tkt_model_time_s(m, s->pts[s->n - 1][0]);
		if (s->pend_n && tkt_model_time_s(m, s->pend_ts) > a->t_end)
			a->t_end = tkt_model_time_s(m, s->pend_ts);
	}
	for (size_t i = 0; i < m->ntests; i++) {
		const struct tkt_test_rec *t = &m->tests[i];
		if (tl_find((struct tl *)tl, ntl, t->pid) == SIZE_MAX)
			continue;
		if (t->peak > data)
			data = t->peak;
		if (t->ended && t->rss_end > data)
			data = t->rss_end;
	}
	for (size_t i = 0; i < m->nooms; i++) {
		if (m->ooms[i].victim.rss_bytes > data)
			data = m->ooms[i].victim.rss_bytes;
		if (m->ooms[i].trigger.rss_bytes > data)
			data = m->ooms[i].trigger.rss_bytes;
		if (!a->has_limit && m->ooms[i].has_limit) {
			a->has_limit = true;
			a->limit = m->ooms[i].limit_bytes;
		}
	}
	if (m->ncg_samples && m->cg_peak > data)
		data = m->cg_peak;
	if (m->cg_has_limit) {
		a->has_limit = true;
		a->limit = m->cg_limit;
	}
	/* A limit far above what was used would flatten every line: name it instead. */
	if (a->has_limit && (a->limit <= 4 * data || data == 0)) {
		a->limit_on_scale = true;
		if (a->limit > data)
			data = a->limit;
	}
	if (a->t_end <= 0)
		a->t_end = 1;
	/* Room above the highest point; with kills, for their labels above the lines. */
	mib = (double)data / (1 << 20) * (m->nooms || m->nkills ? 1.5 : 1.08);
	if (mib < 1)
		mib = 1;
	double step = nice_step(mib / 5);
	if (step < 1.0 / 16)
		step = 1.0 / 16;
	/* Hostile or corrupt inputs can be near 2^64 bytes: keep the conversions defined. */
	if (mib > 1e12)
		mib = 1e12;
	if (step > mib)
		step = mib;
	a->ystep = (uint64_t)(step * (1 << 20));
	a->ymax = (uint64_t)(mib * (1 << 20));
}

static void axis_label_bytes(struct tkt_buf *b, uint64_t v)
{
	if (v >= (1ULL << 30) && v % (1ULL << 30) == 0)
		tkt_buf_printf(b, "%llu GiB", (unsigned long long)(v >> 30));
	else if (v >= (1ULL << 30))
		tkt_buf_printf(b, "%.1f GiB", (double)v / (1ULL << 30));
	else if (v % (1 << 20) == 0)
		tkt_buf_printf(b, "%llu MiB", (unsigned long long)(v >> 20));
	else
		tkt_buf_printf(b, "%.2f MiB", (double)v / (1 << 20));
}

static void draw_axes(struct tkt_buf *b, const struct axes *a)
{
	static const double steps[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
					900, 1800, 3600, 7200, 14400, 28800, 86400 };
	double step = steps[sizeof(steps) / sizeof(steps[0]) - 1];

	tkt_buf_printf(b, "<g class=\"ax\">");
	for (uint64_t v = 0; v <= a->ymax; v += a->ystep) {
		double y = Y(a, v);
		tkt_buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"%s/>", PL, PL + PW,
			       y, y, v ? "" : " class=\"base\"");
		tkt_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", PL - 6, y + 4);
		axis_label_bytes(b, v);
		tkt_buf_printf(b, "</text>");
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (a->t_end / steps[i] <= 12) {
			step = steps[i];
			break;
		}
	for (int k = 0; k * step <= a->t_end + 1e-9; k++) {
		double t = k * step, x = X(a, t);
		const char *anchor = x > PL + PW - 24 ? "end" : k == 0 ? "start" : "middle";
		tkt_buf_printf(b, "<line class=\"tick\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", x,
			       x, DB, DB + 4);
		tkt_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">", x, DB + 17, anchor);
		if (step >= 60)
			tkt_buf_printf(b, "%g min", t / 60);
		else
			tkt_buf_printf(b, "%g s", t);
		tkt_buf_printf(b, "</text>");
	}
	tkt_buf_printf(b, "</g>");
}

/* The short name of a test for a band: what follows the last "::". */
static const char *short_name(const char *nodeid)
{
	const char *s = nodeid ? nodeid : "?", *p;

	while ((p = strstr(s, "::")) && p[2])
		s = p + 2;
	return s;
}

static void test_title(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_test_rec *t,
		       double end_s)
{
	char s1[32], s2[32];
	double st = tkt_model_time_s(m, t->start_ns);

	tkt_html_escape(b, t->nodeid, 400);
	tkt_buf_printf(b, "\n%.2f s to %.2f s, peak +%s", st, end_s,
		       fmt_b(tkt_test_growth(t), s1, sizeof(s1)));
	if (t->ended) {
		int64_t ret = tkt_test_retained(t);
		tkt_buf_printf(b, ", retained %s%s", ret < 0 ? "-" : "+",
			       fmt_b(ret < 0 ? (uint64_t)-ret : (uint64_t)ret, s2, sizeof(s2)));
	}
	tkt_buf_printf(b, ", %s", tkt_outcome_name(t->outcome));
}

/* Alternating bands, one per test (narrow neighbours share one); names in <title>. */
static void draw_bands(struct tkt_buf *b, const struct tkt_model *m, const struct axes *a,
		       uint32_t pid)
{
	size_t first = SIZE_MAX, count = 0, ngroups = 0;
	double gx0 = 0, gx1 = 0, gend = 0;
	bool killed = false;

	tkt_buf_printf(b, "<g class=\"bands\">");
	for (size_t i = 0; i <= m->ntests; i++) {
		const struct tkt_test_rec *t = i < m->ntests ? &m->tests[i] : NULL;
		double x0 = 0, x1 = 0, end = 0;

		if (t && t->pid != pid)
			continue;
		if (t) {
			end = tkt_html_test_end_s(m, t, a->t_end);
			x0 = X(a, tkt_model_time_s(m, t->start_ns));
			x1 = X(a, end);
			if (first != SIZE_MAX && gx1 - gx0 < BAND_MIN) {
				count++;
				gx1 = x1;
				gend = end;
				killed |= t->outcome == TKT_OUTCOME_KILLED;
				continue;
			}
		}
		if (first != SIZE_MAX) {
			const struct tkt_test_rec *f = &m->tests[first];
			double w = gx1 - gx0 < 1 ? 1 : gx1 - gx0;
			tkt_buf_printf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"><title>",
				       killed ? "bk" : ngroups % 2 ? "b1" : "b0", gx0, PT, w, STRIP + PH);
			if (count == 1) {
				test_title(b, m, f, gend);
			} else {
				/* Too narrow to point at: the table has them all. */
				tkt_buf_printf(b, "%zu tests, %.2f s to %.2f s, from ", count,
					       tkt_model_time_s(m, f->start_ns), gend);
				tkt_html_escape(b, f->nodeid, 120);
			}
			tkt_buf_printf(b, "</title></rect>");
			/* A name where it fits; about 6.3 units per character at this size. */
			int fit = (int)((w - 8) / 6.3);
			if (count == 1 && fit >= 4) {
				tkt_buf_printf(b, "<text class=\"bl\" x=\"%.1f\" y=\"%d\">", gx0 + 4,
					       PT + 13);
				tkt_html_escape(b, short_name(f->nodeid), fit);
				tkt_buf_printf(b, "</text>");
			}
			ngroups++;
		}
		if (!t)
			break;
		first = i;
		count = 1;
		gx0 = x0;
		gx1 = x1;
		gend = end;
		killed = t->outcome == TKT_OUTCOME_KILLED;
	}
	tkt_buf_printf(b, "</g>");
}

/* Per pixel column: the lowest and highest value and when they were seen. */
struct col {
	uint64_t lo, hi;
	uint64_t tlo, thi;
	bool set;
};

static void col_add(struct col *c, const struct axes *a, double t_s, uint64_t ts, uint64_t v)
{
	int i = (int)(X(a, t_s) - PL);

	if (i < 0)
		i = 0;
	if (i >= PW)
		i = PW - 1;
	c += i;
	if (!c->set || v < c->lo)
		c->lo = v, c->tlo = ts;
	if (!c->set || v > c->hi)
		c->hi = v, c->thi = ts;
	c->set = true;
}

/* Resident memory: the samples, the kernel's values at test boundaries and at kills. */
static void draw_rss(struct tkt_buf *b, const struct tkt_model *m, const struct axes *a,
		     const struct tl *tl, struct col *c)
{
	const struct tkt_rss_series *s = tl->s;
	struct tkt_buf pts = { 0 };
	double xfirst = -1, xlast = 0;

	memset(c, 0, PW * sizeof(*c));
	for (size_t i = 0; s && i < s->n; i++)
		col_add(c, a, tkt_model_time_s(m, s->pts[i][0]), s->pts[i][0], s->pts[i][1]);
	if (s && s->pend_n)
		col_add(c, a, tkt_model_time_s(m, s->pend_ts), s->pend_ts, s->pend_bytes);
	for (size_t i = 0; i < m->ntests; i++) {
		const struct tkt_test_rec *t = &m->tests[i];
		if (t->pid != tl->pid)
			continue;
		col_add(c, a, tkt_model_time_s(m, t->start_ns), t->start_ns, t->rss_start);
		if (t->ended)
			col_add(c, a, tkt_model_time_s(m, t->end_ns), t->end_ns, t->rss_end);
	}
	for (size_t i = 0; i < m->nooms; i++) {
		const struct tkt_oom_rec *o = &m->ooms[i];
		if (o->victim.pid == tl->pid)
			col_add(c, a, tkt_model_time_s(m, o->ts_ns), o->ts_ns, o->victim.rss_bytes);
		else if (o->trigger.pid == tl->pid)
			col_add(c, a, tkt_model_time_s(m, o->ts_ns), o->ts_ns, o->trigger.rss_bytes);
	}
	for (int i = 0; i < PW; i++) {
		double x = PL + i + 0.5;
		if (!c[i].set)
			continue;
		if (xfirst < 0)
			xfirst = x;
		xlast = x;
		if (c[i].lo == c[i].hi)
			tkt_buf_printf(&pts, "%.1f,%.1f ", x, Y(a, c[i].hi));
		else if (c[i].tlo <= c[i].thi)
			tkt_buf_printf(&pts, "%.1f,%.1f %.1f,%.1f ", x, Y(a, c[i].lo), x, Y(a, c[i].hi));
		else
			tkt_buf_printf(&pts, "%.1f,%.1f %.1f,%.1f ", x, Y(a, c[i].hi), x, Y(a, c[i].lo));
	}
	if (xfirst >= 0) {
		tkt_buf_printf(b, "<polygon class=\"area\" points=\"%.1f,%d %s%.1f,%d\"/>", xfirst, DB,
			       pts.data, xlast, DB);
		tkt_buf_printf(b, "<polyline class=\"rss\" points=\"%s\"/>", pts.data);
	}
	tkt_buf_free(&pts);
}

/* The highest resident memory during each test (kernel-measured), as steps over its span. */
static void draw_peaks(struct tkt_buf *b, const struct tkt_model *m, const struct axes *a,
		       uint32_t pid, uint64_t *colmax)
{
	bool any = false;

	memset(colmax, 0, PW * sizeof(*colmax));
	for (size_t i = 0; i < m->ntests; i++) {
		const struct tkt_test_rec *t = &m->tests[i];
		if (t->pid != pid)
			continue;
		int c0 = (int)(X(a, tkt_model_time_s(m, t->start_ns)) - PL);
		int c1 = (int)(X(a, tkt_html_test_end_s(m, t, a->t_end)) - PL);
		for (int c = c0 < 0 ? 0 : c0; c <= c1 && c < PW; c++)
			if (t->peak > colmax[c])
				colmax[c] = t->peak;
	}
	for (int c = 0; c < PW;) {
		int e = c;
		if (!colmax[c]) {
			c++;
			continue;
		}
		while (e + 1 < PW && colmax[e + 1] == colmax[c])
			e++;
		if (!any)
			tkt_buf_printf(b, "<path class=\"peak\" d=\"");
		any = true;
		tkt_buf_printf(b, "M%d %.1fH%d", PL + c, Y(a, colmax[c]), PL + e + 1);
		c = e + 1;
	}
	if (any)
		tkt_buf_printf(b, "\"/>");
}

static void draw_cgroup(struct tkt_buf *b, const struct tkt_model *m, const struct axes *a,
			uint64_t *colmax)
{
	char s1[32];
	bool any = false;

	if (m->ncg_samples) {
		memset(colmax, 0, PW * sizeof(*colmax));
		for (size_t i = 0; i < m->ncg_samples; i++) {
			int c = (int)(X(a, tkt_model_time_s(m, m->cg_samples[i][0])) - PL);
			c = c < 0 ? 0 : c >= PW ? PW - 1 : c;
			if (m->cg_samples[i][1] + 1 > colmax[c])
				colmax[c] = m->cg_samples[i][1] + 1; /* 0 means no sample */
		}
		for (int c = 0; c < PW; c++) {
			if (!colmax[c])
				continue;
			tkt_buf_printf(b, any ? "%.1f,%.1f " : "<polyline class=\"cg\" points=\"%.1f,%.1f ",
				       PL + c + 0.5, Y(a, colmax[c] - 1));
			any = true;
		}
		if (any)
			tkt_buf_printf(b, "\"/>");
	}
	if (a->has_limit && a->limit_on_scale) {
		double y = Y(a, a->limit);
		tkt_buf_printf(b, "<line class=\"limit\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>",
			       PL, PL + PW, y, y);
		/* At the left: kills, drawn at the right, tend to come at the end. */
		tkt_buf_printf(b, "<text class=\"limitl\" x=\"%d\" y=\"%.1f\">cgroup limit %s</text>",
			       PL + 6, y - 5, fmt_b(a->limit, s1, sizeof(s1)));
	}
}

/* "pid 123 python3, gw0 (tests/a.py::t)" */
static void party_short(struct tkt_buf *b, const struct tkt_party *p)
{
	tkt_buf_printf(b, "pid %u ", p->pid);
	tkt_buf_printf(b, "%s", p->comm);
	if (p->attr.worker)
		tkt_buf_printf(b, ", %s", p->attr.worker);
	if (p->attr.test)
		tkt_buf_printf(b, " (%s)", p->attr.test);
}

/* A marker with a label of up to 3 lines; slot stacks labels of one timeline. */
/* How many pixel columns of the resident-memory line a box over [x0, x1] x [y0, y1] hides. */
static int hidden_columns(const struct axes *a, const struct col *c, double x0, double x1,
			  double y0, double y1)
{
	int n = 0;

	for (int i = (int)(x0 - PL); i < (int)(x1 - PL); i++) {
		if (i < 0 || i >= PW || !c[i].set)
			continue;
		if (Y(a, c[i].hi) < y1 && Y(a, c[i].lo) > y0)
			n++;
	}
	return n;
}

static void draw_marker(struct tkt_buf *b, const struct axes *a, const struct col *cols, double t,
			uint64_t bytes, bool on_line, const char *colour, const char *cls,
			const char **lines, int nlines, const char *title, int slot)
{
	double x = X(a, t), y = on_line ? Y(a, bytes) : DT + 8;
	size_t width = 0;
	bool left = x > PL + PW * 0.5;
	int h = nlines * 15 + 7;
	double ly = DT + 6 + slot * (h + 6);

	for (int i = 0; i < nlines; i++) {
		size_t n = tkt_utf8_chars((const unsigned char *)lines[i]);
		if (n > width)
			width = n;
	}
	if (width > 96)
		width = 96;
	double w = width * 6.6 + 14, bx = left ? x - 10 - w : x + 10;
	if (bx < PL + 2)
		bx = PL + 2;
	if (bx + w > PL + PW - 2)
		bx = PL + PW - 2 - w;
	/* At the top unless the line runs there and the bottom hides less of it. */
	double low = DB - 6 - h - slot * (h + 6);
	if (low > ly && hidden_columns(a, cols, bx, bx + w, low, low + h) <
			       hidden_columns(a, cols, bx, bx + w, ly, ly + h))
		ly = low;
	tkt_buf_printf(b, "<g class=\"%s\"><title>", cls);
	ESC(b, title);
	tkt_buf_printf(b, "</title>");
	tkt_buf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
			  "stroke-width=\"2\"/>",
		       x, x, DT, DB, colour);
	tkt_buf_printf(b, "<rect class=\"lb\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
			  "rx=\"4\" stroke=\"%s\"/>",
		       bx, ly, w, h, colour);
	for (int i = 0; i < nlines; i++) {
		tkt_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\"%s>", bx + 7, ly + 15 + i * 15,
			       i == 0 ? " class=\"kl\"" : "");
		if (i == 0)
			tkt_buf_printf(b, "<tspan fill=\"%s\">", colour);
		tkt_html_escape(b, lines[i], 96);
		if (i == 0)
			tkt_buf_printf(b, "</tspan>");
		tkt_buf_printf(b, "</text>");
	}
	tkt_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\" fill=\"%s\"/></g>", x, y, colour);
}

static void draw_kills(struct tkt_buf *b, const struct tkt_model *m, const struct axes *a,
		       const struct col *cols, struct tl *tls, size_t ntl, size_t me)
{
	struct tkt_buf l1 = { 0 }, l2 = { 0 }, l3 = { 0 }, title = { 0 };
	char s1[32], s2[32];
	int slot = 0;

	for (size_t i = 0; i < m->nooms; i++) {
		const struct tkt_oom_rec *o = &m->ooms[i];
		size_t v = tl_of_party(tls, ntl, oom_pytest_pid(o), &o->victim);
		size_t g = tl_of_party(tls, ntl, 0, &o->trigger);
		const char *lines[3];
		double t = tkt_model_time_s(m, o->ts_ns);

		if (v == SIZE_MAX && me == 0 && g != 0)
			v = 0; /* drawn somewhere, always */
		if (v != me && g != me)
			continue;
		tkt_buf_reset(&l1);
		tkt_buf_reset(&l2);
		tkt_buf_reset(&l3);
		tkt_buf_reset(&title);
		if (v == me) {
			tkt_buf_printf(&l1, "OOM kill: victim ");
			party_short(&l1, &o->victim);
			tkt_buf_printf(&l1, ", rss %s", fmt_b(o->victim.rss_bytes, s1, sizeof(s1)));
			if (o->trigger.pid == o->victim.pid) {
				tkt_buf_printf(&l2, "trigger: the victim's own allocation");
			} else {
				tkt_buf_printf(&l2, "trigger: ");
				party_short(&l2, &o->trigger);
			}
		} else {
			tkt_buf_printf(&l1, "Triggered OOM kill of ");
			party_short(&l1, &o->victim);
			tkt_buf_printf(&l2, "trigger: ");
			party_short(&l2, &o->trigger);
		}
		if (o->has_limit)
			tkt_buf_printf(&l3, "at %.2f s; cgroup limit %s, usage %s", t,
				       fmt_b(o->limit_bytes, s1, sizeof(s1)),
				       fmt_b(o->usage_bytes, s2, sizeof(s2)));
		else
			tkt_buf_printf(&l3, "at %.2f s; no cgroup limit: the machine ran out", t);
		tkt_buf_printf(&title, "%s\n%s\n%s", l1.data, l2.data, l3.data);
		lines[0] = l1.data;
		lines[1] = l2.data;
		lines[2] = l3.data;
		if (v == me)
			draw_marker(b, a, cols, t, o->victim.rss_bytes, o->victim.pid == tls[me].pid, C_KILL,
				    "kill", lines, 3, title.data, slot++);
		else
			draw_marker(b, a, cols, t, o->trigger.rss_bytes, o->trigger.pid == tls[me].pid,
				    C_TRIGGER, "trig", lines, 3, title.data, slot++);
	}
	for (size_t i = 0; i < m->nkills; i++) {
		const struct tkt_kill_rec *k = &m->kills[i];
		const char *lines[2];
		double t = tkt_model_time_s(m, k->ts_ns);

		if (tl_of_party(tls, ntl, 0, &k->target) != me)
			continue;
		tkt_buf_reset(&l1);
		tkt_buf_reset(&l2);
		tkt_buf_reset(&title);
		tkt_buf_printf(&l1, "SIGKILL from pid %u %s%s", k->sender_pid, k->sender_comm,
			       k->kernel ? " (the kernel)" : "");
		tkt_buf_printf(&l2, "target: ");
		party_short(&l2, &k->target);
		tkt_buf_printf(&l2, " at %.2f s", t);
		tkt_buf_printf(&title, "%s\n%s", l1.data, l2.data);
		lines[0] = l1.data;
		lines[1] = l2.data;
		draw_marker(b, a, cols, t, k->target.rss_bytes, k->target.pid == tls[me].pid, C_SIGKILL,
			    "sigkill", lines, 2, title.data, slot++);
	}
	tkt_buf_free(&l1);
	tkt_buf_free(&l2);
	tkt_buf_free(&l3);
	tkt_buf_free(&title);
}

static void timeline_label(struct tkt_buf *b, const struct tkt_model *m, const struct tl *t)
{
	if (t->worker)
		ESC(b, t->worker);
	else if (t->pid == m->o.root_pid)
		tkt_buf_printf(b, "main");
	else
		tkt_buf_printf(b, "pytest");
}

void tkt_html_timelines(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r)
{
	struct tl *tl = calloc(TL_PIDS, sizeof(*tl));
	struct col *cols = calloc(PW, sizeof(*cols));
	uint64_t *colmax = calloc(PW, sizeof(*colmax));
	struct axes a;
	size_t ntl, nall;
	char s1[32];

	tkt_buf_printf(b, "<section><h2>Memory over time</h2>\n");
	if (!tl || !cols || !colmax)
		goto out;
	ntl = pick_timelines(m, tl, &nall);
	if (ntl == 0) {
		tkt_buf_printf(b, "<p class=\"muted\">No pytest process was seen: nothing to draw.</p>");
		goto out;
	}
	axes_init(&a, m, r, tl, ntl);
	tkt_buf_printf(b, "<p class=\"legend\">"
			  "<span><i class=\"sw\" style=\"background:" C_RSS "\"></i>resident memory "
			  "(sampled every 100 ms, and measured in the kernel at each test boundary)</span>"
			  "<span><i class=\"sw\" style=\"background:" C_PEAK "\"></i>peak during each test "
			  "(kernel)</span>");
	if (m->ncg_samples)
		tkt_buf_printf(b, "<span><i class=\"sw\" style=\"background:" C_CG "\"></i>cgroup usage "
				  "(all of COMMAND's processes)</span>");
	if (a.has_limit && a.limit_on_scale)
		tkt_buf_printf(b, "<span><i class=\"sw dash\"></i>cgroup limit</span>");
	else if (a.has_limit)
		tkt_buf_printf(b, "<span>cgroup limit %s (above the scale)</span>",
			       fmt_b(a.limit, s1, sizeof(s1)));
	tkt_buf_printf(b, "<span><i class=\"sw band\"></i>one band per test (hover for its name)"
			  "</span></p>\n");
	for (size_t i = 0; i < ntl; i++) {
		const struct tl *t = &tl[i];
		uint64_t peak = t->s ? t->s->max_bytes : 0;

		for (size_t k = 0; k < m->ntests; k++)
			if (m->tests[k].pid == t->pid && m->tests[k].peak > peak)
				peak = m->tests[k].peak;
		tkt_buf_printf(b, "<figure><figcaption>");
		timeline_label(b, m, t);
		tkt_buf_printf(b, " <span>pid %u, %zu test%s, peak %s</span></figcaption>\n", t->pid,
			       t->ntests, t->ntests == 1 ? "" : "s", fmt_b(peak, s1, sizeof(s1)));
		tkt_buf_printf(b, "<svg class=\"tl\" viewBox=\"0 0 %d %d\" role=\"img\" "
				  "aria-label=\"resident memory of pid %u over time\">",
			       SVG_W, SVG_H, t->pid);
		tkt_buf_printf(b, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>",
			       PL, DT, PW, PH);
		draw_bands(b, m, &a, t->pid);
		draw_axes(b, &a);
		draw_cgroup(b, m, &a, colmax);
		draw_peaks(b, m, &a, t->pid, colmax);
		draw_rss(b, m, &a, t, cols);
		draw_kills(b, m, &a, cols, tl, ntl, i);
		tkt_buf_printf(b, "</svg></figure>\n");
	}
	if (nall > ntl)
		tkt_buf_printf(b, "<p class=\"muted\">%zu more processes ran tests; the %d drawn are those "
				  "with kills and the most tests.</p>\n",
			       nall - ntl, TL_MAX);
out:
	tkt_buf_printf(b, "</section>\n");
	free(tl);
	free(cols);
	free(colmax);
}
