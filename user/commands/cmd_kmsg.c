/* tktrace explain-kmsg: the OOM kills in the kernel log, mapped to tests with a recording. */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>
#include "cli.h"
#include "core/kmsg.h"
#include "core/replay.h"
#include "reports/report.h"
#include "core/util.h"

#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10

static void usage(FILE *f)
{
	fputs("Usage: tktrace explain-kmsg [--trace FILE] [LOGFILE]\n"
	      "\n"
	      "List the OOM kills in the kernel log: victim pid, comm and memory, the constraint,\n"
	      "the memory cgroup whose limit was hit (oom_memcg) and the victim's (task_memcg).\n"
	      "Without LOGFILE, reads this machine's kernel log (/dev/kmsg, else syslog(2); may\n"
	      "need root). LOGFILE may hold dmesg, dmesg -T, /dev/kmsg or journalctl -k output;\n"
	      "'-' is stdin. With --trace, each kill is mapped to the test that ran in its process,\n"
	      "from a recording made with `tktrace --record FILE`.\n"
	      "\n"
	      "Options:\n"
	      "  --trace FILE   a recording of the run the kills happened in\n"
	      "  -h, --help     show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo tktrace explain-kmsg\n"
	      "  journalctl -k -b -1 > k.log && tktrace explain-kmsg k.log\n"
	      "  sudo tktrace explain-kmsg --trace run.tkt\n"
	      "\n"
	      "Exit status: 0, or 125 if the log or the recording cannot be read.\n",
	      f);
}

/* The live kernel log: /dev/kmsg from the start of its buffer, without waiting. */
static int read_kmsg_dev(struct tkt_kmsg *k, char *err, size_t errsz)
{
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errsz, "/dev/kmsg: %s", strerror(errno));
		return -errno;
	}
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec));
		if (n < 0 && (errno == EINTR || errno == EPIPE))
			continue; /* EPIPE: records overwritten while reading */
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			int e = errno;
			snprintf(err, errsz, "/dev/kmsg: %s", strerror(e));
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		/* One record per read: its message, then " KEY=value" lines, ignored. */
		if (tkt_kmsg_feed(k, rec, n) || tkt_kmsg_end(k)) {
			close(fd);
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
	}
	close(fd);
	return 0;
}

static int read_syslog(struct tkt_kmsg *k, char *err, size_t errsz)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	char *buf;
	int n;

	if (size <= 0) {
		snprintf(err, errsz, "syslog(2): %s", strerror(errno));
		return -errno;
	}
	buf = malloc(size);
	if (!buf) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	n = klogctl(SYSLOG_ACTION_READ_ALL, buf, size);
	if (n < 0) {
		snprintf(err, errsz, "syslog(2): %s", strerror(errno));
		free(buf);
		return -errno;
	}
	n = tkt_kmsg_feed(k, buf, n) || tkt_kmsg_end(k);
	free(buf);
	return n ? -ENOMEM : 0;
}

static int kmsg_feed(void *ctx, const char *data, size_t len)
{
	return tkt_kmsg_feed(ctx, data, len);
}

static int read_file(struct tkt_kmsg *k, const char *path, char *err, size_t errsz)
{
	int r = tkt_read_chunks(path, kmsg_feed, k, err, errsz);

	if (!r)
		r = tkt_kmsg_end(k);
	if (r == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	else if (!r && k->nul_at) {
		snprintf(err, errsz, "%s: not a text log (a NUL byte at offset %llu)", path,
			 (unsigned long long)k->nul_at - 1);
		r = -EINVAL;
	}
	return r;
}

/* Kernel time stamps and CLOCK_MONOTONIC agree to a few ms (both count from boot, without
 * suspend); this slack only tells a reused pid from the recording's. */
#define TS_SLACK_NS (10ULL * 1000000000ULL)

static bool near(const struct tkt_kmsg_oom *o, uint64_t lo_ns, uint64_t hi_ns)
{
	uint64_t ts;

	if (!o->has_ts)
		return true;
	ts = (uint64_t)(o->ts_s * 1e9);
	return ts + TS_SLACK_NS >= lo_ns && ts <= hi_ns + TS_SLACK_NS;
}

/* The recording's view of a kill's victim: its OOM record, else a kill of it. */
static const struct tkt_party *find_party(const struct tkt_replay *rp, const struct tkt_kmsg_oom *o,
					  bool *used)
{
	const struct tkt_model *m = &rp->model;

	if (!o->pid)
		return NULL;
	for (size_t i = 0; i < m->nooms; i++)
		if (!used[i] && m->ooms[i].victim.pid == o->pid &&
		    near(o, m->ooms[i].ts_ns, m->ooms[i].ts_ns)) {
			used[i] = true;
			return &m->ooms[i].victim;
		}
	for (size_t i = 0; i < m->nkills; i++)
		if (m->kills[i].target.pid == o->pid && near(o, m->kills[i].ts_ns, m->kills[i].ts_ns))
			return &m->kills[i].target;
	return NULL;
}

static void print_oom(struct tkt_buf *b, size_t i, size_t n, const struct tkt_kmsg_oom *o)
{
	char s1[32], s2[32], s3[32], s4[32];

	tkt_buf_printf(b, "OOM kill %zu", i + 1);
	if (n)
		tkt_buf_printf(b, " of %zu", n);
	if (o->has_ts)
		tkt_buf_printf(b, " at %.6f s after boot", o->ts_s);
	tkt_buf_printf(b, "\n");
	if (o->pid || o->comm[0])
		tkt_buf_printf(b, "  victim   pid %u (%s) uid %u", o->pid, o->comm, o->uid);
	else
		tkt_buf_printf(b, "  victim   unknown (the log lacks the kill's lines)");
	if (o->has_killed)
		tkt_buf_printf(b, ", rss %s (anon %s, file %s, shmem %s), oom_score_adj %d",
			       tkt_fmt_bytes((o->anon_rss_kb + o->file_rss_kb + o->shmem_rss_kb) << 10, s1,
					     sizeof(s1)),
			       tkt_fmt_bytes(o->anon_rss_kb << 10, s2, sizeof(s2)),
			       tkt_fmt_bytes(o->file_rss_kb << 10, s3, sizeof(s3)),
			       tkt_fmt_bytes(o->shmem_rss_kb << 10, s4, sizeof(s4)), o->oom_score_adj);
	tkt_buf_printf(b, "\n");
	if (o->trigger_comm[0]) {
		tkt_buf_printf(b, "  trigger  %s", o->trigger_comm);
		if (o->trigger_pid)
			tkt_buf_printf(b, " (pid %u)", o->trigger_pid);
		tkt_buf_printf(b, " invoked the OOM killer\n");
	}
	if (o->has_constraint) {
		tkt_buf_printf(b, "  limit    %s", o->constraint[0] ? o->constraint : "?");
		if (o->oom_memcg[0])
			tkt_buf_printf(b, ", oom_memcg %s", o->oom_memcg);
		if (o->task_memcg[0])
			tkt_buf_printf(b, ", task_memcg %s", o->task_memcg);
		tkt_buf_printf(b, "\n");
	} else if (o->has_killed) {
		tkt_buf_printf(b, "  limit    %s\n", o->memcg ? "a memory cgroup's" : "the machine's memory");
	}
	if (o->has_usage)
		tkt_buf_printf(b, "  cgroup   usage %s of limit %s\n",
			       tkt_fmt_bytes(o->usage_kb << 10, s1, sizeof(s1)),
			       tkt_fmt_bytes(o->limit_kb << 10, s2, sizeof(s2)));
}

int tkt_cmd_explain_kmsg(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trace", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *trace = NULL, *log = NULL;
	struct tkt_kmsg k;
	struct tkt_replay rp;
	bool have_rp = false, *used = NULL;
	struct tkt_buf out = { 0 }, tmp = { 0 };
	char err[512];
	int o, r, rc = 0;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			trace = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			tkt_error("explain-kmsg: option '%s' needs an argument (see tktrace explain-kmsg --help)",
				  argv[optind - 1]);
			return TKT_EXIT_FAIL;
		default:
			tkt_error("explain-kmsg: unknown option '%s' (see tktrace explain-kmsg --help)",
				  argv[optind - 1]);
			return TKT_EXIT_FAIL;
		}
	}
	if (argc - optind > 1) {
		tkt_error("explain-kmsg: give at most one log file (see tktrace explain-kmsg --help)");
		return TKT_EXIT_FAIL;
	}
	if (optind < argc)
		log = argv[optind];
	if (trace) {
		if (tkt_replay_init(&rp)) {
			tkt_error("out of memory");
			return TKT_EXIT_FAIL;
		}
		have_rp = true;
		if (tkt_replay_file(&rp, trace, err, sizeof(err))) {
			tkt_error("%s: %s", trace, err);
			tkt_replay_free(&rp);
			return TKT_EXIT_FAIL;
		}
	}
	tkt_kmsg_init(&k);
	if (log) {
		r = read_file(&k, log, err, sizeof(err));
	} else {
		r = read_kmsg_dev(&k, err, sizeof(err));
		if (r && r != -ENOMEM) {
			char err2[256];
			tkt_kmsg_free(&k);
			tkt_kmsg_init(&k);
			r = read_syslog(&k, err2, sizeof(err2));
			if (r)
				snprintf(err + strlen(err), sizeof(err) - strlen(err),
					 "; %s (run it as root, or give a saved log: journalctl -k > k.log)",
					 err2);
		}
	}
	if (r) {
		tkt_error("cannot read the kernel log: %s", err);
		rc = TKT_EXIT_FAIL;
		goto out;
	}
	if (have_rp) {
		size_t shown = 0;
		used = calloc(rp.model.nooms + 1, sizeof(*used));
		if (!used) {
			tkt_error("out of memory");
			rc = TKT_EXIT_FAIL;
			goto out;
		}
		for (size_t i = 0; i < k.nooms; i++) {
			const struct tkt_kmsg_oom *ko = &k.ooms[i];
			const struct tkt_party *p = find_party(&rp, ko, used);
			const char *ph;
			if (!p)
				continue;
			print_oom(&out, shown++, 0, ko);
			ph = tkt_phase_name(p->attr.phase);
			if (p->attr.test) {
				tkt_buf_printf(&out, "  test     %s [%s]", p->attr.test, ph ? ph : "?");
				if (p->attr.worker)
					tkt_buf_printf(&out, " worker %s", p->attr.worker);
				tkt_buf_printf(&out, "\n");
				tkt_buf_reset(&tmp);
				if (tkt_rerun_command(&tmp, p))
					tkt_buf_printf(&out, "  rerun    %s\n", tmp.data);
			} else {
				tkt_buf_printf(&out, "  test     none: pid %u was %s\n", p->pid,
					       ph ? "between tests" : "not running a test");
			}
		}
		if (shown < k.nooms)
			tkt_buf_printf(&out, "%zu OOM kill%s in %s %s not from the run in %s\n",
				       k.nooms - shown, k.nooms - shown == 1 ? "" : "s",
				       log ? log : "the kernel log", k.nooms - shown == 1 ? "is" : "are",
				       trace);
	} else {
		for (size_t i = 0; i < k.nooms; i++)
			print_oom(&out, i, k.nooms, &k.ooms[i]);
	}
	if (!k.nooms)
		tkt_buf_printf(&out, "no OOM kills in %s (%llu lines)\n", log ? log : "the kernel log",
			       (unsigned long long)k.lines);
	fputs(out.data ? out.data : "", stdout);
out:
	free(used);
	tkt_buf_free(&out);
	tkt_buf_free(&tmp);
	tkt_kmsg_free(&k);
	if (have_rp)
		tkt_replay_free(&rp);
	return rc;
}
