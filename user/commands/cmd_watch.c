/* tktrace watch: load the machine-wide programs, probe every C library in use, write a JSON
 * line per kill until SIGTERM. The records' meaning lives in watch_core.c. */
#define _GNU_SOURCE
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "core/util.h"
#include "core/watch_core.h"
#include "system/cgroup.h"
#include "system/privs.h"
#include "system/safeopen.h"
#include "tracing/watcher.h"

#define W_RESCAN_NS (3ULL * 1000 * 1000 * 1000)
#ifndef W_RESCAN_ALL_NS /* forget scanned pids (they get reused), unprobe unused libraries */
#define W_RESCAN_ALL_NS (600ULL * 1000 * 1000 * 1000)
#endif

static volatile sig_atomic_t w_stop, w_reopen;

static void w_on_signal(int sig)
{
	if (sig == SIGHUP)
		w_reopen = 1;
	else
		w_stop = 1;
}

/* ---- output ---- */

/* The output file, or -1 with why in err. */
static int open_out(const char *path, char *err, size_t errsz)
{
	/* O_NOFOLLOW: never append through a link planted at the path, nor to a FIFO, a hard
	 * link or another user's file there; O_APPEND: rotation and several writers keep whole
	 * lines. */
	const struct tkt_open_check chk = { .owned = true };
	int fd;

	if (strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	fd = tkt_open_regular(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0640, &chk, err,
			      errsz);
	return fd < 0 ? -1 : fd;
}

/* The reading end of a pipe we write to is closed: no need to wait for the next kill. */
static bool out_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

/* What a failed write of the output makes watch exit with. */
static int write_failed(const char *path, int r)
{
	/* The reader is gone (tktrace watch | head): a normal end. */
	if (r == -EPIPE)
		return 0;
	tkt_error("watch: writing %s failed: %s", path, strerror(-r));
	return TKT_EXIT_FAIL;
}

/* systemd Type=notify, without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_ready(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd;

	if (!s || (s[0] != '/' && s[0] != '@') || (n = strlen(s)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, s, n);
	if (s[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
		   offsetof(struct sockaddr_un, sun_path) + n) < 0)
		tkt_debug("cannot notify systemd: %s", strerror(errno));
	close(fd);
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct apply_ctx {
	struct tkt_watch *core;
	struct tkt_buf *out;
};

static void apply_one(void *ctx, const void *rec, size_t len)
{
	struct apply_ctx *a = ctx;

	tkt_watch_apply(a->core, rec, len, a->out);
}

int tkt_cmd_watch(int argc, char **argv)
{
	struct tkt_watch_cli cli;
	struct tkt_cgroup cg = { 0 };
	struct tkt_watch core;
	struct tkt_watch_opts wo = { 0 };
	struct tkt_watcher *w = NULL;
	struct apply_ctx ac;
	struct tkt_buf out = { 0 };
	struct sigaction sa;
	char err[512], filter[1024], why[128];
	uint64_t last_scan, last_reset, last_drops = 0, now;
	bool drops_warned = false;
	int fd, rc = TKT_EXIT_FAIL, r;

	if (tkt_watch_parse(&cli, argc, argv, err, sizeof(err))) {
		tkt_error("%s", err);
		return TKT_EXIT_FAIL;
	}
	if (cli.help) {
		tkt_watch_usage(stdout);
		return 0;
	}
	tkt_log_set_level(cli.verbose >= 2 ? TKT_LOG_DEBUG :
			  cli.verbose ? TKT_LOG_INFO : TKT_LOG_WARN);
	tkt_cgroup_detect(&cg, "/proc/self/mounts");
	if (cli.cgroup) {
		r = tkt_watch_cg_filter(cli.cgroup, cg.version ? cg.mount : NULL, filter,
					sizeof(filter));
		if (r == -EXDEV) {
			tkt_error("watch: --cgroup %s is not in the hierarchy watch reports (%s): "
				  "give a directory under it, or the path as /proc/PID/cgroup "
				  "shows it",
				  cli.cgroup, cg.version ? cg.mount : "none found");
			return TKT_EXIT_FAIL;
		}
		if (r) {
			tkt_error("watch: invalid --cgroup '%s': %s", cli.cgroup, strerror(-r));
			return TKT_EXIT_FAIL;
		}
		/* A directory given under the mount must be one (a typo would match nothing);
		 * a path as /proc/PID/cgroup shows it may name a cgroup still to come. */
		if (cg.version && strncmp(cli.cgroup, cg.mount, strlen(cg.mount)) == 0 &&
		    access(cli.cgroup, F_OK)) {
			tkt_error("watch: --cgroup %s: %s", cli.cgroup, strerror(errno));
			return TKT_EXIT_FAIL;
		}
		wo.cg_filter = filter;
	}
	fd = open_out(cli.output, why, sizeof(why));
	if (fd < 0) {
		tkt_error("watch: cannot write %s: %s", cli.output, why);
		return TKT_EXIT_FAIL;
	}
	wo.page_size = sysconf(_SC_PAGESIZE);
	wo.table_cap = TKT_WATCH_TABLE_CAP;
	if (tkt_watch_init(&core, &wo)) {
		tkt_error("watch: out of memory");
		goto out_fd;
	}
	/* A kill logger must outlive the OOMs it logs (needs CAP_SYS_RESOURCE). */
	r = tkt_oom_adj_write("-1000");
	if (r)
		tkt_info("watch: cannot shield tktrace from the OOM killer: %s", strerror(-r));
	r = tkt_watcher_open(&w, cg.version, err, sizeof(err));
	if (r) {
		tkt_error("%s", err);
		goto out;
	}
	ac.core = &core;
	ac.out = &out;
#ifdef __GLIBC__
	/* For a process that stays for days: loading parsed the kernel's BTF (megabytes, freed
	 * since), give those pages back; and keep a burst's big buffers out of the heap (glibc
	 * would otherwise raise its mmap threshold and keep them once freed). */
	malloc_trim(0);
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = w_on_signal; /* no SA_RESTART: the poll must wake up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	tkt_log(TKT_LOG_WARN, "watch: ready (pid %d), %d C libraries probed, writing to %s%s%s",
		(int)getpid(), tkt_watcher_nlibcs(w), strcmp(cli.output, "-") ? cli.output : "stdout",
		wo.cg_filter ? ", cgroup " : "", wo.cg_filter ? (filter[0] ? filter : "/") : "");
	sd_ready();
	last_scan = last_reset = clock_ns(CLOCK_MONOTONIC);
	while (!w_stop) {
		r = tkt_watcher_wait(w, 100);
		if (r < 0) {
			tkt_error("watch: reading events failed: %s", strerror(-r));
			goto out;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		core.rt_offset_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - now);
		tkt_watcher_apply(w, apply_one, &ac);
		tkt_watch_flush(&core, now, &out);
		if (now - last_scan >= W_RESCAN_NS) {
			uint64_t d;
			int e = tkt_watcher_drops(w, &d);
			if (e < 0 && !drops_warned) { /* once, not every second */
				tkt_error("watch: warning: cannot read the kernel's count of lost "
					  "events (%s): losses may go unreported", strerror(-e));
				drops_warned = true;
			}
			if (d > last_drops) { /* a partial read may come out lower */
				tkt_watch_lost(&core, now, d - last_drops, &out);
				last_drops = d;
			}
			if (now - last_reset >= W_RESCAN_ALL_NS) {
				tkt_watcher_scan(w, now, true);
				last_reset = now;
			} else {
				tkt_watcher_scan(w, now, false);
			}
			last_scan = now;
		}
		if (w_reopen && fd != STDOUT_FILENO) {
			int nfd = open_out(cli.output, why, sizeof(why));
			w_reopen = 0;
			if (nfd < 0) {
				tkt_error("watch: cannot reopen %s: %s", cli.output, why);
				goto out;
			}
			close(fd);
			fd = nfd;
		}
		w_reopen = 0;
		if (out.len && (r = tkt_write_all(fd, out.data, out.len))) {
			rc = write_failed(cli.output, r);
			goto out;
		}
		if (out_gone(fd)) {
			rc = 0; /* watch | head: the reader has what it wanted */
			goto out;
		}
		tkt_buf_reset(&out);
		if (out.cap > (256u << 10))
			tkt_buf_free(&out);
	}
	/* Stopped: what the rings still hold, and the held kills, then a clean exit. */
	tkt_watcher_wait(w, 0);
	tkt_watcher_apply(w, apply_one, &ac);
	tkt_watch_flush(&core, UINT64_MAX, &out);
	if (out.len && (r = tkt_write_all(fd, out.data, out.len))) {
		rc = write_failed(cli.output, r);
		goto out;
	}
	tkt_info("watch: stopped after %llu SIGKILLs and %llu OOM kills (%llu filtered out)",
		 (unsigned long long)core.sigkills, (unsigned long long)core.ooms,
		 (unsigned long long)core.filtered);
	rc = 0;
out:
	tkt_watcher_free(w);
	tkt_watch_free(&core);
	tkt_buf_free(&out);
out_fd:
	if (fd != STDOUT_FILENO)
		close(fd);
	return rc;
}
