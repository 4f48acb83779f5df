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
