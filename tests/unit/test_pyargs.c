/* Unit tests for user/core/pyargs.c: pytest --pyargs node ids to files and rerun arguments, and
 * the options read from a pytest command line. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pyargs.h"
#include "report.h"

/* argv literal with embedded NULs: sizeof - 1 keeps the last argument's NUL. */
#define ARGV(s) s, sizeof(s) - 1

static void test_names_need_pyargs(void **state)
{
	struct tkt_buf b = { 0 };

	(void)state;
	assert_false(tkt_pyargs_names(ARGV("/usr/bin/python3\0-m\0pytest\0tests\0"), &b));
	assert_true(tkt_pyargs_names(ARGV("/usr/bin/python3\0-m\0pytest\0-v\0--pyargs\0numpy.lib\0"
					  "numpy.random\0"),
				     &b));
	assert_string_equal(b.data, "numpy.lib\nnumpy.random\n");
	/* Option values are not arguments; paths and "::" tails are not module names. */
	assert_true(tkt_pyargs_names(ARGV("/usr/bin/python3\0-m\0pytest\0-p\0no:cacheprovider\0"
					  "-k\0test_format\0-n\0002\0--pyargs\0"
					  "numpy.lib.tests.test_format::test_x\0./tests\0"
					  "--junitxml=j.xml\0"),
				     &b));
	assert_string_equal(b.data, "numpy.lib.tests.test_format\n");
	/* The pytest script: argv[0] is the interpreter, argv[1] the script's path. */
	assert_true(tkt_pyargs_names(ARGV("/usr/bin/python3\0/usr/bin/pytest\0--pyargs\0pkg\0"), &b));
	assert_string_equal(b.data, "pkg\n");
	tkt_buf_free(&b);
}

static void test_junitxml(void **state)
{
	struct tkt_buf b = { 0 };

	(void)state;
	assert_false(tkt_pytest_junitxml(ARGV("python3\0-m\0pytest\0"), "/w", &b));
	assert_true(tkt_pytest_junitxml(ARGV("python3\0-m\0pytest\0--junitxml=out/j.xml\0"), "/w", &b));
	assert_string_equal(b.data, "/w/out/j.xml");
	assert_true(tkt_pytest_junitxml(ARGV("python3\0-m\0pytest\0--junit-xml\0/tmp/j.xml\0"), "/w",
					&b));
	assert_string_equal(b.data, "/tmp/j.xml");
	/* The last one counts, as in pytest. */
	assert_true(tkt_pytest_junitxml(ARGV("pytest\0--junitxml=a.xml\0--junitxml=b.xml\0"), "/w", &b));
	assert_string_equal(b.data, "/w/b.xml");
	assert_false(tkt_pytest_junitxml(ARGV("pytest\0--junitxml\0"), "/w", &b));
	tkt_buf_free(&b);
}

static char tmp[128];

static void touch(const char *rel)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_root_and_spec(void **state)
{
	struct tkt_buf roots = { 0 }, b = { 0 }, mod = { 0 };

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/tkt-pyargs-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	touch("numpy/lib/tests/test_format.py");
	touch("numpy/fft/tests/test_pocketfft.py");
	touch("numpy/lib/tests/test_io.py");
	tkt_buf_printf(&roots, "numpy.lib\t%s/numpy/lib\nnumpy.fft\t%s/numpy/fft\n", tmp, tmp);

	/* Two roots: the one that has the file. */
	assert_true(tkt_pyargs_spec(roots.data, "tests/test_pocketfft.py::TestFFT1D::test_n[1]", &b));
	assert_string_equal(b.data, "numpy.fft.tests.test_pocketfft::TestFFT1D::test_n[1]");
	assert_true(tkt_pyargs_spec(roots.data, "tests/test_format.py::test_large_archive", &b));
	assert_string_equal(b.data, "numpy.lib.tests.test_format::test_large_archive");
	assert_true(tkt_pyargs_root(roots.data, "tests/test_io.py::test_x", &mod, &b));
	assert_string_equal(mod.data, "numpy.lib");
	tkt_buf_reset(&mod);
	tkt_buf_printf(&mod, "%s/numpy/lib/tests/test_io.py", tmp);
	assert_string_equal(b.data, mod.data);
	/* In none of them (a report read elsewhere): no guess between two. */
	assert_false(tkt_pyargs_spec(roots.data, "tests/test_gone.py::test_x", &b));

	/* One root without the file: a package inside the rootdir (pytest --pyargs mypkg from
	 * the project: node ids are rootdir-relative, "mypkg/tests/test_a.py::t"), or a report
	 * read where the files are not. The directory's path then, not a guess. */
	tkt_buf_reset(&roots);
	tkt_buf_printf(&roots, "mypkg\t%s/mypkg\n", tmp);
	touch("mypkg/tests/test_a.py");
	assert_false(tkt_pyargs_spec(roots.data, "mypkg/tests/test_a.py::test_x", &b));
	tkt_test_file(&b, tmp, roots.data, "mypkg/tests/test_a.py::test_x");
	tkt_buf_reset(&mod);
	tkt_buf_printf(&mod, "%s/mypkg/tests/test_a.py", tmp);
	assert_string_equal(b.data, mod.data);
	/* A module argument: node ids have no file part. */
	tkt_buf_reset(&roots);
	tkt_buf_printf(&roots, "numpy.lib.tests.test_format\t%s/numpy/lib/tests/test_format.py\n",
		       tmp);
	assert_true(tkt_pyargs_spec(roots.data, "::TestC::test_x", &b));
	assert_string_equal(b.data, "numpy.lib.tests.test_format::TestC::test_x");
	tkt_test_file(&b, "/cwd", roots.data, "::TestC::test_x");
	tkt_buf_reset(&mod);
	tkt_buf_printf(&mod, "%s/numpy/lib/tests/test_format.py", tmp);
	assert_string_equal(b.data, mod.data);

	/* Without --pyargs: relative to the directory, as before. */
	tkt_test_file(&b, "/cwd", NULL, "tests/test_a.py::test_x");
	assert_string_equal(b.data, "/cwd/tests/test_a.py");
	tkt_test_file(&b, NULL, NULL, "tests/test_a.py::test_x");
	assert_string_equal(b.data, "tests/test_a.py");

	tkt_buf_free(&roots);
	tkt_buf_free(&b);
	tkt_buf_free(&mod);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
}

/* The printed rerun: same directory, same --pyargs way of naming the suite (issue 13: it was
 * "cd /tmp/x && python3 -m pytest tests/test_format.py::test_large_archive", file not found). */
static void test_rerun_command(void **state)
{
	struct tkt_party p = { 0 };
	struct tkt_buf b = { 0 }, roots = { 0 };
	char cmd[256];

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/tkt-pyargs-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	touch("numpy/lib/tests/test_format.py");
	tkt_buf_printf(&roots, "numpy.lib\t%s/numpy/lib\n", tmp);
	p.attr.test = "tests/test_format.py::test_large_archive";
	p.cwd = "/tmp/x";
	p.pytest_cmd = "/usr/bin/python3 -m pytest";
	p.pyargs = roots.data;
	assert_true(tkt_rerun_command(&b, &p));
	assert_string_equal(b.data, "cd /tmp/x && /usr/bin/python3 -m pytest --pyargs "
				    "numpy.lib.tests.test_format::test_large_archive");
	tkt_buf_reset(&b);
	p.pyargs = NULL;
	assert_true(tkt_rerun_command(&b, &p));
	assert_string_equal(b.data, "cd /tmp/x && /usr/bin/python3 -m pytest "
				    "tests/test_format.py::test_large_archive");
	tkt_buf_free(&b);
	tkt_buf_free(&roots);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
}
