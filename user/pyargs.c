/* pytest --pyargs: from node id to file and rerun command; a pytest command line's options. */
#define _GNU_SOURCE
#include "pyargs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* -- live: ask the process's own Python ------------------------------------------------------ */

/* importlib.util.find_spec without importing the parent packages (their code is the suite's,
 * not ours to run), then what pytest's search_pypath makes of the spec. */
static const char resolver_py[] =
	"import os, sys\n"
	"def spec(name):\n"
	"    path = s = None\n"
	"    parts = name.split('.')\n"
	"    for i in range(len(parts)):\n"
	"        for f in sys.meta_path:\n"
	"            try:\n"
	"                s = f.find_spec('.'.join(parts[:i + 1]), path)\n"
	"            except Exception:\n"
	"                s = None\n"
	"            if s:\n"
	"                break\n"
	"        else:\n"
	"            return None\n"
	"        path = s.submodule_search_locations\n"
	"        if path is None and i + 1 < len(parts):\n"
	"            return None\n"
	"    return s\n"
	"for n in sys.argv[1:]:\n"
	"    s = spec(n)\n"
	"    if s is None or s.origin in (None, 'namespace'):\n"
	"        continue\n"
	"    p = os.path.dirname(s.origin) if s.submodule_search_locations else s.origin\n"
	"    print(n, os.path.abspath(p), sep='\\t')\n";

static char *slurp_proc(uint32_t pid, const char *what, size_t *lenp)
{
	char path[64];
	struct tkt_buf b = { 0 };
	char chunk[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b.len < (1u << 20))
		tkt_buf_append(&b, chunk, n);
	close(fd);
	*lenp = b.len;
	if (!b.data)
		b.data = calloc(1, 1);
	return b.data;
}

/* argv or environ as a NULL-terminated vector pointing into buf (NUL-separated). */
static char **split_nul(char *buf, size_t len, const char *prepend[], size_t nprepend)
{
	size_t n = nprepend;
	char **v;

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\0';
	v = calloc(n + 2, sizeof(*v));
	if (!v)
		return NULL;
	n = 0;
	for (size_t i = 0; i < nprepend; i++)
		v[n++] = (char *)prepend[i];
	for (size_t off = 0; off < len; off += strnlen(buf + off, len - off) + 1)
		v[n++] = buf + off;
	return v;
}

static bool proc_ids(uint32_t pid, uid_t *uid, gid_t *gid)
{
	size_t len;
	char *st = slurp_proc(pid, "status", &len);
	const char *u, *g;
	bool ok;

	if (!st)
		return false;
	u = strstr(st, "\nUid:");
	g = strstr(st, "\nGid:");
	ok = u && g;
	if (ok) {
		*uid = strtoul(u + 5, NULL, 10);
		*gid = strtoul(g + 5, NULL, 10);
	}
	free(st);
	return ok;
}

int tkt_pyargs_resolve(uint32_t pid, const char *cwd, const char *names, struct tkt_buf *roots)
{
	char exe[4096], link[64];
	size_t alen, elen, nlen = strlen(names);
	char *args = slurp_proc(pid, "cmdline", &alen);
	char *env = slurp_proc(pid, "environ", &elen);
	char *nbuf = strdup(names);
	char **argv = NULL, **envp = NULL;
	uid_t uid;
	gid_t gid;
	ssize_t n;
	int pfd[2] = { -1, -1 }, r = -ESRCH, status;
	pid_t child = -1;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0 || !args || !alen || !env || !nbuf || !cwd || !proc_ids(pid, &uid, &gid))
		goto out;
	exe[n] = '\0';
	for (size_t i = 0; i < nlen; i++)
		if (nbuf[i] == '\n')
			nbuf[i] = '\0';
	/* argv[0] as the process had it: Python finds its venv (pyvenv.cfg) from there. */
	const char *pre[] = { args, "-c", resolver_py };
	argv = split_nul(nbuf, nlen, pre, 3);
	envp = split_nul(env, elen, NULL, 0);
	if (!argv || !envp || pipe2(pfd, O_CLOEXEC)) {
		r = -ENOMEM;
		goto out;
	}
	child = fork();
	if (child < 0) {
		r = -errno;
		goto out;
	}
	if (child == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(null, 2);
		/* The suite's user, not root: its finders and .pth files are its code. */
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid) || chdir(cwd))
			_exit(126);
		execve(exe, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	tkt_buf_reset(roots);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char chunk[4096];
		/* A few seconds at most: a hung interpreter must not stall the tracer. */
		if (poll(&p, 1, 5000) <= 0) {
			kill(child, SIGKILL);
			break;
		}
		n = read(pfd[0], chunk, sizeof(chunk));
		if (n <= 0 || roots->len > 65536)
			break;
		tkt_buf_append(roots, chunk, n);
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	r = roots->len ? 0 : -ENOENT;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(argv);
	free(envp);
	free(args);
	free(env);
	free(nbuf);
	return r;
}
