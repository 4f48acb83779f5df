/* Unit tests for --warn-at: crossings of the cgroup limit threshold in the model (once per
 * crossing, re-armed below it), the residents recorded, the live text and the JSON. */
#include "recs.h"

#include "report.h"
#include "warn.h"

#define ROOT 100

static const char PY_M_PYTEST[] = "/usr/bin/python3\0-m\0pytest\0";
static const char EXECNET[] = "/usr/bin/python3\0-c\0import sys;exec(eval(sys.stdin.readline()))\0";

static void start(struct tkt_model *m, unsigned pct)
{
	model_start(m, ROOT, "/sys/fs/cgroup");
	m->o.warn_pct = pct;
	assert_int_equal(tkt_model_add_root(m, ROOT, "pytest", T0), 0);
	rec_exec(m, T0 + 1, ROOT, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
	/* Workers started in the opposite order of their names: the list is sorted. */
	for (uint32_t pid = 200; pid <= 201; pid++) {
		rec_fork(m, T0 + 100 + pid, pid, ROOT, "python3");
		rec_exec(m, T0 + 101 + pid, pid, "python3", EXECNET, sizeof(EXECNET) - 1);
		rec_env_set(m, T0 + 102 + pid, pid, TKT_ENV_XDIST_WORKER, pid == 200 ? "gw1" : "gw0");
	}
	tkt_model_set_cgroup(m, "/sys/fs/cgroup/memory/t", true, 1000);
}

static void test_once_per_crossing(void **state)
{
	struct tkt_model m;

	(void)state;
	start(&m, 90);
	assert_false(tkt_model_warn_check(&m, T0 + SECS(1), 500));
	assert_false(tkt_model_warn_check(&m, T0 + SECS(1), 899));
	assert_true(tkt_model_warn_check(&m, T0 + SECS(2), 900));
	/* Still above, or just below (within the re-arm margin): no new warning. */
	assert_false(tkt_model_warn_check(&m, T0 + SECS(3), 990));
	assert_false(tkt_model_warn_check(&m, T0 + SECS(3), 860));
	assert_false(tkt_model_warn_check(&m, T0 + SECS(3), 950));
	/* Below 85 %: armed again; the next crossing warns. */
	assert_false(tkt_model_warn_check(&m, T0 + SECS(4), 849));
	assert_false(tkt_model_warn_check(&m, T0 + SECS(4), 880));
	assert_true(tkt_model_warn_check(&m, T0 + SECS(5), 1000));
	assert_int_equal(m.nwarnings, 2);
	assert_int_equal(m.warnings[0].usage, 900);
	assert_int_equal(m.warnings[0].limit, 1000);
	assert_int_equal(m.warnings[0].pct, 90);
	assert_int_equal(m.warnings[1].ts_ns, T0 + SECS(5));
	tkt_model_free(&m);
}

static void test_through_cg_sample_and_new_cgroup(void **state)
{
	struct tkt_model m;

	(void)state;
	start(&m, 50);
	tkt_model_cg_sample(&m, T0 + SECS(1), 600);
	assert_int_equal(m.nwarnings, 1);
	tkt_model_cg_sample(&m, T0 + SECS(2), 700);
	assert_int_equal(m.nwarnings, 1);
	/* COMMAND moved to another cgroup: a crossing there is a new one. */
	tkt_model_set_cgroup(&m, "/sys/fs/cgroup/memory/u", true, 2000);
	tkt_model_cg_sample(&m, T0 + SECS(3), 900);
	assert_int_equal(m.nwarnings, 1);
	tkt_model_cg_sample(&m, T0 + SECS(4), 1000);
	assert_int_equal(m.nwarnings, 2);
	assert_int_equal(m.warnings[1].limit, 2000);
	/* Without a limit there is nothing to cross. */
	tkt_model_set_cgroup(&m, "/sys/fs/cgroup/memory", false, 0);
	tkt_model_cg_sample(&m, T0 + SECS(5), UINT64_MAX / 2);
	assert_int_equal(m.nwarnings, 2);
	tkt_model_free(&m);
}

static void test_off_and_huge_limits(void **state)
{
	struct tkt_model m;

	(void)state;
	start(&m, 0);
	assert_false(tkt_model_warn_check(&m, T0 + SECS(1), 1000));
	tkt_model_free(&m);
	/* No overflow with limits near 2^64. */
	start(&m, 90);
	tkt_model_set_cgroup(&m, "/x", true, UINT64_MAX - 1);
	assert_false(tkt_model_warn_check(&m, T0 + SECS(1), UINT64_MAX / 2));
	assert_true(tkt_model_warn_check(&m, T0 + SECS(1), UINT64_MAX - 2));
	tkt_model_free(&m);
}

static void test_bounded(void **state)
{
	struct tkt_model m;

	(void)state;
	start(&m, 90);
	for (int i = 0; i < TKT_WARNINGS_MAX + 10; i++) {
		tkt_model_warn_check(&m, T0 + SECS(i), 950);
		tkt_model_warn_check(&m, T0 + SECS(i) + 1, 100);
	}
	assert_int_equal(m.nwarnings, TKT_WARNINGS_MAX);
	assert_int_equal(m.warnings_dropped, 10);
	tkt_model_free(&m);
}

static void test_residents_text_and_json(void **state)
{
	struct tkt_model m;
	struct tkt_buf b = { 0 };
	char *argv[] = { "pytest", NULL };
	struct tkt_run r = { .argv = argv, .argc = 1 };
	const struct tkt_warning *w;

	(void)state;
	start(&m, 90);
	rec_test(&m, T0 + SECS(1), 200, "tests/test_a.py::test_big", "call");
	rec_test(&m, T0 + SECS(1), 201, "tests/test_b.py::test_fix", "setup");
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(1) + 5000, 201, "tests/test_b.py::test_fix",
		       1, 1, 1, 1, 1);
	assert_true(tkt_model_warn_check(&m, T0 + MSECS(2500), 950));
	w = &m.warnings[0];
	/* The controller (no worker) first, then the workers by name. */
	assert_int_equal(w->nres, 3);
	assert_int_equal(w->res[0].pid, ROOT);
	assert_null(w->res[0].worker);
	assert_int_equal(w->res[1].pid, 201);
	assert_string_equal(w->res[1].worker, "gw0");
	assert_null(w->res[1].test); /* its test ended */
	assert_int_equal(w->res[2].pid, 200);
	assert_string_equal(w->res[2].test, "tests/test_a.py::test_big");
	assert_int_equal(w->res[2].phase, TKT_PHASE_CALL);
	tkt_warn_text(&b, &m, w);
	assert_string_equal(b.data,
			    "tktrace: warning: memory cgroup /sys/fs/cgroup/memory/t at 95% of its "
			    "limit (950 B of 1000 B) at 2.50 s; running:\n"
			    "  pid 100: no test running [collection]\n"
			    "  pid 201 worker gw0: no test running [session]\n"
			    "  pid 200 worker gw1: tests/test_a.py::test_big [call]\n");
	tkt_buf_reset(&b);
	tkt_report_json(&b, &m, &r);
	assert_non_null(strstr(b.data, "\"warnings\": [\n"
				       "    {\n"
				       "      \"time_s\": 2.500,\n"
				       "      \"threshold_percent\": 90,\n"
				       "      \"usage_bytes\": 950,\n"
				       "      \"limit_bytes\": 1000,\n"
				       "      \"running\": [\n"));
	assert_non_null(strstr(b.data, "\"pid\": 200,\n"
				       "          \"worker\": \"gw1\",\n"
				       "          \"test\": \"tests/test_a.py::test_big\",\n"
				       "          \"phase\": \"call\"\n"));
	assert_non_null(strstr(b.data, "\"more_processes\": 0\n"));
	tkt_buf_free(&b);
	tkt_model_free(&m);
}
