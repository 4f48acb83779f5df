/* tktrace plan's packing: how many xdist workers fit a memory budget, which tests go one at a
 * time, and K shards balanced by duration. The model and its assumptions: docs/plan.md. */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tkt_plan_input_init(struct tkt_plan_input *in)
{
	memset(in, 0, sizeof(*in));
}

void tkt_plan_input_free(struct tkt_plan_input *in)
{
	for (size_t i = 0; i < in->ntests; i++)
		free(in->tests[i].nodeid);
	free(in->tests);
	memset(in, 0, sizeof(*in));
}

int tkt_plan_add(struct tkt_plan_input *in, const struct tkt_plan_test *t)
{
	struct tkt_plan_test *n;

	if (in->ntests == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 64;
		n = realloc(in->tests, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		in->tests = n;
		in->cap = cap;
	}
	n = &in->tests[in->ntests];
	*n = *t;
	if (!(n->nodeid = strdup(t->nodeid ? t->nodeid : "")))
		return -ENOMEM;
	in->ntests++;
	return 0;
}

uint64_t tkt_plan_cost(const struct tkt_plan_test *t)
{
	return t->growth + t->children;
}

/* --- one line of a per-test file: a flat JSON object (docs/json.md) --- */

struct lex {
	const char *s, *end;
	char *err;
	size_t errsz;
};

static void skip_ws(struct lex *l)
{
	while (l->s < l->end && isspace((unsigned char)*l->s))
		l->s++;
}

static int fail(struct lex *l, const char *what)
{
	snprintf(l->err, l->errsz, "not a per-test line: %s", what);
	return -1;
}

/* A JSON string; *out allocated (escapes decoded: \uXXXX as UTF-8) when out is given. */
static int lex_string(struct lex *l, char **out)
{
	const char *p = l->s + 1;
	char *buf = NULL, *o;

	if (l->s >= l->end || *l->s != '"')
		return fail(l, "a string expected");
	if (out && !(buf = malloc((size_t)(l->end - l->s) + 1)))
		return fail(l, "out of memory");
	o = buf;
	for (; p < l->end && *p != '"'; p++) {
		char c = *p;
		if ((unsigned char)c < 0x20)
			goto bad;
		if (c == '\\') {
			if (++p >= l->end)
				goto bad;
			switch (*p) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\\': case '/': c = *p; break;
			case 'u': {
				unsigned v = 0;
				if (l->end - p < 5)
					goto bad;
				for (int i = 1; i <= 4; i++) {
					if (!isxdigit((unsigned char)p[i]))
						goto bad;
					v = v * 16 + (unsigned)(isdigit((unsigned char)p[i]) ? p[i] - '0' :
								  (tolower((unsigned char)p[i]) - 'a' + 10));
				}
				p += 4;
				/* Node ids from our writer: surrogates come only from invalid input. */
				if (v >= 0xd800 && v < 0xe000)
					v = 0xfffd;
				if (!buf)
					continue;
				if (v < 0x80) {
					*o++ = (char)v;
				} else if (v < 0x800) {
					*o++ = (char)(0xc0 | (v >> 6));
					*o++ = (char)(0x80 | (v & 0x3f));
				} else {
					*o++ = (char)(0xe0 | (v >> 12));
					*o++ = (char)(0x80 | ((v >> 6) & 0x3f));
					*o++ = (char)(0x80 | (v & 0x3f));
				}
				continue;
			}
			default:
				goto bad;
			}
		}
		if (buf)
			*o++ = c;
	}
	if (p >= l->end)
		goto bad;
	l->s = p + 1;
	if (buf) {
		*o = '\0';
		*out = buf;
	}
	return 0;
bad:
	free(buf);
	return fail(l, "a bad string");
}

/* A number, or null (*is_null). */
static int lex_number(struct lex *l, double *v, bool *is_null)
{
	char tmp[64], *e;
	size_t n = 0;

	*is_null = false;
	if (l->end - l->s >= 4 && !memcmp(l->s, "null", 4)) {
		l->s += 4;
		*is_null = true;
		return 0;
	}
	while (l->s + n < l->end && n < sizeof(tmp) - 1 && strchr("+-0123456789.eE", l->s[n]))
		n++;
	if (!n)
		return fail(l, "a number expected");
	memcpy(tmp, l->s, n);
	tmp[n] = '\0';
	*v = strtod(tmp, &e);
	if (*e)
		return fail(l, "a bad number");
	l->s += n;
	return 0;
}

/* Any value this reader does not use (fields added later: strings, numbers, literals, nested). */
static int lex_skip(struct lex *l)
{
	int depth = 0;

	do {
		skip_ws(l);
		if (l->s >= l->end)
			return fail(l, "it ends early");
		if (*l->s == '"') {
			if (lex_string(l, NULL))
				return -1;
			continue;
		}
		if (*l->s == '{' || *l->s == '[')
			depth++;
		else if (*l->s == '}' || *l->s == ']')
			depth--;
		else if (!strchr(",:-+.0123456789eEtrufalsn", *l->s))
			return fail(l, "an unexpected character");
		l->s++;
		/* A scalar at depth 0 runs up to the next , or }. */
		if (!depth)
			while (l->s < l->end && !strchr(",}] \t\r\n", *l->s))
				l->s++;
	} while (depth > 0);
	return depth < 0 ? fail(l, "unbalanced brackets") : 0;
}

/* Figures from a file: clamped into range (1e999 parses as infinity). */
static uint64_t to_bytes(double v)
{
	return !(v > 0) ? 0 : v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
}

static int64_t to_signed_bytes(double v)
{
	return v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : v == v ? (int64_t)v : 0;
}

int tkt_plan_parse_line(const char *line, size_t len, struct tkt_plan_test *t, uint64_t *rss_start,
			char *err, size_t errsz)
{
	struct lex l = { line, line + len, err, errsz };
	bool have_peak = false, have_growth = false, have_ret = false, first = true;

	memset(t, 0, sizeof(*t));
	*rss_start = 0;
	skip_ws(&l);
	if (l.s == l.end)
		return 0;
	if (*l.s != '{')
		return fail(&l, "a JSON object expected");
	l.s++;
	for (;;) {
		char *key = NULL;
		double v = 0;
		bool null = false;
		int r = 0;

		skip_ws(&l);
		if (l.s < l.end && *l.s == '}' && first) {
			l.s++;
			break;
		}
		if (lex_string(&l, &key))
			goto bad;
		skip_ws(&l);
		if (l.s >= l.end || *l.s != ':') {
			free(key);
			fail(&l, "':' expected");
			goto bad;
		}
		l.s++;
		skip_ws(&l);
		if (!strcmp(key, "nodeid")) {
			free(t->nodeid);
			t->nodeid = NULL;
			r = lex_string(&l, &t->nodeid);
		} else if (!strcmp(key, "duration_s") || !strcmp(key, "peak_rss_bytes") ||
			   !strcmp(key, "peak_growth_bytes") || !strcmp(key, "retained_bytes") ||
			   !strcmp(key, "children_peak_rss_bytes")) {
			r = lex_number(&l, &v, &null);
			if (!r && null && strcmp(key, "retained_bytes"))
				r = fail(&l, "a number expected");
			if (!r && key[0] == 'd')
				t->duration_s = !(v > 0) ? 0 : v > 1e9 ? 1e9 : v;
			else if (!r && !strcmp(key, "peak_rss_bytes"))
				t->peak = to_bytes(v), have_peak = true;
			else if (!r && !strcmp(key, "peak_growth_bytes"))
				t->growth = to_bytes(v), have_growth = true;
			else if (!r && key[0] == 'r')
				t->retained = null ? 0 : to_signed_bytes(v), t->unfinished = null, have_ret = true;
			else if (!r)
				t->children = to_bytes(v);
		} else {
			r = lex_skip(&l);
		}
		free(key);
		if (r)
			goto bad;
		first = false;
		skip_ws(&l);
		if (l.s < l.end && *l.s == ',') {
			l.s++;
			continue;
		}
		if (l.s < l.end && *l.s == '}') {
			l.s++;
			break;
		}
		fail(&l, "',' or '}' expected");
		goto bad;
	}
	skip_ws(&l);
	if (l.s != l.end) {
		fail(&l, "text after the object");
		goto bad;
	}
	if (!t->nodeid || !*t->nodeid || !have_peak || !have_growth || !have_ret) {
		fail(&l, "nodeid, peak_rss_bytes, peak_growth_bytes or retained_bytes missing");
		goto bad;
	}
	*rss_start = t->peak >= t->growth ? t->peak - t->growth : 0;
	return 1;
bad:
	free(t->nodeid);
	t->nodeid = NULL;
	return -1;
}

/* --- merging --- */

static int cmp_test(const void *a, const void *b)
{
	return strcmp(((const struct tkt_plan_test *)a)->nodeid,
		      ((const struct tkt_plan_test *)b)->nodeid);
}

static void merge_into(struct tkt_plan_test *d, const struct tkt_plan_test *s)
{
	if (s->duration_s > d->duration_s)
		d->duration_s = s->duration_s;
	if (s->peak > d->peak)
		d->peak = s->peak;
	if (s->growth > d->growth)
		d->growth = s->growth;
	if (s->children > d->children)
		d->children = s->children;
	/* A run that never saw it end knows nothing of what it retains. */
	if (!s->unfinished && (d->unfinished || s->retained > d->retained))
		d->retained = s->retained;
	d->unfinished = d->unfinished && s->unfinished;
	d->is_new = d->is_new && s->is_new;
}

/* Sort by node id and fold each test's runs into one entry: the worst of each figure. */
static void merge_runs(struct tkt_plan_input *in)
{
	size_t w = 0;

	if (!in->ntests)
		return;
	qsort(in->tests, in->ntests, sizeof(*in->tests), cmp_test);
	for (size_t i = 1; i < in->ntests; i++) {
		if (!strcmp(in->tests[i].nodeid, in->tests[w].nodeid)) {
			merge_into(&in->tests[w], &in->tests[i]);
			free(in->tests[i].nodeid);
		} else {
			in->tests[++w] = in->tests[i];
		}
	}
	in->ntests = w + 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Keep the tests of the suite now; add its new ones with no figures (costed later). */
static int apply_suite(struct tkt_plan_input *in, const char *const *suite, size_t *dropped)
{
	size_t n = 0, w = 0, old = in->ntests;
	bool *seen;
	int r = 0;

	while (suite[n])
		n++;
	if (!(seen = calloc(old ? old : 1, sizeof(*seen))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct tkt_plan_test key = { .nodeid = (char *)suite[i] }, *hit = NULL;
		if (old)
			hit = bsearch(&key, in->tests, old, sizeof(key), cmp_test);
		if (hit) {
			seen[hit - in->tests] = true;
		} else {
			struct tkt_plan_test t = { .nodeid = (char *)suite[i], .is_new = true };
			if ((r = tkt_plan_add(in, &t)))
				goto out;
		}
	}
	/* Gone from the suite: dropped. */
	for (size_t i = 0; i < in->ntests; i++) {
		if (i < old && !seen[i]) {
			free(in->tests[i].nodeid);
			(*dropped)++;
			continue;
		}
		in->tests[w++] = in->tests[i];
	}
	in->ntests = w;
	merge_runs(in); /* sorts, and folds a node id listed twice */
out:
	free(seen);
	return r;
}

/* --- packing --- */

struct item {
	uint64_t cost;
	double dur;
	size_t idx; /* into p->tests */
};

static int cmp_item_cost(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->cost != y->cost)
		return x->cost > y->cost ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* The schedule of shard s's tests with n workers (items sorted by cost, largest first). When
 * commit, the heavy flags are set on the tests. */
static void eval_part(struct tkt_plan *p, const struct item *it, size_t k, unsigned n,
		      struct tkt_plan_part *pt, bool commit)
{
	uint64_t B = p->baseline, U = p->usable, base, share = 0;
	double maxdur = 0;
	size_t light_slots;

	memset(pt, 0, sizeof(*pt));
	pt->workers = n;
	pt->ntests = k;
	for (size_t i = 0; i < k; i++) {
		const struct tkt_plan_test *t = &p->tests[it[i].idx];
		if (t->retained > 0)
			pt->retained = sat_add(pt->retained, (uint64_t)t->retained);
		if (!t->impossible && it[i].cost > pt->max_cost)
			pt->max_cost = it[i].cost;
		pt->duration_s += it[i].dur;
		if (it[i].dur > maxdur)
			maxdur = it[i].dur;
	}
	if (n == 0) {
		/* One process runs everything: its baseline, all leaks, the largest test. */
		pt->predicted = sat_add(sat_add(B, pt->retained), pt->max_cost);
		pt->per_worker = pt->predicted;
		pt->heavy_max = pt->max_cost;
		pt->est_s = pt->duration_s;
		pt->fits = pt->predicted <= U;
		return;
	}
	/* Controller and n workers each hold a baseline; the leaks sit on some worker. */
	base = sat_add(sat_mul(n + 1, B), pt->retained);
	if (base < U)
		share = (U - base) / n;
	pt->heavy_above = share;
	light_slots = n;
	for (size_t i = 0; i < k; i++) {
		const struct tkt_plan_test *t = &p->tests[it[i].idx];
		if (it[i].cost > share || t->unfinished || t->impossible) {
			pt->nheavy++;
			pt->heavy_s += it[i].dur;
			if (!t->impossible && it[i].cost > pt->heavy_max)
				pt->heavy_max = it[i].cost;
		}
	}
	if (pt->nheavy)
		light_slots = n - 1; /* one worker is busy with the heavy group */
	for (size_t i = 0; i < k && light_slots; i++) {
		const struct tkt_plan_test *t = &p->tests[it[i].idx];
		if (it[i].cost > share || t->unfinished || t->impossible)
			continue;
		pt->light_sum = sat_add(pt->light_sum, it[i].cost);
		light_slots--;
	}
	pt->predicted = sat_add(sat_add(base, pt->light_sum), pt->heavy_max);
	pt->per_worker = sat_add(sat_add(B, pt->retained), pt->max_cost);
	pt->fits = base < U && pt->predicted <= U;
	pt->est_s = pt->duration_s / n;
	if (pt->heavy_s > pt->est_s)
		pt->est_s = pt->heavy_s;
	if (maxdur > pt->est_s)
		pt->est_s = maxdur;
	if (commit)
		for (size_t i = 0; i < k; i++) {
			struct tkt_plan_test *t = &p->tests[it[i].idx];
			t->heavy = it[i].cost > share || t->unfinished || t->impossible;
		}
}

/* The fastest fitting worker count (fewer on a tie within 1%); -n 0 when no xdist count fits;
 * when nothing fits, the count with the smallest predicted peak, marked as not fitting. */
static void plan_part(struct tkt_plan *p, struct item *it, size_t k, struct tkt_plan_part *out)
{
	struct tkt_plan_part cur, best = { 0 }, least = { 0 };
	bool have_best = false, have_least = false;

	qsort(it, k, sizeof(*it), cmp_item_cost);
	for (unsigned n = 1; n <= p->o.max_workers; n++) {
		eval_part(p, it, k, n, &cur, false);
		if (cur.fits && (!have_best || cur.est_s < best.est_s * 0.99)) {
			best = cur;
			have_best = true;
		}
		if (!have_least || cur.predicted < least.predicted) {
			least = cur;
			have_least = true;
		}
	}
	if (!have_best) {
		eval_part(p, it, k, 0, &cur, false);
		if (cur.fits || cur.predicted < least.predicted) {
			best = cur;
		} else {
			best = least;
		}
	}
	eval_part(p, it, k, best.workers, out, true);
}

static double item_dur(const struct tkt_plan *p, const struct tkt_plan_test *t)
{
	return t->is_new ? p->new_duration_s : t->duration_s;
}

static int cmp_item_dur(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Longest first to the shard with the least duration so far, among the shards where its
 * memory still fits one process (so leaks and big tests spread out). */
static void assign_shards(struct tkt_plan *p, struct item *it)
{
	unsigned K = p->nparts;
	double *dur = calloc(K, sizeof(*dur));
	uint64_t *ret = calloc(K, sizeof(*ret)), *big = calloc(K, sizeof(*big));

	if (!dur || !ret || !big)
		goto out;
	qsort(it, p->ntests, sizeof(*it), cmp_item_dur);
	for (size_t i = 0; i < p->ntests; i++) {
		struct tkt_plan_test *t = &p->tests[it[i].idx];
		uint64_t r = t->retained > 0 ? (uint64_t)t->retained : 0;
		unsigned pick = K, any = 0;
		for (unsigned s = 0; s < K; s++) {
			uint64_t c = it[i].cost > big[s] ? it[i].cost : big[s];
			if (dur[s] < dur[any])
				any = s;
			if (sat_add(sat_add(p->baseline, sat_add(ret[s], r)), c) <= p->usable &&
			    (pick == K || dur[s] < dur[pick]))
				pick = s;
		}
		if (pick == K)
			pick = any;
		t->shard = pick;
		dur[pick] += it[i].dur;
		ret[pick] = sat_add(ret[pick], r);
		if (!t->impossible && it[i].cost > big[pick])
			big[pick] = it[i].cost;
	}
out:
	free(dur);
	free(ret);
	free(big);
}

int tkt_plan_make(struct tkt_plan_input *in, const char *const *suite, const struct tkt_plan_opts *o,
		  struct tkt_plan *p)
{
	struct item *it = NULL, *sub = NULL;
	uint64_t *costs = NULL;
	double *durs = NULL;
	size_t nmeasured = 0;
	int r = -ENOMEM;

	memset(p, 0, sizeof(*p));
	p->o = *o;
	if (p->o.max_workers < 1)
		p->o.max_workers = 1;
	if (p->o.shards < 1)
		p->o.shards = 1;
	if (p->o.margin_pct > 90)
		p->o.margin_pct = 90;
	p->usable = p->o.budget - p->o.budget / 100 * p->o.margin_pct;
	p->baseline = in->baseline;
	merge_runs(in);
	/* New tests cost what the median measured test does (gone ones included: they are
	 * measurements of this suite too), unless told. */
	costs = malloc((in->ntests ? in->ntests : 1) * sizeof(*costs));
	durs = malloc((in->ntests ? in->ntests : 1) * sizeof(*durs));
	if (!costs || !durs)
		goto out;
	for (size_t i = 0; i < in->ntests; i++)
		if (!in->tests[i].is_new) {
			costs[nmeasured] = tkt_plan_cost(&in->tests[i]);
			durs[nmeasured++] = in->tests[i].duration_s;
		}
	qsort(costs, nmeasured, sizeof(*costs), cmp_u64);
	qsort(durs, nmeasured, sizeof(*durs), cmp_dbl);
	p->new_cost = o->new_cost ? o->new_cost : nmeasured ? costs[nmeasured / 2] : 0;
	p->new_duration_s = o->new_duration_s >= 0 ? o->new_duration_s :
			    nmeasured ? durs[nmeasured / 2] : 0;
	if (suite && apply_suite(in, suite, &in->ndropped))
		goto out;
	p->ndropped = in->ndropped;
	p->tests = in->tests;
	p->ntests = in->ntests;
	p->nparts = p->o.shards;
	p->parts = calloc(p->nparts, sizeof(*p->parts));
	it = malloc((p->ntests ? p->ntests : 1) * sizeof(*it));
	sub = malloc((p->ntests ? p->ntests : 1) * sizeof(*sub));
	if (!p->parts || !it || !sub)
		goto out;

	for (size_t i = 0; i < p->ntests; i++) {
		struct tkt_plan_test *t = &p->tests[i];
		it[i].idx = i;
		it[i].cost = t->is_new ? p->new_cost : tkt_plan_cost(t);
		it[i].dur = item_dur(p, t);
		t->heavy = t->impossible = false;
		t->shard = 0;
		t->leak = !t->is_new && !t->unfinished && t->retained > 0 &&
			  (uint64_t)t->retained >= p->o.leak_threshold;
		/* Alone in a fresh process it still does not fit: no schedule helps. */
		t->impossible = sat_add(p->baseline, it[i].cost) > p->usable;
		p->nimpossible += t->impossible;
		p->nleaks += t->leak;
		p->nnew += t->is_new;
		p->nunfinished += t->unfinished;
	}
	if (p->nparts > 1)
		assign_shards(p, it);
	p->fits = p->nimpossible == 0;
	for (unsigned s = 0; s < p->nparts; s++) {
		size_t k = 0;
		for (size_t i = 0; i < p->ntests; i++)
			if (p->tests[it[i].idx].shard == s)
				sub[k++] = it[i];
		plan_part(p, sub, k, &p->parts[s]);
		p->fits = p->fits && p->parts[s].fits;
	}
	r = 0;
out:
	free(costs);
	free(durs);
	free(it);
	free(sub);
	if (r)
		tkt_plan_free(p);
	return r;
}

void tkt_plan_free(struct tkt_plan *p)
{
	free(p->parts);
	memset(p, 0, sizeof(*p));
}
