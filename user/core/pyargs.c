/* pytest --pyargs: from node id to file and rerun command; a pytest command line's options. */
#define _GNU_SOURCE
#include "pyargs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Options (pytest's and python's) whose value is the next argument and may look like a module
 * name: the value is not an argument to collect. */
static bool takes_value(const char *a)
{
	static const char *const opts[] = { "-m", "-k", "-p", "-n", "-c", "-o", "-W", "-r", "-X",
					    "--deselect", "--ignore", "--ignore-glob", "--rootdir",
					    "--confcutdir", "--basetemp", "--dist", "--tb",
					    "--junitxml", "--junit-xml", "--maxfail", "--durations",
					    "--log-level", "--import-mode", "--override-ini",
					    "--hypothesis-profile", "--hypothesis-seed" };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(a, opts[i]) == 0)
			return true;
	return false;
}

/* "numpy.lib" or "numpy.lib.tests.test_format::test_x": a dotted Python name before "::". */
static size_t module_len(const char *a)
{
	const char *e = strstr(a, "::");
	size_t n = e ? (size_t)(e - a) : strlen(a);
	bool start = true;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = a[i];
		if (c == '.' && !start && i + 1 < n) {
			start = true;
			continue;
		}
		if (!(isalpha(c) || c == '_' || (!start && isdigit(c))))
			return 0;
		start = false;
	}
	return n;
}

bool tkt_pyargs_names(const char *argv, size_t len, struct tkt_buf *names)
{
	bool pyargs = false, skip = true; /* argv[0]: the interpreter or script */

	tkt_buf_reset(names);
	for (size_t off = 0; off < len;) {
		const char *a = argv + off;
		size_t n = strnlen(a, len - off);
		off += n + 1;
		if (skip) {
			skip = false;
			continue;
		}
		if (strcmp(a, "--pyargs") == 0) {
			pyargs = true;
		} else if (a[0] == '-') {
			skip = takes_value(a);
		} else if ((n = module_len(a))) {
			tkt_buf_append(names, a, n);
			tkt_buf_append(names, "\n", 1);
		}
	}
	if (!pyargs)
		tkt_buf_reset(names);
	return pyargs && names->len;
}

bool tkt_pytest_junitxml(const char *argv, size_t len, const char *cwd, struct tkt_buf *path)
{
	const char *val = NULL;

	for (size_t off = 0; off < len;) {
		const char *a = argv + off;
		size_t n = strnlen(a, len - off);
		off += n + 1;
		if (strcmp(a, "--junitxml") == 0 || strcmp(a, "--junit-xml") == 0)
			val = off < len ? argv + off : NULL;
		else if (strncmp(a, "--junitxml=", 11) == 0)
			val = a + 11;
		else if (strncmp(a, "--junit-xml=", 12) == 0)
			val = a + 12;
	}
	tkt_buf_reset(path);
	if (!val || !*val)
		return false;
	if (val[0] != '/' && cwd)
		tkt_buf_printf(path, "%s/%s", cwd, val);
	else
		tkt_buf_printf(path, "%s", val);
	return path->len > 0;
}

/* The file part of a node id ("tests/test_x.py"), "" when the root is the module itself. */
static size_t file_part(const char *nodeid)
{
	const char *sep = strstr(nodeid, "::");

	return sep ? (size_t)(sep - nodeid) : strlen(nodeid);
}

static void root_file(struct tkt_buf *file, const char *base, size_t blen, const char *nodeid)
{
	size_t flen = file_part(nodeid);

	tkt_buf_reset(file);
	if (flen)
		tkt_buf_printf(file, "%.*s/%.*s", (int)blen, base, (int)flen, nodeid);
	else
		tkt_buf_printf(file, "%.*s", (int)blen, base);
}

bool tkt_pyargs_root(const char *roots, const char *nodeid, struct tkt_buf *module,
		     struct tkt_buf *file)
{
	if (!roots || !nodeid)
		return false;
	for (const char *l = roots; *l;) {
		const char *tab = strchr(l, '\t'), *nl = strchr(l, '\n');
		struct stat st;
		if (!nl)
			nl = l + strlen(l);
		/* The argument whose directory has the file: numpy.lib and numpy.fft both have
		 * tests/, not both tests/test_format.py. A package inside the rootdir gives node
		 * ids relative to the rootdir instead (pytest --pyargs mypkg from the project):
		 * no root has the file then, and the caller takes the directory's. */
		if (tab && tab < nl) {
			root_file(file, tab + 1, nl - tab - 1, nodeid);
			if (file->data && stat(file->data, &st) == 0 && S_ISREG(st.st_mode)) {
				tkt_buf_reset(module);
				tkt_buf_append(module, l, tab - l);
				return module->data != NULL;
			}
		}
		l = *nl ? nl + 1 : nl;
	}
	return false;
}

bool tkt_pyargs_spec(const char *roots, const char *nodeid, struct tkt_buf *out)
{
	struct tkt_buf mod = { 0 }, file = { 0 };
	size_t flen = file_part(nodeid);
	bool ok = tkt_pyargs_root(roots, nodeid, &mod, &file);

	/* tests/test_format.py -> .tests.test_format: pytest's own search_pypath resolves the
	 * dotted name back to the file (a directory of the path need not be a package). */
	if (ok && flen) {
		size_t n = flen;
		if (n > 3 && strncmp(nodeid + n - 3, ".py", 3) == 0)
			n -= 3;
		else
			ok = false; /* not a Python file: no module name for it */
		if (ok) {
			tkt_buf_append(&mod, ".", 1);
			for (size_t i = 0; i < n; i++)
				tkt_buf_append(&mod, nodeid[i] == '/' ? "." : nodeid + i, 1);
		}
	}
	if (ok) {
		tkt_buf_reset(out);
		tkt_buf_printf(out, "%s%s", mod.data, nodeid + flen);
	}
	tkt_buf_free(&mod);
	tkt_buf_free(&file);
	return ok;
}

void tkt_test_file(struct tkt_buf *out, const char *cwd, const char *pyargs, const char *nodeid)
{
	struct tkt_buf mod = { 0 };
	size_t flen = file_part(nodeid);

	if (!pyargs || !tkt_pyargs_root(pyargs, nodeid, &mod, out)) {
		tkt_buf_reset(out);
		if (cwd && nodeid[0] != '/')
			tkt_buf_printf(out, "%s/%.*s", cwd, (int)flen, nodeid);
		else
			tkt_buf_printf(out, "%.*s", (int)flen, nodeid);
	}
	tkt_buf_free(&mod);
}
