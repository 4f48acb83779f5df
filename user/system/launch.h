/* Starting COMMAND: held at a gate until every probe is attached, with the invoking user's
 * identity under sudo and the tracer's OOM shield removed. */
#ifndef TKT_LAUNCH_H
#define TKT_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct tkt_creds {
	bool drop; /* run as uid/gid below instead of root */
	uid_t uid;
	gid_t gid;
	char user[64];
	char home[512];
	char shell[256];
	int ngroups; /* supplementary groups to set (from NSS or /etc/group); 0: none */
	gid_t groups[256];
};

/* Without a controlling terminal (CI, cron, services) COMMAND runs in a process group of its
 * own (pgid = pid), so a signal sent to tktrace is forwarded to all of it (xdist workers
 * included) without hitting the group that started tktrace (a CI job's shell). At a terminal
 * it stays in tktrace's group, the terminal's job, and job control works as usual. */
struct tkt_launch {
	pid_t pid;
	int gate_fd; /* write end: one byte lets COMMAND exec */
	int err_fd;  /* read end: errno of a failed exec, EOF on success */
	bool own_group;
};

/* From SUDO_UID/SUDO_GID (when running as root under sudo and as_root is false). The name,
 * home and groups come from NSS, or from /etc/passwd and /etc/group when NSS has no answer;
 * a static binary reads the files first (NSS there would dlopen modules of another libc). */
int tkt_creds_from_env(struct tkt_creds *c, bool as_root);
/* Find argv0 like execvp would: 0, -ENOENT (127) or -EACCES (126). */
int tkt_command_lookup(const char *argv0, char *resolved, size_t sz);
/* Fork COMMAND, stopped at the gate. oom_adj is written back into the child. */
int tkt_launch_prepare(struct tkt_launch *l, char *const argv[], const struct tkt_creds *c,
		       const char *oom_adj);
/* Open the gate; returns 0 once COMMAND has exec'd, or -errno of the failed exec (or of the
 * failed switch to the invoking user, with *setup_failed set). */
int tkt_launch_go(struct tkt_launch *l, bool *setup_failed);
/* --best-effort: become COMMAND itself, untraced (oom_adj restored, the invoking user under
 * sudo), so its exit status and signals are tktrace's. Returns only on failure: -errno, with
 * *setup_failed when the switch of user failed. */
int tkt_exec_untraced(char *const argv[], const struct tkt_creds *c, const char *oom_adj,
		      bool *setup_failed);
/* Kill and reap a child that never got through the gate. */
void tkt_launch_abort(struct tkt_launch *l);
/* Forward sig: to COMMAND's process group when it has its own, else to COMMAND (not when the
 * terminal sent it: the terminal's job, COMMAND included, got it already). */
void tkt_launch_signal(struct tkt_launch *l, int sig, bool from_terminal);

#endif /* TKT_LAUNCH_H */
