/* Unit tests for user/core/util.c (buffers, interning, sizes, quoting, logging) and user/core/json.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "json.h"
#include "util.h"

static void test_buf(void **state)
{
	struct tkt_buf b = { 0 };
	size_t cap;

	(void)state;
	assert_int_equal(tkt_buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	assert_true(b.cap >= 4);
	/* Only len bytes are taken. */
	assert_int_equal(tkt_buf_append(&b, "defXYZ", 3), 0);
	assert_string_equal(b.data, "abcdef");
	assert_int_equal(tkt_buf_printf(&b, "-%d-%s-", 42, "x"), 0);
	assert_string_equal(b.data, "abcdef-42-x-");
	assert_int_equal(b.len, 12);
	/* Embedded NULs are kept. */
	assert_int_equal(tkt_buf_append(&b, "\0z", 2), 0);
	assert_int_equal(b.len, 14);
	assert_memory_equal(b.data + 12, "\0z\0", 3);
	/* Growth well past the first allocation. */
	tkt_buf_reset(&b);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(tkt_buf_printf(&b, "%04d,", i), 0);
	assert_int_equal(b.len, 5000);
	assert_int_equal(strlen(b.data), 5000);
	assert_memory_equal(b.data + 4995, "0999,", 5);
	/* Reset keeps the memory, empties the string. */
	cap = b.cap;
	tkt_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(b.cap, cap);
	tkt_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* Reset of a never-used buffer is harmless; printf of nothing gives "". */
	tkt_buf_reset(&b);
	assert_null(b.data);
	assert_int_equal(tkt_buf_printf(&b, "%s", ""), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	tkt_buf_free(&b);
	/* One big printf. */
	{
		char big[3000];
		memset(big, 'q', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(tkt_buf_printf(&b, "<%s>", big), 0);
		assert_int_equal(b.len, sizeof(big) + 1);
		assert_int_equal(b.data[0], '<');
		assert_int_equal(b.data[b.len - 1], '>');
		assert_int_equal(b.data[b.len], '\0');
		tkt_buf_free(&b);
	}
}

static void test_intern(void **state)
{
	struct tkt_intern *t = tkt_intern_new();
	const char *a, *b, *c, *ptrs[1000];
	char s[32];

	(void)state;
	assert_non_null(t);
	assert_int_equal(tkt_intern_count(t), 0);
	a = tkt_intern(t, "tests/a.py::t", 13);
	b = tkt_intern(t, "tests/a.py::t", 13);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_string_equal(a, "tests/a.py::t");
	assert_int_equal(tkt_intern_count(t), 1);
	/* Only len bytes: a prefix is another string. */
	c = tkt_intern(t, "tests/a.py::t (call)", 13);
	assert_ptr_equal(c, a);
	c = tkt_intern(t, "tests/a.py::t (call)", 10);
	assert_string_equal(c, "tests/a.py");
	assert_ptr_not_equal(c, a);
	assert_int_equal(tkt_intern_count(t), 2);
	/* The empty string and NULL. */
	c = tkt_intern(t, "", 0);
	assert_non_null(c);
	assert_string_equal(c, "");
	assert_ptr_equal(tkt_intern(t, "x", 0), c);
	assert_null(tkt_intern(t, NULL, 0));
	assert_int_equal(tkt_intern_count(t), 3);
	/* Many: the table grows and everything stays findable at the same address. */
	for (int i = 0; i < 1000; i++) {
		snprintf(s, sizeof(s), "gw%d", i);
		ptrs[i] = tkt_intern(t, s, strlen(s));
		assert_non_null(ptrs[i]);
	}
	assert_int_equal(tkt_intern_count(t), 1003);
	for (int i = 0; i < 1000; i++) {
		snprintf(s, sizeof(s), "gw%d", i);
		assert_ptr_equal(tkt_intern(t, s, strlen(s)), ptrs[i]);
		assert_string_equal(ptrs[i], s);
	}
	assert_ptr_equal(tkt_intern(t, "tests/a.py::t", 13), a);
	assert_int_equal(tkt_intern_count(t), 1003);
	tkt_intern_free(t);
	tkt_intern_free(NULL);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "512M", 0, 512ULL << 20 },
		{ "1.5G", 0, 3ULL << 29 },
		{ "300000000", 0, 300000000 },
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "2K", 0, 2048 },
		{ "2k", 0, 2048 },
		{ "2KB", 0, 2048 },
		{ "2KiB", 0, 2048 },
		{ "2kib", 0, 2048 },
		{ "2Ki", 0, 2048 },
		{ "3m", 0, 3ULL << 20 },
		{ "3MB", 0, 3ULL << 20 },
		{ "1g", 0, 1ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "0.5K", 0, 512 },
		{ ".5M", 0, 512ULL << 10 },
		{ "0.1K", 0, 102 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "16777216T", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "abc", -EINVAL, 0 },
		{ "-1M", -EINVAL, 0 },
		{ "+1M", -EINVAL, 0 },
		{ " 1M", -EINVAL, 0 },
		{ "1M ", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1P", -EINVAL, 0 },
		{ "1MM", -EINVAL, 0 },
		{ "1MBB", -EINVAL, 0 },
		{ "1Bi", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
		{ "1.2.3M", -EINVAL, 0 },
		{ ".", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0xdeadbeef;
		int rc = tkt_parse_size(cases[i].s, &v);

		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", cases[i].s, rc, cases[i].rc);
		if (rc == 0 && v != cases[i].v)
			fail_msg("'%s': %llu, expected %llu", cases[i].s, (unsigned long long)v,
				 (unsigned long long)cases[i].v);
		if (rc != 0 && v != 0xdeadbeef)
			fail_msg("'%s': output written on error", cases[i].s);
	}
	{
		uint64_t v;
		assert_int_equal(tkt_parse_size(NULL, &v), -EINVAL);
	}
}

/* Regression: tkt_parse_size's own comment says "a trailing B alone" is accepted, but the unit switch
 * has no case for 'B', so "10B" (and "536870912B") are rejected with -EINVAL. */
static void test_parse_size_bytes_suffix(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(tkt_parse_size("10B", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(tkt_parse_size("536870912b", &v), 0);
	assert_int_equal(v, 536870912);
	assert_int_equal(tkt_parse_size("10BB", &v), -EINVAL);
}

static void test_fmt_bytes(void **state)
{
	static const struct {
		uint64_t b;
		const char *s;
	} cases[] = {
		{ 0, "0 B" },
		{ 1, "1 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1536, "1.5 KiB" },
		{ 536870912, "512.0 MiB" },
		{ 1073741824, "1.0 GiB" },
		{ 3ULL << 29, "1.5 GiB" },
		{ 1ULL << 40, "1.0 TiB" },
		{ 1ULL << 50, "1024.0 TiB" },
		{ UINT64_MAX, "16777216.0 TiB" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = tkt_fmt_bytes(cases[i].b, buf, sizeof(buf));
		assert_ptr_equal(r, buf);
		assert_string_equal(buf, cases[i].s);
	}
	/* A short buffer is cut, still terminated. */
	assert_string_equal(tkt_fmt_bytes(536870912, buf, 4), "512");
}

static void assert_quoted(const char *in, const char *want)
{
	struct tkt_buf b = { 0 };

	assert_int_equal(tkt_shell_quote(&b, in), 0);
	assert_string_equal(b.data, want);
	tkt_buf_free(&b);
}

/* What sh makes of the quoted word: must be the original string. */
static void assert_shell_roundtrip(const char *in)
{
	struct tkt_buf cmd = { 0 };
	char out[512];
	size_t n;
	FILE *f;

	tkt_buf_printf(&cmd, "printf '%%s' ");
	tkt_shell_quote(&cmd, in);
	f = popen(cmd.data, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	assert_string_equal(out, in);
	tkt_buf_free(&cmd);
}

static void test_shell_quote(void **state)
{
	static const char *round[] = {
		"",
		"plain",
		"a b",
		"it's",
		"''",
		"tests/test_q.py::test_it[it's a b]",
		"$HOME `id` $(id) \"q\" \\ ; & | < > * ? ~ # !",
		"new\nline\ttab",
		"t.py::t[\\u00e9]",
		"caf\xc3\xa9",
	};

	(void)state;
	assert_quoted("", "''");
	assert_quoted("pytest", "pytest");
	assert_quoted("/usr/bin/python3", "/usr/bin/python3");
	assert_quoted("tests/a.py::test_x", "tests/a.py::test_x");
	assert_quoted("a@b%c_d+e=f:g,h.i/j-k", "a@b%c_d+e=f:g,h.i/j-k");
	assert_quoted("t.py::t[x]", "'t.py::t[x]'");
	assert_quoted("a b", "'a b'");
	assert_quoted("it's", "'it'\\''s'");
	assert_quoted("'", "''\\'''");
	assert_quoted("tests/test_q.py::test_it[it's a b]",
		      "'tests/test_q.py::test_it[it'\\''s a b]'");
	assert_quoted("$x", "'$x'");
	assert_quoted("~", "'~'");
	assert_quoted("caf\xc3\xa9", "'caf\xc3\xa9'");
	/* Appends after what is there. */
	{
		struct tkt_buf b = { 0 };
		tkt_buf_printf(&b, "cd ");
		tkt_shell_quote(&b, "my dir");
		assert_string_equal(b.data, "cd 'my dir'");
		tkt_buf_free(&b);
	}
	for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++)
		assert_shell_roundtrip(round[i]);
}

static void test_comm_copy(void **state)
{
	char dst[17];
	char full[16];

	(void)state;
	memset(dst, 'x', sizeof(dst));
	memcpy(full, "0123456789abcdef", 16); /* no NUL: a 16-byte kernel comm */
	tkt_comm_copy(dst, full);
	assert_string_equal(dst, "0123456789abcdef");
	{
		char shortc[16] = "python3";
		tkt_comm_copy(dst, shortc);
		assert_string_equal(dst, "python3");
	}
}

/* What tkt_log wrote to stderr while running fn. */
static char *capture_stderr(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	char *out = calloc(1, 4096);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	assert_non_null(out);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, 4095, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static void log_all(void)
{
	tkt_warn("w%d", 1);
	tkt_info("i%d", 2);
	tkt_debug("d%d", 3);
}

static void test_log_levels(void **state)
{
	enum tkt_log_level saved = tkt_log_get_level();
	char *s;

	(void)state;
	assert_int_equal(saved, TKT_LOG_WARN); /* the default */
	tkt_log_set_level(TKT_LOG_QUIET);
	assert_int_equal(tkt_log_get_level(), TKT_LOG_QUIET);
	/* Warnings even with -q: they mean the report may be incomplete. */
	s = capture_stderr(log_all);
	assert_string_equal(s, "tktrace: w1\n");
	free(s);
	tkt_log_set_level(TKT_LOG_WARN);
	s = capture_stderr(log_all);
	assert_string_equal(s, "tktrace: w1\n");
	free(s);
	tkt_log_set_level(TKT_LOG_INFO);
	s = capture_stderr(log_all);
	assert_string_equal(s, "tktrace: w1\ntktrace: i2\n");
	free(s);
	tkt_log_set_level(TKT_LOG_DEBUG);
	s = capture_stderr(log_all);
	assert_string_equal(s, "tktrace: w1\ntktrace: i2\ntktrace: d3\n");
	free(s);
	tkt_log_set_level(saved);
}

static void error_ctl(void)
{
	tkt_error("cannot run '%s': %s", "py\nthon\t3\x7f\x1b[31m caf\xc3\xa9", "No such file");
}

static void error_long(void)
{
	char big[1500];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tkt_error("%s", big);
}

/* tkt_error: one line whatever the names in it hold. */
static void test_error_one_line(void **state)
{
	enum tkt_log_level saved = tkt_log_get_level();
	char *s;

	(void)state;
	tkt_log_set_level(TKT_LOG_QUIET); /* errors are shown at any level */
	s = capture_stderr(error_ctl);
	assert_string_equal(s, "tktrace: cannot run 'py?thon?3??[31m caf\xc3\xa9': No such file\n");
	free(s);
	s = capture_stderr(error_long);
	assert_int_equal(strlen(s), strlen("tktrace: ") + 1023 + 1);
	assert_int_equal(s[strlen(s) - 1], '\n');
	assert_int_equal(s[strlen(s) - 2], 'a');
	free(s);
	tkt_log_set_level(saved);
}

static void assert_escaped(const char *in, const char *want)
{
	struct tkt_buf b = { 0 };

	tkt_json_escape(&b, in);
	if (strcmp(b.data, want) != 0)
		fail_msg("escape of '%s'\n  got: %s\n want: %s", in, b.data, want);
	tkt_buf_free(&b);
}

static void test_json_escape(void **state)
{
	(void)state;
	assert_escaped("", "\"\"");
	assert_escaped("plain text", "\"plain text\"");
	assert_escaped("say \"hi\"", "\"say \\\"hi\\\"\"");
	assert_escaped("a\\b", "\"a\\\\b\"");
	assert_escaped("/", "\"/\"");
	assert_escaped("l1\nl2\tx\ry", "\"l1\\nl2\\tx\\ry\"");
	assert_escaped("\x01\x08\x0c\x1f", "\"\\u0001\\u0008\\u000c\\u001f\"");
	assert_escaped("del\x7f", "\"del\\u007f\"");
	/* pytest's escaped non-ASCII ids: backslashes doubled, nothing else touched. */
	assert_escaped("t.py::t[\\u00e9\\x00\\n]", "\"t.py::t[\\\\u00e9\\\\x00\\\\n]\"");
	/* Valid UTF-8 passes through: 2, 3 and 4 bytes, and the highest code point. */
	assert_escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d \xf4\x8f\xbf\xbf",
		       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d \xf4\x8f\xbf\xbf\"");
	assert_escaped("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf",
		       "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\"");
	/* Invalid: one U+FFFD per bad byte. */
	assert_escaped("\xff", "\"\\ufffd\"");
	assert_escaped("a\x80z", "\"a\\ufffdz\"");
	assert_escaped("\xc3(", "\"\\ufffd(\"");
	assert_escaped("\xc0\xaf", "\"\\ufffd\\ufffd\"");	  /* overlong '/' */
	assert_escaped("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""); /* overlong */
	assert_escaped("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	assert_escaped("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	assert_escaped("\xf8\x88\x80\x80\x80",
		       "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* Cut short at the end of the string (a truncated comm). */
	assert_escaped("pyth\xe2\x82", "\"pyth\\ufffd\\ufffd\"");
	assert_escaped("x\xf0\x9f\x90", "\"x\\ufffd\\ufffd\\ufffd\"");
	/* Appends. */
	{
		struct tkt_buf b = { 0 };
		tkt_buf_printf(&b, "k:");
		tkt_json_escape(&b, "v");
		assert_string_equal(b.data, "k:\"v\"");
		tkt_buf_free(&b);
	}
}

static void test_json_writer_compact(void **state)
{
	struct tkt_buf b = { 0 };
	struct tkt_json j;

	(void)state;
	tkt_json_init(&j, &b, false);
	tkt_json_obj_begin(&j, NULL);
	tkt_json_int(&j, "a", 1);
	tkt_json_arr_begin(&j, "b");
	tkt_json_int(&j, NULL, -2);
	tkt_json_str(&j, NULL, "x\"y");
	tkt_json_null(&j, NULL);
	tkt_json_arr_end(&j);
	tkt_json_obj_begin(&j, "c");
	tkt_json_obj_end(&j);
	tkt_json_arr_begin(&j, "d");
	tkt_json_arr_end(&j);
	tkt_json_str(&j, "e", NULL);
	tkt_json_bool(&j, "t", true);
	tkt_json_bool(&j, "f", false);
	tkt_json_uint(&j, "u", UINT64_MAX);
	tkt_json_int(&j, "i", INT64_MIN);
	tkt_json_double(&j, "d6", 1.23456789, 6);
	tkt_json_double(&j, "d3", 2.0, 3);
	tkt_json_double(&j, "d0", 2.5, 0);
	tkt_json_str(&j, "k\"ey\n", "v");
	tkt_json_obj_begin(&j, "o");
	tkt_json_obj_begin(&j, "p");
	tkt_json_str(&j, "q", "r");
	tkt_json_obj_end(&j);
	tkt_json_str(&j, "s", "t");
	tkt_json_obj_end(&j);
	tkt_json_obj_end(&j);
	assert_string_equal(b.data,
			    "{\"a\":1,\"b\":[-2,\"x\\\"y\",null],\"c\":{},\"d\":[],\"e\":null,"
			    "\"t\":true,\"f\":false,\"u\":18446744073709551615,"
			    "\"i\":-9223372036854775808,\"d6\":1.234568,\"d3\":2.000,\"d0\":2,"
			    "\"k\\\"ey\\n\":\"v\",\"o\":{\"p\":{\"q\":\"r\"},\"s\":\"t\"}}");
	tkt_buf_free(&b);
}

static void test_json_writer_pretty(void **state)
{
	struct tkt_buf b = { 0 };
	struct tkt_json j;

	(void)state;
	tkt_json_init(&j, &b, true);
	tkt_json_obj_begin(&j, NULL);
	tkt_json_int(&j, "a", 1);
	tkt_json_arr_begin(&j, "b");
	tkt_json_int(&j, NULL, 1);
	tkt_json_int(&j, NULL, 2);
	tkt_json_arr_end(&j);
	tkt_json_obj_begin(&j, "c");
	tkt_json_obj_end(&j);
	tkt_json_arr_begin(&j, "d");
	tkt_json_obj_begin(&j, NULL);
	tkt_json_str(&j, "k", "v");
	tkt_json_obj_end(&j);
	tkt_json_arr_end(&j);
	tkt_json_obj_end(&j);
	assert_string_equal(b.data, "{\n"
				    "  \"a\": 1,\n"
				    "  \"b\": [\n"
				    "    1,\n"
				    "    2\n"
				    "  ],\n"
				    "  \"c\": {},\n"
				    "  \"d\": [\n"
				    "    {\n"
				    "      \"k\": \"v\"\n"
				    "    }\n"
				    "  ]\n"
				    "}\n");
	tkt_buf_free(&b);
	/* A top-level array, and an empty object. */
	tkt_json_init(&j, &b, true);
	tkt_json_arr_begin(&j, NULL);
	tkt_json_str(&j, NULL, "x");
	tkt_json_arr_end(&j);
	tkt_json_obj_begin(&j, NULL);
	tkt_json_obj_end(&j);
	assert_string_equal(b.data, "[\n  \"x\"\n]\n{}\n");
	tkt_buf_free(&b);
}

/* Deeper than TKT_JSON_DEPTH: the brackets still balance. */
static void test_json_writer_deep(void **state)
{
	struct tkt_buf b = { 0 };
	struct tkt_json j;
	char want[64];

	(void)state;
	tkt_json_init(&j, &b, false);
	for (int i = 0; i < 20; i++)
		tkt_json_arr_begin(&j, NULL);
	for (int i = 0; i < 20; i++)
		tkt_json_arr_end(&j);
	memset(want, '[', 20);
	memset(want + 20, ']', 20);
	want[40] = '\0';
	assert_string_equal(b.data, want);
	tkt_buf_free(&b);
}

/* Many strings across blocks and table growth, and big ones in blocks of their own: each
 * comes back whole and identical, and equal strings stay one. */
static void test_intern_many_and_big(void **state)
{
	struct tkt_intern *t = tkt_intern_new();
	static const char *ptrs[5000];
	char buf[64], *big = malloc(40000);

	(void)state;
	assert_non_null(t);
	assert_non_null(big);
	memset(big, 'x', 39999);
	big[39999] = '\0';
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(buf, sizeof(buf), "tests/test_soak.py::test_soak[%d]", i);
		ptrs[i] = tkt_intern(t, buf, (size_t)n);
		assert_non_null(ptrs[i]);
		if (i == 2500) /* a big one in the middle of a filling block */
			assert_non_null(tkt_intern(t, big, 39999));
	}
	assert_int_equal(tkt_intern_count(t), 5001);
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(buf, sizeof(buf), "tests/test_soak.py::test_soak[%d]", i);
		assert_ptr_equal(tkt_intern(t, buf, (size_t)n), ptrs[i]);
		assert_string_equal(ptrs[i], buf);
	}
	assert_int_equal(strlen(tkt_intern(t, big, 39999)), 39999);
	assert_int_equal(tkt_intern_count(t), 5001);
	/* An embedded NUL ends the string, as in C. */
	assert_ptr_equal(tkt_intern(t, "tests/test_soak.py::test_soak[7]\0tail", 37), ptrs[7]);
	tkt_intern_free(t);
	free(big);
}

static void test_grow(void **state)
{
	size_t cap = 0, n;
	int *a = NULL, *before;

	(void)state;
	assert_int_equal(tkt_grow((void **)&a, &cap, 0, sizeof(*a), 4), 0);
	assert_non_null(a);
	assert_int_equal(cap, 4);
	for (n = 0; n < 9; n++) {
		assert_int_equal(tkt_grow((void **)&a, &cap, n, sizeof(*a), 4), 0);
		a[n] = (int)n;
	}
	assert_int_equal(cap, 16); /* 4, 8, 16 */
	for (n = 0; n < 9; n++)
		assert_int_equal(a[n], (int)n);
	before = a;
	assert_int_equal(tkt_grow((void **)&a, &cap, 15, sizeof(*a), 4), 0); /* room left: no move */
	assert_ptr_equal(a, before);
	/* A size that would overflow is refused; the array is left as it was. */
	assert_int_equal(tkt_grow((void **)&a, &cap, 16, SIZE_MAX / 8, 4), -ENOMEM);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 16);
	free(a);
}
