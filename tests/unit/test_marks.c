/* Unit tests for user/system/marks.c: is a test already marked, read from its source file. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "marks.h"

#define MARKER "memory_intensive"

static int marked(const char *src, const char *nodeid)
{
	return tkt_marker_in_source(src, strlen(src), nodeid, MARKER);
}

static const char DECORATED[] = "import pytest\n"
				"\n"
				"\n"
				"@pytest.mark." MARKER "\n"
				"def test_big():\n"
				"    data = bytearray(1 << 30)\n"
				"\n"
				"\n"
				"@pytest.mark.slow\n"
				"def test_small():\n"
				"    pass\n"
				"\n"
				"\n"
				"def test_plain():\n"
				"    pass\n";

static void test_decorator_directly_above(void **state)
{
	(void)state;
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_big"), 1);
	/* Another marker only, or none. */
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_small"), 0);
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_plain"), 0);
	/* The blank lines between functions keep test_big's decorator to itself. */
	assert_int_equal(tkt_marker_in_source(DECORATED, strlen(DECORATED),
					      "tests/test_m.py::test_small", "slow"),
			 1);
	assert_int_equal(tkt_marker_in_source(DECORATED, strlen(DECORATED),
					      "tests/test_m.py::test_plain", "slow"),
			 0);
	/* Only len bytes are read: the function past them is not found. */
	assert_int_equal(tkt_marker_in_source(DECORATED, strstr(DECORATED, "def test_plain") -
							     DECORATED,
					      "tests/test_m.py::test_plain", MARKER),
			 -1);
}

static void test_multi_line_decorators(void **state)
{
	static const char src[] = "import pytest\n"
				  "\n"
				  "@pytest.mark." MARKER "(\n"
				  "    reason=\"loads the whole data set\",\n"
				  ")\n"
				  "@pytest.mark.parametrize(\n"
				  "    \"n\",\n"
				  "    [1, 2],\n"
				  ")\n"
				  "# a comment between\n"
				  "def test_x(n):\n"
				  "    pass\n"
				  "\n"
				  "@pytest.mark.parametrize(\n"
				  "    \"n\",\n"
				  "    [1, 2],\n"
				  ")\n"
				  "@pytest.mark.skipif(\n"
				  "    sys.platform == \"win32\", reason=\"posix\"\n"
				  ")\n"
				  "def test_y(n):\n"
				  "    pass\n";

	(void)state;
	assert_int_equal(marked(src, "t.py::test_x[1]"), 1);
	assert_int_equal(marked(src, "t.py::test_y[2]"), 0);
}

static void test_class_decorator(void **state)
{
	static const char src[] = "import pytest\n"
				  "\n"
				  "@pytest.mark." MARKER "\n"
				  "class TestBig:\n"
				  "    def test_a(self):\n"
				  "        pass\n"
				  "\n"
				  "    def test_b(self):\n"
				  "        pass\n"
				  "\n"
				  "\n"
				  "class TestSmall(Base):\n"
				  "    @pytest.mark." MARKER "\n"
				  "    def test_c(self):\n"
				  "        pass\n"
				  "\n"
				  "    def test_d(self):\n"
				  "        pass\n"
				  "\n"
				  "\n"
				  "class TestOuter:\n"
				  "    @pytest.mark." MARKER "\n"
				  "    class TestInner:\n"
				  "        def test_e(self):\n"
				  "            pass\n";

	(void)state;
	assert_int_equal(marked(src, "t.py::TestBig::test_a"), 1);
	assert_int_equal(marked(src, "t.py::TestBig::test_b"), 1);
	assert_int_equal(marked(src, "t.py::TestSmall::test_c"), 1);
	assert_int_equal(marked(src, "t.py::TestSmall::test_d"), 0);
	/* The innermost class is the one looked at. */
	assert_int_equal(marked(src, "t.py::TestOuter::TestInner::test_e"), 1);
	/* A method named without its class: its own decorators only. */
	assert_int_equal(marked(src, "t.py::test_d"), 0);
}

/* Two classes with a method of the same name: the one in the node id's class counts. */
static void test_same_method_name_in_two_classes(void **state)
{
	static const char src[] = "import pytest\n"
				  "\n"
				  "class TestA:\n"
				  "    def test_run(self):\n"
				  "        pass\n"
				  "\n"
				  "\n"
				  "class TestB:\n"
				  "    @pytest.mark." MARKER "\n"
				  "    def test_run(self):\n"
				  "        pass\n";

	(void)state;
	assert_int_equal(marked(src, "t.py::TestB::test_run"), 1);
	assert_int_equal(marked(src, "t.py::TestA::test_run"), 0);
}

static void test_module_pytestmark(void **state)
{
	static const char one[] = "import pytest\n"
				  "\n"
				  "pytestmark = pytest.mark." MARKER "\n"
				  "\n"
				  "\n"
				  "def test_a():\n"
				  "    pass\n";
	static const char list[] = "import pytest\n"
				   "\n"
				   "pytestmark = [pytest.mark.slow, pytest.mark." MARKER "]\n"
				   "\n"
				   "\n"
				   "class TestX:\n"
				   "    def test_b(self):\n"
				   "        pass\n";
	static const char other[] = "import pytest\n"
				    "\n"
				    "pytestmark = [pytest.mark.slow]\n"
				    "\n"
				    "\n"
				    "def test_c():\n"
				    "    x = \"" MARKER "\"\n";

	(void)state;
	assert_int_equal(marked(one, "t.py::test_a"), 1);
	assert_int_equal(marked(list, "t.py::TestX::test_b"), 1);
	assert_int_equal(marked(other, "t.py::test_c"), 0);
	/* Still -1 when the function is not there at all. */
	assert_int_equal(marked(one, "t.py::test_missing"), -1);
}

/* black splits a long pytestmark list over lines. */
static void test_module_pytestmark_multi_line(void **state)
{
	static const char src[] = "import pytest\n"
				  "\n"
				  "pytestmark = [\n"
				  "    pytest.mark.slow,\n"
				  "    pytest.mark." MARKER ",\n"
				  "]\n"
				  "\n"
				  "\n"
				  "def test_a():\n"
				  "    pass\n";

	(void)state;
	assert_int_equal(marked(src, "t.py::test_a"), 1);
}

static void test_parametrized_ids(void **state)
{
	(void)state;
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_big[a-b]"), 1);
	/* "::" and "[" inside the parameter id are the id's. */
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_big[x::y]"), 1);
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_big[[1]-2]"), 1);
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_plain[1]"), 0);
}

static void test_async_def(void **state)
{
	static const char src[] = "import pytest\n"
				  "\n"
				  "@pytest.mark.asyncio\n"
				  "@pytest.mark." MARKER "\n"
				  "async def test_fetch():\n"
				  "    pass\n"
				  "\n"
				  "\n"
				  "async def test_other():\n"
				  "    pass\n"
				  "\n"
				  "\n"
				  "class TestS:\n"
				  "    @pytest.mark." MARKER "\n"
				  "    async def test_m(self):\n"
				  "        pass\n";

	(void)state;
	assert_int_equal(marked(src, "t.py::test_fetch"), 1);
	assert_int_equal(marked(src, "t.py::test_other"), 0);
	assert_int_equal(marked(src, "t.py::TestS::test_m"), 1);
}

/* The name must match whole: test_x is not test_xy, and not a call of test_x. */
static void test_whole_names(void **state)
{
	static const char src[] = "import pytest\n"
				  "\n"
				  "@pytest.mark." MARKER "\n"
				  "def test_xy():\n"
				  "    test_x_helper()\n"
				  "\n"
				  "\n"
				  "def test_x():\n"
				  "    pass\n"
				  "\n"
				  "\n"
				  "def  test_spaced ():\n"
				  "    pass\n";

	(void)state;
	assert_int_equal(marked(src, "t.py::test_x"), 0);
	assert_int_equal(marked(src, "t.py::test_xy"), 1);
	assert_int_equal(marked(src, "t.py::test_spaced"), 0);
	assert_int_equal(marked(src, "t.py::test_x_helper"), -1);
	assert_int_equal(marked(src, "t.py::test"), -1);
}

static void test_not_found(void **state)
{
	(void)state;
	assert_int_equal(marked(DECORATED, "tests/test_m.py::test_gone"), -1);
	/* No function part in the node id. */
	assert_int_equal(marked(DECORATED, "tests/test_m.py"), -1);
	assert_int_equal(marked(DECORATED, ""), -1);
	assert_int_equal(marked("", "t.py::test_big"), -1);
	/* The class is known, the function not. */
	assert_int_equal(marked("@pytest.mark." MARKER "\nclass TestK:\n    pass\n",
				"t.py::TestK::test_gone"),
			 -1);
}

/* ---- tkt_test_marked: the file relative to the pytest process's directory ---- */

static char tmp[128];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void write_file(const char *rel, const char *content)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	f = fopen(p, "w");
	if (!f)
		fail_msg("create %s: %s", p, strerror(errno));
	fputs(content, f);
	fclose(f);
}

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	char p[256];
	int n;

	(void)state;
	if (!base || !*base || strlen(base) > 64)
		base = "/tmp";
	n = snprintf(tmp, sizeof(tmp), "%s/tktrace-unit-marks-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(tmp) || !mkdtemp(tmp))
		return -1;
	snprintf(p, sizeof(p), "%s/tests", tmp);
	return mkdir(p, 0755);
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_test_marked_file(void **state)
{
	(void)state;
	write_file("tests/test_m.py", DECORATED);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_m.py::test_big", MARKER), 1);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_m.py::test_big[1-2]", MARKER), 1);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_m.py::test_plain", MARKER), 0);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_m.py::test_small", "slow"), 1);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_m.py::test_gone", MARKER), -1);
	/* No such file; no "::"; relative to another directory. */
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_none.py::test_big", MARKER), -1);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_m.py", MARKER), -1);
	assert_int_equal(tkt_test_marked("/nonexistent-dir", NULL, "tests/test_m.py::test_big", MARKER), -1);
}

/* A file larger than the first read buffer (64 KiB): the function at its end is found. */
static void test_test_marked_large_file(void **state)
{
	struct { char *d; size_t n; } b = { NULL, 0 };
	FILE *m = open_memstream(&b.d, &b.n);

	(void)state;
	assert_non_null(m);
	fputs("import pytest\n\n", m);
	for (int i = 0; i < 3000; i++)
		fprintf(m, "def helper_%04d():\n    return %d\n\n\n", i, i);
	fputs("@pytest.mark." MARKER "\ndef test_last():\n    pass\n\n\ndef test_after():\n    pass\n", m);
	fclose(m);
	assert_true(b.n > 100000);
	write_file("tests/test_large.py", b.d);
	free(b.d);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_large.py::test_last", MARKER), 1);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_large.py::test_after", MARKER), 0);
	/* An empty file has no function. */
	write_file("tests/test_empty.py", "");
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_empty.py::test_x", MARKER), -1);
}

/* ---- the def line, for GitHub annotations ---- */

static void test_def_line(void **state)
{
	static const char src[] = "import pytest\n"                 /* 1 */
				  "\n"                              /* 2 */
				  "def test_m():\n"                 /* 3: a namesake at module level */
				  "    pass\n"                      /* 4 */
				  "class TestC:\n"                  /* 5 */
				  "    @pytest.mark.parametrize('x', [1])\n" /* 6 */
				  "    def test_m(self, x):\n"      /* 7 */
				  "        pass\n"                  /* 8 */
				  "\n"                              /* 9 */
				  "    async def test_a(self):\n"   /* 10 */
				  "        pass\n"                  /* 11 */
				  "def test_m_more():\n";           /* 12 */

	(void)state;
	assert_int_equal(tkt_def_line_in_source(src, strlen(src), "t.py::test_m"), 3);
	assert_int_equal(tkt_def_line_in_source(src, strlen(src), "t.py::TestC::test_m[1]"), 7);
	assert_int_equal(tkt_def_line_in_source(src, strlen(src), "t.py::TestC::test_a"), 10);
	assert_int_equal(tkt_def_line_in_source(src, strlen(src), "t.py::test_m_more"), 12);
	assert_int_equal(tkt_def_line_in_source(src, strlen(src), "t.py::test_gone"), 0);
	assert_int_equal(tkt_def_line_in_source(src, strlen(src), "t.py"), 0);
	write_file("tests/test_lines.py", src);
	assert_int_equal(tkt_test_def_line(tmp, NULL, "tests/test_lines.py::TestC::test_m[1]"), 7);
	assert_int_equal(tkt_test_def_line(tmp, NULL, "tests/test_nofile.py::test_m"), 0);
}

/* A FIFO at a test's path (the suite controls its tree; tktrace reads it as root): nothing
 * read, no hang (SIGALRM ends a hung test). */
static void test_fifo_not_read(void **state)
{
	char p[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/tests/test_fifo.py", tmp);
	assert_int_equal(mkfifo(p, 0644), 0);
	alarm(10);
	assert_int_equal(tkt_test_def_line(tmp, NULL, "tests/test_fifo.py::test_m"), 0);
	assert_int_equal(tkt_test_marked(tmp, NULL, "tests/test_fifo.py::test_m", MARKER), -1);
	alarm(0);
}

/* cd tests && pytest with pytest.ini one level up: node ids are relative to the rootdir. */
static void test_find_rootdir(void **state)
{
	char top[300], sub[320], deep[340], out[400];

	(void)state;
	snprintf(top, sizeof(top), "%s/proj", tmp);
	snprintf(sub, sizeof(sub), "%s/tests", top);
	snprintf(deep, sizeof(deep), "%s/tests/unit", top);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(deep, 0755), 0);
	write_file("proj/pytest.ini", "[pytest]\n");
	write_file("proj/tests/test_a.py", "def test_x():\n    pass\n");
	write_file("proj/tests/unit/test_u.py", "def test_u():\n    pass\n");
	/* From the test directory, and from below it: the rootdir above. */
	assert_true(tkt_find_rootdir(sub, "tests/test_a.py::test_x", out, sizeof(out)));
	assert_string_equal(out, top);
	assert_true(tkt_find_rootdir(deep, "tests/test_a.py::test_x[1]", out, sizeof(out)));
	assert_string_equal(out, top);
	/* Where the node id already resolves: the cwd itself (also with a trailing slash). */
	assert_true(tkt_find_rootdir(top, "tests/unit/test_u.py::test_u", out, sizeof(out)));
	assert_string_equal(out, top);
	snprintf(out, sizeof(out), "%s/", sub);
	assert_true(tkt_find_rootdir(out, "unit/test_u.py::test_u", out, sizeof(out)));
	assert_string_equal(out, sub);
	/* A directory of that name is not the test file. */
	assert_false(tkt_find_rootdir(deep, "tests::x", out, sizeof(out)));
	/* Nowhere up to /: false, out untouched. */
	strcpy(out, "unchanged");
	assert_false(tkt_find_rootdir(sub, "tests/test_none.py::test_x", out, sizeof(out)));
	assert_string_equal(out, "unchanged");
	assert_false(tkt_find_rootdir(NULL, "tests/test_a.py::test_x", out, sizeof(out)));
	assert_false(tkt_find_rootdir("relative", "tests/test_a.py::test_x", out, sizeof(out)));
	assert_false(tkt_find_rootdir(sub, "::x", out, sizeof(out)));
	/* From / itself. */
	assert_true(tkt_find_rootdir("/", "etc/passwd", out, sizeof(out)));
	assert_string_equal(out, "/");
	/* Too small an output buffer. */
	assert_false(tkt_find_rootdir(sub, "tests/test_a.py::test_x", out, 4));
}
