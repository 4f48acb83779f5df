/* Unit tests for user/reports/pyreport.c: which frame the reports point at, and how stacks read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "pyreport.h"

static void frame(struct tkt_party *p, const char *file, const char *func, int line)
{
	struct tkt_pyframe *f = &p->py.f[p->py.nframes++];

	f->file = file;
	f->func = func;
	f->line = line;
	p->py.present = true;
}

/* numpy's and pytest's frames are skipped for the project's own innermost one. */
static void test_at_frame(void **state)
{
	struct tkt_party p = { .pid = 7, .known = true, .cwd = "/proj" };

	(void)state;
	assert_null(tkt_py_at_frame(&p));
	frame(&p, "<__array_function__ internals>", "stack", 200);
	frame(&p, "/usr/lib/python3/dist-packages/numpy/core/shape_base.py", "stack", 449);
	frame(&p, "/proj/tests/helpers.py", "hog", -1); /* no line: not pointed at */
	frame(&p, "/proj/tests/test_a.py", "test_a", 12);
	frame(&p, "/usr/lib/python3/dist-packages/_pytest/python.py", "pytest_pyfunc_call", 195);
	assert_string_equal(tkt_py_at_frame(&p)->file, "/proj/tests/test_a.py");
	assert_string_equal(tkt_py_rel_path(&p, "/proj/tests/test_a.py"), "tests/test_a.py");
	assert_string_equal(tkt_py_rel_path(&p, "/projX/a.py"), "/projX/a.py");
	/* Nothing of the project's: the innermost frame with a line outside installed code. */
	p.cwd = "/elsewhere";
	assert_string_equal(tkt_py_at_frame(&p)->file, "/proj/tests/test_a.py");
	p.py.nframes = 2;
	assert_string_equal(tkt_py_at_frame(&p)->file, "<__array_function__ internals>");
	/* --pyargs: the test's file is installed; its frame wins over numpy's inner ones. */
	p.attr.test = "/usr/lib/python3/dist-packages/numpy/core/tests/test_x.py::test_big";
	frame(&p, "/usr/lib/python3/dist-packages/numpy/core/tests/test_x.py", "test_big", 31);
	p.py.f[2] = p.py.f[p.py.nframes - 1];
	p.py.nframes = 3;
	assert_int_equal(tkt_py_at_frame(&p)->line, 31);
}

/* The text report's lines, the source line read from disk, the reasons with -v. */
static void test_text(void **state)
{
	char dir[] = "/tmp/tkt-pyreport-XXXXXX", path[256];
	struct tkt_party p = { .pid = 7, .known = true };
	struct tkt_model m = { 0 };
	struct tkt_buf b = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test_x.py", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("def test_x():\n    a = 1\n\tb = bytearray(10)  # here\n", f);
	fclose(f);
	p.cwd = dir;
	frame(&p, path, "test_x", 3);
	tkt_py_text(&b, &m, &p, false);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data, "  at       test_x.py:3  b = bytearray(10)  # here\n");
	tkt_buf_reset(&b);
	p.py.f[0].line = 9; /* past the end: no source, still the place */
	tkt_py_text(&b, &m, &p, true);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data, "  at       test_x.py:9\n  stack    test_x.py:9 in test_x\n");
	tkt_buf_reset(&b);
	memset(&p.py, 0, sizeof(p.py));
	p.py.present = true;
	p.py.err = TKT_PYE_UNSUPPORTED;
	p.py.version = 0x307;
	tkt_py_text(&b, &m, &p, false);
	assert_int_equal(b.len, 0);
	tkt_py_text(&b, &m, &p, true);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data, "  at       (no python stack: unsupported python 3.7)\n");
	/* No record came: not captured, or none taken on this kernel. */
	p.py.present = false;
	tkt_buf_reset(&b);
	tkt_py_text(&b, &m, &p, true);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data, "  at       (no python stack: not captured)\n");
	m.o.no_stacks = TKT_STACKS_NO_LOOP;
	tkt_buf_reset(&b);
	tkt_py_text(&b, &m, &p, true);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data,
			    "  at       (no python stack: no stacks on this kernel (bpf_loop: 5.17+))\n");
	m.o.no_stacks = TKT_STACKS_REFUSED;
	tkt_buf_reset(&b);
	tkt_py_text(&b, &m, &p, true);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data, "  at       (no python stack: no stacks on this kernel (its "
				    "verifier refused the stack programs))\n");
	tkt_buf_free(&b);
	unlink(path);
	rmdir(dir);
}
