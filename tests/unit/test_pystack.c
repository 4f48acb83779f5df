/* Unit tests for user/core/pystack.c and user/tracing/pyproc.c: line tables as real CPython versions write
 * them, strings of every kind, interpreter paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <cmocka.h>
#include "pyproc.h"
#include "pystack.h"

struct table_case {
	uint32_t version;
	int32_t firstlineno;
	size_t len;
	const uint8_t *table;
	size_t nrows;
	const int32_t (*rows)[2]; /* byte offset, line CPython gives it (-1: none) */
};

static const struct table_case cases[] = {
#include "fixtures/pytables.h"
};

/* Every instruction of a real code object gets the line CPython itself gives it. */
static void test_real_tables(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct table_case *k = &cases[c];
		int distinct = 0, last = 0;

		for (size_t i = 0; i < k->nrows; i++) {
			int got = tkt_py_line(k->version, k->table, k->len, k->len, k->rows[i][0],
					      k->firstlineno);
			if (got != k->rows[i][1])
				fail_msg("python %x offset %d: line %d, CPython says %d", k->version,
					 k->rows[i][0], got, k->rows[i][1]);
			if (got > 0 && got != last)
				distinct++, last = got;
		}
		assert_true(distinct >= 8); /* the sample spans many lines: a real test */
	}
}

/* A prefix of the table (what the kernel copies) gives the right line or none, never another. */
static void test_truncated_tables(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct table_case *k = &cases[c];
		size_t known = 0;

		for (size_t i = 0; i < k->nrows; i++) {
			int got = tkt_py_line(k->version, k->table, k->len / 2, k->len, k->rows[i][0],
					      k->firstlineno);
			assert_true(got == k->rows[i][1] || got == -1);
			known += got > 0;
		}
		assert_true(known > 0 && known < k->nrows);
	}
	assert_int_equal(tkt_py_line(0x30b, cases[3].table, cases[3].len, cases[3].len, -1, 8), -1);
	assert_int_equal(tkt_py_line(0x307, cases[0].table, cases[0].len, cases[0].len, 0, 8), -1);
}

static void utf8_of(const void *data, size_t len, unsigned kind, const char *want)
{
	struct tkt_buf b = { 0 };

	tkt_py_str_utf8(&b, data, len, kind);
	tkt_buf_append(&b, "", 1);
	assert_string_equal(b.data, want);
	tkt_buf_free(&b);
}

static void test_strings(void **state)
{
	static const uint8_t latin1[] = { 't', 0xe9, 's', 't' };
	static const uint16_t ucs2[] = { 0x442, 0x435, 0x441, 0x442 };
	static const uint32_t ucs4[] = { 0x1f600, 'x' };

	(void)state;
	utf8_of("test_a.py", 9, TKT_PYF_ASCII, "test_a.py");
	utf8_of(latin1, sizeof(latin1), 1, "t\xc3\xa9st");
	utf8_of(ucs2, sizeof(ucs2), 2, "\xd1\x82\xd0\xb5\xd1\x81\xd1\x82");
	utf8_of(ucs4, sizeof(ucs4), 4, "\xf0\x9f\x98\x80x");
	utf8_of(ucs2, 3, 2, "\xd1\x82"); /* a cut character is left out */
	utf8_of("x", 1, 3, "");
}

static void test_versions(void **state)
{
	struct tkt_py_offsets o;
	unsigned ma = 0, mi = 0;
	char buf[64];

	(void)state;
	assert_true(tkt_py_version_of_path("/usr/bin/python3.11", &ma, &mi));
	assert_int_equal(ma * 100 + mi, 311);
	assert_true(tkt_py_version_of_path("/x/lib/libpython3.12.so.1.0", &ma, &mi));
	assert_int_equal(ma * 100 + mi, 312);
	assert_true(tkt_py_version_of_path("/x/bin/python3.7m", &ma, &mi));
	assert_int_equal(ma * 100 + mi, 307);
	assert_false(tkt_py_version_of_path("/usr/bin/python3.11-config", &ma, &mi));
	assert_false(tkt_py_version_of_path("/usr/bin/python3", &ma, &mi));
	assert_false(tkt_py_version_of_path("/usr/lib/libpythonx.so", &ma, &mi));
	for (unsigned v = 8; v <= 13; v++)
		assert_true(tkt_py_offsets_for(3, v, &o) && o.layout != TKT_PYL_NONE);
	assert_false(tkt_py_offsets_for(3, 7, &o));
	assert_false(tkt_py_offsets_for(2, 7, &o));
	assert_string_equal(tkt_py_err_text(TKT_PYE_UNSUPPORTED, 0x307, buf, sizeof(buf)),
			    "unsupported python 3.7");
	assert_string_equal(tkt_py_err_text(TKT_PYE_FAULT, 0x30b, buf, sizeof(buf)),
			    "page not resident");
	assert_null(tkt_py_err_text(TKT_PYE_OK, 0x30b, buf, sizeof(buf)));
}

/* 3.13's own _Py_DebugOffsets, read from a real libpython3.13 when one is installed, agree
 * with the table (which is what a 3.13 without them, or a stripped one, gets). */
static void test_debug_offsets(void **state)
{
	struct tkt_py_offsets table, got;
	const char *home = getenv("HOME");
	char pat[512];
	glob_t g;

	(void)state;
	snprintf(pat, sizeof(pat), "%s/.pyenv/versions/3.13.*/lib/libpython3.13.so.1.0",
		 home ? home : "/root");
	if (glob(pat, 0, NULL, &g) || !g.gl_pathc) {
		globfree(&g);
		skip(); /* no CPython 3.13 built with a shared libpython here */
	}
	assert_true(tkt_py_offsets_for(3, 13, &table));
	memset(&got, 0, sizeof(got));
	got.layout = table.layout;
	got.owner_cstack = table.owner_cstack;
	got.unicode_compact_size = table.unicode_compact_size;
	assert_int_equal(tkt_py_debug_offsets(g.gl_pathv[0], &got), 0);
	assert_memory_equal(&got, &table, sizeof(got));
	assert_true(tkt_py_debug_offsets("/proc/self/status", &got) < 0);
	globfree(&g);
}
