/* Fork and exec of COMMAND. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/util.h"
#include "passwd.h"

int tkt_creds_from_env(struct tkt_creds *c, bool as_root)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	struct passwd *pw;
	struct tkt_pwent fpw;
	bool files_first, from_files = false;
	char *end;
	long uid, gid;
	int n;

	memset(c, 0, sizeof(*c));
	if (as_root || geteuid() != 0 || !su || !sg)
		return 0;
	uid = strtol(su, &end, 10);
	if (*end || uid <= 0)
		return 0;
	gid = strtol(sg, &end, 10);
	if (*end || gid < 0)
		return -EINVAL;
	c->drop = true;
	c->uid = uid;
	c->gid = gid;
	files_first = tkt_is_static();
	if (files_first && tkt_files_user("/etc/passwd", uid, &fpw) == 0) {
		from_files = true;
	} else if ((pw = getpwuid(uid))) {
		snprintf(c->user, sizeof(c->user), "%s", pw->pw_name);
		snprintf(c->home, sizeof(c->home), "%s", pw->pw_dir);
		snprintf(c->shell, sizeof(c->shell), "%s", pw->pw_shell);
	} else if (!files_first && tkt_files_user("/etc/passwd", uid, &fpw) == 0) {
		from_files = true;
	}
	if (from_files) {
		snprintf(c->user, sizeof(c->user), "%s", fpw.name);
		snprintf(c->home, sizeof(c->home), "%s", fpw.home);
		snprintf(c->shell, sizeof(c->shell), "%s", fpw.shell);
	}
	if (!c->user[0])
		return 0; /* unknown user: no supplementary groups */
	/* The groups now, in the parent: the child only calls setgroups(). */
	n = sizeof(c->groups) / sizeof(c->groups[0]);
	if (from_files || getgrouplist(c->user, c->gid, c->groups, &n) < 0)
		n = tkt_files_groups("/etc/group", c->user, c->gid, c->groups,
				     sizeof(c->groups) / sizeof(c->groups[0]));
	c->ngroups = n;
	return 0;
}

static int check_exec(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
		return -EACCES;
	return 0;
}

int tkt_command_lookup(const char *argv0, char *resolved, size_t sz)
{
	const char *path = getenv("PATH");
	int last = -ENOENT;

	if (!*argv0)
		return -ENOENT;
	if (strchr(argv0, '/')) {
		snprintf(resolved, sz, "%s", argv0);
		return check_exec(argv0);
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		int r;

		snprintf(resolved, sz, "%.*s%s%s", (int)n, path, n ? "/" : "", argv0);
		r = check_exec(resolved);
		if (r == 0)
			return 0;
		if (r == -EACCES)
			last = r;
		path += n + (colon ? 1 : 0);
	}
	return last;
}

/* Become the invoking user (under sudo), with its groups and environment. */
static int drop_privileges(const struct tkt_creds *c)
{
	if (!c->drop)
		return 0;
	errno = 0;
	if (setgroups(c->ngroups, c->ngroups ? c->groups : NULL) || setgid(c->gid) ||
	    setuid(c->uid))
		return -(errno ? errno : EPERM);
	if (c->home[0])
		setenv("HOME", c->home, 1);
	if (c->user[0]) {
		setenv("USER", c->user, 1);
		setenv("LOGNAME", c->user, 1);
	}
	return 0;
}

static void write_oom_adj(const char *oom_adj)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, oom_adj, strlen(oom_adj)) < 0)
			(void)0;
		close(fd);
	}
}

int tkt_exec_untraced(char *const argv[], const struct tkt_creds *c, const char *oom_adj,
		      bool *setup_failed)
{
	int r;

	*setup_failed = false;
	if (oom_adj)
		write_oom_adj(oom_adj);
	r = drop_privileges(c);
	if (r) {
		*setup_failed = true;
		return r;
	}
	execvp(argv[0], argv);
	return -errno;
}

/* err > 0: exec failed with that errno; err < 0: setting up the child failed. */
static void child_fail(int err_fd, int err)
{
	ssize_t n = write(err_fd, &err, sizeof(err));

	(void)n;
	_exit(err == ENOENT ? TKT_EXIT_NOTFOUND : err > 0 ? TKT_EXIT_NOEXEC : TKT_EXIT_FAIL);
}

/* Whether tktrace has a controlling terminal: then COMMAND stays in tktrace's process group,
 * the terminal's job, so Ctrl-C, Ctrl-Z, fg and bg act on both as on any command. */
static bool has_terminal(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void child_main(char *const argv[], const struct tkt_creds *c, const char *oom_adj,
		       int gate_rd, int err_wr, pid_t parent, bool own_group)
{
	sigset_t none;
	char b;

	/* The tracer's -1000 shield must not pass to COMMAND: restore the original. */
	if (oom_adj)
		write_oom_adj(oom_adj);
	/* Its own process group; the parent sets it too, so neither waits for the other. */
	if (own_group)
		setpgid(0, 0);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (drop_privileges(c))
		child_fail(err_wr, -(errno ? errno : EPERM));
	/* After the uid change, which clears it; then make sure the parent is still there. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(TKT_EXIT_FAIL);
	if (read(gate_rd, &b, 1) != 1)
		_exit(TKT_EXIT_FAIL); /* the tracer gave up before opening the gate */
	close(gate_rd);
	execvp(argv[0], argv);
	child_fail(err_wr, errno);
}

int tkt_launch_prepare(struct tkt_launch *l, char *const argv[], const struct tkt_creds *c,
		       const char *oom_adj)
{
	int gate[2], err[2];
	pid_t parent = getpid();

	memset(l, 0, sizeof(*l));
	l->gate_fd = l->err_fd = -1;
	l->own_group = !has_terminal();
	if (pipe2(gate, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		int e = -errno;
		close(gate[0]);
		close(gate[1]);
		return e;
	}
	fflush(NULL);
	l->pid = fork();
	if (l->pid < 0) {
		int e = -errno;
		close(gate[0]);
		close(gate[1]);
		close(err[0]);
		close(err[1]);
		return e;
	}
	if (l->pid == 0) {
		close(gate[1]);
		close(err[0]);
		child_main(argv, c, oom_adj, gate[0], err[1], parent, l->own_group);
	}
	close(gate[0]);
	close(err[1]);
	if (l->own_group)
		setpgid(l->pid, l->pid);
	l->gate_fd = gate[1];
	l->err_fd = err[0];
	return 0;
}

void tkt_launch_signal(struct tkt_launch *l, int sig, bool from_terminal)
{
	if (l->pid <= 0)
		return;
	if (l->own_group) {
		if (kill(-l->pid, sig) && errno == ESRCH)
			kill(l->pid, sig);
	} else if (!from_terminal) {
		/* A key at the terminal reached COMMAND's group (ours) already; a kill(1) did not. */
		kill(l->pid, sig);
	}
}

int tkt_launch_go(struct tkt_launch *l, bool *setup_failed)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int e = 0;
	ssize_t n;

	/* A child that failed before the gate (its switch of user) has closed it: no SIGPIPE,
	 * its error is in err_fd. */
	sigaction(SIGPIPE, &ign, &old);
	n = write(l->gate_fd, "g", 1);
	e = errno;
	sigaction(SIGPIPE, &old, NULL);
	if (n != 1 && e != EPIPE) {
		/* The child reads EOF at the gate and exits: the caller's waitpid returns. */
		close(l->gate_fd);
		l->gate_fd = -1;
		return -e;
	}
	e = 0;
	close(l->gate_fd);
	l->gate_fd = -1;
	do {
		n = read(l->err_fd, &e, sizeof(e));
	} while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	*setup_failed = n == sizeof(e) && e < 0;
	if (n != sizeof(e))
		return 0;
	return e < 0 ? e : -e;
}

void tkt_launch_abort(struct tkt_launch *l)
{
	if (l->gate_fd >= 0)
		close(l->gate_fd); /* the child reads EOF and exits by itself */
	if (l->err_fd >= 0)
		close(l->err_fd);
	l->gate_fd = l->err_fd = -1;
	if (l->pid > 0)
		waitpid(l->pid, NULL, 0);
	l->pid = 0;
}
