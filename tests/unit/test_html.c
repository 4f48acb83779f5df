/* Unit tests for user/reports/html.c (the HTML report), the resident-memory series of the model
 * (tkt_model_rss_sample) and the /proc/PID/statm parser of user/tracing/sample.c. */
#include "recs.h"

#include "cli.h"
#include "html.h"
#include "report.h"
#include "sample.h"

#define ROOT 100
#define MiB (1ULL << 20)
#define KILL_COLOUR "#e4002b" /* the kill marker's, and nothing else's */
#define PW_FOR_TEST 1112 /* the width of a timeline's data area in html.c */

static char *argv_pytest[] = { "pytest", "-n", "2", NULL };

static const char PY_M_PYTEST[] = "/usr/bin/python3\0-m\0pytest\0";
static const char EXECNET[] = "/usr/bin/python3\0-c\0import sys;exec(eval(sys.stdin.readline()))\0";

static void start_root(struct tkt_model *m)
{
	model_start(m, ROOT, "/sys/fs/cgroup/memory");
	assert_int_equal(tkt_model_add_root(m, ROOT, "pytest", T0), 0);
	rec_exec(m, T0 + 1, ROOT, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
}

static void start_worker(struct tkt_model *m, uint64_t ts, uint32_t pid, const char *id)
{
	rec_fork(m, ts, pid, ROOT, "python3");
	rec_exec(m, ts + 1, pid, "python3", EXECNET, sizeof(EXECNET) - 1);
	rec_env_set(m, ts + 2, pid, TKT_ENV_XDIST_WORKER, id);
}

static struct tkt_run run_of(int status, double duration)
{
	struct tkt_run r = {
		.argv = argv_pytest,
		.argc = 3,
		.status = status,
		.exit_code = status,
		.duration_s = duration,
		.memory_limit = "300M",
	};
	return r;
}

static char *html_of(const struct tkt_model *m, const struct tkt_run *r)
{
	struct tkt_buf b = { 0 };

	assert_int_equal(tkt_report_html(&b, m, r), 0);
	assert_non_null(b.data);
	return b.data;
}

static char *escaped(const char *s, size_t max)
{
	struct tkt_buf b = { 0 };

	tkt_html_escape(&b, s, max);
	tkt_buf_append(&b, "", 0); /* "" rather than NULL for an empty result */
	return b.data;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#define assert_contains(hay, needle)                                                         \
	do {                                                                                 \
		if (!strstr((hay), (needle)))                                                \
			fail_msg("missing: %s", (needle));                                   \
	} while (0)
#define assert_lacks(hay, needle)                                                            \
	do {                                                                                 \
		if (strstr((hay), (needle)))                                                 \
			fail_msg("unexpected: %s", (needle));                                \
	} while (0)

/* ---- escaping ---- */

static void test_escape_markup(void **state)
{
	char *s;

	(void)state;
	s = escaped("t.py::test[<a href=\"x\">&'b'</a>]", 0);
	assert_string_equal(s, "t.py::test[&lt;a href=&quot;x&quot;&gt;&amp;&#39;b&#39;&lt;/a&gt;]");
	free(s);
	s = escaped(NULL, 0);
	assert_string_equal(s, "");
	free(s);
}

static void test_escape_utf8_and_controls(void **state)
{
	char *s;

	(void)state;
	/* Valid non-ASCII stays as it is (the page is UTF-8). */
	s = escaped("t[caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x90\x8d]", 0);
	assert_string_equal(s, "t[caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x90\x8d]");
	free(s);
	/* Invalid bytes, an overlong '<' and control characters become U+FFFD. */
	s = escaped("a\xff" "b\xc0\xbc" "c\x01" "d\x7f" "e\xe6\x97", 0);
	assert_string_equal(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd"
			       "d\xef\xbf\xbd" "e\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

static void test_escape_truncates_by_character(void **state)
{
	char *s;

	(void)state;
	s = escaped("abcdef", 6);
	assert_string_equal(s, "abcdef");
	free(s);
	s = escaped("abcdefg", 6);
	assert_string_equal(s, "abcde\xe2\x80\xa6");
	free(s);
	/* Never inside a multi-byte character, never inside an entity. */
	s = escaped("\xc3\xa9\xc3\xa9\xc3\xa9<<<", 5);
	assert_string_equal(s, "\xc3\xa9\xc3\xa9\xc3\xa9&lt;\xe2\x80\xa6");
	free(s);
}

/* ---- the series ---- */

static void test_rss_series_bounded_and_keeps_peaks(void **state)
{
	struct tkt_model m;
	const struct tkt_rss_series *s;
	const size_t total = 200000; /* 5.5 hours at 10 samples a second */
	const size_t spike = 123457;
	uint64_t last_ts = 0;
	bool seen_spike = false;

	(void)state;
	start_root(&m);
	for (size_t i = 0; i < total; i++)
		tkt_model_rss_sample(&m, ROOT, T0 + i * MSECS(100),
				     i == spike ? 900 * MiB : (100 + i % 7) * MiB);
	s = tkt_model_rss_series(&m, ROOT);
	assert_non_null(s);
	assert_int_equal(m.nrss, 1);
	assert_true(s->n <= TKT_RSS_SAMPLES);
	assert_true(s->n >= TKT_RSS_SAMPLES / 2);
	assert_true(s->cap <= TKT_RSS_SAMPLES);
	/* Every stored point (and the pending one) covers stride samples: all are accounted. */
	assert_int_equal(s->n * s->stride + s->pend_n, total);
	assert_int_equal(s->max_bytes, 900 * MiB);
	for (size_t i = 0; i < s->n; i++) {
		assert_true(s->pts[i][0] > last_ts || i == 0);
		last_ts = s->pts[i][0];
		assert_true(s->pts[i][1] >= 100 * MiB);
		if (s->pts[i][1] == 900 * MiB) {
			/* The largest sample of its window, with its own time. */
			assert_int_equal(s->pts[i][0], T0 + spike * MSECS(100));
			seen_spike = true;
		}
	}
	assert_true(seen_spike);
	tkt_model_free(&m);
}

static void test_rss_series_per_process(void **state)
{
	struct tkt_model m;
	const struct tkt_rss_series *a, *b;

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 10, 200, "gw0");
	tkt_model_rss_sample(&m, 200, T0 + MSECS(100), 50 * MiB);
	tkt_model_rss_sample(&m, ROOT, T0 + MSECS(100), 30 * MiB);
	tkt_model_rss_sample(&m, 200, T0 + MSECS(200), 70 * MiB);
	a = tkt_model_rss_series(&m, 200);
	b = tkt_model_rss_series(&m, ROOT);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->n, 2);
	assert_int_equal(a->pts[1][1], 70 * MiB);
	assert_string_equal(a->worker, "gw0");
	assert_null(b->worker);
	assert_int_equal(b->n, 1);
	assert_null(tkt_model_rss_series(&m, 999));
	/* The number of series is bounded too. */
	for (uint32_t pid = 1000; pid < 1000 + TKT_RSS_SERIES + 10; pid++)
		tkt_model_rss_sample(&m, pid, T0 + MSECS(300), MiB);
	assert_int_equal(m.nrss, TKT_RSS_SERIES);
	assert_int_equal(m.rss_dropped, 12);
	tkt_model_free(&m);
}

static void test_live_pytest(void **state)
{
	struct tkt_model m;
	uint32_t pids[8];
	size_t n;

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 10, 200, "gw0");
	start_worker(&m, T0 + 20, 201, "gw1");
	rec_fork(&m, T0 + 30, 300, 200, "sh"); /* a test's subprocess: not sampled */
	rec_exit(&m, T0 + 40, 201, 0);
	n = tkt_model_live_pytest(&m, pids, 8);
	assert_int_equal(n, 2);
	assert_true((pids[0] == ROOT && pids[1] == 200) || (pids[0] == 200 && pids[1] == ROOT));
	assert_int_equal(tkt_model_live_pytest(&m, pids, 1), 1);
	tkt_model_free(&m);
}

static void test_parse_statm(void **state)
{
	uint64_t b = 0;

	(void)state;
	assert_int_equal(tkt_parse_statm("25000 1200 300 1 0 9000 0\n", 4096, &b), 0);
	assert_int_equal(b, 1200 * 4096ULL);
	assert_int_equal(tkt_parse_statm("0 0 0 0 0 0 0\n", 4096, &b), -ENOENT);
	assert_int_equal(tkt_parse_statm("", 4096, &b), -EINVAL);
	assert_int_equal(tkt_parse_statm("12 x", 4096, &b), -EINVAL);
	assert_int_equal(tkt_parse_statm("12 13 1", 4096, &b), -EINVAL); /* resident > size */
}

/* ---- the report ---- */

/* Two workers; gw0 runs a leaky test, then one that is OOM-killed; gw1 triggers it. */
static void oom_model(struct tkt_model *m, const char *victim_test)
{
	struct tkt_ev_oom e;
	uint64_t pg = MiB / PAGE;

	start_root(m);
	tkt_model_set_cgroup(m, "/sys/fs/cgroup/memory/tktrace-1", true, 300 * MiB);
	start_worker(m, T0 + MSECS(100), 200, "gw0");
	start_worker(m, T0 + MSECS(110), 201, "gw1");
	for (int i = 0; i < 40; i++) {
		tkt_model_rss_sample(m, 200, T0 + MSECS(200 + 100 * i), (40 + 4 * i) * MiB);
		tkt_model_rss_sample(m, 201, T0 + MSECS(200 + 100 * i), 40 * MiB);
		tkt_model_cg_sample(m, T0 + MSECS(200 + 100 * i), (120 + 4 * i) * MiB);
	}
	rec_whole_test(m, T0 + MSECS(300), T0 + MSECS(1500), 200, "tests/test_a.py::test_leak",
		       40 * pg, 40 * pg, 100 * pg, 100 * pg, 100 * pg);
	rec_test_snap(m, T0 + MSECS(1600), 200, victim_test, "setup", SNAP(100 * pg, 0, 0, 0));
	rec_test_snap(m, T0 + MSECS(1700), 200, victim_test, "call", SNAP(100 * pg, 100 * pg, 0, 0));
	rec_test(m, T0 + MSECS(1000), 201, "tests/test_b.py::test_grow", "call");
	oom_init(&e, T0 + MSECS(4100), 200, "python3", 140 * pg, 201, "python3", 60 * pg);
	e.victim_peak_pages = 141 * pg;
	e.ncg = 2;
	cg_fill(&e.cg[0], "tktrace-1", 300 * pg, 300 * pg);
	cg_fill(&e.cg[1], "", CG_UNLIMITED, 900000);
	rec_oom(m, &e);
}

static void test_html_kill_marker_on_victims_timeline(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_of(1, 4.5);
	char *h, *gw0, *gw1, *kill, *trig, *tables;

	(void)state;
	oom_model(&m, "tests/test_a.py::test_victim");
	h = html_of(&m, &r);
	/* The explanation first, then the timelines (gw0 before gw1), then the tables. */
	gw0 = strstr(h, "<figcaption>gw0 <span>pid 200,");
	gw1 = strstr(h, "<figcaption>gw1 <span>pid 201,");
	kill = strstr(h, "<g class=\"kill\">");
	trig = strstr(h, "<g class=\"trig\">");
	tables = strstr(h, "<table class=\"sort\">");
	assert_non_null(gw0);
	assert_non_null(gw1);
	assert_non_null(kill);
	assert_non_null(trig);
	assert_non_null(tables);
	assert_true(strstr(h, "OOM kill 1 of 1 at 4.10 s") < gw0);
	assert_true(gw0 < kill && kill < gw1); /* on the victim's worker */
	assert_true(gw1 < trig && trig < tables); /* the trigger on its own */
	assert_int_equal(count(h, "<g class=\"kill\">"), 1);
	assert_contains(kill, "OOM kill: victim pid 200 python3, gw0 (tests/test_a.py::test_victim), "
			      "rss 140.0 MiB");
	assert_contains(kill, "trigger: pid 201 python3, gw1 (tests/test_b.py::test_grow)");
	assert_contains(kill, "cgroup limit 300.0 MiB, usage 300.0 MiB");
	assert_contains(kill, "fill=\"" KILL_COLOUR "\"");
	assert_contains(trig, "Triggered OOM kill of pid 200 python3");
	/* The limit line, the cgroup usage, the series, the per-test peaks, one band per test. */
	assert_int_equal(count(h, "<line class=\"limit\""), 2);
	assert_int_equal(count(h, "<polyline class=\"cg\""), 2);
	assert_int_equal(count(h, "<polyline class=\"rss\""), 2);
	assert_int_equal(count(h, "<path class=\"peak\""), 1); /* gw1's test has no snapshot */
	assert_contains(gw0, "<title>tests/test_a.py::test_leak\n0.30 s to 1.50 s, peak +60.0 MiB, "
			     "retained +60.0 MiB, completed</title>");
	assert_contains(gw0, "<rect class=\"bk\""); /* the killed test's band */
	/* Explanation rows as the text report has them. */
	assert_contains(h, "<p class=\"headline\">pytest exited with status 1 after the OOM killer "
			   "killed 1 traced process</p>");
	assert_contains(h, "1 earlier test on this process left 60.0 MiB resident");
	assert_contains(h, "the running test added only");
	assert_contains(h, "--memory-limit 300M -- &lt;rerun command&gt;");
	assert_contains(h, "<code class=\"sh\">/usr/bin/python3 -m pytest "
			   "tests/test_a.py::test_victim</code>");
	/* The tables: the killed row, sortable values. */
	assert_contains(tables, "<tr class=\"killed\"><td class=\"n\" data-v=\"2\">2</td>"
				"<td class=\"id\">tests/test_a.py::test_victim</td><td>gw0</td>");
	assert_contains(h, "<td class=\"n\" data-v=\"62914560\">+60.0 MiB</td>");
	assert_contains(h, "<td>OOM kill</td><td class=\"n\" data-v=\"200\">200</td>");
	free(h);
	tkt_model_free(&m);
}

static void test_html_no_kill_no_marker(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_of(0, 2.0);
	char *h;

	(void)state;
	start_root(&m);
	tkt_model_rss_sample(&m, ROOT, T0 + MSECS(100), 30 * MiB);
	rec_whole_test(&m, T0 + MSECS(300), T0 + MSECS(900), ROOT, "t.py::test_ok", 7680, 7680,
		       10240, 10240, 7680);
	tkt_model_rss_sample(&m, ROOT, T0 + MSECS(1000), 30 * MiB);
	h = html_of(&m, &r);
	assert_contains(h, "<section class=\"card verdict ok\"><p class=\"headline\">pytest exited "
			   "with status 0; no kills");
	assert_contains(h, "<figcaption>main <span>pid 100, 1 test, peak 40.0 MiB</span>");
	assert_contains(h, "<polyline class=\"rss\"");
	assert_lacks(h, "class=\"kill\"");
	assert_lacks(h, KILL_COLOUR);
	assert_lacks(h, "class=\"limit\""); /* no cgroup limit known */
	assert_contains(h, "<h2>Processes killed</h2>\n<p class=\"muted\">None.</p>");
	free(h);
	tkt_model_free(&m);
}

static void test_html_escapes_suite_strings(void **state)
{
	static const char *nasty = "t.py::test[</title><script>alert(1)</script>&amp;\"'\xc3\xa9\xff]";
	struct tkt_model m;
	struct tkt_run r = run_of(1, 4.5);
	char *h;

	(void)state;
	oom_model(&m, nasty);
	h = html_of(&m, &r);
	assert_int_equal(count(h, "<script"), 1); /* the page's own, for sorting */
	assert_lacks(h, "alert(1)</script>");
	assert_lacks(h, "\xff");
	assert_int_equal(count(h, "</title>"), count(h, "<title>"));
	assert_contains(h, "t.py::test[&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
			   "&amp;amp;&quot;&#39;\xc3\xa9\xef\xbf\xbd]");
	free(h);
	tkt_model_free(&m);
}

static void test_html_self_contained(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_of(1, 4.5);
	char *h;

	(void)state;
	oom_model(&m, "tests/test_a.py::test_victim");
	h = html_of(&m, &r);
	assert_true(strncmp(h, "<!DOCTYPE html>\n", 16) == 0);
	assert_lacks(h, "http:");
	assert_lacks(h, "https:");
	assert_lacks(h, " src=");
	assert_lacks(h, " href=");
	assert_lacks(h, "<link");
	assert_lacks(h, "@import");
	assert_lacks(h, "url(");
	assert_contains(h, "</html>\n");
	free(h);
	tkt_model_free(&m);
}

/* 10,000 tests on 4 workers for an hour: the tables have every test, the SVG stays small. */
static void test_html_bounded_for_10k_tests(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_of(0, 3600);
	char id[200], *h, *svg_end;
	size_t svg_bytes = 0, rects = 0;
	uint64_t pg = MiB / PAGE;

	(void)state;
	start_root(&m);
	for (int w = 0; w < 4; w++) {
		snprintf(id, sizeof(id), "gw%d", w);
		start_worker(&m, T0 + 10 + w, 200 + w, id);
	}
	for (int i = 0; i < 10000; i++) {
		uint64_t st = T0 + SECS(1) + (uint64_t)i * MSECS(359);
		snprintf(id, sizeof(id), "tests/test_module_%03d.py::TestClass::test_case[param-%05d-"
			 "with-a-long-parametrisation-id]", i % 100, i);
		rec_whole_test(&m, st, st + MSECS(300), 200 + i % 4, id, 50 * pg, 60 * pg, 70 * pg,
			       60 * pg, 55 * pg);
	}
	for (int i = 0; i < 36000; i++)
		for (int w = 0; w < 4; w++)
			tkt_model_rss_sample(&m, 200 + w, T0 + (uint64_t)i * MSECS(100),
					     (50 + i % 20) * MiB);
	h = html_of(&m, &r);
	for (const char *p = h; (p = strstr(p, "<svg")); p = svg_end) {
		svg_end = strstr(p, "</svg>");
		assert_non_null(svg_end);
		svg_bytes += svg_end - p;
		for (const char *q = p; (q = strstr(q, "<rect")) && q < svg_end; q++)
			rects++;
	}
	/* Four timelines: bands merged to at least 3 units each, lines one point a column. */
	assert_int_equal(count(h, "<svg class=\"tl\""), 4);
	assert_true(rects < 4 * (PW_FOR_TEST / 3 + 2));
	print_message("svg %zu bytes, %zu rects, page %zu bytes\n", svg_bytes, rects, strlen(h));
	assert_true(svg_bytes < 4 * 150 * 1024);
	/* The table has every run of every test. */
	assert_int_equal(count(h, "<tr><td class=\"n\" data-v="), 10000);
	assert_contains(h, "test_case[param-09999-with-a-long-parametrisation-id]");
	assert_true(strlen(h) < 12 * 1024 * 1024);
	free(h);
	tkt_model_free(&m);
}

static void test_cli_html_option(void **state)
{
	char *ok[] = { "tktrace", "--html", "r.html", "--json", "r.json", "--", "pytest", NULL };
	char *empty[] = { "tktrace", "--html", "", "--", "pytest", NULL };
	char *missing[] = { "tktrace", "--html", NULL };
	struct tkt_cli c;
	char err[256];

	(void)state;
	assert_int_equal(tkt_cli_parse(&c, 7, ok, err, sizeof(err)), 0);
	assert_string_equal(c.html_path, "r.html");
	assert_string_equal(c.json_path, "r.json");
	assert_string_equal(c.argv[0], "pytest");
	assert_int_equal(tkt_cli_parse(&c, 5, empty, err, sizeof(err)), TKT_EXIT_FAIL);
	assert_string_equal(err, "--html needs a file name");
	assert_int_equal(tkt_cli_parse(&c, 2, missing, err, sizeof(err)), TKT_EXIT_FAIL);
	assert_string_equal(err, "option '--html' needs an argument (see tktrace --help)");
}
