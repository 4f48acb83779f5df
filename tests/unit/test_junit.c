/* Unit tests for user/junit.c: pytest's test case names, XML escaping, merging into pytest's
 * JUnit XML (failure text, self-closing cases, missing cases, comments), the minimal file and
 * the atomic file update. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "junit.h"

#define assert_contains(hay, needle)                                                         \
	do {                                                                                 \
		if (!strstr((hay), (needle)))                                                \
			fail_msg("missing %s\n--- in ---\n%s", (needle), (hay));             \
	} while (0)

/* Start tags named name in xml outside comments ("<name " or "<name>" or "<name/"). */
static unsigned count_tags(const char *xml, const char *name)
{
	size_t nl = strlen(name);
	unsigned n = 0;

	for (const char *p = xml; (p = strchr(p, '<')); p++) {
		if (strncmp(p, "<!--", 4) == 0) {
			p = strstr(p, "-->");
			if (!p)
				break;
			continue;
		}
		if (strncmp(p + 1, name, nl) == 0 && strchr(" />", p[1 + nl]))
			n++;
	}
	return n;
}

/* The integer attribute attr of the first start tag named tag. */
static long attr_of(const char *xml, const char *tag, const char *attr)
{
	char open[64], key[64];
	const char *t, *a;

	snprintf(open, sizeof(open), "<%s ", tag);
	snprintf(key, sizeof(key), " %s=\"", attr);
	t = strstr(xml, open);
	assert_non_null(t);
	a = strstr(t, key);
	assert_non_null(a);
	assert_true(a < strchr(t, '>'));
	return strtol(a + strlen(key), NULL, 10);
}

/* A one-suite file's counts are the elements it holds (what CI dashboards show). */
static void assert_counts_match(const char *xml)
{
	assert_int_equal(count_tags(xml, "testsuite"), 1);
	assert_int_equal(attr_of(xml, "testsuite", "tests"), count_tags(xml, "testcase"));
	assert_int_equal(attr_of(xml, "testsuite", "errors"), count_tags(xml, "error"));
	assert_int_equal(attr_of(xml, "testsuite", "failures"), count_tags(xml, "failure"));
}

static void names_are(const char *nodeid, const char *cls, const char *name)
{
	struct tkt_buf c = { 0 }, n = { 0 };

	tkt_junit_names(nodeid, &c, &n);
	assert_string_equal(c.data, cls);
	assert_string_equal(n.data, name);
	tkt_buf_free(&c);
	tkt_buf_free(&n);
}

static void test_names(void **state)
{
	(void)state;
	names_are("tests/test_x.py::test_m", "tests.test_x", "test_m");
	names_are("tests/sub/test_x.py::TestC::Inner::test_m[a::b/c.py]", "tests.sub.test_x.TestC.Inner",
		  "test_m[a::b/c.py]");
	names_are("test_x.py::TestC::test_m[1]", "test_x.TestC", "test_m[1]");
}

static void test_escape(void **state)
{
	struct tkt_buf b = { 0 };

	(void)state;
	tkt_xml_escape(&b, "<&\"\x01>\tx\n");
	assert_string_equal(b.data, "&lt;&amp;&quot;?&gt;\tx\n");
	tkt_buf_free(&b);
}

/* What pytest-xdist writes when a worker dies: the crashed test as a failure. */
static const char XDIST[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites><testsuite name=\"pytest\" "
	"errors=\"0\" failures=\"1\" skipped=\"0\" tests=\"3\" time=\"1.0\">"
	"<!-- <testcase classname=\"tests.test_b\" name=\"test_alloc\"> in a comment -->"
	"<testcase classname=\"tests.test_a.TestC\" name=\"test_big[&lt;1&gt;]\" time=\"0.1\">"
	"<failure message=\"worker 'gw0' crashed while running 'tests/test_a.py::TestC::test_big[&lt;1&gt;]'\">"
	"worker 'gw0' crashed while running ...</failure></testcase>"
	"<testcase classname=\"tests.test_b\" name=\"test_alloc\" time=\"0.2\" />"
	"<testcase classname=\"tests.test_b\" name=\"test_ok\" time=\"0.2\"></testcase>"
	"</testsuite></testsuites>";

static void test_merge_xdist(void **state)
{
	struct tkt_junit_kill k[] = {
		{ "tests/test_a.py::TestC::test_big[<1>]", "tktrace: OOM <killed>", "details & more" },
		{ "tests/test_b.py::test_alloc", "tktrace: trigger", "D2" },
		{ "tests/test_b.py::test_ok", "tktrace: sigkill", "D3" },
		{ "tests/test_c.py::test_gone", "tktrace: lost", "D4" },
	};
	struct tkt_buf out = { 0 };
	size_t added;

	(void)state;
	assert_counts_match(XDIST);
	assert_int_equal(tkt_junit_merge(&out, XDIST, sizeof(XDIST) - 1, k, 4, &added), 0);
	assert_int_equal(added, 4);
	/* The explanation first in the failure's text; the rest of the failure kept. */
	assert_contains(out.data, "crashed while running 'tests/test_a.py::TestC::test_big[&lt;1&gt;]'\">"
				  "tktrace: OOM &lt;killed&gt;\ndetails &amp; more\nworker 'gw0' crashed "
				  "while running ...</failure></testcase>");
	/* The comment is left alone; the self-closing case is opened. */
	assert_contains(out.data, "<!-- <testcase classname=\"tests.test_b\" name=\"test_alloc\"> in a comment -->");
	assert_contains(out.data, "<testcase classname=\"tests.test_b\" name=\"test_alloc\" time=\"0.2\" >"
				  "<error message=\"tktrace: trigger\">D2</error></testcase>");
	assert_contains(out.data, "<testcase classname=\"tests.test_b\" name=\"test_ok\" time=\"0.2\">"
				  "<error message=\"tktrace: sigkill\">D3</error></testcase>");
	/* A test pytest never recorded: a new case, counted in its suite; the <error> added to
	 * the passed and the self-closing case counted too (the failure was counted already). */
	assert_contains(out.data, "errors=\"3\" failures=\"1\" skipped=\"0\" tests=\"4\"");
	assert_counts_match(out.data);
	assert_contains(out.data, "<testcase classname=\"tests.test_c\" name=\"test_gone\" time=\"0\">"
				  "<error message=\"tktrace: lost\">D4</error></testcase></testsuite></testsuites>");
	tkt_buf_free(&out);
}

/* Many killed tests (a suite killed case by case): one pass, not one copy of the whole file
 * per kill (quadratic: minutes here before; SIGALRM fails a test that takes too long). */
static void test_merge_many_kills(void **state)
{
	enum { N = 6000 };
	struct tkt_junit_kill *k = calloc(N + 1, sizeof(*k));
	char (*ids)[48] = calloc(N, sizeof(*ids)), details[2048];
	struct tkt_buf in = { 0 }, out = { 0 };
	size_t added;
	const char *p;

	(void)state;
	assert_non_null(k);
	assert_non_null(ids);
	memset(details, 'x', sizeof(details) - 1);
	details[sizeof(details) - 1] = '\0';
	tkt_buf_printf(&in, "<testsuites><testsuite errors=\"0\" tests=\"%d\">", N);
	for (int i = 0; i < N; i++)
		tkt_buf_printf(&in, "<testcase classname=\"t\" name=\"test_%d\" time=\"1\">"
				    "%s</testcase>", i, i % 2 ? "<failure message=\"f\">F</failure>" : "");
	tkt_buf_printf(&in, "</testsuite></testsuites>");
	/* Killed in reverse order, and test_7 twice. */
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "t.py::test_%d", N - 1 - i);
		k[i] = (struct tkt_junit_kill){ ids[i], "tktrace: killed", details };
	}
	k[N] = (struct tkt_junit_kill){ "t.py::test_7", "tktrace: again", "second" };
	alarm(20);
	assert_int_equal(tkt_junit_merge(&out, in.data, in.len, k, N + 1, &added), 0);
	alarm(0);
	assert_int_equal(added, N + 1);
	assert_true(out.len > in.len + (size_t)N * (sizeof(details) - 1));
	assert_true(out.len < in.len + (size_t)N * (sizeof(details) + 64));
	assert_contains(out.data, "<testcase classname=\"t\" name=\"test_0\" time=\"1\">"
				  "<error message=\"tktrace: killed\">xxx");
	assert_contains(out.data, "xxx</error></testcase><testcase classname=\"t\" name=\"test_1\" "
				  "time=\"1\"><failure message=\"f\">tktrace: killed\nxxx");
	assert_contains(out.data, "xxx\ntktrace: again\nsecond\nF</failure></testcase>"
				  "<testcase classname=\"t\" name=\"test_8\"");
	/* Nothing added as a new case: every kill found its own; each passed case gained an
	 * error. */
	assert_contains(out.data, "<testsuite errors=\"3000\" tests=\"6000\">");
	assert_int_equal(count_tags(out.data, "error"), N / 2);
	p = strstr(out.data, "name=\"test_5999\"");
	assert_non_null(p);
	assert_contains(p, "</testcase></testsuite></testsuites>");
	tkt_buf_free(&in);
	tkt_buf_free(&out);
	free(ids);
	free(k);
}

static void test_merge_without_suite(void **state)
{
	struct tkt_junit_kill k = { "t.py::test_x", "m", "d" };
	struct tkt_buf out = { 0 };
	size_t added;

	(void)state;
	assert_int_equal(tkt_junit_merge(&out, "<html/>", 7, &k, 1, &added), -EINVAL);
	tkt_buf_free(&out);
}

static void test_minimal(void **state)
{
	struct tkt_junit_kill k = { "tests/t.py::test_x[\"q\"]", "tktrace: OOM", "d" };
	struct tkt_buf out = { 0 };

	(void)state;
	tkt_junit_minimal(&out, &k, 1, 2.5);
	assert_counts_match(out.data);
	assert_contains(out.data, "<testsuite name=\"pytest\" errors=\"1\" failures=\"0\" skipped=\"0\" "
				  "tests=\"1\" time=\"2.500\"><testcase classname=\"tests.t\" "
				  "name=\"test_x[&quot;q&quot;]\" time=\"0\"><error message=\"tktrace: OOM\">d"
				  "</error></testcase></testsuite></testsuites>\n");
	tkt_buf_free(&out);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_merge_file(void **state)
{
	char dir[] = "/tmp/tkt-junit-XXXXXX", path[128], link[128], err[256];
	struct tkt_junit_kill k = { "tests/test_b.py::test_alloc", "tktrace: OOM", "d" };
	struct tkt_junit_io io = { .started = time(NULL) - 5, .duration_s = 1 };
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/junit.xml", dir);
	snprintf(link, sizeof(link), "%s/link.xml", dir);
	f = fopen(path, "w");
	fputs(XDIST, f);
	fclose(f);
	chmod(path, 0640);
	/* Written during this run: merged, mode kept. */
	assert_int_equal(tkt_junit_merge_file(path, &k, 1, &io, err, sizeof(err)), 0);
	assert_contains(slurp(path), "<error message=\"tktrace: OOM\">d</error></testcase>");
	assert_contains(slurp(path), "failures=\"1\"");
	assert_counts_match(slurp(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	/* Older than this run: a previous run's file, replaced by a minimal one. */
	io.started = time(NULL) + 100;
	assert_int_equal(tkt_junit_merge_file(path, &k, 1, &io, err, sizeof(err)), 0);
	assert_contains(slurp(path), "killed before it wrote its JUnit XML");
	assert_contains(slurp(path), "tests=\"1\"");
	/* Absent: written. */
	unlink(path);
	assert_int_equal(tkt_junit_merge_file(path, &k, 1, &io, err, sizeof(err)), 0);
	assert_contains(slurp(path), "<testcase classname=\"tests.test_b\" name=\"test_alloc\"");
	/* Nothing killed: nothing written. */
	unlink(path);
	assert_int_equal(tkt_junit_merge_file(path, &k, 0, &io, err, sizeof(err)), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* A link is not followed. */
	assert_int_equal(symlink("/etc/hostname", link), 0);
	assert_int_equal(tkt_junit_merge_file(link, &k, 1, &io, err, sizeof(err)), -ELOOP);
	assert_contains(err, "cannot merge into");
	unlink(link);
	/* A FIFO planted at the path: no hang (SIGALRM ends a hung test), a clear error. */
	assert_int_equal(mkfifo(link, 0600), 0);
	alarm(10);
	assert_int_equal(tkt_junit_merge_file(link, &k, 1, &io, err, sizeof(err)), -EINVAL);
	alarm(0);
	assert_int_equal(strcmp(err + strlen(err) - strlen(": not a regular file"),
				": not a regular file"), 0);
	assert_contains(err, "cannot merge into");
	unlink(link);
	/* Another hard link to the file: refused, the other file untouched. */
	f = fopen(path, "w");
	fputs(XDIST, f);
	fclose(f);
	assert_int_equal(linkat(AT_FDCWD, path, AT_FDCWD, link, 0), 0);
	io.started = time(NULL) - 5;
	assert_int_equal(tkt_junit_merge_file(path, &k, 1, &io, err, sizeof(err)), -EPERM);
	assert_contains(err, "it has other hard links");
	assert_int_equal(strcmp(slurp(link), XDIST), 0);
	unlink(link);
	unlink(path);
	/* No temporary files left behind. */
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_merge_xdist),
		cmocka_unit_test(test_merge_many_kills),
		cmocka_unit_test(test_merge_without_suite),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_merge_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
