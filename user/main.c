/* tktrace: run COMMAND under eBPF tracing and explain every kill by pytest test. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "cli.h"
#include "cmd_report.h"
#include "gha.h"
#include "html.h"
#include "launch.h"
#include "marks.h"
#include "model.h"
#include "output.h"
#include "record.h"
#include "report.h"
#include "sample.h"
#include "tracer.h"
#include "util.h"
#include "warn.h"
#include "watch.h"

/* The only global state: which signals arrived (bits), and which of them came from the
 * terminal (SI_KERNEL). Read and cleared with the signals blocked. */
static volatile sig_atomic_t pending_sigs;
static volatile sig_atomic_t pending_from_tty;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGCHLD)
		return; /* only to interrupt the poll */
	pending_sigs |= 1 << sig;
	if (si && si->si_code == SI_KERNEL)
		pending_from_tty |= 1 << sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* CAP_BPF + CAP_PERFMON (5.8+), or CAP_SYS_ADMIN, in the effective set. */
static bool have_bpf_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	uint64_t eff;

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
	eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ULL << 39)) && (eff & (1ULL << 38)); /* CAP_BPF, CAP_PERFMON */
}

static int read_oom_adj(char *buf, size_t sz)
{
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_oom_adj(const char *val)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* COMMAND's memory cgroup, followed as it moves (a wrapper may join one after exec). */
static void sample_cgroup(struct tkt_model *m, const struct tkt_cgroup *cg, pid_t pid, char *cur,
			  size_t cursz)
{
	char path[1024];
	uint64_t usage, limit;

	if (!cg->version || tkt_cgroup_of_pid(cg, pid, path, sizeof(path)))
		return;
	/* v1 shows an exiting process (or a zombie main thread) in the root: not a move. */
	if (cur[0] && strcmp(path, cg->mount) == 0)
		return;
	if (strcmp(path, cur)) {
		bool has = tkt_cgroup_limit(cg, path, &limit) == 0;
		snprintf(cur, cursz, "%s", path);
		tkt_model_set_cgroup(m, path, has, has ? limit : 0);
	}
	if (tkt_cgroup_usage(cg->version, path, &usage) == 0)
		tkt_model_cg_sample(m, now_ns(), usage);
}

/* --best-effort: tracing is impossible; become COMMAND, untraced. Returns only on failure. */
static int run_untraced(const struct tkt_cli *cli, const char *why, const char *oom_adj)
{
	struct tkt_creds creds;
	const char *ga;
	bool setup_failed;
	int r;

	tkt_error("warning: %s", why);
	tkt_error("warning: --best-effort: running %s untraced%s", cli->argv[0],
		  cli->memory_limit_arg || cli->cgroup_path ? ", without --memory-limit/--cgroup" : "");
	if (tkt_creds_from_env(&creds, cli->as_root)) {
		tkt_error("SUDO_UID/SUDO_GID are malformed; use --as-root to run as root");
		return TKT_EXIT_FAIL;
	}
	ga = getenv("GITHUB_ACTIONS");
	if (ga && strcmp(ga, "true") == 0) {
		struct tkt_buf b = { 0 };
		static const char head[] = "\n::warning title=tktrace%3A not tracing::";
		tkt_buf_append(&b, head, sizeof(head) - 1);
		tkt_gha_escape(&b, why, false);
		tkt_buf_printf(&b, "; --best-effort ran %s untraced.\n", cli->argv[0]);
		fflush(stdout);
		if (b.data && tkt_write_all(STDOUT_FILENO, b.data, b.len))
			tkt_debug("cannot write annotations: %s", strerror(errno));
		tkt_buf_free(&b);
	}
	fflush(NULL);
	r = tkt_exec_untraced(cli->argv, &creds, oom_adj, &setup_failed);
	if (setup_failed) {
		tkt_error("cannot run %s as uid %u: %s (use --as-root?)", cli->argv[0], creds.uid,
			  strerror(-r));
		return TKT_EXIT_FAIL;
	}
	tkt_error("%s: %s", cli->argv[0], r == -ENOENT ? "command not found" : strerror(-r));
	return r == -ENOENT ? TKT_EXIT_NOTFOUND : TKT_EXIT_NOEXEC;
}

/* Resident memory of each live pytest process, for the HTML timelines. */
static void sample_rss(struct tkt_model *m)
{
	uint32_t pids[TKT_RSS_SERIES];
	size_t n = tkt_model_live_pytest(m, pids, TKT_RSS_SERIES);
	uint64_t bytes;

	for (size_t i = 0; i < n; i++)
		if (tkt_sample_rss(pids[i], m->o.page_size, &bytes) == 0)
			tkt_model_rss_sample(m, pids[i], now_ns(), bytes);
}

/* COMMAND died of an interrupt: so does tktrace, so a calling shell sees the signal (bash
 * stops a loop on a Ctrl-C'd command, not on one that exited 130). Not SIGKILL (that would
 * read as the tracer killed) nor core-dumping signals. */
static void die_like(int sig)
{
	sigset_t one;

	if (sig != SIGINT && sig != SIGTERM && sig != SIGHUP && sig != SIGPIPE)
		return;
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
}

static void forward_signals(struct tkt_launch *child)
{
	sigset_t all, old;
	int sigs, tty;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	sigs = pending_sigs;
	tty = pending_from_tty;
	pending_sigs = pending_from_tty = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (int s = 1; s < 32; s++)
		if (sigs & (1 << s))
			tkt_launch_signal(child, s, tty & (1 << s));
}

/* --record: the writer gets every model input from here on. */
static struct tkt_rec_writer *start_recording(int fd, struct tkt_model *m, const struct tkt_cli *cli)
{
	struct tkt_rec_writer *w = NULL;
	struct utsname u;
	struct timespec now;
	struct tkt_rec_meta meta = {
		.t0_ns = m->o.t0_ns,
		.page_size = m->o.page_size,
		.retained_noise = m->o.retained_noise,
		.warn_pct = m->o.warn_pct,
		.cg_mount = m->o.cg_mount,
		.tktrace_version = TKT_VERSION,
		.kernel = uname(&u) ? "" : u.release,
		.argc = cli->argc,
		.argv = cli->argv,
	};
	int r;

	/* The wall clock at t0, as near as user space can tell. */
	clock_gettime(CLOCK_REALTIME, &now);
	meta.start_unix_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec - (now_ns() - m->o.t0_ns);
	r = tkt_rec_writer_open(&w, fd, &meta);
	if (r) {
		tkt_error("writing %s failed: %s", cli->record_path, strerror(-r));
		return NULL;
	}
	m->tap = tkt_rec_tap;
	m->tap_ctx = w;
	return w;
}

static void install_handlers(void)
{
	struct sigaction sa;
	int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD };

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: the poll must wake up */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int main(int argc, char **argv)
{
	struct tkt_cli cli;
	struct tkt_creds creds;
	struct tkt_cgroup cg = { 0 };
	struct tkt_launch child = { 0 };
	struct tkt_model model = { 0 };
	struct tkt_model_opts mo = { 0 };
	struct tkt_tracer *tracer = NULL;
	struct tkt_run run = { 0 };
	struct tkt_buf out = { 0 };
	char err[512], resolved[4096], oom_adj[16] = "0", cg_cur[1024] = "";
	int8_t *marked = NULL;
	int per_test_fd = -1, html_fd = -1, rec_fd = -1, pidfd = -1;
	struct tkt_rec_writer *rec = NULL;
	struct tkt_mem_opts mo2 = { 0 };
	uint64_t last_sample = 0;
	bool have_oom_adj, setup_failed = false;
	int json_fd = -1, status = 0, rc = TKT_EXIT_FAIL, r;
	uint64_t t0, t_exit;
	time_t started = 0;

	/* Subcommands, not COMMANDs of these names: run one as "tktrace -- watch". */
	if (argc > 1 && strcmp(argv[1], "watch") == 0)
		return tkt_watch_main(argc - 1, argv + 1);
	/* These work from saved data: no tracing, no root. */
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return tkt_cmd_report(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "explain-kmsg") == 0)
		return tkt_cmd_explain_kmsg(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "plan") == 0)
		return tkt_cmd_plan(argc - 1, argv + 1);

	r = tkt_cli_parse(&cli, argc, argv, err, sizeof(err));
	if (r) {
		tkt_error("%s", err);
		return r;
	}
	if (cli.help) {
		tkt_cli_usage(stdout);
		return 0;
	}
	if (cli.version) {
		printf("tktrace %s\n", TKT_VERSION);
		return 0;
	}
	tkt_log_set_level(cli.verbose >= 2 ? TKT_LOG_DEBUG : cli.verbose ? TKT_LOG_INFO : TKT_LOG_WARN);

	r = tkt_command_lookup(cli.argv[0], resolved, sizeof(resolved));
	if (r == -ENOENT) {
		tkt_error("%s: command not found (check the name and PATH)", cli.argv[0]);
		return TKT_EXIT_NOTFOUND;
	}
	if (r) {
		tkt_error("%s: cannot execute: %s (is it a directory, or missing +x?)",
			cli.argv[0], strerror(-r));
		return TKT_EXIT_NOEXEC;
	}
	if (!have_bpf_caps()) {
		if (cli.best_effort)
			return run_untraced(&cli, "no privileges to load BPF programs (not root, no "
					    "CAP_BPF and CAP_PERFMON)", NULL);
		tkt_error("needs root to load its BPF programs: run it with sudo "
			  "(or grant CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)");
		return TKT_EXIT_FAIL;
	}
	if (tkt_creds_from_env(&creds, cli.as_root)) {
		tkt_error("SUDO_UID/SUDO_GID are malformed; use --as-root to run as root");
		return TKT_EXIT_FAIL;
	}
	/* Survive the OOM we watch, even inside the same limited cgroup; COMMAND gets the old value. */
	have_oom_adj = read_oom_adj(oom_adj, sizeof(oom_adj)) == 0;
	r = write_oom_adj("-1000");
	if (r) /* needs CAP_SYS_RESOURCE; tktrace stays small and is an unlikely victim */
		tkt_info("cannot shield tktrace from the OOM killer: %s", strerror(-r));

	t0 = now_ns();
	started = time(NULL);
	tkt_cgroup_detect(&cg, "/proc/self/mounts");
	mo.t0_ns = t0;
	mo.page_size = sysconf(_SC_PAGESIZE);
	mo.retained_noise = TKT_RETAINED_NOISE;
	mo.cg_mount = cg.version ? cg.mount : NULL;
	mo.warn_pct = cli.warn_at;
	if (tkt_model_init(&model, &mo)) {
		tkt_error("out of memory");
		goto out;
	}
	r = tkt_tracer_open(&tracer, &model, err, sizeof(err));
	if (!r)
		r = tkt_tracer_attach(tracer, err, sizeof(err));
	if (r && cli.best_effort) {
		/* No output file was opened yet: nothing of the user's is touched. */
		tkt_tracer_destroy_async(tracer);
		tracer = NULL;
		rc = run_untraced(&cli, err, have_oom_adj ? oom_adj : NULL);
		goto out;
	}
	if (r) {
		tkt_error("%s", err);
		goto out;
	}
	/* Still before COMMAND runs: a report that cannot be written wastes no run. */
	if ((cli.json_path && (json_fd = tkt_output_open_checked(cli.json_path, &creds)) < 0) ||
	    (cli.per_test_path && (per_test_fd = tkt_output_open_checked(cli.per_test_path, &creds)) < 0) ||
	    (cli.html_path && (html_fd = tkt_output_open_checked(cli.html_path, &creds)) < 0) ||
	    (cli.record_path && (rec_fd = tkt_output_open_checked(cli.record_path, &creds)) < 0))
		goto out;
	/* No model input has come yet: COMMAND is not tracked before it is launched. */
	if (rec_fd >= 0) {
		rec = start_recording(rec_fd, &model, &cli);
		rec_fd = -1; /* the writer owns it, or closed it */
		if (!rec)
			goto out;
	}
	if (cli.memory_limit && tkt_cgroup_create(&cg, cli.memory_limit, err, sizeof(err))) {
		tkt_error("--memory-limit: %s", err);
		goto out;
	}
	if (cli.cgroup_path) {
		if (access(cli.cgroup_path, W_OK)) {
			tkt_error("--cgroup %s: %s", cli.cgroup_path, strerror(errno));
			goto out;
		}
		snprintf(cg.path, sizeof(cg.path), "%s", cli.cgroup_path);
	}
	install_handlers();
	r = tkt_launch_prepare(&child, cli.argv, &creds, have_oom_adj ? oom_adj : NULL);
	if (r) {
		tkt_error("cannot start %s: %s", cli.argv[0], strerror(-r));
		goto out;
	}
	/* Everything is attached and the child is tracked before it may exec. */
	model.o.root_pid = child.pid;
	r = tkt_tracer_track_root(tracer, child.pid);
	if (!r)
		r = tkt_model_add_root(&model, child.pid, cli.argv[0], t0);
	if (!r && (cli.memory_limit || cli.cgroup_path) && (r = tkt_cgroup_join(&cg, child.pid)))
		tkt_error("cannot move %s into %s: %s", cli.argv[0], cg.path,
			strerror(-r));
	if (r) {
		tkt_launch_abort(&child);
		goto out;
	}
	/* COMMAND's exit wakes the poll even when SIGCHLD arrives just before it (kernel 5.3+;
	 * else SIGCHLD and the 100 ms poll). */
	pidfd = (int)syscall(SYS_pidfd_open, child.pid, 0);
	if (pidfd >= 0 && tkt_tracer_wake_on(tracer, pidfd))
		tkt_debug("cannot wait on COMMAND's pidfd: %s", strerror(errno));
	r = tkt_launch_go(&child, &setup_failed);
	if (r) {
		waitpid(child.pid, NULL, 0);
		if (setup_failed) {
			tkt_error("cannot run %s as uid %u: %s (use --as-root?)",
				cli.argv[0], creds.uid, strerror(-r));
			rc = TKT_EXIT_FAIL;
		} else {
			tkt_error("%s: %s", cli.argv[0],
				r == -ENOENT ? "command not found" : strerror(-r));
			rc = r == -ENOENT ? TKT_EXIT_NOTFOUND : TKT_EXIT_NOEXEC;
		}
		goto out;
	}

	tkt_log_live(true);
	for (;;) {
		pid_t w = waitpid(child.pid, &status, WNOHANG);
		if (w == child.pid)
			break;
		if (w < 0 && errno != EINTR) {
			tkt_error("lost track of %s: %s", cli.argv[0], strerror(errno));
			goto out;
		}
		if (pending_sigs)
			forward_signals(&child);
		if (now_ns() - last_sample >= 100 * 1000 * 1000ULL) {
			size_t nw = model.nwarnings;
			sample_cgroup(&model, &cg, child.pid, cg_cur, sizeof(cg_cur));
			sample_rss(&model);
			last_sample = now_ns();
			if (model.nwarnings > nw) {
				/* Live: the tests are still running, the report comes at the end. */
				tkt_buf_reset(&out);
				tkt_warn_text(&out, &model, &model.warnings[nw]);
				tkt_log_line_start();
				fputs(out.data, stderr);
				tkt_buf_reset(&out);
			}
		}
		r = tkt_tracer_poll(tracer, 100);
		if (r && r != -EINTR) {
			tkt_error("reading events failed: %s", strerror(-r));
			kill(child.pid, SIGTERM); /* don't leave COMMAND running untraced */
		}
		if (rec)
			tkt_rec_flush(rec); /* a killed tktrace leaves all but the last cycle */
	}
	t_exit = now_ns();
	tkt_log_live(false);
	tkt_tracer_drain(tracer);
	tkt_outcomes_from_junit(&model, started);

	run.argv = cli.argv;
	run.argc = cli.argc;
	run.signaled = WIFSIGNALED(status);
	run.sig = run.signaled ? WTERMSIG(status) : 0;
	run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	run.exit_code = tkt_shell_status(run.signaled, run.sig, run.status);
	run.duration_s = (double)(t_exit - t0) / 1e9;
	if ((r = tkt_tracer_drops(tracer, &run.kernel_drops)) < 0)
		tkt_error("warning: cannot read the kernel's count of lost events (%s): more may have "
			  "been lost than the report says", strerror(-r));
	run.memory_limit = cli.memory_limit_arg;
	rc = run.exit_code;

	tkt_report_text(&out, &model, &run, cli.quiet);
	mo2.top = cli.top >= 0 ? cli.top : (model.nooms || model.nkills) ? 5 : 0;
	mo2.threshold = cli.intensive_threshold;
	mo2.marker = cli.marker;
	if (!cli.quiet) {
		/* Only tests over the threshold need their source read. */
		marked = calloc(model.ntests ? model.ntests : 1, sizeof(*marked));
		for (size_t i = 0; marked && i < model.ntests; i++)
			marked[i] = tkt_test_need(&model.tests[i]) > cli.intensive_threshold ?
					    tkt_test_marked(model.tests[i].cwd, model.tests[i].pyargs,
							    model.tests[i].nodeid, cli.marker) :
					    -1;
		mo2.marked = marked;
		tkt_report_memory_text(&out, &model, &mo2);
	}
	if (rec) {
		struct tkt_rec_end end = {
			.duration_ns = t_exit - t0,
			.kernel_drops = run.kernel_drops,
			.status = run.status,
			.sig = run.sig,
			.exit_code = run.exit_code,
			.signaled = run.signaled,
			.quiet = cli.quiet,
			.top = mo2.top,
			.threshold = mo2.threshold,
			.marker = mo2.marker,
			.memory_limit = run.memory_limit,
			.nmarked = marked ? model.ntests : 0,
			.marked = marked,
		};
		model.tap = NULL;
		r = tkt_rec_writer_close(rec, &end);
		rec = NULL;
		if (r) {
			tkt_error("writing %s failed: %s", cli.record_path, strerror(-r));
			rc = rc ? rc : TKT_EXIT_FAIL;
		}
	}
	if (out.len) {
		/* A killed COMMAND often leaves its last line unfinished (pytest's dots). */
		if (run.signaled && isatty(STDERR_FILENO))
			fputc('\n', stderr);
		fputs(out.data, stderr);
	}
	if (per_test_fd >= 0) {
		tkt_buf_reset(&out);
		tkt_report_per_test(&out, &model);
		if (tkt_write_all(per_test_fd, out.data, out.len)) {
			tkt_error("writing %s failed: %s", cli.per_test_path, strerror(errno));
			rc = rc ? rc : TKT_EXIT_FAIL;
		}
	}
	tkt_github_outputs(&model, &run, &cli, &creds);
	if (cli.junit_path && tkt_junit_outputs(&model, &run, &cli, &creds, started))
		rc = rc ? rc : TKT_EXIT_FAIL;
	if (cli.stats) {
		tkt_buf_reset(&out);
		tkt_tracer_stats(tracer, &out);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
		{
			/* Heap in use, for the per-test memory budget that make bench checks. */
			struct mallinfo2 mi = mallinfo2();
			tkt_buf_printf(&out, "tktrace stats: tracer_heap_bytes %zu\n",
				       mi.uordblks + mi.hblkhd);
		}
#endif
		tkt_buf_printf(&out, "tktrace stats: tests %zu, processes %zu, report_ready_ms %.1f\n",
			       model.ntests, model.procs_seen, (double)(now_ns() - t_exit) / 1e6);
		fputs(out.data, stderr);
	}
	if (json_fd >= 0) {
		tkt_buf_reset(&out);
		tkt_report_json(&out, &model, &run);
		if (tkt_write_all(json_fd, out.data, out.len) || fsync(json_fd) < 0) {
			if (errno != EINVAL && errno != EROFS) {
				tkt_error("writing %s failed: %s", cli.json_path,
					strerror(errno));
				rc = rc ? rc : TKT_EXIT_FAIL;
			}
		}
	}
	if (html_fd >= 0) {
		tkt_buf_reset(&out);
		tkt_report_html(&out, &model, &run);
		if (tkt_write_all(html_fd, out.data, out.len)) {
			tkt_error("writing %s failed: %s", cli.html_path, strerror(errno));
			rc = rc ? rc : TKT_EXIT_FAIL;
		}
	}
out:
	tkt_log_live(false);
	if (pidfd >= 0)
		close(pidfd);
	if (rec) /* an early failure: the file shows how far it got */
		tkt_rec_writer_close(rec, NULL);
	if (rec_fd >= 0)
		close(rec_fd);
	if (json_fd >= 0)
		close(json_fd);
	if (html_fd >= 0)
		close(html_fd);
	if (per_test_fd >= 0)
		close(per_test_fd);
	free(marked);
	tkt_cgroup_remove(&cg);
	tkt_tracer_destroy_async(tracer);
	tkt_model_free(&model);
	tkt_buf_free(&out);
	if (rc == run.exit_code && run.signaled)
		die_like(run.sig);
	return rc;
}
