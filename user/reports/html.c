/* The HTML report: kill explanation, memory timelines in inline SVG, sortable tables. */
#define _GNU_SOURCE
#include "html.h"

#include <stdlib.h>
#include <string.h>
#include "core/util.h"

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

#define ELLIPSIS "\xe2\x80\xa6"
#define REPLACEMENT "\xef\xbf\xbd"

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static size_t utf8_chars(const unsigned char *p)
{
	size_t n = 0, l;

	for (; *p; p += l ? l : 1, n++)
		l = utf8_seq(p);
	return n;
}

void tkt_html_escape(struct tkt_buf *b, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t limit = SIZE_MAX, chars = 0;

	if (max_chars && utf8_chars(p) > max_chars)
		limit = max_chars > 1 ? max_chars - 1 : 1;
	while (*p && chars < limit) {
		size_t l = utf8_seq(p);

		chars++;
		switch (*p) {
		case '&':
			tkt_buf_append(b, "&amp;", 5);
			break;
		case '<':
			tkt_buf_append(b, "&lt;", 4);
			break;
		case '>':
			tkt_buf_append(b, "&gt;", 4);
			break;
		case '"':
			tkt_buf_append(b, "&quot;", 6);
			break;
		case '\'':
			tkt_buf_append(b, "&#39;", 5);
			break;
		case '\n':
		case '\t':
			tkt_buf_append(b, p, 1);
			break;
		default:
			if (!l || *p < 0x20 || *p == 0x7f)
				tkt_buf_append(b, REPLACEMENT, 3);
			else
				tkt_buf_append(b, p, l);
		}
		p += l ? l : 1;
	}
	if (*p)
		tkt_buf_append(b, ELLIPSIS, 3);
}

#define ESC(b, s) tkt_html_escape(b, s, 0)

static const char *fmt_b(uint64_t v, char *buf, size_t sz)
{
	return tkt_fmt_bytes(v, buf, sz);
}

static double test_end_s(const struct tkt_model *m, const struct tkt_test_rec *t, double run_end)
{
	if (t->ended || t->end_ns)
		return tkt_model_time_s(m, t->end_ns);
	return run_end; /* still running when the run ended */
}

/* ---- timelines -------------------------------------------------------------------------- */

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
			end = test_end_s(m, t, a->t_end);
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
		int c1 = (int)(X(a, test_end_s(m, t, a->t_end)) - PL);
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
		size_t n = utf8_chars((const unsigned char *)lines[i]);
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

static void timelines(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r)
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
	kv_begin(b, "trigger");
	party_html(b, &o->trigger, false);
	kv_end(b);
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
		double dur = test_end_s(m, t, run_end) - st;

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

static const char CSS[] =
	":root{--fg:#1d232b;--mut:#5b6470;--line:#d9dee5;--soft:#f3f5f8}"
	"*{box-sizing:border-box}"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
	"sans-serif;color:var(--fg);background:#eef1f5}"
	"main{max-width:1380px;margin:0 auto;padding:14px 18px 40px}"
	"h1{font-size:19px;margin:0}h2{font-size:16px;margin:20px 0 8px}"
	"h3{font-size:14px;margin:10px 0 4px}"
	"code{font:12.5px/1.4 ui-monospace,'DejaVu Sans Mono',monospace;background:var(--soft);"
	"padding:1px 4px;border-radius:4px;word-break:break-all}"
	".cmd{margin:2px 0 0;color:var(--mut)}"
	".muted{color:var(--mut);font-weight:400}"
	".card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 16px;"
	"margin:10px 0}"
	".verdict{border-left:6px solid #b00020}.verdict.ok{border-left-color:#2e7d32}"
	".headline{font-weight:650;font-size:15.5px;margin:2px 0 4px}"
	".warn{color:#8a4b00;font-weight:600}"
	"table.kv{border-collapse:collapse}"
	"table.kv th{text-align:left;color:var(--mut);font-weight:500;padding:2px 14px 2px 0;"
	"vertical-align:top;white-space:nowrap}"
	"table.kv td{padding:2px 0}"
	"ul.top{margin:2px 0;padding-left:18px}"
	".legend{margin:0 0 8px;color:var(--mut);font-size:13px}"
	".legend span{margin-right:16px;white-space:nowrap;display:inline-block}"
	".sw{display:inline-block;width:18px;height:4px;vertical-align:middle;margin-right:5px;"
	"border-radius:2px}"
	".sw.dash{background:repeating-linear-gradient(90deg," C_LIMIT " 0 5px,transparent 5px 8px)}"
	".sw.band{height:12px;background:#e3e8ef;border:1px solid #cfd6df}"
	"figure{margin:0 0 10px;background:#fff;border:1px solid var(--line);border-radius:8px;"
	"padding:6px 8px 2px}"
	"figcaption{font-weight:650;margin:0 0 2px 6px}figcaption span{font-weight:400;"
	"color:var(--mut);margin-left:6px}"
	"svg.tl{width:100%;height:auto;display:block;font:12px system-ui,'DejaVu Sans',sans-serif}"
	"svg .plot{fill:#fff}svg .b0{fill:#f4f6f9}svg .b1{fill:#e6ebf1}svg .bk{fill:#fbe3e6}"
	"svg .bands rect:hover{fill:#d5e3f3}"
	"svg .bl{fill:#4a5360;font-size:11px;pointer-events:none}"
	"svg .ax line{stroke:#dde2e8;stroke-width:1}svg .ax line.base,svg .ax line.tick{stroke:#8a93a0}"
	"svg .ax text{fill:#5b6470;font-size:11.5px}"
	"svg .area{fill:" C_RSS ";fill-opacity:.13;pointer-events:none}"
	"svg .rss{fill:none;stroke:" C_RSS ";stroke-width:2;stroke-linejoin:round;pointer-events:none}"
	"svg .peak{fill:none;stroke:" C_PEAK ";stroke-width:1.5;stroke-dasharray:4 2;"
	"pointer-events:none}"
	"svg .cg{fill:none;stroke:" C_CG ";stroke-width:1.2;pointer-events:none}"
	"svg .limit{stroke:" C_LIMIT ";stroke-width:1.5;stroke-dasharray:7 4}"
	"svg .limitl{fill:" C_LIMIT ";font-size:11.5px;font-weight:600}"
	"svg .lb{fill:#fff;fill-opacity:.93;stroke-width:1}"
	"svg .kill text,svg .trig text,svg .sigkill text{fill:#1d232b;font-size:11.5px}"
	"svg .kl{font-weight:700}"
	".scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:8px;"
	"background:#fff}"
	"table.sort{border-collapse:collapse;width:100%;font-size:13px}"
	"table.sort th{position:sticky;top:0;background:#e8ecf1;cursor:pointer;text-align:left;"
	"padding:5px 8px;border-bottom:1px solid var(--line);white-space:nowrap;user-select:none}"
	"table.sort td{padding:3px 8px;border-bottom:1px solid #edf0f3;vertical-align:top}"
	"table.sort .n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
	"table.sort td.id{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12.5px;"
	"word-break:break-all}"
	"table.sort tr.killed td{background:#fbe3e6}"
	"th[data-dir=a]::after{content:' \\25B2'}th[data-dir=d]::after{content:' \\25BC'}"
	"details{margin-top:16px}pre{background:#fff;border:1px solid var(--line);border-radius:8px;"
	"padding:10px;overflow:auto;font-size:12.5px}"
	"footer{color:var(--mut);font-size:12px;margin-top:18px}";

/* Click a header: sort by its column (numbers by data-v), again: the other way. */
static const char JS[] =
	"document.querySelectorAll('table.sort th').forEach(function(th){"
	"th.addEventListener('click',function(){"
	"var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,n=th.classList.contains('n'),"
	"d=th.dataset.dir==='d'?'a':'d';"
	"t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});th.dataset.dir=d;"
	"var k=function(r){var c=r.cells[i];return n?parseFloat(c.dataset.v):c.textContent};"
	"var rows=Array.prototype.slice.call(b.rows).sort(function(x,y){var p=k(x),q=k(y);"
	"return (p<q?-1:p>q?1:0)*(d==='a'?1:-1)});"
	"var f=document.createDocumentFragment();rows.forEach(function(r){f.appendChild(r)});"
	"b.appendChild(f)})});";

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
	tkt_buf_printf(b, "</title>\n<style>%s</style></head>\n<body><main>\n", CSS);
	tkt_buf_printf(b, "<header><h1>tktrace report</h1><p class=\"cmd\"><code>");
	ESC(b, cmd.data ? cmd.data : "");
	tkt_buf_printf(b, "</code> &middot; %.2f s &middot; exit %d</p></header>\n", r->duration_s,
		       r->exit_code);
	explanation(b, m, r, text.data ? text.data : "");
	timelines(b, m, r);
	tests_table(b, m, run_end);
	kills_table(b, m);
	run_facts(b, m, r);
	tkt_buf_printf(b, "<details><summary>The text report</summary><pre>");
	ESC(b, text.data ? text.data : "");
	tkt_buf_printf(b, "</pre></details>\n<footer>tktrace %s</footer>\n</main>\n<script>%s</script>"
			  "\n</body></html>\n",
		       TKT_VERSION, JS);
	tkt_buf_free(&text);
	tkt_buf_free(&cmd);
	return 0;
}
