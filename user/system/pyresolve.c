/* pytest --pyargs, live: ask the pytest process's own Python where its --pyargs names are. */
#define _GNU_SOURCE
#include "pyresolve.h"

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
