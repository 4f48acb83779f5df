/* Unit tests for user/cli.c: option parsing and its error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static char err[256];

/* Parse a NULL-terminated argv. */
static int parse(struct tkt_cli *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(err, 0, sizeof(err));
	return tkt_cli_parse(c, argc, argv, err, sizeof(err));
}

static const char NO_CMD[] = "no command given: usage: tktrace [OPTIONS] -- COMMAND [ARG...]";

static void test_no_command(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", NULL };
	char *a2[] = { "tktrace", "--", NULL };
	char *a3[] = { "tktrace", "-q", "--json", "out.json", NULL };
	char *a4[] = { "tktrace", "--memory-limit", "1G", "--", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), TKT_EXIT_FAIL);
	assert_int_equal(TKT_EXIT_FAIL, 125);
	assert_string_equal(err, NO_CMD);
	assert_int_equal(parse(&c, a2), 125);
	assert_string_equal(err, NO_CMD);
	assert_int_equal(parse(&c, a3), 125);
	assert_string_equal(err, NO_CMD);
	assert_int_equal(parse(&c, a4), 125);
	assert_string_equal(err, NO_CMD);
}

static void test_unknown_option(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "-x", "pytest", NULL };
	char *a2[] = { "tktrace", "--bogus", "--", "pytest", NULL };
	char *a3[] = { "tktrace", "-q", "--jsonfile=x", "pytest", NULL };
	char *a4[] = { "tktrace", "-qZ", "pytest", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 125);
	assert_string_equal(err, "unknown option '-x' (see tktrace --help)");
	/* After a short one: the long one is named as given, not as a stale letter. */
	assert_int_equal(parse(&c, a2), 125);
	assert_string_equal(err, "unknown option '--bogus' (see tktrace --help)");
	assert_int_equal(parse(&c, a3), 125);
	assert_string_equal(err, "unknown option '--jsonfile=x' (see tktrace --help)");
	assert_int_equal(parse(&c, a4), 125);
	assert_string_equal(err, "unknown option '-Z' (see tktrace --help)");
}

static void test_missing_argument(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "--json", NULL };
	char *a2[] = { "tktrace", "-q", "--memory-limit", NULL };
	char *a3[] = { "tktrace", "--cgroup", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 125);
	assert_string_equal(err, "option '--json' needs an argument (see tktrace --help)");
	assert_int_equal(parse(&c, a2), 125);
	assert_string_equal(err, "option '--memory-limit' needs an argument (see tktrace --help)");
	assert_int_equal(parse(&c, a3), 125);
	assert_string_equal(err, "option '--cgroup' needs an argument (see tktrace --help)");
}

static void test_empty_arguments(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "--json", "", "pytest", NULL };
	char *a2[] = { "tktrace", "--cgroup=", "pytest", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 125);
	assert_string_equal(err, "--json needs a file name");
	assert_int_equal(parse(&c, a2), 125);
	assert_string_equal(err, "--cgroup needs a cgroup directory");
}

static void test_memory_limit_bad(void **state)
{
	static const char *bad[] = { "abc", "1M", "4194303", "3.99M", "0", "-5M", "", "12X",
				     "1G1", " 1G", "M", "512MiBs" };
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--memory-limit", (char *)bad[i], "pytest", NULL };

		assert_int_equal(parse(&c, a), 125);
		snprintf(want, sizeof(want),
			 "invalid --memory-limit '%s': give a size of at least 4M, like 512M or 2G",
			 bad[i]);
		assert_string_equal(err, want);
	}
}

static void test_memory_limit_good(void **state)
{
	static const struct {
		const char *arg;
		uint64_t bytes;
	} good[] = {
		{ "512M", 512ULL << 20 }, { "2G", 2ULL << 30 },	      { "4M", 4ULL << 20 },
		{ "4194304", 4194304 },	  { "1.5G", 3ULL << 29 },     { "1gib", 1ULL << 30 },
		{ "8192K", 8ULL << 20 },  { "1T", 1ULL << 40 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--memory-limit", (char *)good[i].arg, "--", "pytest", NULL };

		assert_int_equal(parse(&c, a), 0);
		assert_int_equal(c.memory_limit, good[i].bytes);
		assert_string_equal(c.memory_limit_arg, good[i].arg);
		assert_null(c.cgroup_path);
		assert_int_equal(c.argc, 1);
		assert_string_equal(c.argv[0], "pytest");
	}
	{
		struct tkt_cli c;
		char *a[] = { "tktrace", "--memory-limit=2G", "pytest", NULL };
		assert_int_equal(parse(&c, a), 0);
		assert_int_equal(c.memory_limit, 2ULL << 30);
		assert_string_equal(c.memory_limit_arg, "2G");
	}
}

static void test_cgroup_option(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "--cgroup", "/sys/fs/cgroup/ci", "pytest", NULL };
	char *a2[] = { "tktrace", "--cgroup", "/sys/fs/cgroup/ci", "--memory-limit", "1G", "pytest",
		       NULL };
	char *a3[] = { "tktrace", "--memory-limit", "1G", "--cgroup=/x", "--", "pytest", NULL };
	char *a4[] = { "tktrace", "--cgroup", "/x", "--memory-limit", "1G", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 0);
	assert_string_equal(c.cgroup_path, "/sys/fs/cgroup/ci");
	assert_null(c.memory_limit_arg);
	assert_int_equal(c.memory_limit, 0);
	assert_int_equal(parse(&c, a2), 125);
	assert_string_equal(err, "--cgroup and --memory-limit exclude each other");
	assert_int_equal(parse(&c, a3), 125);
	assert_string_equal(err, "--cgroup and --memory-limit exclude each other");
	/* The conflict is reported before the missing command. */
	assert_int_equal(parse(&c, a4), 125);
	assert_string_equal(err, "--cgroup and --memory-limit exclude each other");
}

static void test_options_after_command_left_alone(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "-q", "pytest", "-v", "--json", "x.json", "-x", NULL };
	char *a2[] = { "tktrace", "--json", "r.json", "--", "python3", "-m", "pytest", "-q", "--", "t",
		       NULL };
	char *a3[] = { "tktrace", "python3", "--memory-limit", "bad", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 0);
	assert_true(c.quiet);
	assert_int_equal(c.verbose, 0);
	assert_null(c.json_path);
	assert_int_equal(c.argc, 5);
	assert_ptr_equal(c.argv, &a1[2]);
	assert_string_equal(c.argv[0], "pytest");
	assert_string_equal(c.argv[1], "-v");
	assert_string_equal(c.argv[2], "--json");
	assert_string_equal(c.argv[4], "-x");
	/* argv itself is not permuted. */
	assert_string_equal(a1[1], "-q");

	assert_int_equal(parse(&c, a2), 0);
	assert_string_equal(c.json_path, "r.json");
	assert_false(c.quiet);
	assert_int_equal(c.argc, 6);
	assert_string_equal(c.argv[0], "python3");
	assert_string_equal(c.argv[3], "-q");
	assert_string_equal(c.argv[4], "--");
	assert_null(c.argv[6]);

	assert_int_equal(parse(&c, a3), 0);
	assert_null(c.memory_limit_arg);
	assert_int_equal(c.argc, 3);
}

static void test_flags(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "-vv", "--verbose", "--quiet", "--as-root", "--json=o.json", "cmd",
		       NULL };
	char *a2[] = { "tktrace", "cmd", NULL };
	char *a3[] = { "tktrace", "-h", NULL };
	char *a4[] = { "tktrace", "--version", NULL };
	char *a5[] = { "tktrace", "-q", "--help", "--bogus", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 0);
	assert_int_equal(c.verbose, 3);
	assert_true(c.quiet);
	assert_true(c.as_root);
	assert_string_equal(c.json_path, "o.json");
	assert_false(c.help);
	assert_false(c.version);
	assert_int_equal(c.argc, 1);
	/* Every parse starts from scratch. */
	assert_int_equal(parse(&c, a2), 0);
	assert_int_equal(c.verbose, 0);
	assert_false(c.quiet);
	assert_false(c.as_root);
	assert_null(c.json_path);
	/* Help and version need no command, and stop parsing. */
	assert_int_equal(parse(&c, a3), 0);
	assert_true(c.help);
	assert_int_equal(c.argc, 0);
	assert_int_equal(parse(&c, a4), 0);
	assert_true(c.version);
	assert_false(c.help);
	assert_int_equal(parse(&c, a5), 0);
	assert_true(c.help);
	assert_true(c.quiet);
}

static void test_error_buffer_truncated(void **state)
{
	struct tkt_cli c;
	char small[16];
	char *a[] = { "tktrace", NULL };

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(tkt_cli_parse(&c, ARGC(a), a, small, sizeof(small)), 125);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small, "no command give");
}

static void test_usage(void **state)
{
	FILE *f = tmpfile();
	char buf[4096];
	size_t n;

	(void)state;
	assert_non_null(f);
	tkt_cli_usage(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_int_equal(strncmp(buf, "Usage: tktrace [OPTIONS] -- COMMAND [ARG...]\n", 45), 0);
	assert_non_null(strstr(buf, "  --memory-limit SIZE"));
	assert_non_null(strstr(buf, "  --cgroup DIR"));
	assert_non_null(strstr(buf, "  --json FILE"));
	assert_non_null(strstr(buf, "-q, --quiet"));
	assert_non_null(strstr(buf, "125 if tktrace failed"));
	assert_string_equal(TKT_VERSION, "0.1.0");
}

static void test_memory_report_defaults(void **state)
{
	struct tkt_cli c;
	char *a[] = { "tktrace", "pytest", NULL };

	(void)state;
	assert_int_equal(parse(&c, a), 0);
	assert_int_equal(c.top, -1);
	assert_int_equal(c.intensive_threshold, 100ULL << 20);
	assert_string_equal(c.marker, "memory_intensive");
	assert_null(c.per_test_path);
}

static void test_ci_options(void **state)
{
	static const char *bad[] = { "", "%", "x", "101", "-1", "90%%", "9 0", "50.5" };
	static const struct {
		const char *arg;
		unsigned pct;
	} good[] = { { "0", 0 }, { "90", 90 }, { "75%", 75 }, { "100", 100 } };
	struct tkt_cli c;
	char *d[] = { "tktrace", "pytest", NULL };
	char *a[] = { "tktrace", "--best-effort", "--junitxml-merge", "j.xml", "--", "pytest", NULL };
	char *e[] = { "tktrace", "--junitxml-merge", "", "pytest", NULL };

	(void)state;
	assert_int_equal(parse(&c, d), 0);
	assert_int_equal(c.warn_at, 90);
	assert_false(c.best_effort);
	assert_null(c.junit_path);
	assert_int_equal(parse(&c, a), 0);
	assert_true(c.best_effort);
	assert_string_equal(c.junit_path, "j.xml");
	assert_string_equal(c.argv[0], "pytest");
	assert_int_equal(parse(&c, e), 125);
	assert_string_equal(err, "--junitxml-merge needs a file name");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *w[] = { "tktrace", "--warn-at", (char *)good[i].arg, "pytest", NULL };
		assert_int_equal(parse(&c, w), 0);
		assert_int_equal(c.warn_at, good[i].pct);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *w[] = { "tktrace", "--warn-at", (char *)bad[i], "pytest", NULL };
		char want[256];
		assert_int_equal(parse(&c, w), 125);
		snprintf(want, sizeof(want),
			 "invalid --warn-at '%s': give a percentage of the memory limit from 0 (off) "
			 "to 100, like 90",
			 bad[i]);
		assert_string_equal(err, want);
	}
}

static void test_top_option(void **state)
{
	static const char *bad[] = { "abc", "-1", "", "5x", "1.5", "100001", "99999999999999999999" };
	static const struct {
		const char *arg;
		int top;
	} good[] = { { "0", 0 }, { "1", 1 }, { "10", 10 }, { "100000", 100000 }, { "007", 7 } };
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--top", (char *)bad[i], "pytest", NULL };

		assert_int_equal(parse(&c, a), 125);
		snprintf(want, sizeof(want), "invalid --top '%s': give a number of tests, like 10",
			 bad[i]);
		assert_string_equal(err, want);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--top", (char *)good[i].arg, "--", "pytest", NULL };

		assert_int_equal(parse(&c, a), 0);
		assert_int_equal(c.top, good[i].top);
		assert_int_equal(c.argc, 1);
	}
	{
		struct tkt_cli c;
		char *a[] = { "tktrace", "--top=3", "pytest", NULL };
		char *b[] = { "tktrace", "--top", NULL };

		assert_int_equal(parse(&c, a), 0);
		assert_int_equal(c.top, 3);
		assert_int_equal(parse(&c, b), 125);
		assert_string_equal(err, "option '--top' needs an argument (see tktrace --help)");
	}
}

static void test_intensive_threshold_option(void **state)
{
	static const char *bad[] = { "abc", "", "-1M", "1X", "0x10", "1e9", "M" };
	static const struct {
		const char *arg;
		uint64_t bytes;
	} good[] = {
		{ "200M", 200ULL << 20 }, { "1.5G", 3ULL << 29 }, { "0", 0 },
		{ "4096", 4096 },	  { "512KiB", 512ULL << 10 },
	};
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--intensive-threshold", (char *)bad[i], "pytest", NULL };

		assert_int_equal(parse(&c, a), 125);
		snprintf(want, sizeof(want),
			 "invalid --intensive-threshold '%s': give a size, like 100M", bad[i]);
		assert_string_equal(err, want);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--intensive-threshold", (char *)good[i].arg, "pytest", NULL };

		assert_int_equal(parse(&c, a), 0);
		assert_int_equal(c.intensive_threshold, good[i].bytes);
	}
}

static void test_marker_option(void **state)
{
	static const char *bad[] = { "", "mem-intensive", "a b", "pytest.mark.slow", "slow,big",
				     "m\xc3\xa9moire", "x;rm" };
	static const char *good[] = { "slow", "memory_intensive", "Big_2", "_private", "x" };
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--marker", (char *)bad[i], "pytest", NULL };

		assert_int_equal(parse(&c, a), 125);
		snprintf(want, sizeof(want), "invalid --marker '%s': give a pytest marker name",
			 bad[i]);
		assert_string_equal(err, want);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tkt_cli c;
		char *a[] = { "tktrace", "--marker", (char *)good[i], "pytest", NULL };

		assert_int_equal(parse(&c, a), 0);
		assert_ptr_equal(c.marker, good[i]);
	}
}

static void test_per_test_file_option(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "--per-test-file", "", "pytest", NULL };
	char *a2[] = { "tktrace", "--per-test-file=", "pytest", NULL };
	char *a3[] = { "tktrace", "--per-test-file", "mem.jsonl", "--top", "10", "--", "pytest", "-n",
		       "4", NULL };
	char *a4[] = { "tktrace", "--per-test-file", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 125);
	assert_string_equal(err, "--per-test-file needs a file name");
	assert_int_equal(parse(&c, a2), 125);
	assert_string_equal(err, "--per-test-file needs a file name");
	assert_int_equal(parse(&c, a3), 0);
	assert_string_equal(c.per_test_path, "mem.jsonl");
	assert_int_equal(c.top, 10);
	assert_int_equal(c.argc, 3);
	assert_string_equal(c.argv[0], "pytest");
	assert_int_equal(parse(&c, a4), 125);
	assert_string_equal(err, "option '--per-test-file' needs an argument (see tktrace --help)");
}

static void test_record_option(void **state)
{
	struct tkt_cli c;
	char *a1[] = { "tktrace", "--record", "", "pytest", NULL };
	char *a2[] = { "tktrace", "--record", "run.tkt", "--json", "r.json", "--", "pytest", NULL };
	char *a3[] = { "tktrace", "pytest", NULL };

	(void)state;
	assert_int_equal(parse(&c, a1), 125);
	assert_string_equal(err, "--record needs a file name");
	assert_int_equal(parse(&c, a2), 0);
	assert_string_equal(c.record_path, "run.tkt");
	assert_string_equal(c.json_path, "r.json");
	assert_int_equal(c.argc, 1);
	assert_int_equal(parse(&c, a3), 0);
	assert_null(c.record_path);
}

static void test_usage_memory_options(void **state)
{
	FILE *f = tmpfile();
	char buf[8192];
	size_t n;

	(void)state;
	assert_non_null(f);
	tkt_cli_usage(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "  --top N "));
	assert_non_null(strstr(buf, "  --intensive-threshold SIZE\n"));
	assert_non_null(strstr(buf, "not marked --marker (default memory_intensive)"));
	assert_non_null(strstr(buf, "  --per-test-file FILE "));
	assert_non_null(strstr(buf, "  --record FILE "));
	assert_non_null(strstr(buf, "  tktrace report FILE"));
	assert_non_null(strstr(buf, "  tktrace explain-kmsg"));
	assert_non_null(strstr(buf, "  tktrace plan --record FILE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_record_option),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_argument),
		cmocka_unit_test(test_empty_arguments),
		cmocka_unit_test(test_memory_limit_bad),
		cmocka_unit_test(test_memory_limit_good),
		cmocka_unit_test(test_cgroup_option),
		cmocka_unit_test(test_options_after_command_left_alone),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_error_buffer_truncated),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_memory_report_defaults),
		cmocka_unit_test(test_ci_options),
		cmocka_unit_test(test_top_option),
		cmocka_unit_test(test_intensive_threshold_option),
		cmocka_unit_test(test_marker_option),
		cmocka_unit_test(test_per_test_file_option),
		cmocka_unit_test(test_usage_memory_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
