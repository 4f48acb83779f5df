/* Unit tests for user/tracing/environ.c: this process's own environment, read back from its
 * memory the way tktrace reads a traced process's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "environ.h"

static void test_value_set_by_setenv_is_read(void **state)
{
	struct tkt_buf v = { 0 };

	(void)state;
	assert_int_equal(setenv("PYTEST_XDIST_WORKER", "gw7", 1), 0);
	assert_int_equal(tkt_proc_getenv((unsigned)getpid(), "PYTEST_XDIST_WORKER", &v), 1);
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.data, "gw7", 3);
	/* A name that is a prefix of another is not that other. */
	assert_int_equal(setenv("PYTEST_X", "no", 1), 0);
	assert_int_equal(unsetenv("PYTEST_XDIST_WORKER"), 0);
	assert_int_equal(tkt_proc_getenv((unsigned)getpid(), "PYTEST_XDIST_WORKER", &v), 0);
	unsetenv("PYTEST_X");
	tkt_buf_free(&v);
}

static void test_long_value_is_read_whole(void **state)
{
	static char big[20000];
	struct tkt_buf v = { 0 };

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "t.py::test[", 11);
	assert_int_equal(setenv("PYTEST_CURRENT_TEST", big, 1), 0);
	assert_int_equal(tkt_proc_getenv((unsigned)getpid(), "PYTEST_CURRENT_TEST", &v), 1);
	assert_int_equal(v.len, sizeof(big) - 1);
	assert_memory_equal(v.data, big, sizeof(big) - 1);
	unsetenv("PYTEST_CURRENT_TEST");
	tkt_buf_free(&v);
}

static void test_gone_process_is_an_error(void **state)
{
	struct tkt_buf v = { 0 };

	(void)state;
	assert_true(tkt_proc_getenv(0x7ffffff0u, "PATH", &v) < 0);
	tkt_buf_free(&v);
}

static void test_initial_environment_is_the_exec_one(void **state)
{
	struct tkt_buf v = { 0 };
	const char *path = getenv("PATH");

	(void)state;
	assert_int_equal(setenv("TKT_SET_AFTER_START", "1", 1), 0);
	assert_int_equal(tkt_proc_initial_env((unsigned)getpid(), "TKT_SET_AFTER_START", &v), 0);
	if (path) { /* make runs the tests with a PATH */
		assert_int_equal(tkt_proc_initial_env((unsigned)getpid(), "PATH", &v), 1);
		assert_int_equal(v.len, strlen(path));
	}
	assert_true(tkt_proc_initial_env(0x7ffffff0u, "PATH", &v) < 0);
	unsetenv("TKT_SET_AFTER_START");
	tkt_buf_free(&v);
}
