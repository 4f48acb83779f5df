/* Unit tests for user/plan.c: the packing of tktrace plan on synthetic per-test figures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"

#define MiB (1ULL << 20)

static void add(struct tkt_plan_input *in, const char *id, uint64_t growth, double dur,
		int64_t retained)
{
	struct tkt_plan_test t = { .nodeid = (char *)id, .growth = growth, .peak = growth + 100 * MiB,
				   .duration_s = dur, .retained = retained };

	assert_int_equal(tkt_plan_add(in, &t), 0);
}

static struct tkt_plan_opts opts(uint64_t budget, unsigned maxw)
{
	struct tkt_plan_opts o = { .budget = budget, .margin_pct = 0, .max_workers = maxw,
				   .shards = 1, .new_duration_s = -1, .leak_threshold = 10 * MiB };
	return o;
}

static const struct tkt_plan_test *find(const struct tkt_plan *p, const char *id)
{
	for (size_t i = 0; i < p->ntests; i++)
		if (!strcmp(p->tests[i].nodeid, id))
			return &p->tests[i];
	fail_msg("%s not in the plan", id);
	return NULL;
}

/* Whatever fits, fits by the model's own sum: recompute it from the tests. */
static void check_part_sum(const struct tkt_plan *p, const struct tkt_plan_part *pt)
{
	if (pt->workers)
		assert_int_equal(pt->predicted, (pt->workers + 1) * p->baseline + pt->retained +
							pt->light_sum + pt->heavy_max);
	if (pt->fits)
		assert_true(pt->predicted <= p->usable);
}

static void test_no_data(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 4);
	struct tkt_plan p;

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 50 * MiB;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.ntests, 0);
	assert_true(p.fits);
	assert_int_equal(p.nparts, 1);
	/* Nothing to run faster: the fewest workers. */
	assert_int_equal(p.parts[0].workers, 1);
	assert_int_equal(p.parts[0].predicted, 2 * 50 * MiB);
	assert_int_equal(p.new_cost, 0);
	tkt_plan_free(&p);

	/* Only new tests (a suite list, no figures): median of nothing is 0 unless told. */
	const char *suite[] = { "t.py::a", "t.py::b", NULL };
	o.new_cost = 30 * MiB;
	o.new_duration_s = 2;
	assert_int_equal(tkt_plan_make(&in, suite, &o, &p), 0);
	assert_int_equal(p.ntests, 2);
	assert_int_equal(p.nnew, 2);
	assert_int_equal(p.new_cost, 30 * MiB);
	assert_true(p.fits);
	assert_int_equal(p.parts[0].workers, 2); /* two 2 s tests: 2 workers halve the time */
	assert_int_equal(p.parts[0].light_sum, 60 * MiB);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_worker_count(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 8);
	struct tkt_plan p;
	char id[32];

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 100 * MiB;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "t.py::light%d", i);
		add(&in, id, 50 * MiB, 1.0, 0);
	}
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	/* (n + 1) x 100 + n x 50 <= 1000: n = 6, exactly at the budget; 7 would be 1150. */
	assert_true(p.fits);
	assert_int_equal(p.parts[0].workers, 6);
	assert_int_equal(p.parts[0].predicted, 1000 * MiB);
	assert_int_equal(p.parts[0].nheavy, 0);
	check_part_sum(&p, &p.parts[0]);
	tkt_plan_free(&p);

	/* The margin comes off the budget: 10 % of 1000 leaves 900, (n + 1) 100 + 50 n <= 900. */
	o.margin_pct = 10;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.usable, 1000 * MiB - 100 * MiB);
	assert_int_equal(p.parts[0].workers, 5);
	tkt_plan_free(&p);

	/* Fewer CPUs than would fit: the CPUs bound it. */
	o.max_workers = 3;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.parts[0].workers, 3);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_heavy_group(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 4);
	struct tkt_plan p;
	char id[32];

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 50 * MiB;
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "t.py::light%d", i);
		add(&in, id, 20 * MiB, 1.0, 0);
	}
	add(&in, "t.py::big1", 400 * MiB, 2.0, 0);
	add(&in, "t.py::big2", 400 * MiB, 2.0, 0);
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	/* Two 400 MiB tests side by side with 3 workers would need 200 + 800 + 20 > 1000: they
	 * go one at a time, and 3 workers then fit (200 + 400 + 2 x 20 = 640). The heavy group
	 * takes 4 s whatever the count: a 4th worker would not finish sooner (12 s / 3 = 4). */
	assert_true(p.fits);
	assert_int_equal(p.parts[0].workers, 3);
	assert_int_equal(p.parts[0].nheavy, 2);
	assert_true(find(&p, "t.py::big1")->heavy);
	assert_true(find(&p, "t.py::big2")->heavy);
	assert_false(find(&p, "t.py::light0")->heavy);
	assert_int_equal(p.parts[0].heavy_max, 400 * MiB);
	assert_int_equal(p.parts[0].light_sum, 40 * MiB);
	assert_int_equal(p.parts[0].predicted, 640 * MiB);
	assert_true(p.parts[0].est_s > 3.99 && p.parts[0].est_s < 4.01);
	check_part_sum(&p, &p.parts[0]);
	tkt_plan_free(&p);

	/* A test killed in the recorded run: its figures are a floor, it goes one at a time. */
	in.tests[0].unfinished = true;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.nunfinished, 1);
	assert_true(find(&p, "t.py::big1")->heavy); /* sorted by node id: big1 was tests[0] */
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_too_big_for_budget(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 4);
	struct tkt_plan p;

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 100 * MiB;
	add(&in, "t.py::small", 10 * MiB, 1.0, 0);
	add(&in, "t.py::huge", 950 * MiB, 1.0, 0);
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	/* 100 + 950 > 1000 even alone in a fresh process: reported, never scheduled as fitting. */
	assert_false(p.fits);
	assert_int_equal(p.nimpossible, 1);
	assert_true(find(&p, "t.py::huge")->impossible);
	assert_false(find(&p, "t.py::small")->impossible);
	assert_int_equal(tkt_plan_cost(find(&p, "t.py::huge")), 950 * MiB);
	/* The rest still gets a schedule that fits, without the impossible test's memory. */
	assert_true(p.parts[0].fits);
	assert_true(p.parts[0].predicted < 1000 * MiB);
	assert_true(p.parts[0].heavy_max < 950 * MiB);
	tkt_plan_free(&p);

	/* A test's children count too: 500 of its own fits, 500 + 450 in a child does not. */
	assert_string_equal(in.tests[0].nodeid, "t.py::huge"); /* sorted by node id */
	in.tests[0].growth = 500 * MiB;
	in.tests[0].children = 0;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.nimpossible, 0);
	tkt_plan_free(&p);
	in.tests[0].children = 450 * MiB;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.nimpossible, 1);
	assert_true(find(&p, "t.py::huge")->impossible);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_leaks(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 8);
	struct tkt_plan p;
	char id[32];
	unsigned without;

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 100 * MiB;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "t.py::light%d", i);
		add(&in, id, 50 * MiB, 1.0, 0);
	}
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	without = p.parts[0].workers;
	tkt_plan_free(&p);

	add(&in, "t.py::leaky", 200 * MiB, 1.0, 200 * MiB);
	add(&in, "t.py::noise", 5 * MiB, 1.0, 5 * MiB);     /* under the threshold */
	add(&in, "t.py::gives", 5 * MiB, 1.0, -40 * (int64_t)MiB); /* gave memory back */
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.nleaks, 1);
	assert_true(find(&p, "t.py::leaky")->leak);
	assert_false(find(&p, "t.py::noise")->leak);
	assert_false(find(&p, "t.py::gives")->leak);
	/* Every positive retained stays somewhere; nothing given back is counted. */
	assert_int_equal(p.parts[0].retained, 205 * MiB);
	/* The leak costs workers. */
	assert_true(p.parts[0].workers < without);
	check_part_sum(&p, &p.parts[0]);
	tkt_plan_free(&p);

	/* Leaks that fill the budget on their own: no worker count fits, said so. */
	add(&in, "t.py::leaky2", 10 * MiB, 1.0, 700 * MiB);
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.nimpossible, 0);
	assert_false(p.fits);
	assert_false(p.parts[0].fits);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_merged_runs(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(2000 * MiB, 2);
	struct tkt_plan p;
	struct tkt_plan_test a1 = { .nodeid = "t.py::a", .growth = 100 * MiB, .peak = 200 * MiB,
				    .duration_s = 3, .retained = 1 * MiB, .children = 0 };
	struct tkt_plan_test a2 = { .nodeid = "t.py::a", .growth = 80 * MiB, .peak = 300 * MiB,
				    .duration_s = 1, .retained = 20 * MiB, .children = 5 * MiB };
	struct tkt_plan_test b1 = { .nodeid = "t.py::b", .growth = 60 * MiB, .duration_s = 1,
				    .unfinished = true };
	struct tkt_plan_test b2 = { .nodeid = "t.py::b", .growth = 10 * MiB, .duration_s = 2,
				    .retained = -3 * (int64_t)MiB };
	struct tkt_plan_test c1 = { .nodeid = "t.py::c", .growth = 70 * MiB, .unfinished = true };
	const struct tkt_plan_test *a, *b, *c;

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 40 * MiB;
	/* Two runs, in any order. */
	assert_int_equal(tkt_plan_add(&in, &a1), 0);
	assert_int_equal(tkt_plan_add(&in, &b1), 0);
	assert_int_equal(tkt_plan_add(&in, &c1), 0);
	assert_int_equal(tkt_plan_add(&in, &b2), 0);
	assert_int_equal(tkt_plan_add(&in, &a2), 0);
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.ntests, 3);
	a = find(&p, "t.py::a");
	b = find(&p, "t.py::b");
	c = find(&p, "t.py::c");
	/* Each figure's worst. */
	assert_int_equal(a->growth, 100 * MiB);
	assert_int_equal(a->peak, 300 * MiB);
	assert_int_equal(a->children, 5 * MiB);
	assert_int_equal(a->retained, 20 * MiB);
	assert_true(a->duration_s == 3);
	assert_true(a->leak);
	/* Killed in one run, finished in the other: the finished run's retained, the killed
	 * run's larger growth. */
	assert_false(b->unfinished);
	assert_int_equal(b->retained, -3 * (int64_t)MiB);
	assert_int_equal(b->growth, 60 * MiB);
	assert_true(b->duration_s == 2);
	/* Killed in its only run. */
	assert_true(c->unfinished);
	assert_true(c->heavy);
	assert_int_equal(p.nunfinished, 1);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_new_and_gone_tests(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 2);
	struct tkt_plan p;
	const char *suite[] = { "t.py::a", "t.py::b", "t.py::new", "t.py::a", NULL };

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 10 * MiB;
	add(&in, "t.py::a", 10 * MiB, 1.0, 0);
	add(&in, "t.py::b", 30 * MiB, 3.0, 0);
	add(&in, "t.py::c", 50 * MiB, 5.0, 0);
	add(&in, "t.py::gone", 900 * MiB, 1.0, 0);
	assert_int_equal(tkt_plan_make(&in, suite, &o, &p), 0);
	/* gone is no longer in the suite: not scheduled, not impossible. */
	assert_int_equal(p.ntests, 3);
	assert_int_equal(p.nimpossible, 0);
	assert_int_equal(p.nnew, 1);
	assert_int_equal(p.ndropped, 2);
	assert_true(find(&p, "t.py::new")->is_new);
	/* The median of every measured test, c and gone included (10, 30, 50, 900 MiB; 1, 1, 3,
	 * 5 s): they measured this suite too. */
	assert_int_equal(p.new_cost, 50 * MiB);
	assert_true(p.new_duration_s == 3.0);
	assert_int_equal(tkt_plan_cost(find(&p, "t.py::a")), 10 * MiB);
	assert_true(p.fits);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_shards(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 2);
	struct tkt_plan p;
	char id[32];
	double dur[4] = { 0 }, longest = 0, lo = 1e9, hi = 0, total = 0;
	size_t count[4] = { 0 }, sum = 0;
	unsigned leak_shard[3];

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = 100 * MiB;
	/* Durations that do not split evenly, and three leaks that do not fit one process. */
	for (int i = 0; i < 23; i++) {
		double d = 0.1 + (double)((i * 37) % 11) * 0.3;
		snprintf(id, sizeof(id), "t.py::t%02d", i);
		add(&in, id, (uint64_t)((i * 13) % 7) * 20 * MiB, d, 0);
		total += d;
		if (d > longest)
			longest = d;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "t.py::leak%d", i);
		add(&in, id, 10 * MiB, 0.1, 450 * MiB);
		total += 0.1;
	}
	o.shards = 3;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	assert_int_equal(p.nparts, 3);
	assert_int_equal(p.ntests, 26);
	/* Every test in exactly one shard. */
	for (size_t i = 0; i < p.ntests; i++) {
		assert_true(p.tests[i].shard < 3);
		dur[p.tests[i].shard] += p.tests[i].duration_s;
		count[p.tests[i].shard]++;
	}
	for (unsigned s = 0; s < 3; s++) {
		assert_int_equal(count[s], p.parts[s].ntests);
		sum += p.parts[s].ntests;
		assert_true(dur[s] > p.parts[s].duration_s - 1e-9 && dur[s] < p.parts[s].duration_s + 1e-9);
		if (dur[s] < lo)
			lo = dur[s];
		if (dur[s] > hi)
			hi = dur[s];
		/* Each shard fits on its own budget. */
		assert_true(p.parts[s].fits);
		check_part_sum(&p, &p.parts[s]);
	}
	assert_int_equal(sum, p.ntests);
	/* Longest first to the least loaded: shards differ by at most the longest test. */
	assert_true(hi - lo <= longest + 1e-9);
	assert_true(hi < total / 3 + longest);
	/* 100 + 2 x 450 + a test would not fit one shard: the leaks go to three shards. */
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "t.py::leak%d", i);
		leak_shard[i] = find(&p, id)->shard;
	}
	assert_true(leak_shard[0] != leak_shard[1] && leak_shard[1] != leak_shard[2] &&
		    leak_shard[0] != leak_shard[2]);
	assert_true(p.fits);
	tkt_plan_free(&p);

	/* More shards than tests: the extra shards are empty, still every test once. */
	o.shards = 40;
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	memset(count, 0, sizeof(count));
	sum = 0;
	for (unsigned s = 0; s < 40; s++)
		sum += p.parts[s].ntests;
	assert_int_equal(sum, 26);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

static void test_parse_line(void **state)
{
	struct tkt_plan_test t;
	uint64_t start;
	char err[128];
	const char *ok = "{\"nodeid\":\"t.py::x[\\u00e9\\\"q\\\"]\",\"worker\":\"gw0\",\"duration_s\":1.250,"
			 "\"peak_rss_bytes\":300,\"peak_growth_bytes\":100,\"retained_bytes\":-20,"
			 "\"children_peak_rss_bytes\":7,\"later\":{\"a\":[1,\"}\",null]},\"b\":true}";

	(void)state;
	assert_int_equal(tkt_plan_parse_line(ok, strlen(ok), &t, &start, err, sizeof(err)), 1);
	assert_string_equal(t.nodeid, "t.py::x[\xc3\xa9\"q\"]");
	assert_true(t.duration_s == 1.25);
	assert_int_equal(t.peak, 300);
	assert_int_equal(t.growth, 100);
	assert_int_equal(t.retained, -20);
	assert_int_equal(t.children, 7);
	assert_false(t.unfinished);
	assert_int_equal(start, 200);
	free(t.nodeid);

	/* Killed before it ended: retained is null. */
	const char *cut = "{\"nodeid\":\"a::b\",\"worker\":null,\"duration_s\":0.5,\"peak_rss_bytes\":10,"
			  "\"peak_growth_bytes\":4,\"retained_bytes\":null,\"children_peak_rss_bytes\":0}";
	assert_int_equal(tkt_plan_parse_line(cut, strlen(cut), &t, &start, err, sizeof(err)), 1);
	assert_true(t.unfinished);
	free(t.nodeid);

	assert_int_equal(tkt_plan_parse_line("  \r", 3, &t, &start, err, sizeof(err)), 0);

	const char *bad[] = {
		"[1,2]",
		"{\"nodeid\":\"a::b\"}",                                   /* figures missing */
		"{\"nodeid\":\"a::b\",\"peak_rss_bytes\":1,\"peak_growth_bytes\":1,\"retained_bytes\":0",
		"{\"nodeid\":\"a::b\",\"peak_rss_bytes\":\"x\",\"peak_growth_bytes\":1,\"retained_bytes\":0}",
		"{\"nodeid\":\"a::b\",\"peak_rss_bytes\":null,\"peak_growth_bytes\":1,\"retained_bytes\":0}",
		"{\"nodeid\":\"a\\qb\",\"peak_rss_bytes\":1,\"peak_growth_bytes\":1,\"retained_bytes\":0}",
		"{\"nodeid\":\"\",\"peak_rss_bytes\":1,\"peak_growth_bytes\":1,\"retained_bytes\":0}",
		"{\"nodeid\":\"a::b\",\"peak_rss_bytes\":1,\"peak_growth_bytes\":1,\"retained_bytes\":0} x",
		"{\"nodeid\":\"a::b\",\"x\":]}",
		"{\"nodeid\" \"a::b\"}",
		"{}",
		"tktrace: not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tkt_plan_parse_line(bad[i], strlen(bad[i]), &t, &start, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "not a per-test line"));
		assert_null(strchr(err, '\n'));
		assert_null(t.nodeid);
	}
}

static void test_huge_figures(void **state)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = opts(1000 * MiB, 64);
	struct tkt_plan p;

	(void)state;
	tkt_plan_input_init(&in);
	in.baseline = UINT64_MAX / 4;
	add(&in, "t.py::a", UINT64_MAX / 2, 1.0, INT64_MAX);
	assert_int_equal(tkt_plan_make(&in, NULL, &o, &p), 0);
	/* Saturated sums, no wrap-around into a "fit". */
	assert_false(p.fits);
	assert_int_equal(p.nimpossible, 1);
	assert_false(p.parts[0].fits);
	tkt_plan_free(&p);
	tkt_plan_input_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_data),
		cmocka_unit_test(test_worker_count),
		cmocka_unit_test(test_heavy_group),
		cmocka_unit_test(test_too_big_for_budget),
		cmocka_unit_test(test_leaks),
		cmocka_unit_test(test_merged_runs),
		cmocka_unit_test(test_new_and_gone_tests),
		cmocka_unit_test(test_shards),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_huge_figures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
