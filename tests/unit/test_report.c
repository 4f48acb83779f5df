/* Unit tests for user/reports/report.c: cause, JSON contract, text summary, rerun commands. */
#include "recs.h"

#include "report.h"

#define ROOT 100

static char *argv_pytest[] = { "pytest", "-n", "2", NULL };

static const char PY_M_PYTEST[] = "/usr/bin/python3\0-m\0pytest\0";
static const char EXECNET[] = "/usr/bin/python3\0-c\0import sys;exec(eval(sys.stdin.readline()))\0";

static void start_root(struct tkt_model *m)
{
	model_start(m, ROOT, "/sys/fs/cgroup");
	assert_int_equal(tkt_model_add_root(m, ROOT, "pytest", T0), 0);
	rec_exec(m, T0 + 1, ROOT, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
}

static void start_worker(struct tkt_model *m, uint64_t ts, uint32_t pid, const char *id)
{
	rec_fork(m, ts, pid, ROOT, "python3");
	rec_exec(m, ts + 1, pid, "python3", EXECNET, sizeof(EXECNET) - 1);
	rec_env_set(m, ts + 2, pid, TKT_ENV_XDIST_WORKER, id);
}

static struct tkt_run run_exit(int status)
{
	struct tkt_run r = {
		.argv = argv_pytest,
		.argc = 3,
		.status = status,
		.exit_code = status,
		.duration_s = 1.5,
	};
	return r;
}

static struct tkt_run run_signal(int sig)
{
	struct tkt_run r = run_exit(0);

	r.signaled = true;
	r.sig = sig;
	r.status = 0;
	r.exit_code = tkt_shell_status(true, sig, 0);
	return r;
}

/* The JSON without the whitespace between tokens (strings untouched). */
static char *compact(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	bool in_str = false, esc = false;

	assert_non_null(out);
	for (; *s; s++) {
		if (in_str) {
			*o++ = *s;
			if (esc)
				esc = false;
			else if (*s == '\\')
				esc = true;
			else if (*s == '"')
				in_str = false;
			continue;
		}
		if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
			continue;
		if (*s == '"')
			in_str = true;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *json_of(const struct tkt_model *m, const struct tkt_run *r)
{
	struct tkt_buf b = { 0 };
	char *c;

	assert_int_equal(tkt_report_json(&b, m, r), 0);
	assert_non_null(b.data);
	/* Pretty printed, one trailing newline. */
	assert_int_equal(b.data[b.len - 1], '\n');
	c = compact(b.data);
	tkt_buf_free(&b);
	return c;
}

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

static void test_cause_names(void **state)
{
	(void)state;
	assert_string_equal(tkt_cause_name(TKT_CAUSE_EXIT), "exit");
	assert_string_equal(tkt_cause_name(TKT_CAUSE_OOM), "oom-kill");
	assert_string_equal(tkt_cause_name(TKT_CAUSE_SIGKILL), "sigkill");
	assert_string_equal(tkt_cause_name(TKT_CAUSE_SIGNAL), "signal");
}

static void test_shell_status(void **state)
{
	(void)state;
	assert_int_equal(tkt_shell_status(false, 0, 0), 0);
	assert_int_equal(tkt_shell_status(false, 0, 3), 3);
	assert_int_equal(tkt_shell_status(false, 9, 1), 1);
	assert_int_equal(tkt_shell_status(true, 9, 0), 137);
	assert_int_equal(tkt_shell_status(true, 15, 0), 143);
	assert_int_equal(tkt_shell_status(true, 2, 5), 130);
}

/* An OOM kill of victim (with trigger) preceded by the kernel's SIGKILL. */
static void oom_kill(struct tkt_model *m, uint64_t ts, uint32_t victim, uint32_t trigger,
		     uint64_t limit_pages)
{
	struct tkt_ev_oom e;

	rec_signal(m, ts - 1000, victim, "python3", 9, trigger, "python3", TKT_SIG_F_KERNEL,
		   262144);
	oom_init(&e, ts, victim, "python3", 262144, trigger, "python3", 1024);
	e.victim.rss_file_pages = 256;
	e.ncg = 2;
	cg_fill(&e.cg[0], "tktrace-e2e", limit_pages, limit_pages);
	cg_fill(&e.cg[1], "/", CG_UNLIMITED, 900000);
	rec_oom(m, &e);
}

static void test_report_cause(void **state)
{
	struct tkt_model m;
	struct tkt_run r;

	(void)state;
	start_root(&m);
	r = run_exit(0);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_EXIT);
	r = run_signal(9);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_SIGKILL);
	r = run_signal(15);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_SIGNAL);
	/* A child's OOM kill does not make COMMAND's SIGKILL an OOM kill. */
	rec_fork(&m, T0 + 10, 200, ROOT, "python3");
	oom_kill(&m, T0 + SECS(1), 200, 200, 131072);
	r = run_signal(9);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_SIGKILL);
	r = run_exit(1);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_EXIT);
	/* COMMAND's own. */
	oom_kill(&m, T0 + SECS(2), ROOT, 200, 131072);
	r = run_signal(9);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_OOM);
	/* Killed by something else in the end. */
	r = run_signal(6);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_SIGNAL);
	r = run_exit(0);
	assert_int_equal(tkt_report_cause(&m, &r), TKT_CAUSE_EXIT);
	tkt_model_free(&m);
}

static void test_json_clean_run_exact(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(0);
	struct tkt_buf b = { 0 };
	char *argv[] = { "pytest", "-q", NULL };

	(void)state;
	start_root(&m);
	r.argv = argv;
	r.argc = 2;
	assert_int_equal(tkt_report_json(&b, &m, &r), 0);
	assert_string_equal(b.data, "{\n"
				    "  \"format_version\": 1,\n"
				    "  \"command\": [\n"
				    "    \"pytest\",\n"
				    "    \"-q\"\n"
				    "  ],\n"
				    "  \"exit_code\": 0,\n"
				    "  \"cause\": \"exit\",\n"
				    "  \"signal\": null,\n"
				    "  \"pid\": 100,\n"
				    "  \"duration_s\": 1.500,\n"
				    "  \"oom_kills\": [],\n"
				    "  \"kills\": [],\n"
				    "  \"lost_events\": 0,\n"
				    "  \"processes_traced\": 1,\n"
				    "  \"tests_seen\": 0,\n"
				    "  \"tests\": [],\n"
				    "  \"cgroup\": {\n"
				    "    \"path\": null,\n"
				    "    \"limit_bytes\": null,\n"
				    "    \"peak_usage_bytes\": 0,\n"
				    "    \"samples\": []\n"
				    "  },\n"
				    "  \"warnings\": []\n"
				    "}\n");
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

/* COMMAND itself OOM-killed while running a test: the whole document, exactly. */
static void test_json_oom_of_command(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_signal(9);
	char *j;

	(void)state;
	start_root(&m);
	tkt_model_set_cwd(&m, ROOT, "/work/proj");
	rec_test(&m, T0 + 10, ROOT, "tests/test_x.py::test_big[10M]", "setup");
	rec_test(&m, T0 + 20, ROOT, "tests/test_x.py::test_big[10M]", "call");
	oom_kill(&m, T0 + SECS(2), ROOT, ROOT, 131072);
	r.duration_s = 2.25;
	j = json_of(&m, &r);
	assert_string_equal(
		j, "{\"format_version\":1,\"command\":[\"pytest\",\"-n\",\"2\"],\"exit_code\":137,"
		   "\"cause\":\"oom-kill\",\"signal\":9,\"pid\":100,\"duration_s\":2.250,"
		   "\"oom_kills\":[{\"time_s\":2.000000,"
		   "\"victim\":{\"pid\":100,\"comm\":\"python3\","
		   "\"test\":\"tests/test_x.py::test_big[10M]\",\"phase\":\"call\",\"worker\":null,"
		   "\"rss_bytes\":1074790400,\"traced\":true,\"python_stack\":null,\"python_stack_error\":\"not captured\"},"
		   "\"trigger\":{\"pid\":100,\"comm\":\"python3\","
		   "\"test\":\"tests/test_x.py::test_big[10M]\",\"phase\":\"call\",\"worker\":null,"
		   "\"rss_bytes\":4194304,\"traced\":true,\"python_stack\":null,\"python_stack_error\":\"not captured\"},"
		   "\"cgroup\":\"/sys/fs/cgroup/tktrace-e2e\",\"limit_bytes\":536870912,"
		   "\"cgroup_usage_bytes\":536870912,"
		   "\"victim_rss\":{\"anon_bytes\":1073741824,\"file_bytes\":1048576,\"shmem_bytes\":0},"
		   "\"oom_score_adj\":0,"
		   /* The victim is the pytest process itself: it ran nothing before (no
		    * completed test), and its test grew by its whole rss (it started at 0). */
		   "\"blame\":{\"pid\":100,\"running_test\":\"tests/test_x.py::test_big[10M]\","
		   "\"running_test_growth_bytes\":1074790400,\"retained_tests\":0,"
		   "\"retained_total_bytes\":0,\"running_test_is_main_culprit\":true,"
		   "\"largest_retained\":[]},"
		   "\"rerun\":\"cd /work/proj && /usr/bin/python3 -m pytest 'tests/test_x.py::test_big[10M]'\"}],"
		   "\"kills\":[],\"lost_events\":0,\"processes_traced\":1,\"tests_seen\":1,"
		   /* Setup at 10 ns, killed at 2 s (the last record): no snapshots, no victim
		    * peak in the records, so all memory is 0; never ended: nulls. */
		   "\"tests\":[{\"nodeid\":\"tests/test_x.py::test_big[10M]\",\"worker\":null,"
		   "\"duration_s\":2.000,\"peak_rss_bytes\":0,\"peak_growth_bytes\":0,"
		   "\"retained_bytes\":null,\"children_peak_rss_bytes\":0,\"pid\":100,"
		   "\"rss_start_bytes\":0,\"rss_end_bytes\":null,\"page_faults\":0,"
		   "\"mmap_bytes\":0,\"outcome\":\"killed\"}],"
		   "\"cgroup\":{\"path\":null,\"limit_bytes\":null,\"peak_usage_bytes\":0,"
		   "\"samples\":[]},\"warnings\":[]}");
	free(j);
	tkt_model_free(&m);
}

/* Victim and trigger on different workers; no limit; a victim outside any test. */
static void test_json_oom_workers(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(1);
	struct tkt_ev_oom e;
	char *j;

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw3");
	rec_test(&m, T0 + 200, 200, "tests/test_a.py::test_big", "call");
	rec_test(&m, T0 + 210, 201, "tests/test_b.py::test_alloc", "teardown");
	oom_init(&e, T0 + MSECS(1500), 200, "python3", 1000, 201, "python3", 10);
	e.oom_score_adj = 500;
	e.ncg = 2;
	cg_fill(&e.cg[0], "user.slice", CG_UNLIMITED, 5000);
	cg_fill(&e.cg[1], "/", CG_UNLIMITED, 900000);
	rec_oom(&m, &e);
	rec_env_unset(&m, T0 + SECS(2), 201, TKT_ENV_CURRENT_TEST);
	oom_init(&e, T0 + SECS(3), 201, "python3", 10, 201, "python3", 10);
	rec_oom(&m, &e);
	j = json_of(&m, &r);
	assert_contains(j, "\"exit_code\":1,\"cause\":\"exit\",\"signal\":null,");
	assert_contains(j, "{\"time_s\":1.500000,\"victim\":{\"pid\":200,\"comm\":\"python3\","
			   "\"test\":\"tests/test_a.py::test_big\",\"phase\":\"call\","
			   "\"worker\":\"gw0\",\"rss_bytes\":4096000,\"traced\":true,\"python_stack\":null,\"python_stack_error\":\"not captured\"},"
			   "\"trigger\":{\"pid\":201,\"comm\":\"python3\","
			   "\"test\":\"tests/test_b.py::test_alloc\",\"phase\":\"teardown\","
			   "\"worker\":\"gw3\",\"rss_bytes\":40960,\"traced\":true,\"python_stack\":null,\"python_stack_error\":\"not captured\"},"
			   "\"cgroup\":\"/sys/fs/cgroup/user.slice\",\"limit_bytes\":null,"
			   "\"cgroup_usage_bytes\":20480000,");
	/* Blame on the victim's worker gw0: nothing completed there before. */
	assert_contains(j, "\"oom_score_adj\":500,"
			   "\"blame\":{\"pid\":200,\"running_test\":\"tests/test_a.py::test_big\","
			   "\"running_test_growth_bytes\":4096000,\"retained_tests\":0,"
			   "\"retained_total_bytes\":0,\"running_test_is_main_culprit\":true,"
			   "\"largest_retained\":[]},"
			   "\"rerun\":\"/usr/bin/python3 -m pytest tests/test_a.py::test_big\"}");
	/* Between tests: phase session, test null, no rerun. */
	assert_contains(j, "{\"time_s\":3.000000,\"victim\":{\"pid\":201,\"comm\":\"python3\","
			   "\"test\":null,\"phase\":\"session\",\"worker\":\"gw3\",");
	assert_contains(j, "\"cgroup\":null,\"limit_bytes\":null,\"cgroup_usage_bytes\":0,");
	/* No running test; its completed test left 0 (excluded); gw0's test is not its own. */
	assert_contains(j, "\"oom_score_adj\":0,"
			   "\"blame\":{\"pid\":201,\"running_test\":null,"
			   "\"running_test_growth_bytes\":0,\"retained_tests\":0,"
			   "\"retained_total_bytes\":0,\"running_test_is_main_culprit\":null,"
			   "\"largest_retained\":[]},"
			   "\"rerun\":null}],\"kills\":[],");
	/* gw0's test killed in its call (first seen there, at 200 ns); its duration is
	 * checked in test_json_killed_test_duration. gw3's test, first seen in its
	 * teardown at 210 ns, ended by the unset at 2 s. */
	assert_contains(j, "\"tests_seen\":2,"
			   "\"tests\":[{\"nodeid\":\"tests/test_a.py::test_big\",\"worker\":\"gw0\","
			   "\"duration_s\":");
	assert_contains(j, ",\"peak_rss_bytes\":0,\"peak_growth_bytes\":0,"
			   "\"retained_bytes\":null,\"children_peak_rss_bytes\":0,\"pid\":200,"
			   "\"rss_start_bytes\":0,\"rss_end_bytes\":null,\"page_faults\":0,"
			   "\"mmap_bytes\":0,\"outcome\":\"killed\"},"
			   "{\"nodeid\":\"tests/test_b.py::test_alloc\",\"worker\":\"gw3\","
			   "\"duration_s\":2.000,\"peak_rss_bytes\":0,\"peak_growth_bytes\":0,"
			   "\"retained_bytes\":0,\"children_peak_rss_bytes\":0,\"pid\":201,"
			   "\"rss_start_bytes\":0,\"rss_end_bytes\":0,\"page_faults\":0,"
			   "\"mmap_bytes\":0,\"outcome\":\"completed\"}],"
			   "\"cgroup\":{\"path\":null,\"limit_bytes\":null,\"peak_usage_bytes\":0,"
			   "\"samples\":[]},\"warnings\":[]}");
	free(j);
	tkt_model_free(&m);
}

static void test_json_kills_and_lost_events(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_signal(9);
	char *j;

	(void)state;
	start_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::slow", "call");
	rec_fork(&m, T0 + 20, 300, ROOT, "sleep");
	rec_signal(&m, T0 + SECS(4), 300, "sleep", 9, ROOT, "python3", 0, 25);
	rec_signal(&m, T0 + SECS(5), ROOT, "python3", 9, 555, "bash", 0, 100);
	/* An unusable record. */
	assert_int_equal(tkt_model_apply(&m, "xx", 2), -EINVAL);
	r.kernel_drops = 3;
	j = json_of(&m, &r);
	assert_contains(j, "\"cause\":\"sigkill\",\"signal\":9,");
	assert_contains(j, "\"oom_kills\":[],\"kills\":[{\"time_s\":4.000000,"
			   "\"target\":{\"pid\":300,\"comm\":\"sleep\",\"test\":\"t.py::slow\","
			   "\"phase\":\"call\",\"worker\":null,\"rss_bytes\":102400,\"traced\":true,\"python_stack\":null,\"python_stack_error\":\"not captured\"},"
			   "\"sender\":{\"pid\":100,\"comm\":\"python3\",\"kernel\":false}},"
			   "{\"time_s\":5.000000,"
			   "\"target\":{\"pid\":100,\"comm\":\"python3\",\"test\":\"t.py::slow\","
			   "\"phase\":\"call\",\"worker\":null,\"rss_bytes\":409600,\"traced\":true,\"python_stack\":null,\"python_stack_error\":\"not captured\"},"
			   "\"sender\":{\"pid\":555,\"comm\":\"bash\",\"kernel\":false}}],"
			   "\"lost_events\":4,\"processes_traced\":2,\"tests_seen\":1,"
			   /* First seen in its call at 10 ns, killed by the SIGKILL at 5 s (the
			    * last usable record); its child never exited: no children peak. */
			   "\"tests\":[{\"nodeid\":\"t.py::slow\",\"worker\":null,"
			   "\"duration_s\":5.000,\"peak_rss_bytes\":0,\"peak_growth_bytes\":0,"
			   "\"retained_bytes\":null,\"children_peak_rss_bytes\":0,\"pid\":100,"
			   "\"rss_start_bytes\":0,\"rss_end_bytes\":null,\"page_faults\":0,"
			   "\"mmap_bytes\":0,\"outcome\":\"killed\"}],"
			   "\"cgroup\":{\"path\":null,\"limit_bytes\":null,\"peak_usage_bytes\":0,"
			   "\"samples\":[]},\"warnings\":[]}");
	free(j);
	tkt_model_free(&m);
}

static void test_json_signal(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_signal(15);
	char *j;

	(void)state;
	start_root(&m);
	rec_signal(&m, T0 + SECS(1), ROOT, "python3", 15, 4242, "timeout", 0, 1);
	j = json_of(&m, &r);
	assert_contains(j, "\"exit_code\":143,\"cause\":\"signal\",\"signal\":15,");
	assert_contains(j, "\"kills\":[]");
	free(j);
	tkt_model_free(&m);
}

/* pytest escapes non-ASCII in parametrize ids: "\u00e9" with a real backslash. A long one
 * arrives in several chunks and must come out of the JSON with each backslash doubled. */
static void test_json_long_escaped_node_id(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_signal(9);
	struct tkt_buf id = { 0 }, want = { 0 };
	struct tkt_ev_oom e;
	char *j;

	(void)state;
	tkt_buf_printf(&id, "tests/test_u.py::test_name[");
	tkt_buf_printf(&want, "\"test\":\"tests/test_u.py::test_name[");
	for (int i = 0; i < 400; i++) {
		tkt_buf_printf(&id, "\\u%04x", 0xe0 + i % 32);
		tkt_buf_printf(&want, "\\\\u%04x", 0xe0 + i % 32);
	}
	tkt_buf_printf(&id, "-\"q\"\t]");
	tkt_buf_printf(&want, "-\\\"q\\\"\\t]\"");
	assert_true(id.len > 2 * TKT_ENV_CHUNK);
	start_root(&m);
	rec_test(&m, T0 + 10, ROOT, id.data, "call");
	assert_string_equal(tkt_model_attr(&m, ROOT).test, id.data);
	oom_init(&e, T0 + SECS(1), ROOT, "python3", 10, ROOT, "python3", 10);
	rec_oom(&m, &e);
	j = json_of(&m, &r);
	assert_contains(j, want.data);
	assert_contains(j, "\"lost_events\":0");
	free(j);
	tkt_buf_free(&id);
	tkt_buf_free(&want);
	tkt_model_free(&m);
}

/* Bytes that are not UTF-8 (a comm cut mid-character, a bytes id) become U+FFFD. */
static void test_json_invalid_utf8(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(0);
	char *argv[] = { "pyt\xff" "est", "caf\xc3\xa9", "\xc3", NULL };
	struct tkt_ev_oom e;
	char *j;

	(void)state;
	start_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::t[\xe9t\xc3\xa9]", "call");
	oom_init(&e, T0 + SECS(1), ROOT, "pyth\xe2\x82", 10, ROOT, "pyth\xe2\x82", 10);
	rec_oom(&m, &e);
	r.argv = argv;
	r.argc = 3;
	j = json_of(&m, &r);
	assert_contains(j, "\"command\":[\"pyt\\ufffdest\",\"caf\xc3\xa9\",\"\\ufffd\"],");
	assert_contains(j, "\"comm\":\"pyth\\ufffd\\ufffd\",");
	assert_contains(j, "\"test\":\"t.py::t[\\ufffdt\xc3\xa9]\",");
	free(j);
	tkt_model_free(&m);
}

static char *text_of(const struct tkt_model *m, const struct tkt_run *r, bool quiet)
{
	struct tkt_buf b = { 0 };
	char *s;

	assert_int_equal(tkt_report_text(&b, m, r, quiet), 0);
	s = strdup(b.data ? b.data : "");
	tkt_buf_free(&b);
	return s;
}

static void assert_headline(const char *text, const char *line)
{
	size_t n = strlen(line);

	if (strncmp(text, line, n) != 0)
		fail_msg("headline\n  got: %s\n want: %s", text, line);
}

static void test_text_headline_per_cause(void **state)
{
	struct tkt_model m;
	struct tkt_run r;
	char *t;

	(void)state;
	/* Clean exit. */
	start_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::a", "setup");
	r = run_exit(0);
	t = text_of(&m, &r, false);
	assert_string_equal(t, "tktrace: pytest exited with status 0; no kills "
			       "(1 processes, 1 tests, 1.5 s)\n");
	free(t);
	/* Killed by a signal with a known sender. */
	rec_signal(&m, T0 + SECS(1), ROOT, "python3", 15, 4242, "timeout", 0, 1);
	r = run_signal(15);
	t = text_of(&m, &r, false);
	assert_string_equal(t, "tktrace: pytest (pid 100) was killed by SIGTERM from pid 4242 "
			       "(timeout) (exit 143)\n");
	free(t);
	/* Another signal than the one seen: no sender. */
	r = run_signal(2);
	t = text_of(&m, &r, false);
	assert_string_equal(t, "tktrace: pytest (pid 100) was killed by SIGINT (exit 130)\n");
	free(t);
	/* Sent by the kernel for the terminal: no pid (it would be a kworker's). */
	rec_signal(&m, T0 + SECS(1), ROOT, "python3", 2, 77, "kworker/u8:6", TKT_SIG_F_KERNEL, 1);
	t = text_of(&m, &r, false);
	assert_string_equal(t, "tktrace: pytest (pid 100) was killed by SIGINT from the terminal "
			       "(a key such as Ctrl-C, or a hangup) (exit 130)\n");
	free(t);
	r = run_signal(40);
	t = text_of(&m, &r, false);
	assert_string_equal(t, "tktrace: pytest (pid 100) was killed by signal (exit 168)\n");
	free(t);
	/* SIGKILL, sender unknown. */
	r = run_signal(9);
	t = text_of(&m, &r, false);
	assert_string_equal(t, "tktrace: pytest (pid 100) was killed by SIGKILL (exit 137)\n");
	free(t);
	/* SIGKILL from a user. */
	rec_signal(&m, T0 + SECS(2), ROOT, "python3", 9, 555, "bash", 0, 100);
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest (pid 100) was killed by SIGKILL from pid 555 (bash) "
			   "(exit 137)\n");
	free(t);
	/* A status after kills of others. */
	r = run_exit(2);
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest exited with status 2 after 1 SIGKILL of traced "
			   "processes\n");
	free(t);
	rec_fork(&m, T0 + SECS(3), 300, ROOT, "x");
	rec_signal(&m, T0 + SECS(3) + 1, 300, "x", 9, 555, "bash", 0, 100);
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest exited with status 2 after 2 SIGKILLs of traced "
			   "processes\n");
	free(t);
	oom_kill(&m, T0 + SECS(4), 300, 300, 131072);
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest exited with status 2 after the OOM killer killed 1 "
			   "traced process\n");
	free(t);
	oom_kill(&m, T0 + SECS(5), 300, 300, 131072);
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest exited with status 2 after the OOM killer killed 2 "
			   "traced processes\n");
	free(t);
	/* COMMAND's own OOM kill. */
	oom_kill(&m, T0 + SECS(6), ROOT, ROOT, 131072);
	r = run_signal(9);
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest (pid 100) was killed by the OOM killer (exit 137)\n");
	free(t);
	/* No COMMAND to name. */
	r.argc = 0;
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: command (pid 100) was killed by the OOM killer (exit 137)\n");
	free(t);
	tkt_model_free(&m);
}

static void test_text_quiet(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(0);
	struct tkt_buf b = { 0 };
	char *t;

	(void)state;
	start_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::a", "call");
	/* Clean: nothing at all. */
	assert_int_equal(tkt_report_text(&b, &m, &r, true), 0);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	/* A failing status alone is no reason to speak either. */
	r = run_exit(1);
	assert_int_equal(tkt_report_text(&b, &m, &r, true), 0);
	assert_int_equal(b.len, 0);
	/* Not quiet: the headline. */
	t = text_of(&m, &r, false);
	assert_headline(t, "tktrace: pytest exited with status 1; no kills");
	free(t);
	/* Lost events are worth a word even when quiet. */
	r.kernel_drops = 2;
	t = text_of(&m, &r, true);
	assert_string_equal(t, "tktrace: pytest exited with status 1; no kills (1 processes, 1 tests, "
			       "1.5 s)\n"
			       "tktrace: warning: 2 events were lost; the report may be incomplete\n");
	free(t);
	/* So is COMMAND dying of a signal. */
	r = run_signal(15);
	t = text_of(&m, &r, true);
	assert_string_equal(t, "tktrace: pytest (pid 100) was killed by SIGTERM (exit 143)\n");
	free(t);
	/* And any kill. */
	r = run_exit(0);
	rec_fork(&m, T0 + 20, 300, ROOT, "x");
	rec_signal(&m, T0 + SECS(1), 300, "x", 9, 555, "bash", 0, 1);
	t = text_of(&m, &r, true);
	assert_headline(t, "tktrace: pytest exited with status 0 after 1 SIGKILL");
	free(t);
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

/* The whole summary of a cross-worker OOM kill. */
static void test_text_oom_report_exact(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(1);
	struct tkt_ev_oom e;
	char *t;

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	tkt_model_set_cwd(&m, 200, "/work/proj");
	rec_test(&m, T0 + 200, 200, "tests/test_a.py::test_big", "call");
	rec_test(&m, T0 + 210, 201, "tests/test_b.py::test_alloc[x]", "setup");
	oom_kill(&m, T0 + SECS(2), 200, 201, 131072);
	/* A user SIGKILL sent by the kernel path, later. */
	rec_signal(&m, T0 + SECS(3), 201, "python3", 9, 0, "swapper/0", TKT_SIG_F_KERNEL, 100);
	/* An untraced victim of a machine-wide OOM, the trigger between tests. */
	rec_env_unset(&m, T0 + SECS(4), 201, TKT_ENV_CURRENT_TEST);
	oom_init(&e, T0 + SECS(5), 5555, "foo", 256, 201, "python3", 10);
	e.ncg = 2;
	cg_fill(&e.cg[0], "system.slice", CG_UNLIMITED, 4);
	cg_fill(&e.cg[1], "/", CG_UNLIMITED, 4);
	rec_oom(&m, &e);
	t = text_of(&m, &r, false);
	assert_string_equal(
		t,
		"tktrace: pytest exited with status 1 after the OOM killer killed 2 traced processes\n"
		"OOM kill 1 of 2 at 2.00 s\n"
		"  victim   pid 200 (python3) worker gw0, test tests/test_a.py::test_big [call], "
		"rss 1.0 GiB (anon 1.0 GiB, file 1.0 MiB, shmem 0 B)\n"
		"  trigger  pid 201 (python3) worker gw1, test tests/test_b.py::test_alloc[x] [setup], "
		"rss 4.0 MiB\n"
		"  cgroup   /sys/fs/cgroup/tktrace-e2e, limit 512.0 MiB, usage 512.0 MiB\n"
		"  why      the trigger's allocation hit the limit; the victim was killed for being "
		"the largest: both tests share the memory\n"
		"  rerun    cd /work/proj && /usr/bin/python3 -m pytest tests/test_a.py::test_big\n"
		"  rerun    /usr/bin/python3 -m pytest 'tests/test_b.py::test_alloc[x]'\n"
		"  hint     reproduce under the same limit: sudo tktrace --memory-limit 512M -- "
		"<rerun command>\n"
		"OOM kill 2 of 2 at 5.00 s\n"
		"  victim   pid 5555 (foo), not traced, rss 1.0 MiB (anon 1.0 MiB, file 0 B, shmem 0 B)\n"
		"  trigger  pid 201 (python3) worker gw1, no test running [session], rss 40.0 KiB\n"
		"  cgroup   /sys/fs/cgroup/system.slice (no memory limit: the whole machine ran out)\n"
		"  why      the trigger's allocation hit the limit; the victim was killed for being "
		"the largest\n"
		"SIGKILL at 3.00 s from pid 0 (swapper/0), sent by the kernel\n"
		"  target   pid 201 (python3) worker gw1, test tests/test_b.py::test_alloc[x] [setup], "
		"rss 400.0 KiB\n");
	/* Each kill's own section (a JUnit test case's details) is the report's, alone. */
	{
		struct tkt_buf sec = { 0 };
		const char *oom2 = strstr(t, "OOM kill 2 of 2"), *sig = strstr(t, "SIGKILL at 3.00");

		tkt_report_oom_text(&sec, &m, 0);
		assert_int_equal(sec.len, (size_t)(oom2 - strchr(t, '\n') - 1));
		assert_memory_equal(sec.data, strchr(t, '\n') + 1, sec.len);
		tkt_buf_reset(&sec);
		tkt_report_oom_text(&sec, &m, 1);
		assert_int_equal(sec.len, (size_t)(sig - oom2));
		assert_memory_equal(sec.data, oom2, sec.len);
		tkt_buf_reset(&sec);
		tkt_report_kill_text(&sec, &m, 0);
		assert_string_equal(sec.data, sig);
		tkt_buf_free(&sec);
	}
	free(t);
	tkt_model_free(&m);
}

static void test_text_oom_own_allocation(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_signal(9);
	char *t;

	(void)state;
	start_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::t", "call");
	oom_kill(&m, T0 + SECS(1), ROOT, ROOT, 1000); /* 4096000 bytes: not whole MiB */
	t = text_of(&m, &r, false);
	assert_contains(t, "  why      the victim's own allocation hit the limit\n");
	assert_contains(t, "  rerun    /usr/bin/python3 -m pytest t.py::t\n"
			   "  hint     reproduce under the same limit: sudo tktrace --memory-limit "
			   "4096000 -- <rerun command>\n");
	/* One rerun line only: the trigger is the victim. */
	assert_null(strstr(strstr(t, "  rerun    ") + 1, "  rerun    "));
	free(t);
	tkt_model_free(&m);
}

/* Run s through sh and printf: a correctly quoted word comes back unchanged. */
static void assert_shell_word(const char *quoted, const char *want)
{
	struct tkt_buf cmd = { 0 };
	char out[512];
	size_t n;
	FILE *f;

	tkt_buf_printf(&cmd, "printf %%s %s", quoted);
	f = popen(cmd.data, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_string_equal(out, want);
	tkt_buf_free(&cmd);
}

static void test_rerun_command_quoting(void **state)
{
	struct tkt_party p;
	struct tkt_buf b = { 0 };
	const char *id = "tests/test_q.py::test_it[it's a b]";

	(void)state;
	memset(&p, 0, sizeof(p));
	p.attr.test = id;
	p.attr.phase = TKT_PHASE_CALL;
	p.cwd = "/home/me/my proj";
	p.pytest_cmd = "/usr/bin/python3 -m pytest";
	assert_true(tkt_rerun_command(&b, &p));
	assert_string_equal(b.data, "cd '/home/me/my proj' && /usr/bin/python3 -m pytest "
				    "'tests/test_q.py::test_it[it'\\''s a b]'");
	assert_shell_word("'tests/test_q.py::test_it[it'\\''s a b]'", id);
	/* Appends; no cwd; default pytest command. */
	tkt_buf_reset(&b);
	tkt_buf_printf(&b, "> ");
	p.cwd = NULL;
	p.pytest_cmd = NULL;
	p.attr.test = "t.py::plain";
	assert_true(tkt_rerun_command(&b, &p));
	assert_string_equal(b.data, "> python3 -m pytest t.py::plain");
	/* No test: nothing to rerun, nothing written. */
	tkt_buf_reset(&b);
	p.attr.test = NULL;
	p.attr.phase = TKT_PHASE_SESSION;
	assert_false(tkt_rerun_command(&b, &p));
	assert_int_equal(b.len, 0);
	tkt_buf_free(&b);
}

/* The rerun in the JSON of a node id with a quote and spaces, from the model. */
static void test_json_rerun_quoting(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_signal(9);
	char *j;

	(void)state;
	start_root(&m);
	tkt_model_set_cwd(&m, ROOT, "/tmp/it's here");
	rec_test(&m, T0 + 10, ROOT, "t.py::t[don't stop]", "call");
	oom_kill(&m, T0 + SECS(1), ROOT, ROOT, 131072);
	j = json_of(&m, &r);
	assert_contains(j, "\"rerun\":\"cd '/tmp/it'\\\\''s here' && /usr/bin/python3 -m pytest "
			   "'t.py::t[don'\\\\''t stop]'\"");
	free(j);
	tkt_model_free(&m);
}

/* ---- Per-test memory: JSON, tables, the not-marked list, per-test lines, blame ---- */

#define PG(n) ((uint64_t)(n) * PAGE)
#define MIB 256ULL /* pages */

/* Completed tests and a running one, with COMMAND's cgroup sampled: the tail, exactly. */
static void test_json_tests_and_cgroup_exact(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(0);
	char *j;

	(void)state;
	start_root(&m);
	rec_test_snap(&m, T0 + SECS(1), ROOT, "t.py::a", "setup", SNAP(1000, 0, 10, 0));
	rec_test_snap(&m, T0 + SECS(2), ROOT, "t.py::a", "call", SNAP(1200, 1500, 20, 1 << 20));
	rec_fork(&m, T0 + SECS(2) + 5, 300, ROOT, "convert");
	rec_exit_peak(&m, T0 + SECS(3), 300, 0, 4000);
	rec_test_snap(&m, T0 + SECS(4), ROOT, "t.py::a", "teardown", SNAP(2000, 3000, 40, 2 << 20));
	rec_test_end(&m, T0 + MSECS(4500), ROOT, SNAP(1800, 2100, 45, 0));
	rec_test_snap(&m, T0 + SECS(5), ROOT, "t.py::b", "setup", SNAP(1800, 1900, 50, 0));
	rec_test_snap(&m, T0 + SECS(6), ROOT, "t.py::b", "call", SNAP(1900, 2500, 60, 0));
	tkt_model_set_cgroup(&m, "/sys/fs/cgroup/tktrace-7", true, 512ULL << 20);
	tkt_model_cg_sample(&m, T0 + MSECS(500), 1000000);
	tkt_model_cg_sample(&m, T0 + MSECS(1250), 3000000);
	tkt_model_cg_sample(&m, T0 + SECS(2), 2000000);
	j = json_of(&m, &r);
	/* a: 1000 pages at setup, peak 3000 in its call, 1800 left after teardown, a child
	 * that peaked at 4000; 35 faults; 1 + 2 MiB mapped; 1 s setup to 4.5 s unset.
	 * b: running since 5 s, the last record at 6 s; peak 2500 pages over 1800. */
	assert_contains(j, "\"lost_events\":0,\"processes_traced\":2,\"tests_seen\":2,"
			   "\"tests\":[{\"nodeid\":\"t.py::a\",\"worker\":null,\"duration_s\":3.500,"
			   "\"peak_rss_bytes\":12288000,\"peak_growth_bytes\":8192000,"
			   "\"retained_bytes\":3276800,\"children_peak_rss_bytes\":16384000,"
			   "\"pid\":100,\"rss_start_bytes\":4096000,\"rss_end_bytes\":7372800,"
			   "\"page_faults\":35,\"mmap_bytes\":3145728,\"outcome\":\"completed\"},"
			   "{\"nodeid\":\"t.py::b\",\"worker\":null,\"duration_s\":1.000,"
			   "\"peak_rss_bytes\":10240000,\"peak_growth_bytes\":2867200,"
			   "\"retained_bytes\":null,\"children_peak_rss_bytes\":0,"
			   "\"pid\":100,\"rss_start_bytes\":7372800,\"rss_end_bytes\":null,"
			   "\"page_faults\":0,\"mmap_bytes\":0,\"outcome\":\"interrupted\"}],"
			   "\"cgroup\":{\"path\":\"/sys/fs/cgroup/tktrace-7\",\"limit_bytes\":536870912,"
			   "\"peak_usage_bytes\":3000000,"
			   "\"samples\":[[0.500,1000000],[1.250,3000000],[2.000,2000000]]},"
			   "\"warnings\":[]}");
	free(j);
	/* Unlimited: null; another cgroup starts a new series (no samples of the old one). */
	tkt_model_set_cgroup(&m, "/sys/fs/cgroup/user.slice", false, 0);
	j = json_of(&m, &r);
	assert_contains(j, "\"cgroup\":{\"path\":\"/sys/fs/cgroup/user.slice\",\"limit_bytes\":null,"
			   "\"peak_usage_bytes\":0,\"samples\":[]}");
	free(j);
	tkt_model_free(&m);
}

/* A killed test lasted until it was killed, not until the end of the whole run. */
static void test_json_killed_test_duration(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(1);
	struct tkt_ev_oom e;
	struct tkt_buf b = { 0 };
	struct tkt_mem_opts o = { .top = 5, .threshold = 100ULL << 20, .marker = "memory_intensive" };
	char *j;

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_test_snap(&m, T0 + SECS(1), 200, "t.py::big", "setup", SNAP(1000, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(1) + MSECS(1), 200, "t.py::big", "call", SNAP(1000, 1000, 0, 0));
	oom_init(&e, T0 + SECS(3), 200, "python3", 30000, 200, "python3", 30000);
	e.victim_peak_pages = 30000;
	rec_oom(&m, &e);
	rec_exit_peak(&m, T0 + SECS(3) + 1000, 200, 9, 30000);
	rec_whole_test(&m, T0 + SECS(10), T0 + SECS(60), 201, "t.py::later", 1000, 1000, 1000, 1000, 1000);
	j = json_of(&m, &r);
	assert_contains(j, "\"tests\":[{\"nodeid\":\"t.py::big\",\"worker\":\"gw0\","
			   "\"duration_s\":2.000,");
	free(j);
	assert_int_equal(tkt_report_per_test(&b, &m), 0);
	assert_contains(b.data, "{\"nodeid\":\"t.py::big\",\"worker\":\"gw0\",\"duration_s\":2.000,");
	tkt_buf_reset(&b);
	assert_int_equal(tkt_report_memory_text(&b, &m, &o), 0);
	assert_contains(b.data, "   2.00 s  t.py::big [gw0]\n");
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

static void test_test_need(void **state)
{
	struct tkt_test_rec t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.rss_start = 100;
	t.peak = 400;
	assert_int_equal(tkt_test_need(&t), 300);
	t.children_peak = 299;
	assert_int_equal(tkt_test_need(&t), 300);
	t.children_peak = 301;
	assert_int_equal(tkt_test_need(&t), 301);
	t.peak = 50;
	assert_int_equal(tkt_test_need(&t), 301);
}

/* Four tests on COMMAND itself: a +50 MiB / +10 MiB, b +200 MiB / 0, c +30 MiB / +30 MiB with
 * a 150 MiB child, d +1 MiB / -8 MiB. */
static void four_tests(struct tkt_model *m)
{
	start_root(m);
	rec_whole_test(m, T0 + SECS(1), T0 + SECS(3), ROOT, "t.py::a", 10 * MIB, 10 * MIB, 60 * MIB,
		       20 * MIB, 20 * MIB);
	rec_whole_test(m, T0 + SECS(3), T0 + MSECS(4500), ROOT, "t.py::b", 20 * MIB, 20 * MIB,
		       220 * MIB, 20 * MIB, 20 * MIB);
	rec_test_snap(m, T0 + MSECS(4500), ROOT, "t.py::c", "setup", SNAP(20 * MIB, 0, 0, 0));
	rec_test_snap(m, T0 + MSECS(4500) + 1000, ROOT, "t.py::c", "call",
		      SNAP(20 * MIB, 20 * MIB, 0, 0));
	rec_fork(m, T0 + MSECS(4600), 300, ROOT, "convert");
	rec_exit_peak(m, T0 + MSECS(4700), 300, 0, 150 * MIB);
	rec_test_snap(m, T0 + MSECS(4710), ROOT, "t.py::c", "teardown",
		      SNAP(50 * MIB, 25 * MIB, 0, 0));
	rec_test_end(m, T0 + MSECS(4750), ROOT, SNAP(50 * MIB, 50 * MIB, 0, 0));
	rec_whole_test(m, T0 + MSECS(4750), T0 + SECS(5), ROOT, "t.py::d", 50 * MIB, 50 * MIB,
		       51 * MIB, 51 * MIB, 42 * MIB);
}

static char *memory_text_of(const struct tkt_model *m, const struct tkt_mem_opts *o)
{
	struct tkt_buf b = { 0 };
	char *s;

	assert_int_equal(tkt_report_memory_text(&b, m, o), 0);
	s = strdup(b.data ? b.data : "");
	tkt_buf_free(&b);
	return s;
}

static const char MARKER_SNIPPET[] = "  }\n"
				     "  def pytest_collection_modifyitems(items):\n"
				     "      for item in items:\n"
				     "          if item.nodeid in MEMORY_TESTS:\n";

static void test_memory_text_tables(void **state)
{
	struct tkt_model m;
	struct tkt_mem_opts o = { .top = 2, .threshold = 100ULL << 20, .marker = "memory_intensive" };
	char *t;

	(void)state;
	four_tests(&m);
	assert_int_equal(m.ntests, 4);
	t = memory_text_of(&m, &o);
	/* By need (growth, or a child's peak when larger): b 200, c 150 | a 50, d 1. By
	 * retained, only what is positive: c, a. */
	assert_string_equal(
		t, "Tests by peak memory growth (top 2 of 4, measured in the kernel):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +200.0 MiB  +0 B        220.0 MiB  -             1.50 s  t.py::b\n"
		   "  +30.0 MiB   +30.0 MiB   50.0 MiB   150.0 MiB     0.25 s  t.py::c\n"
		   "Tests that left memory resident (top 2):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +30.0 MiB   +30.0 MiB   50.0 MiB   150.0 MiB     0.25 s  t.py::c\n"
		   "  +50.0 MiB   +10.0 MiB   60.0 MiB   -             2.00 s  t.py::a\n"
		   "Tests needing more than 100.0 MiB, not marked memory_intensive; paste into "
		   "conftest.py:\n"
		   "  MEMORY_TESTS = {\n"
		   "      \"t.py::b\",\n"
		   "      \"t.py::c\",\n"
		   "  }\n"
		   "  def pytest_collection_modifyitems(items):\n"
		   "      for item in items:\n"
		   "          if item.nodeid in MEMORY_TESTS:\n"
		   "              item.add_marker(\"memory_intensive\")\n");
	free(t);
	/* More rows asked than tests: all of them; -8 MiB shown signed. */
	o.top = 10;
	o.threshold = 1ULL << 30;
	t = memory_text_of(&m, &o);
	assert_string_equal(
		t, "Tests by peak memory growth (top 4 of 4, measured in the kernel):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +200.0 MiB  +0 B        220.0 MiB  -             1.50 s  t.py::b\n"
		   "  +30.0 MiB   +30.0 MiB   50.0 MiB   150.0 MiB     0.25 s  t.py::c\n"
		   "  +50.0 MiB   +10.0 MiB   60.0 MiB   -             2.00 s  t.py::a\n"
		   "  +1.0 MiB    -8.0 MiB    51.0 MiB   -             0.25 s  t.py::d\n"
		   "Tests that left memory resident (top 2):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +30.0 MiB   +30.0 MiB   50.0 MiB   150.0 MiB     0.25 s  t.py::c\n"
		   "  +50.0 MiB   +10.0 MiB   60.0 MiB   -             2.00 s  t.py::a\n");
	free(t);
	/* One row. */
	o.top = 1;
	t = memory_text_of(&m, &o);
	assert_string_equal(
		t, "Tests by peak memory growth (top 1 of 4, measured in the kernel):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +200.0 MiB  +0 B        220.0 MiB  -             1.50 s  t.py::b\n"
		   "Tests that left memory resident (top 1):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +30.0 MiB   +30.0 MiB   50.0 MiB   150.0 MiB     0.25 s  t.py::c\n");
	free(t);
	/* No tables, nothing over the threshold: nothing at all. */
	o.top = 0;
	t = memory_text_of(&m, &o);
	assert_string_equal(t, "");
	free(t);
	/* The threshold is exclusive: b needs exactly 200 MiB. */
	o.threshold = 200ULL << 20;
	t = memory_text_of(&m, &o);
	assert_string_equal(t, "");
	free(t);
	o.threshold = (200ULL << 20) - 1;
	t = memory_text_of(&m, &o);
	assert_string_equal(t, "Tests needing more than 200.0 MiB, not marked memory_intensive; "
			       "paste into conftest.py:\n"
			       "  MEMORY_TESTS = {\n"
			       "      \"t.py::b\",\n"
			       "  }\n"
			       "  def pytest_collection_modifyitems(items):\n"
			       "      for item in items:\n"
			       "          if item.nodeid in MEMORY_TESTS:\n"
			       "              item.add_marker(\"memory_intensive\")\n");
	free(t);
	tkt_model_free(&m);

	/* No tests: nothing, whatever the options. */
	start_root(&m);
	o.top = 5;
	o.threshold = 0;
	t = memory_text_of(&m, &o);
	assert_string_equal(t, "");
	free(t);
	tkt_model_free(&m);
}

/* Rows of tests that did not end: killed, or interrupted (its process ended otherwise). */
static void test_memory_text_unfinished_rows(void **state)
{
	struct tkt_model m;
	struct tkt_mem_opts o = { .top = 5, .threshold = 1ULL << 40, .marker = "memory_intensive" };
	char *t;

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_test_snap(&m, T0 + SECS(1), 200, "t.py::hang", "setup", SNAP(10 * MIB, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(1) + 1000, 200, "t.py::hang", "call", SNAP(10 * MIB, 12 * MIB, 0, 0));
	rec_test_snap(&m, T0 + SECS(2), 201, "t.py::big", "setup", SNAP(10 * MIB, 0, 0, 0));
	rec_signal(&m, T0 + MSECS(4500), 201, "python3", 9, 555, "bash", 0, 10);
	t = memory_text_of(&m, &o);
	/* Both up to the last record at 4.5 s; worker ids in brackets; nothing retained. */
	assert_string_equal(
		t, "Tests by peak memory growth (top 2 of 2, measured in the kernel):\n"
		   "  growth      retained    peak rss   children      time    test\n"
		   "  +2.0 MiB    -           12.0 MiB   -             3.50 s  t.py::hang [gw0]\n"
		   "  +0 B        killed      10.0 MiB   -             2.50 s  t.py::big [gw1]\n");
	free(t);
	tkt_model_free(&m);
}

/* The conftest.py list: over the threshold, not marked, once per node id, as Python strings. */
static void test_memory_text_not_marked_list(void **state)
{
	struct tkt_model m;
	struct tkt_mem_opts o = { .top = 0, .threshold = 100ULL << 20, .marker = "slow_mem" };
	int8_t marked[8];
	uint64_t ts = T0 + SECS(1);
	char *t;
	static const struct {
		const char *id;
		uint64_t growth_mib;
	} runs[] = {
		{ "t.py::big", 50 },                  /* 0: a first run under the threshold */
		{ "t.py::Cls::test_q[a\"b\\c]", 101 }, /* 1: quote and backslash */
		{ "t.py::marked", 300 },              /* 2: marked */
		{ "t.py::exact", 100 },               /* 3: not more than the threshold */
		{ "t.py::unknown", 120 },             /* 4: its marks could not be read */
		{ "t.py::big", 150 },                 /* 5: a repeat over it */
		{ "t.py::small", 10 },                /* 6 */
		{ "t.py::big", 160 },                 /* 7: and another */
	};

	(void)state;
	start_root(&m);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		rec_whole_test(&m, ts, ts + MSECS(10), ROOT, runs[i].id, 10 * MIB, 10 * MIB,
			       (10 + runs[i].growth_mib) * MIB, 10 * MIB, 10 * MIB);
		ts += MSECS(20);
	}
	assert_int_equal(m.ntests, 8);
	memset(marked, 0, sizeof(marked));
	marked[2] = 1;
	marked[4] = -1;
	o.marked = marked;
	t = memory_text_of(&m, &o);
	assert_string_equal(t, "Tests needing more than 100.0 MiB, not marked slow_mem; paste into "
			       "conftest.py:\n"
			       "  MEMORY_TESTS = {\n"
			       "      \"t.py::Cls::test_q[a\\\"b\\\\c]\",\n"
			       "      \"t.py::big\",\n"
			       "      \"t.py::unknown\",\n"
			       "  }\n"
			       "  def pytest_collection_modifyitems(items):\n"
			       "      for item in items:\n"
			       "          if item.nodeid in MEMORY_TESTS:\n"
			       "              item.add_marker(\"slow_mem\")\n");
	free(t);
	/* Without marks known, the marked one is listed too. */
	o.marked = NULL;
	t = memory_text_of(&m, &o);
	assert_contains(t, "      \"t.py::big\",\n"
			   "      \"t.py::marked\",\n"
			   "      \"t.py::unknown\",\n");
	assert_contains(t, MARKER_SNIPPET);
	free(t);
	/* Everything marked: no list. */
	memset(marked, 1, sizeof(marked));
	o.marked = marked;
	t = memory_text_of(&m, &o);
	assert_string_equal(t, "");
	free(t);
	tkt_model_free(&m);
}

/* One JSON object per node id and line, sorted; of repeats, the one that needed the most. */
static void test_per_test_lines(void **state)
{
	struct tkt_model m;
	struct tkt_buf b = { 0 };

	(void)state;
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	/* gw0: b needing 10 MiB, a (1 MiB, gave 100 pages back), b again needing 30 MiB. */
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 200, "t.py::b", 1000, 1000, 1000 + 10 * MIB,
		       1100, 1100);
	rec_whole_test(&m, T0 + SECS(2), T0 + MSECS(3500), 200, "t.py::a", 1100, 1100, 1100 + MIB,
		       1000, 1000);
	rec_whole_test(&m, T0 + SECS(4), T0 + SECS(5), 200, "t.py::b", 1000, 1000, 1000 + 30 * MIB,
		       1000, 1000);
	/* gw1: b growing 20 MiB, but with a child of 40 MiB: the largest need. */
	rec_test_snap(&m, T0 + SECS(1), 201, "t.py::b", "setup", SNAP(2000, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(1) + 1000, 201, "t.py::b", "call", SNAP(2000, 2000, 0, 0));
	rec_fork(&m, T0 + SECS(1) + 2000, 400, 201, "python3");
	rec_exit_peak(&m, T0 + SECS(2), 400, 0, 40 * MIB);
	rec_test_snap(&m, T0 + SECS(2) + 1000, 201, "t.py::b", "teardown",
		      SNAP(2000, 2000 + 20 * MIB, 0, 0));
	rec_test_end(&m, T0 + SECS(3), 201, SNAP(2000, 2000, 0, 0));
	/* gw1: c, killed at 6 s (the last record). */
	rec_test_snap(&m, T0 + SECS(4), 201, "t.py::c", "setup", SNAP(3000, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(4) + 1000, 201, "t.py::c", "call", SNAP(3000, 3500, 0, 0));
	rec_signal(&m, T0 + SECS(6), 201, "python3", 9, 555, "bash", 0, 3500);
	assert_int_equal(m.ntests, 5);
	assert_int_equal(tkt_report_per_test(&b, &m), 0);
	assert_string_equal(
		b.data,
		"{\"nodeid\":\"t.py::a\",\"worker\":\"gw0\",\"duration_s\":1.500,"
		"\"peak_rss_bytes\":5554176,\"peak_growth_bytes\":1048576,\"retained_bytes\":-409600,"
		"\"children_peak_rss_bytes\":0}\n"
		"{\"nodeid\":\"t.py::b\",\"worker\":\"gw1\",\"duration_s\":2.000,"
		"\"peak_rss_bytes\":29163520,\"peak_growth_bytes\":20971520,\"retained_bytes\":0,"
		"\"children_peak_rss_bytes\":41943040}\n"
		"{\"nodeid\":\"t.py::c\",\"worker\":\"gw1\",\"duration_s\":2.000,"
		"\"peak_rss_bytes\":14336000,\"peak_growth_bytes\":2048000,\"retained_bytes\":null,"
		"\"children_peak_rss_bytes\":0}\n");
	tkt_buf_free(&b);
	tkt_model_free(&m);

	/* No tests: no lines. */
	start_root(&m);
	assert_int_equal(tkt_report_per_test(&b, &m), 0);
	assert_int_equal(b.len, 0);
	tkt_buf_free(&b);
	tkt_model_free(&m);
}

/* Worker gw0 ran a (+10 MiB), b (+20 MiB), c (+30 MiB), d (-5 MiB); big starts at 120 MiB and
 * is killed at victim_mib. */
static void blame_model(struct tkt_model *m, uint64_t victim_mib)
{
	struct tkt_ev_oom e;

	start_root(m);
	start_worker(m, T0 + 100, 200, "gw0");
	rec_whole_test(m, T0 + SECS(1), T0 + SECS(2), 200, "t.py::a", 50 * MIB, 50 * MIB, 61 * MIB,
		       60 * MIB, 60 * MIB);
	rec_whole_test(m, T0 + SECS(2), T0 + SECS(3), 200, "t.py::b", 60 * MIB, 60 * MIB, 81 * MIB,
		       80 * MIB, 80 * MIB);
	rec_whole_test(m, T0 + SECS(3), T0 + SECS(4), 200, "t.py::c", 80 * MIB, 80 * MIB, 111 * MIB,
		       110 * MIB, 110 * MIB);
	rec_whole_test(m, T0 + SECS(4), T0 + SECS(5), 200, "t.py::d", 110 * MIB, 110 * MIB, 111 * MIB,
		       105 * MIB, 105 * MIB);
	rec_test_snap(m, T0 + SECS(6), 200, "t.py::big", "setup", SNAP(120 * MIB, 0, 0, 0));
	rec_test_snap(m, T0 + SECS(7), 200, "t.py::big", "call", SNAP(120 * MIB, 120 * MIB, 0, 0));
	oom_init(&e, T0 + SECS(9), 200, "python3", victim_mib * MIB, 200, "python3", victim_mib * MIB);
	e.ncg = 2;
	cg_fill(&e.cg[0], "tktrace-e2e", 131072, 131072);
	cg_fill(&e.cg[1], "/", CG_UNLIMITED, 900000);
	rec_oom(m, &e);
}

static void test_text_blame_verdict(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(1);
	char *t, *j;

	(void)state;
	blame_model(&m, 125);
	t = text_of(&m, &r, false);
	assert_string_equal(
		t,
		"tktrace: pytest exited with status 1 after the OOM killer killed 1 traced process\n"
		"OOM kill 1 of 1 at 9.00 s\n"
		"  victim   pid 200 (python3) worker gw0, test t.py::big [call], rss 125.0 MiB "
		"(anon 125.0 MiB, file 0 B, shmem 0 B)\n"
		"  trigger  pid 200 (python3) worker gw0, test t.py::big [call], rss 125.0 MiB\n"
		"  cgroup   /sys/fs/cgroup/tktrace-e2e, limit 512.0 MiB, usage 512.0 MiB\n"
		"  why      the victim's own allocation hit the limit\n"
		"  rerun    /usr/bin/python3 -m pytest t.py::big\n"
		"  before   3 earlier tests on this process left 60.0 MiB resident; largest t.py::c "
		"+30.0 MiB\n"
		"           +20.0 MiB t.py::b\n"
		"           +10.0 MiB t.py::a\n"
		"  verdict  the running test added only 5.0 MiB: it is probably not the main culprit; "
		"look at what earlier tests keep (caches, fixtures, figures)\n"
		"  hint     reproduce under the same limit: sudo tktrace --memory-limit 512M -- "
		"<rerun command>\n");
	free(t);
	j = json_of(&m, &r);
	assert_contains(j, "\"oom_score_adj\":0,"
			   "\"blame\":{\"pid\":200,\"running_test\":\"t.py::big\","
			   "\"running_test_growth_bytes\":5242880,\"retained_tests\":3,"
			   "\"retained_total_bytes\":62914560,\"running_test_is_main_culprit\":false,"
			   "\"largest_retained\":[{\"nodeid\":\"t.py::c\",\"retained_bytes\":31457280},"
			   "{\"nodeid\":\"t.py::b\",\"retained_bytes\":20971520},"
			   "{\"nodeid\":\"t.py::a\",\"retained_bytes\":10485760}]},"
			   "\"rerun\":");
	free(j);
	tkt_model_free(&m);
}

/* The running test grew as much as the others kept: the same lines, no verdict. */
static void test_text_blame_no_verdict(void **state)
{
	struct tkt_model m;
	struct tkt_run r = run_exit(1);
	struct tkt_ev_oom e;
	char *t, *j;

	(void)state;
	blame_model(&m, 180);
	t = text_of(&m, &r, false);
	assert_contains(t, "  rerun    /usr/bin/python3 -m pytest t.py::big\n"
			   "  before   3 earlier tests on this process left 60.0 MiB resident; "
			   "largest t.py::c +30.0 MiB\n"
			   "           +20.0 MiB t.py::b\n"
			   "           +10.0 MiB t.py::a\n"
			   "  hint     ");
	assert_not_contains(t, "verdict");
	free(t);
	j = json_of(&m, &r);
	assert_contains(j, "\"running_test_growth_bytes\":62914560,\"retained_tests\":3,"
			   "\"retained_total_bytes\":62914560,\"running_test_is_main_culprit\":true,");
	free(j);
	tkt_model_free(&m);

	/* One earlier test; the victim untraced: its blame is null and says nothing. */
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 200, "t.py::a", 50 * MIB, 50 * MIB, 61 * MIB,
		       60 * MIB, 60 * MIB);
	rec_test_snap(&m, T0 + SECS(3), 200, "t.py::big", "setup", SNAP(60 * MIB, 0, 0, 0));
	oom_init(&e, T0 + SECS(4), 200, "python3", 61 * MIB, 200, "python3", 61 * MIB);
	rec_oom(&m, &e);
	oom_init(&e, T0 + SECS(5), 5555, "foo", 10, 5555, "foo", 10);
	rec_oom(&m, &e);
	t = text_of(&m, &r, false);
	assert_contains(t, "  rerun    /usr/bin/python3 -m pytest t.py::big\n"
			   "  before   1 earlier test on this process left 10.0 MiB resident; "
			   "largest t.py::a +10.0 MiB\n"
			   "  verdict  the running test added only 1.0 MiB: it is probably not the "
			   "main culprit; look at what earlier tests keep (caches, fixtures, figures)\n"
			   "OOM kill 2 of 2 at 5.00 s\n");
	assert_null(strstr(strstr(t, "OOM kill 2 of 2"), "before"));
	free(t);
	j = json_of(&m, &r);
	assert_contains(j, "\"oom_score_adj\":0,\"blame\":null,\"rerun\":null}");
	free(j);
	tkt_model_free(&m);

	/* Nothing kept before: no blame lines at all. */
	start_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 200, "t.py::a", 50 * MIB, 50 * MIB, 61 * MIB,
		       50 * MIB, 40 * MIB);
	rec_test_snap(&m, T0 + SECS(3), 200, "t.py::big", "setup", SNAP(40 * MIB, 0, 0, 0));
	oom_init(&e, T0 + SECS(4), 200, "python3", 41 * MIB, 200, "python3", 41 * MIB);
	rec_oom(&m, &e);
	t = text_of(&m, &r, false);
	assert_not_contains(t, "before");
	assert_not_contains(t, "verdict");
	free(t);
	tkt_model_free(&m);
}
