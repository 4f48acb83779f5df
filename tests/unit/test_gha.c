/* Unit tests for user/reports/gha.c: workflow-command escaping, annotation paths and lines, the
 * Markdown summary, from synthetic models. */
#include "recs.h"

#include "gha.h"
#include "report.h"

#define ROOT 100

static char *argv_pytest[] = { "pytest", "-n", "2", NULL };
static const char PY_M_PYTEST[] = "/usr/bin/python3\0-m\0pytest\0";
static const char EXECNET[] = "/usr/bin/python3\0-c\0import sys;exec(eval(sys.stdin.readline()))\0";

#define assert_contains(hay, needle)                                                         \
	do {                                                                                 \
		if (!strstr((hay), (needle)))                                                \
			fail_msg("missing %s\n--- in ---\n%s", (needle), (hay));             \
	} while (0)
#define assert_not_contains(hay, needle)                                                     \
	do {                                                                                 \
		if (strstr((hay), (needle)))                                                 \
			fail_msg("unexpected %s\n--- in ---\n%s", (needle), (hay));          \
	} while (0)

static unsigned fake_line(const char *cwd, const char *pyargs, const char *nodeid)
{
	(void)pyargs;
	if (!cwd || strcmp(cwd, "/work/proj"))
		return 0;
	if (strncmp(nodeid, "tests/test_a.py::", 17) == 0)
		return 10;
	if (strncmp(nodeid, "tests/test_b.py::", 17) == 0)
		return 20;
	return 0;
}

static void start(struct tkt_model *m)
{
	model_start(m, ROOT, "/sys/fs/cgroup");
	assert_int_equal(tkt_model_add_root(m, ROOT, "pytest", T0), 0);
	rec_exec(m, T0 + 1, ROOT, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
	for (uint32_t pid = 200; pid <= 201; pid++) {
		rec_fork(m, T0 + 100 + pid, pid, ROOT, "python3");
		rec_exec(m, T0 + 101 + pid, pid, "python3", EXECNET, sizeof(EXECNET) - 1);
		rec_env_set(m, T0 + 102 + pid, pid, TKT_ENV_XDIST_WORKER, pid == 200 ? "gw0" : "gw1");
		tkt_model_set_cwd(m, pid, "/work/proj");
	}
}

static void oom_kill_rss(struct tkt_model *m, uint64_t ts, uint32_t victim, uint32_t trigger,
			 uint64_t pages)
{
	struct tkt_ev_oom e;

	rec_signal(m, ts - 1000, victim, "python3", 9, trigger, "python3", TKT_SIG_F_KERNEL, pages);
	oom_init(&e, ts, victim, "python3", pages, trigger, "python3", 1024);
	e.ncg = 2;
	cg_fill(&e.cg[0], "tktrace-e2e", 131072, 131072);
	cg_fill(&e.cg[1], "/", CG_UNLIMITED, 900000);
	rec_oom(m, &e);
}

static void oom_kill(struct tkt_model *m, uint64_t ts, uint32_t victim, uint32_t trigger)
{
	oom_kill_rss(m, ts, victim, trigger, 262144);
}

static struct tkt_run run_killed(void)
{
	struct tkt_run r = { .argv = argv_pytest, .argc = 3, .status = 1, .exit_code = 1,
			     .duration_s = 3 };
	return r;
}

static void test_escape(void **state)
{
	struct tkt_buf b = { 0 };

	(void)state;
	tkt_gha_escape(&b, "a%b\r\nc:d,e", false);
	assert_string_equal(b.data, "a%25b%0D%0Ac:d,e");
	tkt_buf_reset(&b);
	tkt_gha_escape(&b, "a%b\r\nc:d,e", true);
	assert_string_equal(b.data, "a%25b%0D%0Ac%3Ad%2Ce");
	tkt_buf_free(&b);
}

static void file_is(const char *cwd, const char *nodeid, const char *ws, const char *want)
{
	struct tkt_buf b = { 0 };

	tkt_gha_file(&b, cwd, NULL, nodeid, ws);
	assert_non_null(b.data);
	assert_string_equal(b.data, want);
	tkt_buf_free(&b);
}

static void test_file_paths(void **state)
{
	(void)state;
	file_is("/w/p", "tests/t.py::test_x[a::b]", "/w/p", "tests/t.py");
	file_is("/w/p", "tests/t.py::test_x", "/w/p/", "tests/t.py");
	file_is("/w/p", "./tests/./t.py::C::test_x", "/w", "p/tests/t.py");
	file_is("/w/p", "../q/t.py::test_x", "/w", "q/t.py");
	file_is("/w/p", "../q/t.py::test_x", "/w/p", "/w/q/t.py");
	/* A sibling whose name starts like the workspace is not under it. */
	file_is("/w/pp", "t.py::test_x", "/w/p", "/w/pp/t.py");
	file_is(NULL, "t.py::test_x", NULL, "t.py");
	file_is("/w/p", "t.py::test_x", NULL, "/w/p/t.py");
	file_is("/", "t.py::test_x", "/", "t.py");
}

static void test_annotations_oom_across_workers(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_killed();
	struct tkt_gha_opts o = { .workspace = "/work/proj", .top = 5, .def_line = fake_line };
	struct tkt_buf b = { 0 };
	char *second;

	(void)state;
	start(&m);
	rec_test(&m, T0 + SECS(1), 200, "tests/test_a.py::TestC::test_big[1]", "call");
	rec_test(&m, T0 + SECS(1), 201, "tests/test_b.py::test_alloc", "setup");
	oom_kill(&m, T0 + SECS(2), 200, 201);
	assert_int_equal(tkt_gha_annotations(&b, &m, &r, &o), 0);
	assert_non_null(b.data);
	/* The victim's test first, at its def line, path relative to the workspace. */
	assert_true(strncmp(b.data, "::error file=tests/test_a.py,line=10,title=tktrace%3A test "
				    "OOM-killed::Test tests/test_a.py::TestC::test_big[1] was killed by "
				    "the OOM killer: pid 200 (python3) on worker gw0 in its call phase",
			    strlen("::error file=tests/test_a.py,line=10,title=tktrace%3A test "
				   "OOM-killed::Test tests/test_a.py::TestC::test_big[1] was killed by "
				   "the OOM killer: pid 200 (python3) on worker gw0 in its call phase")) == 0);
	assert_contains(b.data, "limit 512.0 MiB.%0AThe allocation that hit the limit came from "
				"test tests/test_b.py::test_alloc (pid 201)");
	assert_contains(b.data, "Rerun: cd /work/proj && /usr/bin/python3 -m pytest "
				"'tests/test_a.py::TestC::test_big[1]'");
	/* Then the trigger's test, whose allocation hit the limit. */
	second = strstr(b.data + 1, "\n::error ");
	assert_non_null(second);
	assert_true(strncmp(second + 1, "::error file=tests/test_b.py,line=20,title=tktrace%3A "
					"allocation hit the limit::Test tests/test_b.py::test_alloc made",
			    strlen("::error file=tests/test_b.py,line=20,title=tktrace%3A allocation hit "
				   "the limit::Test tests/test_b.py::test_alloc made")) == 0);
	/* One command per line: exactly two lines. */
	size_t lines = 0;
	for (const char *p = b.data; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2);
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

static void test_annotations_without_place(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_killed();
	struct tkt_gha_opts o = { .workspace = NULL, .top = 5, .def_line = fake_line };
	struct tkt_buf b = { 0 };

	(void)state;
	start(&m);
	/* The victim between tests: no file, no line. */
	oom_kill(&m, T0 + SECS(2), 200, 200);
	tkt_gha_annotations(&b, &m, &r, &o);
	assert_non_null(b.data);
	assert_true(strncmp(b.data, "::error title=tktrace%3A OOM kill::A process outside any test", 61) == 0);
	assert_contains(b.data, "Its own allocation hit the limit.");
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

static void test_annotations_clean_run(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_killed();
	struct tkt_gha_opts o = { .def_line = fake_line };
	struct tkt_buf b = { 0 };

	(void)state;
	start(&m);
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 200, "tests/test_a.py::test_ok", 100, 100,
		       200, 200, 100);
	tkt_gha_annotations(&b, &m, &r, &o);
	assert_int_equal(b.len, 0);
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

static void test_annotation_of_earlier_culprit(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_killed();
	struct tkt_gha_opts o = { .workspace = "/work/proj", .def_line = fake_line };
	struct tkt_buf b = { 0 };

	(void)state;
	start(&m);
	/* test_leak leaves 300 MiB on gw0; test_small then adds little and is OOM-killed. */
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 200, "tests/test_b.py::test_leak", 2560,
		       2560, 79360, 79360, 79360);
	rec_test_snap(&m, T0 + SECS(3), 200, "tests/test_a.py::test_small", "setup",
		      SNAP(79360, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(3) + 1000, 200, "tests/test_a.py::test_small", "call",
		      SNAP(79360, 79360, 0, 0));
	oom_kill_rss(&m, T0 + SECS(4), 200, 200, 80000);
	tkt_gha_annotations(&b, &m, &r, &o);
	assert_non_null(b.data);
	assert_contains(b.data, "::warning file=tests/test_b.py,line=20,title=tktrace%3A memory left "
				"behind::Test tests/test_b.py::test_leak left 300.0 MiB resident");
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

static void test_summary(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_killed();
	struct tkt_gha_opts o = { .workspace = "/work/proj", .top = 1, .def_line = fake_line };
	struct tkt_buf b = { 0 };

	(void)state;
	start(&m);
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 201, "tests/test_b.py::test_pipe|x`y", 100,
		       100, 40000, 40000, 100);
	rec_test(&m, T0 + SECS(3), 200, "tests/test_a.py::TestC::test_big[1]", "call");
	rec_test(&m, T0 + SECS(3), 201, "tests/test_b.py::test_alloc", "setup");
	oom_kill(&m, T0 + SECS(4), 200, 201);
	tkt_gha_summary(&b, &m, &r, &o);
	assert_non_null(b.data);
	assert_true(strncmp(b.data, "### tktrace: pytest exited with status 1 after the OOM killer "
				    "killed 1 traced process\n", 83) == 0);
	assert_contains(b.data, "| victim | `tests/test_a.py::TestC::test_big[1]` | call | gw0 | 200 | "
				"`python3` | 1.0 GiB |\n");
	assert_contains(b.data, "| trigger | `tests/test_b.py::test_alloc` | setup | gw1 | 201 |");
	assert_contains(b.data, "Memory cgroup `/sys/fs/cgroup/tktrace-e2e`: limit 512.0 MiB");
	assert_contains(b.data, "```sh\ncd /work/proj && /usr/bin/python3 -m pytest "
				"'tests/test_a.py::TestC::test_big[1]'\n```");
	/* Top memory tests: pipes and backticks cannot break the table. */
	assert_contains(b.data, "#### Tests by memory needed (top 1 of 3)");
	assert_contains(b.data, "| `tests/test_b.py::test_pipe\\|x'y` | gw1 | +155.9 MiB |");
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

/* A passing test that kills its own subprocess (Popen(["sleep", "100"]).kill()) is no
 * failure; a SIGKILL of a worker is. */
static void test_kill_of_own_subprocess_not_an_error(void **state)
{
	struct tkt_model m;
	struct tkt_run r = { .argv = argv_pytest, .argc = 3, .duration_s = 3 };
	struct tkt_gha_opts o = { .workspace = "/work/proj", .top = 0, .def_line = fake_line };
	struct tkt_buf b = { 0 };
	static const char SLEEP[] = "sleep\0" "100\0";

	(void)state;
	start(&m);
	rec_test(&m, T0 + SECS(1), 200, "tests/test_a.py::test_popen", "call");
	rec_fork(&m, T0 + SECS(1) + 10, 300, 200, "python3");
	rec_exec(&m, T0 + SECS(1) + 20, 300, "sleep", SLEEP, sizeof(SLEEP) - 1);
	rec_signal(&m, T0 + SECS(1) + 30, 300, "sleep", 9, 200, "python3", 0, 100);
	rec_exit(&m, T0 + SECS(1) + 40, 300, 0x9);
	assert_int_equal(m.nkills, 1);
	assert_string_equal(m.kills[0].target.attr.test, "tests/test_a.py::test_popen");
	assert_false(tkt_kill_fails_test(&m.kills[0]));
	assert_int_equal(tkt_gha_annotations(&b, &m, &r, &o), 0);
	if (b.data)
		assert_not_contains(b.data, "::error");
	tkt_buf_reset(&b);
	tkt_gha_summary(&b, &m, &r, &o);
	assert_contains(b.data, "#### SIGKILL of a test's subprocess at");

	/* A worker killed by something else fails its test. */
	rec_test(&m, T0 + SECS(2), 201, "tests/test_b.py::test_slow", "call");
	rec_signal(&m, T0 + SECS(3), 201, "python3", 9, 999, "timeout", 0, 100);
	assert_int_equal(m.nkills, 2);
	assert_true(tkt_kill_fails_test(&m.kills[1]));
	tkt_buf_reset(&b);
	assert_int_equal(tkt_gha_annotations(&b, &m, &r, &o), 0);
	assert_non_null(b.data);
	assert_true(strncmp(b.data, "::error file=tests/test_b.py,line=20,title=tktrace%3A SIGKILL::"
				    "Test tests/test_b.py::test_slow was killed", 100) == 0);
	assert_null(strstr(b.data + 1, "::error"));
	tkt_buf_free(&b);
	tkt_model_free(&m);
}
