/* Unit tests for user/tracing/elfsym.c: where a uprobe goes at a function's entry. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "elfsym.h"

static void test_skip_bytes(void **state)
{
	static const unsigned char endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54 };
	static const unsigned char push[] = { 0x41, 0x54, 0x55, 0x53 };

	(void)state;
	assert_int_equal(tkt_entry_skip_bytes(endbr, sizeof(endbr)), 4);
	assert_int_equal(tkt_entry_skip_bytes(push, sizeof(push)), 0);
	assert_int_equal(tkt_entry_skip_bytes(endbr, 3), 0);
}

/* A library built with -fcf-protection=full (Makefile: build/tests/libcet.so). */
static void test_fixture_library(void **state)
{
	char path[4096];
	const char *dir = getenv("TKT_FIXTURES");

	(void)state;
	if (!dir)
		skip(); /* run through make test-unit, which builds the fixture */
	snprintf(path, sizeof(path), "%s/libcet.so", dir);
	assert_int_equal(tkt_func_entry_skip(path, "tkt_fixture_cet"), 4);
	assert_int_equal(tkt_func_entry_skip(path, "tkt_fixture_plain"), 0);
	assert_int_equal(tkt_func_entry_skip(path, "no_such_function"), -ENOENT);
	assert_true(tkt_func_entry_skip("/nonexistent/libc.so.6", "setenv") < 0);
	assert_int_equal(tkt_func_entry_skip("/proc/self/status", "setenv"), -EINVAL);
}

/* The system C library's setenv, read from the file, agrees with the code mapped in this very
 * process (whatever this distribution's build does). */
static void test_libc_setenv_matches_memory(void **state)
{
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "setenv");

	(void)state;
	assert_non_null(fn);
	assert_true(dladdr(fn, &info));
	assert_int_equal(tkt_func_entry_skip(info.dli_fname, "setenv"),
			 tkt_entry_skip_bytes(fn, 4));
}

/* The file offset a uprobe is placed by: the function's code is at that offset of the mapped
 * file, so it lies in this process's mapping of the C library at base + offset. */
static void test_libc_setenv_offset_is_where_it_is_mapped(void **state)
{
	Dl_info info;
	void *fn = dlsym(RTLD_DEFAULT, "setenv");
	int skip = -1;
	long off;
	unsigned char code[16];
	FILE *f;

	(void)state;
	assert_non_null(fn);
	assert_true(dladdr(fn, &info));
	off = tkt_func_probe_offset(info.dli_fname, "setenv", &skip);
	assert_true(off > 0);
	assert_int_equal(skip, tkt_entry_skip_bytes(fn, 4));
	/* From byte 8 on: a uprobe of another tracer on this machine may have put an int3 at
	 * byte 0 or 4 of this process's copy. */
	f = fopen(info.dli_fname, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, off + 8, SEEK_SET), 0);
	assert_int_equal(fread(code, 1, sizeof(code), f), sizeof(code));
	fclose(f);
	assert_memory_equal(code, (const unsigned char *)fn + 8, sizeof(code));
	assert_true(tkt_func_probe_offset(info.dli_fname, "no_such_function", &skip) == -ENOENT);
}
