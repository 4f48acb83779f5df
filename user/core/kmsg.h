/* OOM kills in the kernel log: pure parsing of dmesg, /dev/kmsg, syslog(2) and
 * journalctl -k lines, so unit tests and the fuzzer drive it directly. */
#ifndef TKT_KMSG_H
#define TKT_KMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TKT_KMSG_LINE_MAX 4096 /* longer lines are cut: the kernel's are under 1 KiB */
#define TKT_KMSG_PATH_MAX 512
#define TKT_KMSG_MAX_OOMS 100000 /* a log holds at most this many kills */

/* One kill, assembled from the lines the OOM killer prints. */
struct tkt_kmsg_oom {
	bool has_ts;
	double ts_s;                 /* kernel time stamp (seconds since boot), when the log has it */
	char trigger_comm[17];       /* "X invoked oom-killer" */
	uint32_t trigger_pid;        /* "PID: N Comm: X" of the stack dump */
	bool has_usage;              /* "memory: usage NkB, limit NkB, failcnt N" */
	uint64_t usage_kb, limit_kb;
	bool has_constraint;         /* the "oom-kill:" line */
	char constraint[32];         /* CONSTRAINT_MEMCG, CONSTRAINT_NONE, ... */
	char oom_memcg[TKT_KMSG_PATH_MAX]; /* the cgroup whose limit was hit ("" when none) */
	char task_memcg[TKT_KMSG_PATH_MAX];
	bool has_killed;             /* the "Killed process" line */
	bool memcg;                  /* "Memory cgroup out of memory" rather than the machine's */
	uint32_t pid;                /* victim */
	char comm[17];
	uint32_t uid;
	uint64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb;
	int oom_score_adj;
};

struct tkt_kmsg {
	struct tkt_kmsg_oom *ooms;
	size_t nooms, cap;
	bool open; /* the last kill still takes lines */
	/* Line assembly for tkt_kmsg_feed. */
	char line[TKT_KMSG_LINE_MAX + 1];
	size_t linelen;
	bool overlong;
	uint64_t lines;
	uint64_t nul_at; /* first NUL byte + 1: not a text log */
	uint64_t bytes;
};

void tkt_kmsg_init(struct tkt_kmsg *k);
void tkt_kmsg_free(struct tkt_kmsg *k);
/* One line, with or without its newline. -ENOMEM, else 0. */
int tkt_kmsg_line(struct tkt_kmsg *k, const char *line, size_t len);
/* Bytes of a log in any pieces; tkt_kmsg_end takes a last line without a newline. */
int tkt_kmsg_feed(struct tkt_kmsg *k, const char *data, size_t len);
int tkt_kmsg_end(struct tkt_kmsg *k);
/* The message of a log line without its prefix ([ts], <prio>, "6,12,345,-;", journal's
 * "Mon DD HH:MM:SS host kernel: "); *ts when it carried a kernel time stamp. */
const char *tkt_kmsg_strip(const char *line, size_t len, size_t *msglen, bool *has_ts, double *ts);

#endif /* TKT_KMSG_H */
