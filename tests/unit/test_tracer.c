/* Unit tests for the pure helpers of user/tracer.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tracer.h"

static void test_is_libc_path_yes(void **state)
{
	static const char *yes[] = {
		"/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/x86_64-linux-gnu/libc.so.6",
		"/lib64/libc.so.6",
		"/usr/lib/aarch64-linux-gnu/libc.so.6",
		"/nix/store/abc-glibc-2.38/lib/libc.so.6",
		"libc.so.6",
		"/usr/lib/libc.so",
		/* glibc < 2.34 */
		"/lib/x86_64-linux-gnu/libc-2.31.so",
		"/lib64/libc-2.17.so",
		/* musl */
		"/lib/ld-musl-x86_64.so.1",
		"/lib/ld-musl-aarch64.so.1",
		"/usr/lib/libc.musl-x86_64.so.1",
		/* a container's libc seen through /proc/PID/root */
		"/proc/1234/root/usr/lib/x86_64-linux-gnu/libc.so.6",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!tkt_is_libc_path(yes[i]))
			fail_msg("'%s' should be a C library", yes[i]);
}

static void test_is_libc_path_no(void **state)
{
	static const char *no[] = {
		"",
		"/",
		"/usr/lib/x86_64-linux-gnu/libcrypt.so.1",
		"/usr/lib/x86_64-linux-gnu/libcap.so.2",
		"/usr/lib/x86_64-linux-gnu/libc++.so.1",
		"/usr/lib/x86_64-linux-gnu/libc++abi.so.1",
		"/usr/lib/x86_64-linux-gnu/libcom_err.so.2",
		"/usr/lib/x86_64-linux-gnu/libpthread.so.0",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"/usr/lib/x86_64-linux-gnu/libm.so.6",
		"/usr/lib/x86_64-linux-gnu/libc.so.6.bak",
		"/usr/lib/x86_64-linux-gnu/libc.a",
		"/usr/lib/x86_64-linux-gnu/libc_nonshared.a",
		"/usr/lib/x86_64-linux-gnu/libc-2.31.a",
		"/opt/libc.so.6/python3", /* a directory named like libc */
		"/usr/bin/python3.11",
		"/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so",
		"/usr/lib/x86_64-linux-gnu/libc.so.7x",
		"/memfd:libc.so.6x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (tkt_is_libc_path(no[i]))
			fail_msg("'%s' should not be a C library", no[i]);
}

/* Regression: any "libc-*" name containing ".so" is taken for glibc < 2.34's libc-X.Y.so, so Debian's
 * UW IMAP c-client library (libc-client.so.2007e, pulled in by php-imap) is probed for setenv
 * and uses up one of the MAX_LIBCS slots. */
static void test_is_libc_path_libc_dash_other(void **state)
{
	(void)state;
	assert_false(tkt_is_libc_path("/usr/lib/libc-client.so.2007e"));
	assert_false(tkt_is_libc_path("/usr/lib/x86_64-linux-gnu/libc-client.so.2007e.0"));
	assert_true(tkt_is_libc_path("/lib/libc-2.28.so"));
}

/* A drop counter that cannot be read is an error, not "nothing lost". */
static void test_drops_unreadable(void **state)
{
	uint64_t total = 12345;

	(void)state;
	assert_true(tkt_drops_read(-1, &total) < 0);
	assert_int_equal(total, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drops_unreadable),
		cmocka_unit_test(test_is_libc_path_yes),
		cmocka_unit_test(test_is_libc_path_no),
		cmocka_unit_test(test_is_libc_path_libc_dash_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
