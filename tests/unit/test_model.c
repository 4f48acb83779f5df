/* Unit tests for user/core/model.c: process tree, pytest attribution, OOM and kill records. */
#include "recs.h"

#define ROOT 100

/* argv of `python3 -m pytest -n 2` as the exec record captures it. */
static const char PY_M_PYTEST[] = "/usr/bin/python3\0-m\0pytest\0-n\0" "2\0";
/* How execnet starts an xdist worker: not recognisable as pytest from argv. */
static const char EXECNET[] = "/usr/bin/python3\0-c\0import sys;exec(eval(sys.stdin.readline()))\0";

static void start_pytest_root(struct tkt_model *m)
{
	model_start(m, ROOT, "/sys/fs/cgroup");
	assert_int_equal(tkt_model_add_root(m, ROOT, "python3", T0), 0);
	rec_exec(m, T0 + 1, ROOT, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
}

/* An xdist worker pid, started by the root, that has announced itself as worker id. */
static void start_worker(struct tkt_model *m, uint64_t ts, uint32_t pid, const char *id)
{
	rec_fork(m, ts, pid, ROOT, "python3");
	rec_exec(m, ts + 1, pid, "python3", EXECNET, sizeof(EXECNET) - 1);
	rec_env_set(m, ts + 2, pid, TKT_ENV_XDIST_WORKER, id);
}

static void assert_attr(struct tkt_model *m, uint32_t pid, const char *test, enum tkt_phase ph,
			const char *worker)
{
	struct tkt_attr a = tkt_model_attr(m, pid);

	if (test) {
		assert_non_null(a.test);
		assert_string_equal(a.test, test);
	} else {
		assert_null(a.test);
	}
	assert_int_equal(a.phase, ph);
	if (worker) {
		assert_non_null(a.worker);
		assert_string_equal(a.worker, worker);
	} else {
		assert_null(a.worker);
	}
}

static void test_phase_names(void **state)
{
	(void)state;
	assert_null(tkt_phase_name(TKT_PHASE_NONE));
	assert_string_equal(tkt_phase_name(TKT_PHASE_COLLECTION), "collection");
	assert_string_equal(tkt_phase_name(TKT_PHASE_SETUP), "setup");
	assert_string_equal(tkt_phase_name(TKT_PHASE_CALL), "call");
	assert_string_equal(tkt_phase_name(TKT_PHASE_TEARDOWN), "teardown");
	assert_string_equal(tkt_phase_name(TKT_PHASE_SESSION), "session");
	assert_null(tkt_phase_name((enum tkt_phase)42));
}

static void test_collection_python_m_pytest(void **state)
{
	struct tkt_model m;
	struct tkt_proc *p;

	(void)state;
	model_start(&m, ROOT, NULL);
	assert_int_equal(tkt_model_add_root(&m, ROOT, "python3", T0), 0);
	/* Before the exec COMMAND is nothing in particular. */
	assert_attr(&m, ROOT, NULL, TKT_PHASE_NONE, NULL);
	REC_EXEC(&m, T0 + 1, ROOT, "python3", "/usr/bin/python3\0-m\0pytest\0");
	assert_attr(&m, ROOT, NULL, TKT_PHASE_COLLECTION, NULL);
	p = tkt_model_find(&m, ROOT);
	assert_non_null(p);
	assert_true(p->is_pytest);
	assert_string_equal(p->pytest_cmd, "/usr/bin/python3 -m pytest");
	assert_string_equal(p->comm, "python3");
	assert_int_equal(m.tests_seen, 0);
	assert_int_equal(m.procs_seen, 1);
	assert_int_equal(m.lost_events, 0);
	tkt_model_free(&m);
}

static void test_collection_plain_pytest(void **state)
{
	struct tkt_model m;

	(void)state;
	model_start(&m, ROOT, NULL);
	assert_int_equal(tkt_model_add_root(&m, ROOT, "pytest", T0), 0);
	REC_EXEC(&m, T0 + 1, ROOT, "pytest", "pytest\0");
	assert_attr(&m, ROOT, NULL, TKT_PHASE_COLLECTION, NULL);
	assert_string_equal(tkt_model_find(&m, ROOT)->pytest_cmd, "pytest");
	tkt_model_free(&m);
}

static void test_not_pytest_exec(void **state)
{
	struct tkt_model m;

	(void)state;
	model_start(&m, ROOT, NULL);
	assert_int_equal(tkt_model_add_root(&m, ROOT, "sh", T0), 0);
	/* `sh -c pytest`: sh itself runs no tests. */
	REC_EXEC(&m, T0 + 1, ROOT, "sh", "/bin/sh\0-c\0pytest\0");
	assert_attr(&m, ROOT, NULL, TKT_PHASE_NONE, NULL);
	assert_false(tkt_model_find(&m, ROOT)->is_pytest);
	/* ... and its child does. */
	rec_fork(&m, T0 + 2, ROOT + 1, ROOT, "sh");
	REC_EXEC(&m, T0 + 3, ROOT + 1, "pytest", "/home/u/venv/bin/pytest\0-q\0");
	assert_attr(&m, ROOT + 1, NULL, TKT_PHASE_COLLECTION, NULL);
	assert_string_equal(tkt_model_find(&m, ROOT + 1)->pytest_cmd, "/home/u/venv/bin/pytest");
	assert_attr(&m, ROOT, NULL, TKT_PHASE_NONE, NULL);
	tkt_model_free(&m);
}

static void test_pytest_invocation_parser(void **state)
{
	static const struct {
		const char *args;
		size_t len;
		bool yes;
		const char *cmd;
	} cases[] = {
#define C(lit, y, c) { lit, sizeof(lit) - 1, y, c }
		C("pytest\0", true, "pytest"),
		C("/usr/local/bin/pytest\0-x\0tests\0", true, "/usr/local/bin/pytest"),
		C("py.test\0", true, "py.test"),
		C("pytest-3\0", true, "pytest-3"),
		C("pytest-3.11\0", true, "pytest-3.11"),
		C("/usr/bin/python3\0-m\0pytest\0", true, "/usr/bin/python3 -m pytest"),
		C("python3.11\0-X\0dev\0-W\0error\0-u\0-m\0pytest\0-k\0x\0", true,
		  "python3.11 -m pytest"),
		C("python3\0-m\0py.test\0", true, "python3 -m py.test"),
		C("python3\0-mpytest\0", true, "python3 -m pytest"),
		C("python3\0/opt/venv/bin/pytest\0-n\0" "4\0", true, "python3 /opt/venv/bin/pytest"),
		C("/opt/my env/bin/python3\0-m\0pytest\0", true, "'/opt/my env/bin/python3' -m pytest"),
		C("pytests\0", false, NULL),
		C("pytest-x\0", false, NULL),
		C("python3\0-m\0pip\0install\0pytest\0", false, NULL),
		C("python3\0script.py\0pytest\0", false, NULL),
		C("python3\0-c\0import pytest\0", false, NULL),
		C("/bin/sh\0-c\0pytest\0", false, NULL),
		C("python3\0-m\0", false, NULL),
		/* Cut short by the capture limit: the last word has no NUL and is not used. */
		C("python3\0-m\0pytes", false, NULL),
		C("", false, NULL),
#undef C
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tkt_buf cmd = { 0 };
		bool r = tkt_pytest_invocation(cases[i].args, cases[i].len, &cmd);

		if (r != cases[i].yes)
			fail_msg("case %zu (%s): got %d", i, cases[i].args, r);
		if (cases[i].cmd)
			assert_string_equal(cmd.data, cases[i].cmd);
		else
			assert_int_equal(cmd.len, 0);
		tkt_buf_free(&cmd);
	}
}

static void test_collection_via_xdist_worker_env(void **state)
{
	struct tkt_model m;
	struct tkt_proc *w;

	(void)state;
	start_pytest_root(&m);
	rec_fork(&m, T0 + 10, 200, ROOT, "python3");
	rec_exec(&m, T0 + 11, 200, "python3", EXECNET, sizeof(EXECNET) - 1);
	/* Not yet known as a worker: it inherits the controller's collection phase. */
	w = tkt_model_find(&m, 200);
	assert_false(w->is_pytest);
	assert_attr(&m, 200, NULL, TKT_PHASE_COLLECTION, NULL);
	rec_env_set(&m, T0 + 12, 200, TKT_ENV_XDIST_WORKER, "gw3");
	assert_true(w->is_pytest);
	assert_attr(&m, 200, NULL, TKT_PHASE_COLLECTION, "gw3");
	/* The controller is not a worker. */
	assert_attr(&m, ROOT, NULL, TKT_PHASE_COLLECTION, NULL);
	tkt_model_free(&m);
}

static void test_phase_transitions(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "tests/test_a.py::test_one", "setup");
	assert_attr(&m, ROOT, "tests/test_a.py::test_one", TKT_PHASE_SETUP, NULL);
	assert_int_equal(m.tests_seen, 1);
	rec_test(&m, T0 + 20, ROOT, "tests/test_a.py::test_one", "call");
	assert_attr(&m, ROOT, "tests/test_a.py::test_one", TKT_PHASE_CALL, NULL);
	rec_test(&m, T0 + 30, ROOT, "tests/test_a.py::test_one", "teardown");
	assert_attr(&m, ROOT, "tests/test_a.py::test_one", TKT_PHASE_TEARDOWN, NULL);
	rec_env_unset(&m, T0 + 40, ROOT, TKT_ENV_CURRENT_TEST);
	assert_attr(&m, ROOT, NULL, TKT_PHASE_SESSION, NULL);
	rec_test(&m, T0 + 50, ROOT, "tests/test_a.py::test_two", "setup");
	assert_attr(&m, ROOT, "tests/test_a.py::test_two", TKT_PHASE_SETUP, NULL);
	assert_int_equal(m.tests_seen, 2);
	/* Call and teardown do not count tests. */
	rec_test(&m, T0 + 60, ROOT, "tests/test_a.py::test_two", "call");
	assert_int_equal(m.tests_seen, 2);
	rec_env_unset(&m, T0 + 70, ROOT, TKT_ENV_CURRENT_TEST);
	assert_attr(&m, ROOT, NULL, TKT_PHASE_SESSION, NULL);
	assert_int_equal(m.lost_events, 0);
	tkt_model_free(&m);
}

/* A test skipped by a skip/skipif marker shows only its teardown (pytest's skipping plugin
 * raises before the runner sets PYTEST_CURRENT_TEST for setup): it is a test seen, and one
 * entry of tests, like the others (numpy.random: 8 such; tests_seen was 8 short). */
static void test_skipped_by_marker_is_seen(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "tests/test_a.py::test_skipped", "teardown");
	rec_env_unset(&m, T0 + 20, ROOT, TKT_ENV_CURRENT_TEST);
	rec_test(&m, T0 + 30, ROOT, "tests/test_a.py::test_run", "setup");
	rec_test(&m, T0 + 40, ROOT, "tests/test_a.py::test_run", "call");
	rec_test(&m, T0 + 50, ROOT, "tests/test_a.py::test_run", "teardown");
	rec_env_unset(&m, T0 + 60, ROOT, TKT_ENV_CURRENT_TEST);
	assert_int_equal(m.ntests, 2);
	assert_int_equal(m.tests_seen, m.ntests);
	assert_string_equal(m.tests[0].nodeid, "tests/test_a.py::test_skipped");
	tkt_model_free(&m);
}

static void test_node_id_strings_are_interned(void **state)
{
	struct tkt_model m;
	const char *a, *b;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::x", "setup");
	a = tkt_model_attr(&m, ROOT).test;
	rec_test(&m, T0 + 20, ROOT, "t.py::x", "call");
	b = tkt_model_attr(&m, ROOT).test;
	assert_ptr_equal(a, b);
	tkt_model_free(&m);
}

static void test_xdist_workers(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 200, 201, "gw1");
	rec_test(&m, T0 + 300, 200, "tests/test_a.py::test_a[1]", "setup");
	rec_test(&m, T0 + 301, 201, "tests/test_b.py::test_b", "setup");
	rec_test(&m, T0 + 400, 201, "tests/test_b.py::test_b", "call");
	assert_attr(&m, 200, "tests/test_a.py::test_a[1]", TKT_PHASE_SETUP, "gw0");
	assert_attr(&m, 201, "tests/test_b.py::test_b", TKT_PHASE_CALL, "gw1");
	/* The controller runs no test itself. */
	assert_attr(&m, ROOT, NULL, TKT_PHASE_COLLECTION, NULL);
	rec_env_unset(&m, T0 + 500, 200, TKT_ENV_CURRENT_TEST);
	assert_attr(&m, 200, NULL, TKT_PHASE_SESSION, "gw0");
	assert_int_equal(m.tests_seen, 2);
	/* Unsetting the worker id clears it. */
	rec_env_unset(&m, T0 + 600, 201, TKT_ENV_XDIST_WORKER);
	assert_attr(&m, 201, "tests/test_b.py::test_b", TKT_PHASE_CALL, NULL);
	tkt_model_free(&m);
}

static void test_subprocess_snapshot_at_fork(void **state)
{
	struct tkt_model m;
	struct tkt_proc *sh;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw1");
	rec_test(&m, T0 + 200, 200, "tests/test_sub.py::test_a", "setup");
	rec_test(&m, T0 + 210, 200, "tests/test_sub.py::test_a", "call");
	/* subprocess.run("sh -c 'sleep 100 & python3 big.py'") */
	rec_fork(&m, T0 + 220, 300, 200, "python3");
	REC_EXEC(&m, T0 + 221, 300, "sh", "/bin/sh\0-c\0sleep 100 & python3 big.py\0");
	sh = tkt_model_find(&m, 300);
	assert_false(sh->is_pytest);
	assert_int_equal(sh->ppid, 200);
	assert_string_equal(sh->comm, "sh");
	/* The worker moves on while the shell lives. */
	rec_test(&m, T0 + 230, 200, "tests/test_sub.py::test_a", "teardown");
	rec_env_unset(&m, T0 + 240, 200, TKT_ENV_CURRENT_TEST);
	rec_test(&m, T0 + 250, 200, "tests/test_sub.py::test_b", "setup");
	assert_attr(&m, 300, "tests/test_sub.py::test_a", TKT_PHASE_CALL, "gw1");
	/* Grandchild through the non-pytest shell, forked after the worker moved on. */
	rec_fork(&m, T0 + 260, 301, 300, "sh");
	REC_EXEC(&m, T0 + 261, 301, "python3", "python3\0big.py\0");
	assert_attr(&m, 301, "tests/test_sub.py::test_a", TKT_PHASE_CALL, "gw1");
	/* Its child in turn. */
	rec_fork(&m, T0 + 270, 302, 301, "python3");
	assert_attr(&m, 302, "tests/test_sub.py::test_a", TKT_PHASE_CALL, "gw1");
	/* A child forked by the worker now belongs to the new test. */
	rec_fork(&m, T0 + 280, 303, 200, "python3");
	assert_attr(&m, 303, "tests/test_sub.py::test_b", TKT_PHASE_SETUP, "gw1");
	/* The pytest command and cwd travel down the chain. */
	tkt_model_set_cwd(&m, 200, "/work/proj");
	rec_fork(&m, T0 + 290, 304, 200, "python3");
	assert_string_equal(tkt_model_find(&m, 304)->cwd, "/work/proj");
	assert_string_equal(tkt_model_find(&m, 302)->pytest_cmd, "/usr/bin/python3 -m pytest");
	tkt_model_free(&m);
}

static void test_child_of_collection_and_session(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_fork(&m, T0 + 10, 300, ROOT, "git");
	assert_attr(&m, 300, NULL, TKT_PHASE_COLLECTION, NULL);
	rec_test(&m, T0 + 20, ROOT, "t.py::a", "setup");
	rec_env_unset(&m, T0 + 30, ROOT, TKT_ENV_CURRENT_TEST);
	rec_fork(&m, T0 + 40, 301, ROOT, "git");
	assert_attr(&m, 301, NULL, TKT_PHASE_SESSION, NULL);
	/* A process whose parent is not traced has no attribution. */
	rec_fork(&m, T0 + 50, 302, 9999, "stray");
	assert_attr(&m, 302, NULL, TKT_PHASE_NONE, NULL);
	assert_attr(&m, 424242, NULL, TKT_PHASE_NONE, NULL);
	tkt_model_free(&m);
}

static void test_multiprocessing_fork_child(void **state)
{
	struct tkt_model m;
	struct tkt_proc *c;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw2");
	rec_test(&m, T0 + 200, 200, "tests/test_mp.py::test_pool[fork]", "setup");
	rec_test(&m, T0 + 210, 200, "tests/test_mp.py::test_pool[fork]", "call");
	/* multiprocessing 'fork' start method: fork, no exec. */
	rec_fork(&m, T0 + 220, 400, 200, "python3");
	rec_fork(&m, T0 + 221, 401, 200, "python3");
	c = tkt_model_find(&m, 400);
	assert_non_null(c);
	assert_false(c->is_pytest);
	assert_attr(&m, 400, "tests/test_mp.py::test_pool[fork]", TKT_PHASE_CALL, "gw2");
	assert_attr(&m, 401, "tests/test_mp.py::test_pool[fork]", TKT_PHASE_CALL, "gw2");
	assert_string_equal(c->pytest_cmd, "/usr/bin/python3 -m pytest");
	rec_test(&m, T0 + 230, 200, "tests/test_mp.py::test_pool[fork]", "teardown");
	assert_attr(&m, 400, "tests/test_mp.py::test_pool[fork]", TKT_PHASE_CALL, "gw2");
	tkt_model_free(&m);
}

static void test_pytest_process_execs_other_program(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_fork(&m, T0 + 10, 300, ROOT, "python3");
	REC_EXEC(&m, T0 + 11, 300, "pytest", "pytest\0-p\0pytester\0");
	rec_test(&m, T0 + 12, 300, "inner.py::t", "call");
	/* os.execv("/bin/true") from inside a test: keeps what it was doing. */
	REC_EXEC(&m, T0 + 13, 300, "true", "/bin/true\0");
	assert_false(tkt_model_find(&m, 300)->is_pytest);
	assert_attr(&m, 300, "inner.py::t", TKT_PHASE_CALL, NULL);
	tkt_model_free(&m);
}

/* A node id longer than one chunk: reassembled byte for byte. */
static void test_chunked_env_value(void **state)
{
	struct tkt_model m;
	size_t n = 3 * (TKT_ENV_CHUNK - 1) - 20; /* three chunks with its phase */
	char *id = malloc(n + 1), *val = malloc(n + 16);

	(void)state;
	assert_non_null(id);
	assert_non_null(val);
	memcpy(id, "tests/test_long.py::test_p[", 27);
	for (size_t i = 27; i < n - 1; i++)
		id[i] = (char)('a' + i % 26);
	id[n - 1] = ']';
	id[n] = '\0';
	snprintf(val, n + 16, "%s (call)", id);
	assert_int_equal(env_nchunks(strlen(val)), 3);
	start_pytest_root(&m);
	rec_env_set(&m, T0 + 10, ROOT, TKT_ENV_CURRENT_TEST, val);
	assert_attr(&m, ROOT, id, TKT_PHASE_CALL, NULL);
	assert_int_equal(strlen(tkt_model_attr(&m, ROOT).test), n);
	assert_int_equal(m.lost_events, 0);
	tkt_model_free(&m);
	free(id);
	free(val);
}

/* Env records arrive at their used length; one that claims more data than it carries is
 * malformed and counted, never read past its end. */
static void test_env_record_at_used_length(void **state)
{
	struct tkt_model m;
	struct tkt_ev_env e;
	const char *val = "t.py::short (call)";
	size_t hdr = offsetof(struct tkt_ev_env, data);

	(void)state;
	start_pytest_root(&m);
	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_ENV, ROOT, T0 + 10);
	e.key = TKT_ENV_CURRENT_TEST;
	e.op = TKT_ENV_SET;
	e.flags = TKT_ENV_F_LAST;
	e.len = (uint32_t)strlen(val);
	memcpy(e.data, val, e.len);
	assert_int_equal(tkt_model_apply(&m, &e, hdr + e.len), 0);
	assert_attr(&m, ROOT, "t.py::short", TKT_PHASE_CALL, NULL);
	assert_int_equal(m.lost_events, 0);
	hdr_fill(&e.h, TKT_EV_ENV, ROOT, T0 + 20);
	assert_int_equal(tkt_model_apply(&m, &e, hdr + e.len - 1), -EINVAL);
	assert_int_equal(m.lost_events, 1);
	tkt_model_free(&m);
}

/* Exactly two full chunks: the BPF side sends a third, empty chunk with the LAST flag. */
static void test_chunked_env_exact_multiple(void **state)
{
	struct tkt_model m;
	size_t n = 2 * (TKT_ENV_CHUNK - 1);
	char *val = malloc(n + 1);
	const char *sfx = " (setup)";

	(void)state;
	assert_non_null(val);
	memset(val, 'x', n);
	memcpy(val, "t.py::t[", 8);
	memcpy(val + n - strlen(sfx) - 1, "]", 1);
	memcpy(val + n - strlen(sfx), sfx, strlen(sfx));
	val[n] = '\0';
	assert_int_equal(env_nchunks(n), 3);
	start_pytest_root(&m);
	rec_env_set(&m, T0 + 10, ROOT, TKT_ENV_CURRENT_TEST, val);
	val[n - strlen(sfx)] = '\0';
	assert_attr(&m, ROOT, val, TKT_PHASE_SETUP, NULL);
	assert_int_equal(m.lost_events, 0);
	tkt_model_free(&m);
	free(val);
}

static char *long_value(size_t n, const char *sfx)
{
	char *v = malloc(n + strlen(sfx) + 1);

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (char)('A' + i % 26);
	strcpy(v + n, sfx);
	return v;
}

/* A middle chunk lost: no node id is guessed, the previous one stays, lost_events counts it. */
static void test_chunked_env_missing_middle_chunk(void **state)
{
	struct tkt_model m;
	char *v = long_value(2 * (TKT_ENV_CHUNK - 1) + 100, " (call)");

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::before", "setup");
	assert_int_equal(env_nchunks(strlen(v)), 3);
	rec_env_value_chunk(&m, T0 + 20, ROOT, TKT_ENV_CURRENT_TEST, v, 0);
	rec_env_value_chunk(&m, T0 + 22, ROOT, TKT_ENV_CURRENT_TEST, v, 2);
	assert_attr(&m, ROOT, "t.py::before", TKT_PHASE_SETUP, NULL);
	assert_int_equal(m.lost_events, 1);
	/* The next complete value is used again. */
	rec_test(&m, T0 + 30, ROOT, "t.py::after", "call");
	assert_attr(&m, ROOT, "t.py::after", TKT_PHASE_CALL, NULL);
	assert_int_equal(m.lost_events, 1);
	tkt_model_free(&m);
	free(v);
}

/* A chunk of another key in the middle of a value breaks it. */
static void test_chunked_env_key_switch(void **state)
{
	struct tkt_model m;
	char *v = long_value(TKT_ENV_CHUNK + 100, " (call)");

	(void)state;
	start_pytest_root(&m);
	rec_env_value_chunk(&m, T0 + 20, ROOT, TKT_ENV_CURRENT_TEST, v, 0);
	rec_env_chunk(&m, T0 + 21, ROOT, TKT_ENV_XDIST_WORKER, TKT_ENV_SET, 1, TKT_ENV_F_LAST,
		      "gw0", 3);
	rec_env_value_chunk(&m, T0 + 22, ROOT, TKT_ENV_CURRENT_TEST, v, 1);
	assert_attr(&m, ROOT, NULL, TKT_PHASE_COLLECTION, NULL);
	assert_int_equal(m.lost_events, 1);
	tkt_model_free(&m);
	free(v);
}

/* Regression: ev_env keeps env_next at the count of the previous, completed value, so when chunk 0 of
 * the next value is lost its chunk 1 is taken for a whole value: the node id becomes the tail
 * of the real one and lost_events is not bumped. */
static void test_chunked_env_missing_first_chunk(void **state)
{
	struct tkt_model m;
	char *v;

	(void)state;
	v = long_value(TKT_ENV_CHUNK + 100, " (call)");
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::before", "setup"); /* one chunk: env_next ends at 1 */
	assert_int_equal(env_nchunks(strlen(v)), 2);
	rec_env_value_chunk(&m, T0 + 21, ROOT, TKT_ENV_CURRENT_TEST, v, 1); /* chunk 0 lost */
	assert_attr(&m, ROOT, "t.py::before", TKT_PHASE_SETUP, NULL);
	assert_int_equal(m.lost_events, 1);
	tkt_model_free(&m);
	free(v);
}

/* Regression: a process that becomes a test runner by setting PYTEST_CURRENT_TEST without exec
 * (pytest-forked / pytest --forked child of an xdist worker) loses the worker id: become_pytest
 * sets own.worker = NULL although the child runs on, and inherited, worker gw0. */
static void test_forked_test_runner_keeps_worker(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	rec_test(&m, T0 + 200, 200, "t.py::a", "setup");
	rec_fork(&m, T0 + 210, 500, 200, "python3");
	assert_attr(&m, 500, "t.py::a", TKT_PHASE_SETUP, "gw0");
	rec_test(&m, T0 + 220, 500, "t.py::a", "call");
	assert_attr(&m, 500, "t.py::a", TKT_PHASE_CALL, "gw0");
	tkt_model_free(&m);
}

static void test_env_for_unknown_process_ignored(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, 777, "t.py::ghost", "call");
	assert_null(tkt_model_find(&m, 777));
	assert_int_equal(m.lost_events, 0);
	assert_int_equal(m.tests_seen, 0);
	tkt_model_free(&m);
}

static void test_parse_current_test(void **state)
{
	static const struct {
		const char *val;
		bool ok;
		const char *id;
		enum tkt_phase ph;
	} cases[] = {
		{ "tests/a.py::t (setup)", true, "tests/a.py::t", TKT_PHASE_SETUP },
		{ "tests/a.py::t (call)", true, "tests/a.py::t", TKT_PHASE_CALL },
		{ "tests/a.py::t (teardown)", true, "tests/a.py::t", TKT_PHASE_TEARDOWN },
		{ "tests/a.py::T::t[a (b)] (call)", true, "tests/a.py::T::t[a (b)]", TKT_PHASE_CALL },
		{ "t.py::t[x (setup)] (teardown)", true, "t.py::t[x (setup)]", TKT_PHASE_TEARDOWN },
		{ "t.py::t[ (call)] (setup)", true, "t.py::t[ (call)]", TKT_PHASE_SETUP },
		{ "t.py::t[[nested] (call)]] (call)", true, "t.py::t[[nested] (call)]]", TKT_PHASE_CALL },
		{ "t.py::t[\\u00e9 (setup)] (call)", true, "t.py::t[\\u00e9 (setup)]", TKT_PHASE_CALL },
		{ "t.py::t(call)", false, "t.py::t(call)", TKT_PHASE_CALL },
		{ "t.py::t (Call)", false, "t.py::t (Call)", TKT_PHASE_CALL },
		{ "t.py::t", false, "t.py::t", TKT_PHASE_CALL },
		{ " (call)", false, " (call)", TKT_PHASE_CALL },
		{ "x (call)", true, "x", TKT_PHASE_CALL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 12345;
		enum tkt_phase ph = TKT_PHASE_NONE;
		bool ok = tkt_parse_current_test(cases[i].val, strlen(cases[i].val), &n, &ph);

		if (ok != cases[i].ok)
			fail_msg("case %zu '%s': returned %d", i, cases[i].val, ok);
		assert_int_equal(n, strlen(cases[i].id));
		assert_memory_equal(cases[i].val, cases[i].id, n);
		assert_int_equal(ph, cases[i].ph);
	}
	/* Only len bytes are looked at. */
	{
		const char *v = "a.py::t (setup) (call)";
		size_t n;
		enum tkt_phase ph;
		assert_true(tkt_parse_current_test(v, 15, &n, &ph));
		assert_int_equal(n, 7);
		assert_int_equal(ph, TKT_PHASE_SETUP);
	}
}

static void test_parse_current_test_in_model(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "tests/t.py::test_x[a (b)-[c]]", "setup");
	assert_attr(&m, ROOT, "tests/t.py::test_x[a (b)-[c]]", TKT_PHASE_SETUP, NULL);
	/* A value without a phase suffix is taken whole, as a call. */
	rec_env_set(&m, T0 + 20, ROOT, TKT_ENV_CURRENT_TEST, "odd value");
	assert_attr(&m, ROOT, "odd value", TKT_PHASE_CALL, NULL);
	tkt_model_free(&m);
}

/* Two workers: the victim is the big one on gw0, the trigger allocates on gw1. */
static void test_oom_victim_and_trigger_on_workers(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_oom_rec *r;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	tkt_model_set_cwd(&m, 200, "/work/proj");
	rec_test(&m, T0 + 200, 200, "tests/test_a.py::test_big", "setup");
	rec_test(&m, T0 + 210, 200, "tests/test_a.py::test_big", "call");
	rec_test(&m, T0 + 220, 201, "tests/test_b.py::test_alloc[x]", "setup");
	oom_init(&e, T0 + SECS(2), 200, "python3", 262144, 201, "python3", 1024);
	e.victim.rss_file_pages = 256;
	e.victim.rss_shmem_pages = 16;
	e.oom_score_adj = 0;
	e.total_vm_pages = 300000;
	e.ncg = 2;
	cg_fill(&e.cg[0], "tktrace-e2e", 131072, 131072);
	cg_fill(&e.cg[1], "/", CG_UNLIMITED, 900000);
	rec_oom(&m, &e);

	assert_int_equal(m.nooms, 1);
	r = &m.ooms[0];
	assert_int_equal(r->ts_ns, T0 + SECS(2));
	assert_int_equal(r->victim.pid, 200);
	assert_string_equal(r->victim.comm, "python3");
	assert_true(r->victim.known);
	assert_string_equal(r->victim.attr.test, "tests/test_a.py::test_big");
	assert_int_equal(r->victim.attr.phase, TKT_PHASE_CALL);
	assert_string_equal(r->victim.attr.worker, "gw0");
	assert_string_equal(r->victim.pytest_cmd, "/usr/bin/python3 -m pytest");
	assert_string_equal(r->victim.cwd, "/work/proj");
	assert_int_equal(r->victim.anon_bytes, 262144ULL * 4096);
	assert_int_equal(r->victim.file_bytes, 256ULL * 4096);
	assert_int_equal(r->victim.shmem_bytes, 16ULL * 4096);
	assert_int_equal(r->victim.rss_bytes, (262144ULL + 256 + 16) * 4096);
	assert_int_equal(r->trigger.pid, 201);
	assert_true(r->trigger.known);
	assert_string_equal(r->trigger.attr.test, "tests/test_b.py::test_alloc[x]");
	assert_int_equal(r->trigger.attr.phase, TKT_PHASE_SETUP);
	assert_string_equal(r->trigger.attr.worker, "gw1");
	assert_null(r->trigger.cwd);
	assert_int_equal(r->trigger.rss_bytes, 1024ULL * 4096);
	assert_true(r->has_limit);
	assert_int_equal(r->limit_bytes, 512ULL << 20);
	assert_int_equal(r->usage_bytes, 512ULL << 20);
	assert_string_equal(r->cgroup, "/sys/fs/cgroup/tktrace-e2e");
	assert_int_equal(r->total_vm_bytes, 300000ULL * 4096);
	assert_int_equal(r->oom_score_adj, 0);
	assert_int_equal(m.nkills, 0);
	assert_double_equal(tkt_model_time_s(&m, r->ts_ns), 2.0, 1e-9);
	tkt_model_free(&m);
}

/* A value read from a process's memory at its kill (TKT_ENV_F_KILL), one chunk. */
static void rec_env_at_kill(struct tkt_model *m, uint64_t ts, uint32_t pid, uint16_t key,
			    const char *value)
{
	rec_env_chunk(m, ts, pid, key, TKT_ENV_SET, 0, TKT_ENV_F_LAST | TKT_ENV_F_KILL, value,
		      strlen(value));
}

/* A worker whose probes came late: nothing heard from it before its OOM kill; its variables,
 * read at the kill, arrive after the OOM record (and again from a second thread). */
static void test_oom_named_from_env_read_at_kill(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_oom_rec *r;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	rec_test(&m, T0 + 200, 200, "tests/test_a.py::test_small", "call");
	rec_fork(&m, T0 + 300, 201, ROOT, "python3");
	rec_exec(&m, T0 + 301, 201, "python3", EXECNET, sizeof(EXECNET) - 1);
	oom_init(&e, T0 + SECS(2), 201, "python3", 262144, 201, "python3", 262144);
	rec_oom(&m, &e);
	r = &m.ooms[0];
	assert_null(r->victim.attr.test);
	assert_null(r->victim.attr.worker);

	rec_env_at_kill(&m, T0 + SECS(2) + 10, 201, TKT_ENV_XDIST_WORKER, "gw1");
	rec_env_at_kill(&m, T0 + SECS(2) + 11, 201, TKT_ENV_CURRENT_TEST,
			"tests/test_b.py::test_big (call)");
	/* The same values from another thread of the process: taken once. */
	rec_env_at_kill(&m, T0 + SECS(2) + 20, 201, TKT_ENV_XDIST_WORKER, "gw1");
	rec_env_at_kill(&m, T0 + SECS(2) + 21, 201, TKT_ENV_CURRENT_TEST,
			"tests/test_b.py::test_big (call)");
	r = &m.ooms[0];
	assert_string_equal(r->victim.attr.test, "tests/test_b.py::test_big");
	assert_int_equal(r->victim.attr.phase, TKT_PHASE_CALL);
	assert_string_equal(r->victim.attr.worker, "gw1");
	assert_string_equal(r->trigger.attr.test, "tests/test_b.py::test_big");
	assert_string_equal(r->trigger.attr.worker, "gw1");
	assert_true(r->victim.is_pytest);
	/* Its test is in the list once, killed, from the kill on. */
	assert_int_equal(m.ntests, 2);
	assert_string_equal(m.tests[1].nodeid, "tests/test_b.py::test_big");
	assert_string_equal(m.tests[1].worker, "gw1");
	assert_int_equal(m.tests[1].outcome, TKT_OUTCOME_KILLED);
	assert_int_equal(m.tests[1].start_ns, T0 + SECS(2));
	assert_int_equal(m.tests[1].end_ns, T0 + SECS(2));
	assert_true(r->blame.valid);
	assert_int_equal(r->blame.pid, 201);
	/* The other worker's test is untouched. */
	assert_string_equal(m.tests[0].nodeid, "tests/test_a.py::test_small");
	assert_int_equal(m.tests[0].outcome, TKT_OUTCOME_RUNNING);
	tkt_model_free(&m);
}

/* A process the probes have heard from: what is read at its kill changes nothing, even where
 * it differs (the probes' values are the ones in time). */
static void test_env_read_at_kill_after_probes_ignored(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	rec_test(&m, T0 + 200, 200, "tests/test_a.py::test_big", "call");
	oom_init(&e, T0 + SECS(2), 200, "python3", 262144, 200, "python3", 262144);
	rec_oom(&m, &e);
	rec_env_at_kill(&m, T0 + SECS(2) + 10, 200, TKT_ENV_XDIST_WORKER, "gw9");
	rec_env_at_kill(&m, T0 + SECS(2) + 11, 200, TKT_ENV_CURRENT_TEST,
			"tests/test_z.py::test_other (setup)");
	assert_string_equal(m.ooms[0].victim.attr.test, "tests/test_a.py::test_big");
	assert_string_equal(m.ooms[0].victim.attr.worker, "gw0");
	assert_int_equal(m.ntests, 1);
	assert_attr(&m, 200, "tests/test_a.py::test_big", TKT_PHASE_CALL, "gw0");
	assert_int_equal(m.lost_events, 0);
	tkt_model_free(&m);
}

/* kill -9 from outside: the kill record first, the variables read at its delivery after. */
static void test_sigkill_named_from_env_read_at_kill(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_fork(&m, T0 + 300, 201, ROOT, "python3");
	rec_exec(&m, T0 + 301, 201, "python3", EXECNET, sizeof(EXECNET) - 1);
	rec_signal(&m, T0 + SECS(1), 201, "python3", 9, 555, "bash", 0, 1000);
	assert_int_equal(m.nkills, 1);
	assert_null(m.kills[0].target.attr.test);
	rec_env_at_kill(&m, T0 + SECS(1) + 5, 201, TKT_ENV_CURRENT_TEST,
			"tests/test_c.py::test_stuck (call)");
	assert_string_equal(m.kills[0].target.attr.test, "tests/test_c.py::test_stuck");
	assert_null(m.kills[0].target.attr.worker);
	assert_int_equal(m.ntests, 1);
	assert_int_equal(m.tests[0].outcome, TKT_OUTCOME_KILLED);
	tkt_model_free(&m);
}

static void test_oom_of_subprocess_and_untraced(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "tests/t.py::test_sub", "call");
	rec_fork(&m, T0 + 20, 300, ROOT, "python3");
	REC_EXEC(&m, T0 + 21, 300, "sh", "/bin/sh\0-c\0./hog\0");
	rec_fork(&m, T0 + 22, 301, 300, "sh");
	REC_EXEC(&m, T0 + 23, 301, "hog", "./hog\0");
	rec_env_unset(&m, T0 + 30, ROOT, TKT_ENV_CURRENT_TEST);
	/* The hog allocates and is killed itself; the record's comm wins over ours. */
	oom_init(&e, T0 + 40, 301, "hog", 1000, 301, "hog", 1000);
	rec_oom(&m, &e);
	/* The victim is something we never saw. */
	oom_init(&e, T0 + 50, 5555, "", 10, 301, "hog", 1000);
	rec_oom(&m, &e);

	assert_int_equal(m.nooms, 2);
	assert_int_equal(m.ooms[0].victim.pid, 301);
	assert_string_equal(m.ooms[0].victim.comm, "hog");
	assert_string_equal(m.ooms[0].victim.attr.test, "tests/t.py::test_sub");
	assert_int_equal(m.ooms[0].victim.attr.phase, TKT_PHASE_CALL);
	assert_null(m.ooms[0].victim.attr.worker);
	/* ncg == 0 (old kernel): no cgroup at all. */
	assert_null(m.ooms[0].cgroup);
	assert_false(m.ooms[0].has_limit);
	assert_false(m.ooms[1].victim.known);
	assert_null(m.ooms[1].victim.attr.test);
	assert_int_equal(m.ooms[1].victim.attr.phase, TKT_PHASE_NONE);
	assert_string_equal(m.ooms[1].victim.comm, "");
	assert_true(m.ooms[1].trigger.known);
	tkt_model_free(&m);
}

/* The kernel's SIGKILL to the victim, sent by the trigger just before the OOM record, is the
 * OOM kill itself; a user's kill -9 is a kill of its own. */
static void test_oom_dedup_kernel_sigkill(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_test(&m, T0 + 200, 200, "t.py::victim", "call");
	rec_test(&m, T0 + 210, 201, "t.py::trigger", "call");
	rec_fork(&m, T0 + 220, 202, 200, "python3");

	rec_signal(&m, T0 + SECS(1), 200, "python3", 9, 201, "python3", TKT_SIG_F_KERNEL, 5000);
	assert_int_equal(m.nkills, 1);
	oom_init(&e, T0 + SECS(1) + 1000, 200, "python3", 5000, 201, "python3", 100);
	rec_oom(&m, &e);
	assert_int_equal(m.nooms, 1);
	assert_int_equal(m.nkills, 0);
	/* The OOM killer's SIGKILLs to processes sharing the victim's memory, right after. */
	rec_signal(&m, T0 + SECS(1) + MSECS(5), 202, "python3", 9, 201, "python3", TKT_SIG_F_KERNEL,
		   5000);
	assert_int_equal(m.nkills, 0);
	/* A user's kill -9 of the trigger is kept, with its sender. */
	rec_signal(&m, T0 + SECS(1) + MSECS(6), 201, "python3", 9, 999, "bash", 0, 100);
	assert_int_equal(m.nkills, 1);
	assert_int_equal(m.kills[0].ts_ns, T0 + SECS(1) + MSECS(6));
	assert_int_equal(m.kills[0].target.pid, 201);
	assert_true(m.kills[0].target.known);
	assert_string_equal(m.kills[0].target.attr.test, "t.py::trigger");
	assert_int_equal(m.kills[0].target.attr.phase, TKT_PHASE_CALL);
	assert_string_equal(m.kills[0].target.attr.worker, "gw1");
	assert_int_equal(m.kills[0].target.rss_bytes, 100ULL * 4096);
	assert_int_equal(m.kills[0].sender_pid, 999);
	assert_string_equal(m.kills[0].sender_comm, "bash");
	assert_false(m.kills[0].kernel);
	/* A kernel SIGKILL from the same sender much later is another event. */
	rec_signal(&m, T0 + SECS(1) + MSECS(200), 202, "python3", 9, 201, "python3",
		   TKT_SIG_F_KERNEL, 1);
	assert_int_equal(m.nkills, 2);
	assert_true(m.kills[1].kernel);
	assert_int_equal(m.kills[1].target.pid, 202);
	assert_string_equal(m.kills[1].target.attr.test, "t.py::victim");
	tkt_model_free(&m);
}

static void test_oom_dedup_keeps_unrelated_kills(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;

	(void)state;
	start_pytest_root(&m);
	rec_fork(&m, T0 + 10, 200, ROOT, "python3");
	rec_fork(&m, T0 + 11, 201, ROOT, "python3");
	/* User kill -9 from the trigger itself (not the kernel), just before. */
	rec_signal(&m, T0 + SECS(5), 200, "python3", 9, 201, "python3", 0, 1);
	/* Kernel kill of the victim more than a second before the OOM record. */
	rec_signal(&m, T0 + SECS(3), 200, "python3", 9, 201, "python3", TKT_SIG_F_KERNEL, 1);
	/* Kernel kill of another target. */
	rec_signal(&m, T0 + SECS(5), 201, "python3", 9, 201, "python3", TKT_SIG_F_KERNEL, 1);
	/* Kernel kill of the victim from another sender. */
	rec_signal(&m, T0 + SECS(5), 200, "python3", 9, 7, "kswapd0", TKT_SIG_F_KERNEL, 1);
	assert_int_equal(m.nkills, 4);
	oom_init(&e, T0 + SECS(5) + 10, 200, "python3", 1, 201, "python3", 1);
	rec_oom(&m, &e);
	assert_int_equal(m.nkills, 4);
	/* Non-SIGKILL signals are no kills. */
	rec_signal(&m, T0 + SECS(6), 200, "python3", 15, 1, "init", 0, 1);
	assert_int_equal(m.nkills, 4);
	assert_false(m.root_signaled);
	tkt_model_free(&m);
}

static void test_root_signal_recorded(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_signal(&m, T0 + SECS(1), ROOT, "python3", 15, 4242, "timeout", 0, 10);
	assert_true(m.root_signaled);
	assert_int_equal(m.root_sig, 15);
	assert_int_equal(m.root_sig_sender, 4242);
	assert_string_equal(m.root_sig_sender_comm, "timeout");
	assert_int_equal(m.nkills, 0);
	rec_signal(&m, T0 + SECS(2), ROOT, "python3", 9, 4243, "kill", 0, 10);
	assert_int_equal(m.root_sig, 9);
	assert_int_equal(m.root_sig_sender, 4243);
	assert_int_equal(m.nkills, 1);
	assert_int_equal(m.kills[0].target.pid, ROOT);
	assert_string_equal(m.kills[0].target.comm, "python3");
	tkt_model_free(&m);
}

/* Only SIGKILLs that took effect are kills: one to a process already dying is "ignored" or
 * "already pending". */
static void test_sigkill_result_filter(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_fork(&m, T0 + 10, 300, ROOT, "python3");
	rec_signal_result(&m, T0 + SECS(1), 300, "python3", 9, 555, "bash", 0, 1, SIG_IGNORED);
	rec_signal_result(&m, T0 + SECS(1) + 1, 300, "python3", 9, 555, "bash", 0, 1,
			  SIG_ALREADY_PENDING);
	rec_signal_result(&m, T0 + SECS(1) + 2, 300, "python3", 9, 555, "bash", 0, 1,
			  SIG_OVERFLOW_FAIL);
	assert_int_equal(m.nkills, 0);
	/* Delivered without its siginfo still kills. */
	rec_signal_result(&m, T0 + SECS(1) + 3, 300, "python3", 9, 555, "bash", 0, 1,
			  SIG_LOSE_INFO);
	assert_int_equal(m.nkills, 1);
	assert_int_equal(m.kills[0].ts_ns, T0 + SECS(1) + 3);
	rec_signal(&m, T0 + SECS(2), 300, "python3", 9, 556, "kill", 0, 1);
	assert_int_equal(m.nkills, 2);
	assert_int_equal(m.kills[1].sender_pid, 556);
	tkt_model_free(&m);
}

static void test_pick_limiting_cg(void **state)
{
	struct tkt_cg cg[TKT_CG_DEPTH];

	(void)state;
	/* Nothing limited. */
	cg_fill(&cg[0], "a", CG_UNLIMITED, 100);
	cg_fill(&cg[1], "/", CG_UNLIMITED, 100);
	assert_int_equal(tkt_pick_limiting_cg(cg, 2, 4096), -1);
	assert_int_equal(tkt_pick_limiting_cg(cg, 0, 4096), -1);
	/* max 0 (no data) counts as unlimited. */
	cg_fill(&cg[0], "a", 0, 100);
	assert_int_equal(tkt_pick_limiting_cg(cg, 2, 4096), -1);
	/* Unlimited leaf below a limited parent at its limit. */
	cg_fill(&cg[0], "leaf", CG_UNLIMITED, 1000);
	cg_fill(&cg[1], "limited", 131072, 131072);
	cg_fill(&cg[2], "/", CG_UNLIMITED, 200000);
	assert_int_equal(tkt_pick_limiting_cg(cg, 3, 4096), 1);
	/* Both limited: the one at its limit, not the first. */
	cg_fill(&cg[0], "leaf", 262144, 10000);
	cg_fill(&cg[1], "parent", 131072, 131000);
	assert_int_equal(tkt_pick_limiting_cg(cg, 3, 4096), 1);
	/* Both limited, both at the limit: the innermost. */
	cg_fill(&cg[0], "leaf", 262144, 262144);
	assert_int_equal(tkt_pick_limiting_cg(cg, 3, 4096), 0);
	/* Both limited, neither near the limit: the first limited. */
	cg_fill(&cg[0], "leaf", 262144, 1000);
	cg_fill(&cg[1], "parent", 131072, 1000);
	assert_int_equal(tkt_pick_limiting_cg(cg, 3, 4096), 0);
	/* Near the limit: within max/32 + 64 pages of it. */
	cg_fill(&cg[0], "leaf", CG_UNLIMITED, 0);
	cg_fill(&cg[1], "parent", 3200, 3200 - 100 - 64);
	cg_fill(&cg[2], "grand", 6400, 6400);
	assert_int_equal(tkt_pick_limiting_cg(cg, 3, 4096), 1);
	cg_fill(&cg[1], "parent", 3200, 3200 - 100 - 65);
	assert_int_equal(tkt_pick_limiting_cg(cg, 3, 4096), 2);
	/* ncg beyond the array is clamped: levels past TKT_CG_DEPTH are not read. */
	for (int i = 0; i < TKT_CG_DEPTH; i++)
		cg_fill(&cg[i], "x", CG_UNLIMITED, 0);
	cg_fill(&cg[TKT_CG_DEPTH - 1], "last", 100, 100);
	assert_int_equal(tkt_pick_limiting_cg(cg, 1000, 4096), TKT_CG_DEPTH - 1);
	/* 64 KiB pages: the unlimited value is smaller. */
	cg_fill(&cg[0], "a", (uint64_t)INT64_MAX / 65536, 100);
	cg_fill(&cg[1], "b", 1000, 1000);
	assert_int_equal(tkt_pick_limiting_cg(cg, 2, 65536), 1);
}

static const struct tkt_oom_rec *oom_with_cgs(struct tkt_model *m, const struct tkt_cg *cg,
					      uint32_t ncg)
{
	struct tkt_ev_oom e;

	oom_init(&e, T0 + SECS(1) + m->nooms, 300, "hog", 10, 300, "hog", 10);
	e.ncg = ncg;
	memcpy(e.cg, cg, sizeof(e.cg[0]) * (ncg < TKT_CG_DEPTH ? ncg : TKT_CG_DEPTH));
	rec_oom(m, &e);
	return &m->ooms[m->nooms - 1];
}

static void test_cgroup_path_v1(void **state)
{
	struct tkt_model m;
	struct tkt_cg cg[3];
	const struct tkt_oom_rec *r;

	(void)state;
	model_start(&m, ROOT, "/sys/fs/cgroup/memory");
	cg_fill(&cg[0], "test-leaf", CG_UNLIMITED, 100);
	cg_fill(&cg[1], "tktrace-42", 65536, 65536);
	cg_fill(&cg[2], "", CG_UNLIMITED, 500000); /* v1 root */
	r = oom_with_cgs(&m, cg, 3);
	assert_string_equal(r->cgroup, "/sys/fs/cgroup/memory/tktrace-42");
	assert_true(r->has_limit);
	assert_int_equal(r->limit_bytes, 256ULL << 20);
	assert_int_equal(r->usage_bytes, 256ULL << 20);
	/* Nothing limited: the victim's own cgroup, usage from it, no limit. */
	cg_fill(&cg[1], "tktrace-42", CG_UNLIMITED, 65536);
	r = oom_with_cgs(&m, cg, 3);
	assert_string_equal(r->cgroup, "/sys/fs/cgroup/memory/tktrace-42/test-leaf");
	assert_false(r->has_limit);
	assert_int_equal(r->limit_bytes, 0);
	assert_int_equal(r->usage_bytes, 100ULL * 4096);
	/* The victim in the root cgroup itself. */
	r = oom_with_cgs(&m, &cg[2], 1);
	assert_string_equal(r->cgroup, "/sys/fs/cgroup/memory");
	tkt_model_free(&m);
}

static void test_cgroup_path_v2(void **state)
{
	struct tkt_model m;
	struct tkt_cg cg[TKT_CG_DEPTH];
	const struct tkt_oom_rec *r;

	(void)state;
	model_start(&m, ROOT, "/sys/fs/cgroup");
	cg_fill(&cg[0], "inner", 32768, 32768);
	cg_fill(&cg[1], "outer.slice", CG_UNLIMITED, 40000);
	cg_fill(&cg[2], "/", CG_UNLIMITED, 900000); /* v2 root */
	r = oom_with_cgs(&m, cg, 3);
	assert_string_equal(r->cgroup, "/sys/fs/cgroup/outer.slice/inner");
	assert_int_equal(r->limit_bytes, 128ULL << 20);
	/* The walk was cut at TKT_CG_DEPTH: the top level is no root, so "..." marks the gap. */
	for (int i = 0; i < TKT_CG_DEPTH; i++) {
		char n[8];
		snprintf(n, sizeof(n), "l%d", i);
		cg_fill(&cg[i], n, CG_UNLIMITED, 1);
	}
	cg_fill(&cg[2], "l2", 100, 100);
	r = oom_with_cgs(&m, cg, TKT_CG_DEPTH);
	assert_string_equal(r->cgroup, "/sys/fs/cgroup/.../l7/l6/l5/l4/l3/l2");
	/* A name of the full TKT_CG_NAME bytes, without NUL. */
	memset(cg[0].name, 'n', TKT_CG_NAME);
	cg[0].max_pages = 10;
	cg[0].usage_pages = 10;
	cg_fill(&cg[1], "/", CG_UNLIMITED, 1);
	r = oom_with_cgs(&m, cg, 2);
	assert_int_equal(strlen(r->cgroup), strlen("/sys/fs/cgroup/") + TKT_CG_NAME);
	tkt_model_free(&m);

	/* No mount known and the root is the limited one (limits are never set on a root, but
	 * the path must still be a path). */
	model_start(&m, ROOT, NULL);
	cg_fill(&cg[0], "/", 100, 100);
	r = oom_with_cgs(&m, cg, 1);
	assert_string_equal(r->cgroup, "/");
	cg_fill(&cg[0], "a", 100, 100);
	cg_fill(&cg[1], "/", CG_UNLIMITED, 100);
	r = oom_with_cgs(&m, cg, 2);
	assert_string_equal(r->cgroup, "/a");
	tkt_model_free(&m);
}

/* Dead processes stay for grace_ns after the newest record: late kill records need them. */
static void test_sweep_after_grace(void **state)
{
	struct tkt_model m;
	uint64_t grace = SECS(5), texit = T0 + SECS(1);
	size_t live;

	(void)state;
	start_pytest_root(&m);
	rec_test(&m, T0 + 10, ROOT, "t.py::a", "call");
	rec_fork(&m, T0 + 20, 500, ROOT, "python3");
	rec_fork(&m, T0 + 30, 501, ROOT, "python3");
	live = m.nprocs;
	assert_int_equal(live, 3);
	rec_exit(&m, texit, 500, 9);
	rec_exit(&m, texit + MSECS(500), 501, 0);
	/* A second exit record for the same process changes nothing. */
	rec_exit(&m, texit + MSECS(600), 500, 9);
	assert_false(tkt_model_find(&m, 500)->alive);
	assert_int_equal(tkt_model_find(&m, 500)->exit_ns, texit);
	tkt_model_sweep(&m, grace);
	assert_non_null(tkt_model_find(&m, 500));
	assert_int_equal(m.nprocs, 3);
	/* A late kill record still finds the dead process and its test. */
	rec_signal(&m, texit + SECS(2), 500, "python3", 9, 1, "systemd", 0, 0);
	assert_true(m.kills[0].target.known);
	assert_string_equal(m.kills[0].target.attr.test, "t.py::a");
	/* Exactly at the end of the grace period: kept. */
	rec_fork(&m, texit + grace, 600, ROOT, "x");
	tkt_model_sweep(&m, grace);
	assert_non_null(tkt_model_find(&m, 500));
	/* Past it: freed; the later one is not. */
	rec_fork(&m, texit + grace + 1, 601, ROOT, "x");
	tkt_model_sweep(&m, grace);
	assert_null(tkt_model_find(&m, 500));
	assert_non_null(tkt_model_find(&m, 501));
	assert_int_equal(m.nprocs, 4); /* ROOT, 501, 600, 601 */
	assert_int_equal(m.procs_seen, 5);
	assert_ptr_equal(m.dead_head, tkt_model_find(&m, 501));
	/* Live processes are never swept. */
	rec_fork(&m, texit + SECS(100), 602, ROOT, "x");
	tkt_model_sweep(&m, grace);
	assert_null(tkt_model_find(&m, 501));
	assert_null(m.dead_head);
	assert_null(m.dead_tail);
	assert_non_null(tkt_model_find(&m, ROOT));
	assert_non_null(tkt_model_find(&m, 600));
	assert_int_equal(m.nprocs, 4);
	tkt_model_free(&m);
}

/* A pid reused after exit: the new process gets its new parent's attribution. */
static void test_pid_reuse(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_test(&m, T0 + 200, 200, "t.py::a", "call");
	rec_test(&m, T0 + 210, 201, "t.py::b", "call");
	rec_fork(&m, T0 + 300, 700, 200, "python3");
	rec_exit(&m, T0 + 310, 700, 0);
	rec_fork(&m, T0 + 320, 700, 201, "python3");
	assert_true(tkt_model_find(&m, 700)->alive);
	assert_attr(&m, 700, "t.py::b", TKT_PHASE_CALL, "gw1");
	assert_null(m.dead_head);
	/* Sweeping later does not free the new one. */
	rec_fork(&m, T0 + SECS(100), 701, 201, "x");
	tkt_model_sweep(&m, SECS(5));
	assert_non_null(tkt_model_find(&m, 700));
	tkt_model_free(&m);
}

static void test_malformed_records(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom oom;
	struct tkt_hdr h;
	union {
		struct tkt_ev_fork f;
		unsigned char bytes[sizeof(struct tkt_ev_fork) + 8];
	} padded;

	(void)state;
	model_start(&m, ROOT, NULL);
	memset(&oom, 0, sizeof(oom));
	hdr_fill(&oom.h, TKT_EV_OOM, 1, T0 + 5);
	/* Shorter than its type's record, or than a header. */
	assert_int_equal(tkt_model_apply(&m, &oom, sizeof(oom) - 1), -EINVAL);
	assert_int_equal(m.lost_events, 1);
	assert_int_equal(tkt_model_apply(&m, &oom, sizeof(struct tkt_hdr) - 1), -EINVAL);
	assert_int_equal(m.lost_events, 2);
	/* Unknown types. */
	memset(&h, 0, sizeof(h));
	h.type = 0;
	assert_int_equal(tkt_model_apply(&m, &h, sizeof(h)), -EINVAL);
	assert_int_equal(m.lost_events, 3);
	h.type = TKT_EV_SIGNAL + 1;
	assert_int_equal(tkt_model_apply(&m, &h, sizeof(h)), -EINVAL);
	assert_int_equal(m.lost_events, 4);
	assert_int_equal(m.nooms, 0);
	assert_int_equal(m.last_ns, 0); /* rejected records do not move time */
	/* The whole record is fine. */
	assert_int_equal(tkt_model_apply(&m, &oom, sizeof(oom)), 0);
	assert_int_equal(m.nooms, 1);
	/* Longer than needed is accepted (the ring rounds sizes up). */
	memset(&padded, 0, sizeof(padded));
	hdr_fill(&padded.f.h, TKT_EV_FORK, 42, T0 + 6);
	padded.f.ppid = 1;
	assert_int_equal(tkt_model_apply(&m, &padded, sizeof(padded)), 0);
	assert_non_null(tkt_model_find(&m, 42));
	assert_int_equal(m.last_ns, T0 + 6);
	assert_int_equal(m.lost_events, 4);
	tkt_model_free(&m);
}

static void test_time_s(void **state)
{
	struct tkt_model m;

	(void)state;
	model_start(&m, ROOT, NULL);
	assert_double_equal(tkt_model_time_s(&m, T0 + MSECS(1500)), 1.5, 1e-12);
	assert_double_equal(tkt_model_time_s(&m, T0), 0.0, 0);
	assert_double_equal(tkt_model_time_s(&m, T0 - 1), 0.0, 0);
	tkt_model_free(&m);
}

/* ---- Per-test memory records ---- */

#define PG(n) ((uint64_t)(n) * PAGE)

static void test_outcome_names(void **state)
{
	(void)state;
	assert_string_equal(tkt_outcome_name(TKT_OUTCOME_COMPLETED), "completed");
	assert_string_equal(tkt_outcome_name(TKT_OUTCOME_KILLED), "killed");
	assert_string_equal(tkt_outcome_name(TKT_OUTCOME_RUNNING), "interrupted");
}

static void test_retained_and_growth(void **state)
{
	struct tkt_test_rec t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.rss_start = 1000;
	t.peak = 5000;
	t.rss_end = 3000;
	/* Not ended: nothing retained yet, whatever rss_end holds. */
	assert_int_equal(tkt_test_retained(&t), 0);
	assert_int_equal(tkt_test_growth(&t), 4000);
	t.ended = true;
	assert_int_equal(tkt_test_retained(&t), 2000);
	t.rss_end = 400;
	assert_true(tkt_test_retained(&t) == -600);
	/* A peak under the start (cannot come from the kernel) is no growth. */
	t.peak = 999;
	assert_int_equal(tkt_test_growth(&t), 0);
	t.peak = 1000;
	assert_int_equal(tkt_test_growth(&t), 0);
	/* Full 64-bit range. */
	t.rss_start = 0;
	t.peak = UINT64_MAX;
	assert_true(tkt_test_growth(&t) == UINT64_MAX);
}

/* setup -> call -> teardown -> unset: each boundary closes the period before it. */
static void test_test_record_phases(void **state)
{
	struct tkt_model m;
	const struct tkt_test_rec *t;
	struct tkt_proc *p;

	(void)state;
	start_pytest_root(&m);
	tkt_model_set_cwd(&m, ROOT, "/work/proj");
	assert_int_equal(m.ntests, 0);
	/* The session before the test peaked at 1200 pages and mapped 1 MiB: not the test's. */
	rec_test_snap(&m, T0 + SECS(1), ROOT, "tests/t.py::test_a", "setup",
		      SNAP(1000, 1200, 50, 1 << 20));
	assert_int_equal(m.ntests, 1);
	t = &m.tests[0];
	p = tkt_model_find(&m, ROOT);
	assert_int_equal(p->cur_test, 0);
	assert_string_equal(t->nodeid, "tests/t.py::test_a");
	assert_null(t->worker);
	assert_string_equal(t->cwd, "/work/proj");
	assert_int_equal(t->pid, ROOT);
	assert_int_equal(t->start_ns, T0 + SECS(1));
	assert_int_equal(t->rss_start, PG(1000));
	assert_int_equal(t->peak, PG(1000));
	assert_int_equal(t->faults_start, 50);
	assert_int_equal(t->mmap_bytes, 0);
	assert_false(t->ended);
	assert_int_equal(t->outcome, TKT_OUTCOME_RUNNING);
	assert_int_equal(tkt_test_growth(t), 0);
	/* call: the setup period peaked at 1800 pages, mapped 2 MiB. */
	rec_test_snap(&m, T0 + SECS(2), ROOT, "tests/t.py::test_a", "call",
		      SNAP(1500, 1800, 80, 2 << 20));
	assert_int_equal(m.ntests, 1);
	assert_int_equal(t->peak, PG(1800));
	assert_int_equal(t->mmap_bytes, 2 << 20);
	assert_int_equal(t->rss_start, PG(1000));
	/* teardown: the call peaked at 5000 pages. */
	rec_test_snap(&m, T0 + SECS(3), ROOT, "tests/t.py::test_a", "teardown",
		      SNAP(3000, 5000, 300, 4 << 20));
	assert_int_equal(m.ntests, 1);
	assert_int_equal(t->peak, PG(5000));
	assert_false(t->ended);
	assert_int_equal(tkt_test_retained(t), 0);
	assert_int_equal(p->cur_test, 0);
	/* unset: the teardown peaked at 3200 pages, under the call's: the peak stays. */
	rec_test_end(&m, T0 + SECS(4), ROOT, SNAP(2500, 3200, 320, 0));
	assert_int_equal(m.ntests, 1);
	assert_true(t->ended);
	assert_int_equal(t->outcome, TKT_OUTCOME_COMPLETED);
	assert_int_equal(t->start_ns, T0 + SECS(1));
	assert_int_equal(t->end_ns, T0 + SECS(4));
	assert_int_equal(t->rss_start, PG(1000));
	assert_int_equal(t->peak, PG(5000));
	assert_int_equal(t->rss_end, PG(2500));
	assert_int_equal(t->faults, 270);
	assert_int_equal(t->mmap_bytes, 6 << 20);
	assert_int_equal(t->children_peak, 0);
	assert_true(tkt_test_retained(t) == (int64_t)PG(1500));
	assert_int_equal(tkt_test_growth(t), PG(4000));
	assert_int_equal(p->cur_test, -1);
	assert_int_equal(m.tests_seen, 1);
	/* Between tests nothing is recorded: the session's peak is nobody's. */
	rec_test_snap(&m, T0 + SECS(5), ROOT, "tests/t.py::test_b", "setup",
		      SNAP(2500, 90000, 400, 8 << 20));
	assert_int_equal(m.ntests, 2);
	t = &m.tests[0];
	assert_int_equal(t->peak, PG(5000));
	assert_int_equal(t->rss_end, PG(2500));
	assert_int_equal(t->mmap_bytes, 6 << 20);
	/* A test that gives memory back retains a negative amount. */
	rec_test_snap(&m, T0 + SECS(6), ROOT, "tests/t.py::test_b", "call",
		      SNAP(2500, 2600, 410, 0));
	rec_test_snap(&m, T0 + SECS(7), ROOT, "tests/t.py::test_b", "teardown",
		      SNAP(2100, 2700, 420, 0));
	rec_test_end(&m, T0 + SECS(8), ROOT, SNAP(2000, 2100, 430, 0));
	t = &m.tests[1];
	assert_string_equal(t->nodeid, "tests/t.py::test_b");
	assert_int_equal(t->rss_start, PG(2500));
	assert_int_equal(t->peak, PG(2700));
	assert_int_equal(t->rss_end, PG(2000));
	assert_int_equal(t->faults, 30);
	assert_true(tkt_test_retained(t) == -(int64_t)PG(500));
	assert_int_equal(tkt_test_growth(t), PG(200));
	assert_int_equal(t->outcome, TKT_OUTCOME_COMPLETED);
	assert_int_equal(m.tests_seen, 2);
	assert_int_equal(m.lost_events, 0);
	tkt_model_free(&m);
}

/* A node id in several chunks: the snapshot of chunk 0 is the boundary's. */
static void test_test_record_chunked_node_id(void **state)
{
	struct tkt_model m;
	struct tkt_buf id = { 0 }, v = { 0 };
	unsigned n;

	(void)state;
	start_pytest_root(&m);
	tkt_buf_printf(&id, "t.py::test_long[");
	for (int i = 0; i < 300; i++)
		tkt_buf_printf(&id, "x%03d-", i);
	tkt_buf_printf(&id, "]");
	tkt_buf_printf(&v, "%s (setup)", id.data);
	n = env_nchunks(v.len);
	assert_true(n >= 2);
	rec_env_value_chunk_snap(&m, T0 + 10, ROOT, TKT_ENV_CURRENT_TEST, v.data, 0,
				 SNAP(700, 0, 5, 0));
	for (unsigned i = 1; i < n; i++)
		rec_env_value_chunk_snap(&m, T0 + 10 + i, ROOT, TKT_ENV_CURRENT_TEST, v.data, i,
					 SNAP(99999, 99999, 99999, 99999));
	assert_int_equal(m.ntests, 1);
	assert_string_equal(m.tests[0].nodeid, id.data);
	assert_int_equal(m.tests[0].rss_start, PG(700));
	assert_int_equal(m.tests[0].faults_start, 5);
	/* The value is complete at its last chunk. */
	assert_int_equal(m.tests[0].start_ns, T0 + 10 + n - 1);
	tkt_buf_free(&id);
	tkt_buf_free(&v);
	tkt_model_free(&m);
}

/* The teardown end was lost: the next setup closes the old record where it is. */
static void test_test_record_new_setup_closes_old(void **state)
{
	struct tkt_model m;
	const struct tkt_test_rec *t;

	(void)state;
	start_pytest_root(&m);
	rec_test_snap(&m, T0 + SECS(1), ROOT, "t.py::a", "setup", SNAP(1000, 0, 10, 0));
	rec_test_snap(&m, T0 + SECS(2), ROOT, "t.py::a", "call", SNAP(1100, 1300, 20, 0));
	/* The period since a's call boundary peaked at 2600 pages: a's. */
	rec_test_snap(&m, T0 + SECS(3), ROOT, "t.py::b", "setup", SNAP(1700, 2600, 95, 1 << 20));
	assert_int_equal(m.ntests, 2);
	assert_int_equal(m.tests_seen, 2);
	t = &m.tests[0];
	assert_string_equal(t->nodeid, "t.py::a");
	assert_true(t->ended);
	assert_int_equal(t->end_ns, T0 + SECS(3));
	assert_int_equal(t->rss_end, PG(1700));
	assert_int_equal(t->peak, PG(2600));
	assert_int_equal(t->faults, 85);
	assert_int_equal(t->mmap_bytes, 1 << 20);
	assert_true(tkt_test_retained(t) == (int64_t)PG(700));
	assert_int_equal(tkt_test_growth(t), PG(1600));
	t = &m.tests[1];
	assert_string_equal(t->nodeid, "t.py::b");
	assert_false(t->ended);
	assert_int_equal(t->start_ns, T0 + SECS(3));
	assert_int_equal(t->rss_start, PG(1700));
	assert_int_equal(t->peak, PG(1700));
	assert_int_equal(t->faults_start, 95);
	assert_int_equal(t->mmap_bytes, 0);
	assert_int_equal(tkt_model_find(&m, ROOT)->cur_test, 1);
	/* The same test set up again (a rerun, no unset between): a record of its own. */
	rec_test_snap(&m, T0 + SECS(4), ROOT, "t.py::b", "setup", SNAP(1800, 1900, 100, 0));
	assert_int_equal(m.ntests, 3);
	assert_true(m.tests[1].ended);
	assert_int_equal(m.tests[1].rss_end, PG(1800));
	assert_int_equal(m.tests[1].peak, PG(1900));
	assert_int_equal(m.tests[1].faults, 5);
	assert_ptr_equal(m.tests[2].nodeid, m.tests[1].nodeid);
	assert_int_equal(m.tests[2].rss_start, PG(1800));
	assert_false(m.tests[2].ended);
	/* The call of another test whose setup was lost opens a record too, and is a test
	 * seen: tests_seen counts the entries of tests, not setups. */
	rec_test_snap(&m, T0 + SECS(5), ROOT, "t.py::c", "call", SNAP(2000, 2100, 120, 0));
	assert_int_equal(m.ntests, 4);
	assert_int_equal(m.tests_seen, 4);
	assert_true(m.tests[2].ended);
	assert_int_equal(m.tests[2].rss_end, PG(2000));
	assert_int_equal(m.tests[2].peak, PG(2100));
	assert_string_equal(m.tests[3].nodeid, "t.py::c");
	assert_int_equal(m.tests[3].rss_start, PG(2000));
	assert_int_equal(m.tests[3].start_ns, T0 + SECS(5));
	tkt_model_free(&m);
}

/* A record closed because the next test started has ended: it is no more "interrupted" than
 * one closed by the unset (RUNNING means "never ended", model.h). */
static void test_test_record_closed_by_new_setup_is_completed(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_test_snap(&m, T0 + SECS(1), ROOT, "t.py::a", "setup", SNAP(1000, 0, 10, 0));
	rec_test_snap(&m, T0 + SECS(2), ROOT, "t.py::a", "teardown", SNAP(1100, 1300, 20, 0));
	rec_test_snap(&m, T0 + SECS(3), ROOT, "t.py::b", "setup", SNAP(1700, 2600, 95, 0));
	assert_true(m.tests[0].ended);
	assert_int_equal(m.tests[0].outcome, TKT_OUTCOME_COMPLETED);
	assert_string_equal(tkt_outcome_name(m.tests[0].outcome), "completed");
	tkt_model_free(&m);
}

/* xdist: each worker's boundaries close its own records only. */
static void test_test_records_xdist_workers(void **state)
{
	struct tkt_model m;
	const struct tkt_test_rec *a, *b;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_test_snap(&m, T0 + SECS(1), 200, "t.py::a", "setup", SNAP(10000, 0, 100, 0));
	rec_test_snap(&m, T0 + SECS(1) + 5, 201, "t.py::b", "setup", SNAP(20000, 0, 200, 0));
	rec_test_snap(&m, T0 + SECS(2), 200, "t.py::a", "call", SNAP(10000, 11000, 110, 0));
	rec_test_snap(&m, T0 + SECS(2) + 5, 201, "t.py::b", "call", SNAP(20000, 21000, 210, 0));
	/* A child of gw0's test. */
	rec_fork(&m, T0 + SECS(2) + 10, 300, 200, "python3");
	rec_test_snap(&m, T0 + SECS(3), 201, "t.py::b", "teardown", SNAP(26000, 30000, 260, 0));
	rec_exit_peak(&m, T0 + SECS(3) + 10, 300, 0, 5000);
	rec_test_end(&m, T0 + SECS(4), 200, SNAP(10500, 15000, 150, 1 << 20));
	rec_test_end(&m, T0 + SECS(5), 201, SNAP(25000, 26500, 265, 0));
	assert_int_equal(m.ntests, 2);
	assert_int_equal(m.tests_seen, 2);
	a = &m.tests[0];
	b = &m.tests[1];
	assert_string_equal(a->nodeid, "t.py::a");
	assert_int_equal(a->pid, 200);
	assert_string_equal(a->worker, "gw0");
	assert_int_equal(a->rss_start, PG(10000));
	assert_int_equal(a->peak, PG(15000));
	assert_int_equal(a->rss_end, PG(10500));
	assert_int_equal(a->faults, 50);
	assert_int_equal(a->mmap_bytes, 1 << 20);
	assert_int_equal(a->children_peak, PG(5000));
	assert_int_equal(a->start_ns, T0 + SECS(1));
	assert_int_equal(a->end_ns, T0 + SECS(4));
	assert_true(tkt_test_retained(a) == (int64_t)PG(500));
	assert_int_equal(tkt_test_growth(a), PG(5000));
	assert_string_equal(b->nodeid, "t.py::b");
	assert_int_equal(b->pid, 201);
	assert_string_equal(b->worker, "gw1");
	assert_int_equal(b->rss_start, PG(20000));
	assert_int_equal(b->peak, PG(30000));
	assert_int_equal(b->rss_end, PG(25000));
	assert_int_equal(b->faults, 65);
	assert_int_equal(b->mmap_bytes, 0);
	assert_int_equal(b->children_peak, 0);
	assert_true(tkt_test_retained(b) == (int64_t)PG(5000));
	assert_int_equal(tkt_test_growth(b), PG(10000));
	assert_int_equal(a->outcome, TKT_OUTCOME_COMPLETED);
	assert_int_equal(b->outcome, TKT_OUTCOME_COMPLETED);
	/* The controller runs no test. */
	assert_int_equal(tkt_model_find(&m, ROOT)->cur_test, -1);
	/* gw0's next test is gw0's. */
	rec_test_snap(&m, T0 + SECS(6), 200, "t.py::c", "setup", SNAP(10600, 0, 0, 0));
	assert_int_equal(m.ntests, 3);
	assert_string_equal(m.tests[2].worker, "gw0");
	assert_int_equal(m.tests[2].pid, 200);
	assert_int_equal(tkt_model_find(&m, 200)->cur_test, 2);
	assert_int_equal(tkt_model_find(&m, 201)->cur_test, -1);
	tkt_model_free(&m);
}

/* Processes spawned during a test count for it at their exit, however late. */
static void test_children_peak(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	rec_test_snap(&m, T0 + SECS(1), ROOT, "t.py::a", "setup", SNAP(1000, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(2), ROOT, "t.py::a", "call", SNAP(1000, 1000, 0, 0));
	/* subprocess.run("sh -c 'convert big.tif out.png'") and a multiprocessing child. */
	rec_fork(&m, T0 + SECS(2) + 10, 300, ROOT, "python3");
	REC_EXEC(&m, T0 + SECS(2) + 11, 300, "sh", "/bin/sh\0-c\0convert big.tif out.png\0");
	rec_fork(&m, T0 + SECS(2) + 20, 301, 300, "sh");
	REC_EXEC(&m, T0 + SECS(2) + 21, 301, "convert", "convert\0big.tif\0out.png\0");
	rec_fork(&m, T0 + SECS(2) + 30, 302, ROOT, "python3");
	assert_int_equal(tkt_model_find(&m, 301)->test_idx, 0);
	/* The grandchild through the shell. */
	rec_exit_peak(&m, T0 + SECS(3), 301, 0, 50000);
	assert_int_equal(m.tests[0].children_peak, PG(50000));
	/* The shell's smaller peak does not lower it. */
	rec_exit_peak(&m, T0 + SECS(3) + 10, 300, 0, 300);
	assert_int_equal(m.tests[0].children_peak, PG(50000));
	rec_test_end(&m, T0 + SECS(4), ROOT, SNAP(1200, 1500, 0, 0));
	rec_test_snap(&m, T0 + SECS(5), ROOT, "t.py::b", "setup", SNAP(1200, 0, 0, 0));
	/* a's multiprocessing child ends while b runs: still a's. */
	rec_exit_peak(&m, T0 + SECS(6), 302, 0, 70000);
	assert_int_equal(m.tests[0].children_peak, PG(70000));
	assert_int_equal(m.tests[1].children_peak, 0);
	/* b's own child; and a pytest run inside b (pytester): a pytest process is no child. */
	rec_fork(&m, T0 + SECS(6) + 10, 303, ROOT, "python3");
	rec_fork(&m, T0 + SECS(6) + 20, 304, ROOT, "python3");
	REC_EXEC(&m, T0 + SECS(6) + 21, 304, "python3", "/usr/bin/python3\0-m\0pytest\0-p\0pytester\0");
	rec_exit_peak(&m, T0 + SECS(7), 304, 0, 99999);
	assert_int_equal(m.tests[1].children_peak, 0);
	rec_exit_peak(&m, T0 + SECS(7) + 10, 303, 0, 1000);
	assert_int_equal(m.tests[1].children_peak, PG(1000));
	rec_test_end(&m, T0 + SECS(8), ROOT, SNAP(1200, 1300, 0, 0));
	/* A child forked between tests belongs to none. */
	rec_fork(&m, T0 + SECS(9), 305, ROOT, "git");
	assert_int_equal(tkt_model_find(&m, 305)->test_idx, -1);
	rec_exit_peak(&m, T0 + SECS(9) + 10, 305, 0, 888888);
	/* Nor does the pytest process's own exit. */
	rec_exit_peak(&m, T0 + SECS(10), ROOT, 0, 777777);
	assert_int_equal(m.tests[0].children_peak, PG(70000));
	assert_int_equal(m.tests[1].children_peak, PG(1000));
	/* The test's own peak is its own process's only. */
	assert_int_equal(m.tests[0].peak, PG(1500));
	assert_int_equal(m.tests[1].peak, PG(1300));
	tkt_model_free(&m);
}

/* The OOM killer kills the pytest process in a test: the test is killed at the victim's peak. */
static void test_oom_marks_running_test_killed(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_test_rec *t;

	(void)state;
	start_pytest_root(&m);
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), ROOT, "t.py::done", 500, 600, 700, 1000, 1000);
	rec_test_snap(&m, T0 + SECS(3), ROOT, "t.py::big", "setup", SNAP(1000, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(4), ROOT, "t.py::big", "call", SNAP(1100, 1500, 0, 0));
	t = &m.tests[1];
	/* A child of the test is the victim: the test goes on. */
	rec_fork(&m, T0 + SECS(4) + 10, 300, ROOT, "python3");
	oom_init(&e, T0 + SECS(5), 300, "python3", 40000, 300, "python3", 40000);
	e.victim_peak_pages = 40000;
	rec_oom(&m, &e);
	assert_int_equal(t->outcome, TKT_OUTCOME_RUNNING);
	assert_int_equal(t->peak, PG(1500));
	/* The pytest process itself. */
	oom_init(&e, T0 + SECS(6), ROOT, "python3", 8000, ROOT, "python3", 8000);
	e.victim_peak_pages = 9000;
	rec_oom(&m, &e);
	assert_int_equal(t->outcome, TKT_OUTCOME_KILLED);
	assert_string_equal(tkt_outcome_name(t->outcome), "killed");
	assert_int_equal(t->peak, PG(9000));
	assert_false(t->ended);
	assert_int_equal(tkt_test_retained(t), 0);
	assert_int_equal(tkt_test_growth(t), PG(8000));
	/* A later record with a lower peak does not lower it. */
	oom_init(&e, T0 + SECS(6) + 10, ROOT, "python3", 100, ROOT, "python3", 100);
	e.victim_peak_pages = 2000;
	rec_oom(&m, &e);
	assert_int_equal(t->peak, PG(9000));
	/* Its exit changes nothing; the completed test before it is untouched. */
	rec_exit_peak(&m, T0 + SECS(7), ROOT, 9, 9000);
	assert_int_equal(t->outcome, TKT_OUTCOME_KILLED);
	assert_false(t->ended);
	assert_int_equal(t->children_peak, 0);
	assert_int_equal(m.tests[0].outcome, TKT_OUTCOME_COMPLETED);
	assert_int_equal(m.tests[0].peak, PG(1000));
	assert_int_equal(m.ntests, 2);
	tkt_model_free(&m);
}

/* A SIGKILL that took effect kills the test its pytest process runs. */
static void test_sigkill_marks_running_test_killed(void **state)
{
	struct tkt_model m;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_whole_test(&m, T0 + SECS(1), T0 + SECS(2), 200, "t.py::done", 1000, 1100, 1200, 1150, 1100);
	rec_test_snap(&m, T0 + SECS(3), 200, "t.py::hang", "setup", SNAP(1100, 0, 0, 0));
	rec_test_snap(&m, T0 + SECS(3) + MSECS(1), 200, "t.py::hang", "call", SNAP(1100, 1150, 0, 0));
	/* Not a kill: SIGTERM; a SIGKILL that did not take effect. */
	rec_signal(&m, T0 + SECS(4), 200, "python3", 15, 555, "timeout", 0, 1100);
	rec_signal_result(&m, T0 + SECS(4) + 1, 200, "python3", 9, 555, "bash", 0, 1100, SIG_IGNORED);
	assert_int_equal(m.tests[1].outcome, TKT_OUTCOME_RUNNING);
	rec_signal(&m, T0 + SECS(5), 200, "python3", 9, 555, "bash", 0, 1300);
	assert_int_equal(m.tests[1].outcome, TKT_OUTCOME_KILLED);
	/* A signal carries no peak. */
	assert_int_equal(m.tests[1].peak, PG(1150));
	assert_false(m.tests[1].ended);
	assert_int_equal(m.tests[0].outcome, TKT_OUTCOME_COMPLETED);
	/* Between tests, a SIGKILL kills no test. */
	rec_whole_test(&m, T0 + SECS(6), T0 + SECS(7), 201, "t.py::other", 1000, 1000, 1000, 1000, 1000);
	rec_signal(&m, T0 + SECS(8), 201, "python3", 9, 555, "bash", 0, 1000);
	assert_int_equal(m.tests[2].outcome, TKT_OUTCOME_COMPLETED);
	/* A SIGKILL of a test's child is not one of the test. */
	start_worker(&m, T0 + SECS(9), 202, "gw2");
	rec_test_snap(&m, T0 + SECS(10), 202, "t.py::sub", "setup", SNAP(1000, 0, 0, 0));
	rec_fork(&m, T0 + SECS(10) + 10, 400, 202, "python3");
	rec_signal(&m, T0 + SECS(11), 400, "python3", 9, 202, "python3", 0, 1000);
	assert_int_equal(m.tests[3].outcome, TKT_OUTCOME_RUNNING);
	assert_int_equal(m.nkills, 3);
	tkt_model_free(&m);
}

/* ---- Blame: what the victim's pytest process kept from earlier tests ---- */

static const char *blame_top(const struct tkt_model *m, const struct tkt_blame *b, size_t i)
{
	assert_true(i < b->ntop);
	assert_true(b->top[i] >= 0 && (size_t)b->top[i] < m->ntests);
	return m->tests[b->top[i]].nodeid;
}

/* A completed test in pid from rss_start to rss_end pages, peaking 10 pages above both. */
static void leak_test(struct tkt_model *m, uint64_t *ts, uint32_t pid, const char *id,
		      uint64_t rss_start, uint64_t rss_end)
{
	uint64_t top = (rss_start > rss_end ? rss_start : rss_end) + 10;

	rec_whole_test(m, *ts, *ts + MSECS(100), pid, id, rss_start, rss_start, top, rss_end, rss_end);
	*ts += MSECS(200);
}

static void test_blame_top5(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_blame *b;
	uint64_t ts = T0 + SECS(1);

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	leak_test(&m, &ts, 200, "t.py::t1", 1000, 1100); /* +100 */
	leak_test(&m, &ts, 200, "t.py::t2", 1100, 1050); /* -50: gave back */
	leak_test(&m, &ts, 200, "t.py::t3", 1050, 1350); /* +300 */
	/* The other worker's big leak is not this worker's memory. */
	leak_test(&m, &ts, 201, "t.py::other", 1000, 101000);
	leak_test(&m, &ts, 200, "t.py::t4", 1350, 1350); /* 0 */
	leak_test(&m, &ts, 200, "t.py::t5", 1350, 1550); /* +200 */
	leak_test(&m, &ts, 200, "t.py::t6", 1550, 2050); /* +500 */
	leak_test(&m, &ts, 200, "t.py::t7", 2050, 2200); /* +150 */
	leak_test(&m, &ts, 200, "t.py::t8", 2200, 2450); /* +250 */
	leak_test(&m, &ts, 200, "t.py::t9", 2450, 2500); /* +50 */
	leak_test(&m, &ts, 200, "t.py::t10", 2500, 2650); /* +150, ties t7: the earlier stays */
	rec_test_snap(&m, ts, 200, "t.py::running", "setup", SNAP(2650, 0, 0, 0));
	rec_test_snap(&m, ts + MSECS(1), 200, "t.py::running", "call", SNAP(2650, 2660, 0, 0));
	rec_test_snap(&m, ts + MSECS(2), 201, "t.py::alloc", "setup", SNAP(101000, 0, 0, 0));
	assert_int_equal(m.ntests, 13);
	oom_init(&e, ts + SECS(1), 200, "python3", 2850, 201, "python3", 101000);
	e.victim_peak_pages = 2900;
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_true(b->valid);
	assert_int_equal(b->pid, 200);
	assert_int_equal(b->ntests, 8);
	assert_int_equal(b->retained_total, PG(1700));
	assert_int_equal(b->running, 11);
	assert_string_equal(m.tests[b->running].nodeid, "t.py::running");
	/* What the running test holds now over its start: the victim's rss at the kill. */
	assert_int_equal(b->running_growth, PG(200));
	assert_int_equal(b->ntop, TKT_BLAME_TOP);
	assert_int_equal(TKT_BLAME_TOP, 5);
	assert_string_equal(blame_top(&m, b, 0), "t.py::t6");
	assert_string_equal(blame_top(&m, b, 1), "t.py::t3");
	assert_string_equal(blame_top(&m, b, 2), "t.py::t8");
	assert_string_equal(blame_top(&m, b, 3), "t.py::t5");
	assert_string_equal(blame_top(&m, b, 4), "t.py::t7");
	/* Verdict: the running test is not the main culprit. */
	assert_true(b->running_growth < b->retained_total);
	/* The killed test's own record got the victim's peak. */
	assert_int_equal(m.tests[11].outcome, TKT_OUTCOME_KILLED);
	assert_int_equal(m.tests[11].peak, PG(2900));
	tkt_model_free(&m);
}

/* With a noise floor (tktrace uses 1 MiB), tests that left less are not blamed. */
static void test_blame_noise_floor(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_blame *b;
	uint64_t ts = T0 + SECS(1);

	(void)state;
	start_pytest_root(&m);
	m.o.retained_noise = PG(100);
	start_worker(&m, T0 + 100, 200, "gw0");
	leak_test(&m, &ts, 200, "t.py::crumb", 1000, 1099); /* +99 pages: under the floor */
	leak_test(&m, &ts, 200, "t.py::cache", 1099, 1199); /* +100: at the floor, counted */
	rec_test_snap(&m, ts, 200, "t.py::big", "setup", SNAP(1199, 0, 0, 0));
	oom_init(&e, ts + SECS(1), 200, "python3", 1300, 200, "python3", 1300);
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_int_equal(b->ntests, 1);
	assert_int_equal(b->retained_total, PG(100));
	assert_string_equal(blame_top(&m, b, 0), "t.py::cache");
	tkt_model_free(&m);
}

/* Fewer than five, found in any order: largest first; the running test may be the culprit. */
static void test_blame_few_and_culprit(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_blame *b;
	uint64_t ts = T0 + SECS(1);

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	leak_test(&m, &ts, 200, "t.py::small", 1000, 1050); /* +50 */
	leak_test(&m, &ts, 200, "t.py::large", 1050, 1150); /* +100 */
	rec_test_snap(&m, ts, 200, "t.py::big", "setup", SNAP(1150, 0, 0, 0));
	rec_test_snap(&m, ts + MSECS(1), 200, "t.py::big", "call", SNAP(1150, 1160, 0, 0));
	/* Grew by 250 pages >= the 150 kept before. */
	oom_init(&e, ts + SECS(1), 200, "python3", 1400, 200, "python3", 1400);
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_true(b->valid);
	assert_int_equal(b->ntests, 2);
	assert_int_equal(b->retained_total, PG(150));
	assert_int_equal(b->ntop, 2);
	assert_string_equal(blame_top(&m, b, 0), "t.py::large");
	assert_string_equal(blame_top(&m, b, 1), "t.py::small");
	assert_int_equal(b->running_growth, PG(250));
	assert_true(b->running_growth >= b->retained_total);
	tkt_model_free(&m);

	/* Exactly as much as before: still the main culprit (>=). */
	ts = T0 + SECS(1);
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	leak_test(&m, &ts, 200, "t.py::small", 1000, 1050);
	leak_test(&m, &ts, 200, "t.py::large", 1050, 1150);
	rec_test_snap(&m, ts, 200, "t.py::big", "setup", SNAP(1150, 0, 0, 0));
	oom_init(&e, ts + SECS(1), 200, "python3", 1300, 200, "python3", 1300);
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_int_equal(b->running_growth, PG(150));
	assert_int_equal(b->retained_total, PG(150));
	tkt_model_free(&m);
}

/* The victim is a descendant of a pytest worker: blame that worker's tests. */
static void test_blame_victim_child_of_worker(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_blame *b;
	uint64_t ts = T0 + SECS(1);

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	leak_test(&m, &ts, 200, "t.py::cache", 1000, 3000); /* +2000 */
	leak_test(&m, &ts, 201, "t.py::elsewhere", 1000, 9000);
	rec_test_snap(&m, ts, 200, "t.py::sub", "setup", SNAP(3000, 0, 0, 0));
	rec_test_snap(&m, ts + MSECS(1), 200, "t.py::sub", "call", SNAP(3000, 3400, 0, 0));
	rec_fork(&m, ts + MSECS(2), 300, 200, "python3");
	REC_EXEC(&m, ts + MSECS(3), 300, "sh", "/bin/sh\0-c\0./hog\0");
	rec_fork(&m, ts + MSECS(4), 301, 300, "sh");
	/* The grandchild is killed; the trigger is on the other worker. */
	oom_init(&e, ts + SECS(1), 301, "hog", 500, 201, "python3", 9000);
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_true(b->valid);
	assert_int_equal(b->pid, 200);
	assert_int_equal(b->ntests, 1);
	assert_int_equal(b->retained_total, PG(2000));
	assert_int_equal(b->ntop, 1);
	assert_string_equal(blame_top(&m, b, 0), "t.py::cache");
	assert_int_equal(b->running, 2);
	assert_string_equal(m.tests[2].nodeid, "t.py::sub");
	/* The worker is no victim: its test is not killed, its peak not raised. */
	assert_int_equal(m.tests[2].outcome, TKT_OUTCOME_RUNNING);
	assert_int_equal(m.tests[2].peak, PG(3400));
	/* The worker itself triggers the kill of its child: the running growth is the
	 * trigger's rss at the kill over the test's start. */
	oom_init(&e, ts + SECS(2), 300, "sh", 0, 200, "python3", 3600);
	rec_oom(&m, &e);
	b = &m.ooms[1].blame;
	assert_int_equal(b->pid, 200);
	assert_int_equal(b->running, 2);
	assert_int_equal(b->running_growth, PG(600));
	tkt_model_free(&m);
}

/* A test whose subprocess is the OOM victim is the culprit, whatever earlier tests kept. */
static void test_blame_running_test_subprocess_victim(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_blame *b;
	uint64_t ts = T0 + SECS(1);

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	leak_test(&m, &ts, 200, "t.py::cache", 1000, 3000); /* +2000 pages, 7.8 MiB */
	rec_test_snap(&m, ts, 200, "t.py::sub", "setup", SNAP(3000, 0, 0, 0));
	rec_test_snap(&m, ts + MSECS(1), 200, "t.py::sub", "call", SNAP(3000, 3400, 0, 0));
	rec_fork(&m, ts + MSECS(2), 300, 200, "python3");
	REC_EXEC(&m, ts + MSECS(3), 300, "hog", "./hog\0");
	oom_init(&e, ts + SECS(1), 300, "hog", 262144, 300, "hog", 262144); /* 1 GiB */
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_int_equal(b->running, 1);
	assert_int_equal(b->retained_total, PG(2000));
	/* Its own growth (400 pages) plus its killed subprocess (1 GiB). */
	assert_int_equal(b->running_growth, PG(400) + PG(262144));
	assert_true(b->running_growth >= b->retained_total);
	tkt_model_free(&m);
}

static void test_blame_no_pytest_process(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	const struct tkt_blame *b;

	(void)state;
	start_pytest_root(&m);
	/* An untraced victim: no blame at all. */
	oom_init(&e, T0 + SECS(1), 5555, "foo", 10, 5555, "foo", 10);
	rec_oom(&m, &e);
	b = &m.ooms[0].blame;
	assert_false(b->valid);
	assert_int_equal(b->running, -1);
	assert_int_equal(b->ntests, 0);
	assert_int_equal(b->ntop, 0);
	/* COMMAND before any test: blame valid, nothing running, nothing kept. */
	oom_init(&e, T0 + SECS(2), ROOT, "python3", 10, ROOT, "python3", 10);
	rec_oom(&m, &e);
	b = &m.ooms[1].blame;
	assert_true(b->valid);
	assert_int_equal(b->pid, ROOT);
	assert_int_equal(b->running, -1);
	assert_int_equal(b->running_growth, 0);
	assert_int_equal(b->ntests, 0);
	assert_int_equal(b->retained_total, 0);
	assert_int_equal(b->ntop, 0);
	tkt_model_free(&m);

	/* A traced process with no pytest process above it. */
	model_start(&m, ROOT, NULL);
	assert_int_equal(tkt_model_add_root(&m, ROOT, "make", T0), 0);
	REC_EXEC(&m, T0 + 1, ROOT, "make", "make\0test\0");
	oom_init(&e, T0 + SECS(1), ROOT, "make", 10, ROOT, "make", 10);
	rec_oom(&m, &e);
	assert_false(m.ooms[0].blame.valid);
	tkt_model_free(&m);
}

/* ---- COMMAND's cgroup usage over time ---- */

static void test_cg_samples_downsampled(void **state)
{
	struct tkt_model m;
	uint64_t i;

	(void)state;
	model_start(&m, ROOT, NULL);
	assert_null(m.cg_samples);
	assert_int_equal(m.ncg_samples, 0);
	assert_int_equal(m.cg_peak, 0);
	tkt_model_set_cgroup(&m, "/sys/fs/cgroup/tktrace-7", true, 512ULL << 20);
	assert_string_equal(m.cg_path, "/sys/fs/cgroup/tktrace-7");
	assert_true(m.cg_has_limit);
	assert_int_equal(m.cg_limit, 512ULL << 20);
	/* Up to TKT_CG_SAMPLES: every sample, in order. */
	for (i = 0; i < TKT_CG_SAMPLES; i++)
		tkt_model_cg_sample(&m, T0 + MSECS(i), i == 7 ? 999999 : i * 10);
	assert_int_equal(TKT_CG_SAMPLES, 2048);
	assert_int_equal(m.ncg_samples, 2048);
	assert_int_equal(m.cg_stride, 1);
	assert_int_equal(m.cg_peak, 999999);
	assert_int_equal(m.cg_samples[7][1], 999999);
	assert_int_equal(m.cg_samples[2047][0], T0 + MSECS(2047));
	assert_int_equal(m.cg_samples[2047][1], 20470);
	/* One more: half the resolution, every other sample kept, then the new one. */
	tkt_model_cg_sample(&m, T0 + MSECS(2048), 20480);
	assert_int_equal(m.cg_stride, 2);
	assert_int_equal(m.ncg_samples, 1025);
	for (i = 0; i < 1024; i++) {
		assert_int_equal(m.cg_samples[i][0], T0 + MSECS(2 * i));
		assert_int_equal(m.cg_samples[i][1], 20 * i);
	}
	assert_int_equal(m.cg_samples[1024][0], T0 + MSECS(2048));
	/* Now every other sample is dropped, but the peak still sees it. */
	tkt_model_cg_sample(&m, T0 + MSECS(2049), 5000000);
	assert_int_equal(m.ncg_samples, 1025);
	assert_int_equal(m.cg_peak, 5000000);
	tkt_model_cg_sample(&m, T0 + MSECS(2050), 20500);
	assert_int_equal(m.ncg_samples, 1026);
	assert_int_equal(m.cg_samples[1025][0], T0 + MSECS(2050));
	assert_int_equal(m.cg_samples[1025][1], 20500);
	/* A long run: bounded, evenly spaced, always starting at the first sample. */
	for (i = 2051; i <= 100000; i++) {
		tkt_model_cg_sample(&m, T0 + MSECS(i), i * 10);
		if (m.ncg_samples > TKT_CG_SAMPLES)
			fail_msg("%zu samples after %llu", m.ncg_samples, (unsigned long long)i);
	}
	/* Halved at samples 2048, 4096, ..., 65536: one in 64 kept. */
	assert_int_equal(m.cg_stride, 64);
	assert_int_equal(m.ncg_samples, 1563);
	for (i = 0; i < m.ncg_samples; i++) {
		assert_int_equal(m.cg_samples[i][0], T0 + MSECS(64 * i));
		assert_int_equal(m.cg_samples[i][1], 640 * i);
	}
	assert_int_equal(m.cg_samples[1562][0], T0 + MSECS(99968));
	assert_int_equal(m.cg_peak, 5000000);
	/* No cgroup. */
	tkt_model_set_cgroup(&m, NULL, false, 0);
	assert_null(m.cg_path);
	assert_false(m.cg_has_limit);
	tkt_model_free(&m);
}

/* cd tests && pytest: the tracer finds the rootdir after the first test started and sets it
 * as the cwd; what was recorded with the cwd moves along (tests, kills of the process and
 * of its children, children's own cwd), other pytest processes keep theirs. */
static void test_set_cwd_moves_recorded(void **state)
{
	struct tkt_model m;
	static const char SLEEP[] = "sleep\0" "100\0";

	(void)state;
	start_pytest_root(&m);
	tkt_model_set_cwd(&m, ROOT, "/w/p/tests");
	rec_test(&m, T0 + SECS(1), ROOT, "tests/test_a.py::test_x", "setup");
	rec_fork(&m, T0 + SECS(1) + 10, 300, ROOT, "python3");
	rec_exec(&m, T0 + SECS(1) + 20, 300, "sleep", SLEEP, sizeof(SLEEP) - 1);
	rec_fork(&m, T0 + SECS(1) + 30, 301, ROOT, "python3");
	rec_signal(&m, T0 + SECS(1) + 40, 300, "sleep", 9, ROOT, "python3", 0, 10);
	/* Another pytest (not a descendant) in the same directory keeps its own. */
	rec_fork(&m, T0 + SECS(1) + 50, 400, 1, "python3");
	rec_exec(&m, T0 + SECS(1) + 60, 400, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
	tkt_model_set_cwd(&m, 400, "/w/p/tests");
	rec_test(&m, T0 + SECS(1) + 70, 400, "test_b.py::test_y", "setup");
	assert_int_equal(m.ntests, 2);
	assert_int_equal(m.nkills, 1);
	assert_string_equal(m.kills[0].target.cwd, "/w/p/tests");

	tkt_model_set_cwd(&m, ROOT, "/w/p");
	assert_string_equal(tkt_model_find(&m, ROOT)->cwd, "/w/p");
	assert_string_equal(m.tests[0].cwd, "/w/p");
	assert_string_equal(m.kills[0].target.cwd, "/w/p");
	assert_string_equal(tkt_model_find(&m, 301)->cwd, "/w/p");
	assert_string_equal(m.tests[1].cwd, "/w/p/tests");
	assert_string_equal(tkt_model_find(&m, 400)->cwd, "/w/p/tests");
	/* Parties made later copy the new one. */
	rec_signal(&m, T0 + SECS(2), 301, "python3", 9, 999, "timeout", 0, 10);
	assert_int_equal(m.nkills, 2);
	assert_string_equal(m.kills[1].target.cwd, "/w/p");
	/* The same again changes nothing. */
	tkt_model_set_cwd(&m, ROOT, "/w/p");
	assert_string_equal(m.tests[0].cwd, "/w/p");
	tkt_model_free(&m);
}

/* A stack record as bpf/pystack.bpf.h sends it: one frame at ascii file:line, the 3.11 location
 * table for "line = first + delta" at instruction 0, then the used part of the pool only. */
static void rec_pystack(struct tkt_model *m, uint64_t ts, uint32_t pid, uint32_t tid,
			uint32_t role, const char *file, int line)
{
	static struct tkt_ev_pystack e;
	const uint8_t loc[] = { 0x80 | (13 << 3) | 0, (uint8_t)(2 * 3) }; /* one unit, line +3 */

	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_PYSTACK, pid, ts);
	e.h.tid = tid;
	e.role = role;
	e.version = 0x30b;
	if (file) {
		e.nframes = 1;
		e.f[0].firstlineno = line - 3;
		e.f[0].lasti = 0;
		e.f[0].file_len = strlen(file);
		memcpy(e.f[0].file, file, strlen(file));
		e.f[0].name_len = 4;
		memcpy(e.f[0].name, "test", 4);
		e.f[0].table_total = sizeof(loc);
		e.f[0].table_len = sizeof(loc);
		memcpy(e.pool, loc, sizeof(loc));
		e.pool_used = sizeof(loc);
	} else {
		e.err = TKT_PYE_FAULT;
	}
	assert_int_equal(tkt_model_apply(m, &e, offsetof(struct tkt_ev_pystack, pool) + e.pool_used),
			 0);
}

/* Stacks hang on the right party: the trigger's own; the victim's when its SIGKILL is dequeued,
 * even before the OOM record (another CPU); the main thread's over another's; never a
 * malformed record's. */
static void test_pystacks(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;
	static struct tkt_ev_pystack bad;
	const struct tkt_oom_rec *r;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	/* The victim's other thread, then its main thread, dequeue SIGKILL before the record. */
	rec_pystack(&m, T0 + SECS(2) - 20, 200, 207, TKT_PY_KILLED, "/p/worker_thread.py", 5);
	rec_pystack(&m, T0 + SECS(2) - 10, 200, 200, TKT_PY_KILLED, "/p/test_hold.py", 12);
	oom_init(&e, T0 + SECS(2), 200, "python3", 262144, 201, "python3", 1024);
	rec_oom(&m, &e);
	rec_pystack(&m, T0 + SECS(2) + 1, 201, 201, TKT_PY_TRIGGER, "/p/test_grow.py", 42);
	rec_pystack(&m, T0 + SECS(2) + 2, 201, 209, TKT_PY_KILLED, "/p/other.py", 7);
	r = &m.ooms[0];
	assert_true(r->trigger.py.present);
	assert_int_equal(r->trigger.py.nframes, 1);
	assert_string_equal(r->trigger.py.f[0].file, "/p/test_grow.py");
	assert_int_equal(r->trigger.py.f[0].line, 42);
	assert_string_equal(r->trigger.py.f[0].func, "test");
	assert_true(r->victim.py.present);
	assert_int_equal(r->victim.py.tid, 200);
	assert_string_equal(r->victim.py.f[0].file, "/p/test_hold.py");
	assert_int_equal(r->victim.py.f[0].line, 12);
	assert_int_equal(m.py_walks, 4);
	/* A SIGKILL from outside: its target's stack, or why there is none. */
	rec_signal(&m, T0 + SECS(3), 201, "python3", 9, 99, "bash", 0, 100);
	rec_pystack(&m, T0 + SECS(3) + 5, 201, 201, TKT_PY_KILLED, NULL, 0);
	assert_true(m.kills[0].target.py.present);
	assert_int_equal(m.kills[0].target.py.err, TKT_PYE_FAULT);
	/* Frames over none. */
	rec_pystack(&m, T0 + SECS(3) + 6, 201, 203, TKT_PY_KILLED, "/p/t.py", 3);
	assert_int_equal(m.kills[0].target.py.nframes, 1);
	/* Malformed: more frames than the record holds, a table outside the pool. */
	memset(&bad, 0, sizeof(bad));
	hdr_fill(&bad.h, TKT_EV_PYSTACK, 201, T0 + SECS(4));
	bad.nframes = TKT_PY_FRAMES + 1;
	assert_int_equal(tkt_model_apply(&m, &bad, sizeof(bad)), -EINVAL);
	bad.nframes = 1;
	bad.f[0].table_len = 16;
	bad.pool_used = 8;
	assert_int_equal(tkt_model_apply(&m, &bad, sizeof(bad)), -EINVAL);
	assert_int_equal(tkt_model_apply(&m, &bad, offsetof(struct tkt_ev_pystack, pool) - 1), -EINVAL);
	tkt_model_free(&m);
}

/* A trigger's stack stamped before its OOM record (its own program ran first) still hangs on
 * the trigger, and on the victim when they are one process. */
static void test_trigger_stack_before_oom_record(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	rec_pystack(&m, T0 + SECS(2) - 5, 200, 200, TKT_PY_TRIGGER, "/p/test_big.py", 9);
	oom_init(&e, T0 + SECS(2), 200, "python3", 262144, 200, "python3", 262144);
	rec_oom(&m, &e);
	assert_string_equal(m.ooms[0].trigger.py.f[0].file, "/p/test_big.py");
	assert_int_equal(m.ooms[0].victim.py.f[0].line, 9);
	tkt_model_free(&m);
}

/* The usual order at an OOM kill on two CPUs: the kernel's SIGKILL to the victim (from the
 * trigger), the victim's thread dequeuing it, then mark_victim's record. */
static void test_pystack_before_oom_record(void **state)
{
	struct tkt_model m;
	struct tkt_ev_oom e;

	(void)state;
	start_pytest_root(&m);
	start_worker(&m, T0 + 100, 200, "gw0");
	start_worker(&m, T0 + 110, 201, "gw1");
	rec_signal(&m, T0 + SECS(2) - 30, 200, "python3", 9, 201, "python3", TKT_SIG_F_KERNEL, 100);
	rec_pystack(&m, T0 + SECS(2) - 20, 200, 200, TKT_PY_KILLED, "/p/test_hold.py", 12);
	oom_init(&e, T0 + SECS(2), 200, "python3", 262144, 201, "python3", 1024);
	rec_oom(&m, &e);
	assert_int_equal(m.nkills, 0);
	assert_true(m.ooms[0].victim.py.present);
	assert_string_equal(m.ooms[0].victim.py.f[0].file, "/p/test_hold.py");
	assert_int_equal(m.ooms[0].victim.py.f[0].line, 12);
	tkt_model_free(&m);
}
