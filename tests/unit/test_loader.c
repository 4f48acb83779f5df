/* Unit tests for user/tracing/loader.c's parts that need no BPF object. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "loader.h"

/* A drop counter that cannot be read is an error, not "nothing lost". */
static void test_drops_unreadable(void **state)
{
	uint64_t total = 12345;

	(void)state;
	assert_true(tkt_drops_read(-1, &total) < 0);
	assert_int_equal(total, 0);
}
