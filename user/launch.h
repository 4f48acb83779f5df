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

/* COMMAND runs in a process group of its own (pgid = pid), so signals can be forwarded to
 * all of it (xdist workers included) without hitting tktrace's own group: the shell or CI
 * job that started tktrace. When tktrace owns the terminal, COMMAND's group gets it. */
struct tkt_launch {
	pid_t pid;
	int gate_fd; /* write end: one byte lets COMMAND exec */
	int err_fd;  /* read end: errno of a failed exec, EOF on success */
	int tty_fd;  /* the controlling terminal handed to COMMAND, or -1 */
	pid_t tty_pgrp; /* its foreground group before: ours */
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
/* Send sig to COMMAND's process group (to COMMAND alone if the group is gone). */
void tkt_launch_signal(struct tkt_launch *l, int sig);
/* COMMAND was stopped from the terminal (Ctrl-Z): take the terminal back, stop tktrace too so
 * the shell sees the job stopped, and on `fg` hand the terminal back and continue COMMAND. */
void tkt_launch_job_stopped(struct tkt_launch *l);
/* Give the terminal back to tktrace's group (at the end). */
void tkt_launch_release_tty(struct tkt_launch *l);

#endif /* TKT_LAUNCH_H */
