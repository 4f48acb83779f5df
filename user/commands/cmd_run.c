/* tktrace [OPTIONS] -- COMMAND: run COMMAND under eBPF tracing and explain every kill by
 * pytest test. One context owns the run's resources; tkt_cmd_run goes through the phases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "commands.h"
#include "core/model.h"
#include "core/record.h"
#include "core/util.h"
#include "core/warn.h"
#include "output.h"
#include "reports/gha.h"
#include "reports/html.h"
#include "reports/report.h"
#include "system/cgroup.h"
#include "system/launch.h"
#include "system/marks.h"
#include "system/privs.h"
#include "tracing/sample.h"
#include "tracing/tracer.h"

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
		.no_stacks = m->o.no_stacks,
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
	tkt_model_set_tap(m, tkt_rec_tap, w);
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

/* Everything one run holds, released by run_finish whichever phase stopped it. */
struct run_ctx {
	struct tkt_cli cli;
	struct tkt_creds creds;
	struct tkt_cgroup cg;
	struct tkt_launch child;
	struct tkt_model model;
	struct tkt_tracer *tracer;
	struct tkt_rec_writer *rec;
	struct tkt_run run;
	struct tkt_mem_opts mem;
	struct tkt_buf out;
	int8_t *marked;
	int json_fd, per_test_fd, html_fd, pidfd;
	bool have_oom_adj;
	char oom_adj[16];
	char cg_cur[1024]; /* COMMAND's memory cgroup as last sampled */
	uint64_t t0, t_exit;
	time_t started;
	int status; /* COMMAND's wait status */
};

/* A phase's result: go on to the next one, or exit with a status. */
#define RUN_GO (-1)

static void run_ctx_init(struct run_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->json_fd = c->per_test_fd = c->html_fd = c->pidfd = -1;
	snprintf(c->oom_adj, sizeof(c->oom_adj), "0");
}

/* Options, --help, --version, the log level. */
static int run_options(struct run_ctx *c, int argc, char **argv)
{
	char err[512];
	int r = tkt_cli_parse(&c->cli, argc, argv, err, sizeof(err));

	if (r) {
		tkt_error("%s", err);
		return r;
	}
	if (c->cli.help) {
		tkt_cli_usage(stdout);
		return 0;
	}
	if (c->cli.version) {
		printf("tktrace %s\n", TKT_VERSION);
		return 0;
	}
	tkt_log_set_level(c->cli.verbose >= 2 ? TKT_LOG_DEBUG :
			  c->cli.verbose ? TKT_LOG_INFO : TKT_LOG_WARN);
	return RUN_GO;
}

/* Before anything is loaded: COMMAND exists, tktrace may trace, who COMMAND runs as, and
 * tktrace shielded from the OOM killer. */
static int run_preflight(struct run_ctx *c)
{
	const struct tkt_cli *cli = &c->cli;
	char resolved[4096];
	int r = tkt_command_lookup(cli->argv[0], resolved, sizeof(resolved));

	if (r == -ENOENT) {
		tkt_error("%s: command not found (check the name and PATH)", cli->argv[0]);
		return TKT_EXIT_NOTFOUND;
	}
	if (r) {
		tkt_error("%s: cannot execute: %s (is it a directory, or missing +x?)",
			cli->argv[0], strerror(-r));
		return TKT_EXIT_NOEXEC;
	}
	if (!tkt_have_bpf_caps()) {
		if (cli->best_effort)
			return run_untraced(cli, "no privileges to load BPF programs (not root, no "
					    "CAP_BPF and CAP_PERFMON)", NULL);
		tkt_error("needs root to load its BPF programs: run it with sudo "
			  "(or grant CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)");
		return TKT_EXIT_FAIL;
	}
	if (tkt_creds_from_env(&c->creds, cli->as_root)) {
		tkt_error("SUDO_UID/SUDO_GID are malformed; use --as-root to run as root");
		return TKT_EXIT_FAIL;
	}
	/* Survive the OOM we watch, even inside the same limited cgroup; COMMAND gets the old value. */
	c->have_oom_adj = tkt_oom_adj_read(c->oom_adj, sizeof(c->oom_adj)) == 0;
	r = tkt_oom_adj_write("-1000");
	if (r) /* needs CAP_SYS_RESOURCE; tktrace stays small and is an unlikely victim */
		tkt_info("cannot shield tktrace from the OOM killer: %s", strerror(-r));
	return RUN_GO;
}

/* The model, and the BPF programs loaded and attached; --best-effort runs COMMAND untraced
 * when that is impossible. */
static int run_trace(struct run_ctx *c)
{
	struct tkt_model_opts mo = { 0 };
	char err[512];
	int r;

	c->t0 = now_ns();
	c->started = time(NULL);
	tkt_cgroup_detect(&c->cg, "/proc/self/mounts");
	mo.t0_ns = c->t0;
	mo.page_size = sysconf(_SC_PAGESIZE);
	mo.retained_noise = TKT_RETAINED_NOISE;
	mo.cg_mount = c->cg.version ? c->cg.mount : NULL;
	mo.warn_pct = c->cli.warn_at;
	if (tkt_model_init(&c->model, &mo)) {
		tkt_error("out of memory");
		return TKT_EXIT_FAIL;
	}
	r = tkt_tracer_open(&c->tracer, &c->model, err, sizeof(err));
	if (!r)
		r = tkt_tracer_attach(c->tracer, err, sizeof(err));
	if (r && c->cli.best_effort) {
		/* No output file was opened yet: nothing of the user's is touched. */
		tkt_tracer_destroy_async(c->tracer);
		c->tracer = NULL;
		return run_untraced(&c->cli, err, c->have_oom_adj ? c->oom_adj : NULL);
	}
	if (r) {
		tkt_error("%s", err);
		return TKT_EXIT_FAIL;
	}
	return RUN_GO;
}

/* Report files and the recording opened, COMMAND's cgroup made: still before COMMAND runs,
 * so a report that cannot be written wastes no run. */
static int run_outputs(struct run_ctx *c)
{
	const struct tkt_cli *cli = &c->cli;
	char err[512];
	int rec_fd = -1;

	if ((cli->json_path && (c->json_fd = tkt_output_open_checked(cli->json_path, &c->creds)) < 0) ||
	    (cli->per_test_path &&
	     (c->per_test_fd = tkt_output_open_checked(cli->per_test_path, &c->creds)) < 0) ||
	    (cli->html_path && (c->html_fd = tkt_output_open_checked(cli->html_path, &c->creds)) < 0) ||
	    (cli->record_path && (rec_fd = tkt_output_open_checked(cli->record_path, &c->creds)) < 0))
		return TKT_EXIT_FAIL;
	/* No model input has come yet: COMMAND is not tracked before it is launched. */
	if (rec_fd >= 0) {
		c->rec = start_recording(rec_fd, &c->model, cli); /* owns rec_fd, or closed it */
		if (!c->rec)
			return TKT_EXIT_FAIL;
	}
	if (cli->memory_limit && tkt_cgroup_create(&c->cg, cli->memory_limit, err, sizeof(err))) {
		tkt_error("--memory-limit: %s", err);
		return TKT_EXIT_FAIL;
	}
	if (cli->cgroup_path) {
		if (access(cli->cgroup_path, W_OK)) {
			tkt_error("--cgroup %s: %s", cli->cgroup_path, strerror(errno));
			return TKT_EXIT_FAIL;
		}
		snprintf(c->cg.path, sizeof(c->cg.path), "%s", cli->cgroup_path);
	}
	return RUN_GO;
}

/* COMMAND forked, held at its gate until it is tracked and in its cgroup, then let go. */
static int run_launch(struct run_ctx *c)
{
	const struct tkt_cli *cli = &c->cli;
	bool setup_failed = false;
	int r;

	install_handlers();
	r = tkt_launch_prepare(&c->child, cli->argv, &c->creds, c->have_oom_adj ? c->oom_adj : NULL);
	if (r) {
		tkt_error("cannot start %s: %s", cli->argv[0], strerror(-r));
		return TKT_EXIT_FAIL;
	}
	/* Everything is attached and the child is tracked before it may exec. */
	tkt_model_set_root_pid(&c->model, c->child.pid);
	r = tkt_tracer_track_root(c->tracer, c->child.pid);
	if (!r)
		r = tkt_model_add_root(&c->model, c->child.pid, cli->argv[0], c->t0);
	if (!r && (cli->memory_limit || cli->cgroup_path) &&
	    (r = tkt_cgroup_join(&c->cg, c->child.pid)))
		tkt_error("cannot move %s into %s: %s", cli->argv[0], c->cg.path, strerror(-r));
	if (r) {
		tkt_launch_abort(&c->child);
		return TKT_EXIT_FAIL;
	}
	/* COMMAND's exit wakes the poll even when SIGCHLD arrives just before it (kernel 5.3+;
	 * else SIGCHLD and the 100 ms poll). */
	c->pidfd = (int)syscall(SYS_pidfd_open, c->child.pid, 0);
	if (c->pidfd >= 0 && tkt_tracer_wake_on(c->tracer, c->pidfd))
		tkt_debug("cannot wait on COMMAND's pidfd: %s", strerror(errno));
	r = tkt_launch_go(&c->child, &setup_failed);
	if (r) {
		waitpid(c->child.pid, NULL, 0);
		if (setup_failed) {
			tkt_error("cannot run %s as uid %u: %s (use --as-root?)",
				cli->argv[0], c->creds.uid, strerror(-r));
			return TKT_EXIT_FAIL;
		}
		tkt_error("%s: %s", cli->argv[0], r == -ENOENT ? "command not found" : strerror(-r));
		return r == -ENOENT ? TKT_EXIT_NOTFOUND : TKT_EXIT_NOEXEC;
	}
	return RUN_GO;
}

/* Until COMMAND exits: records into the model, signals forwarded, memory sampled every
 * 100 ms (with the --warn-at warnings), the recording flushed. */
static int run_wait(struct run_ctx *c)
{
	uint64_t last_sample = 0;
	int r;

	tkt_log_live(true);
	for (;;) {
		pid_t w = waitpid(c->child.pid, &c->status, WNOHANG);
		if (w == c->child.pid)
			break;
		if (w < 0 && errno != EINTR) {
			tkt_error("lost track of %s: %s", c->cli.argv[0], strerror(errno));
			return TKT_EXIT_FAIL;
		}
		if (pending_sigs)
			forward_signals(&c->child);
		if (now_ns() - last_sample >= 100 * 1000 * 1000ULL) {
			size_t nw = c->model.nwarnings;
			sample_cgroup(&c->model, &c->cg, c->child.pid, c->cg_cur, sizeof(c->cg_cur));
			sample_rss(&c->model);
			last_sample = now_ns();
			if (c->model.nwarnings > nw) {
				/* Live: the tests are still running, the report comes at the end. */
				tkt_buf_reset(&c->out);
				tkt_warn_text(&c->out, &c->model, &c->model.warnings[nw]);
				tkt_log_line_start();
				fputs(c->out.data, stderr);
				tkt_buf_reset(&c->out);
			}
		}
		r = tkt_tracer_poll(c->tracer, 100);
		if (r && r != -EINTR) {
			tkt_error("reading events failed: %s", strerror(-r));
			kill(c->child.pid, SIGTERM); /* don't leave COMMAND running untraced */
		}
		if (c->rec)
			tkt_rec_flush(c->rec); /* a killed tktrace leaves all but the last cycle */
	}
	c->t_exit = now_ns();
	tkt_log_live(false);
	tkt_tracer_drain(c->tracer);
	tkt_outcomes_from_junit(&c->model, c->started);
	return RUN_GO;
}

/* The end record of --record: how the run ended and the report options, so that tktrace
 * report prints the same. */
static int close_recording(struct run_ctx *c)
{
	struct tkt_rec_end end = {
		.duration_ns = c->t_exit - c->t0,
		.kernel_drops = c->run.kernel_drops,
		.status = c->run.status,
		.sig = c->run.sig,
		.exit_code = c->run.exit_code,
		.signaled = c->run.signaled,
		.quiet = c->cli.quiet,
		.top = c->mem.top,
		.threshold = c->mem.threshold,
		.marker = c->mem.marker,
		.memory_limit = c->run.memory_limit,
		.nmarked = c->marked ? c->model.ntests : 0,
		.marked = c->marked,
	};
	int r;

	tkt_model_set_tap(&c->model, NULL, NULL);
	r = tkt_rec_writer_close(c->rec, &end);
	c->rec = NULL;
	if (r)
		tkt_error("writing %s failed: %s", c->cli.record_path, strerror(-r));
	return r;
}

/* Write a rendered report to fd; fsync: also to disk (a JSON report others wait for). */
static int write_report(struct run_ctx *c, int fd, const char *path, bool sync)
{
	if (tkt_write_all(fd, c->out.data, c->out.len) || (sync && fsync(fd) < 0)) {
		if (sync && (errno == EINVAL || errno == EROFS))
			return 0; /* a pipe or a read-only special file: nothing to sync */
		tkt_error("writing %s failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* COMMAND's end, the reports in every form asked for; tktrace's exit status. */
static int run_report(struct run_ctx *c)
{
	const struct tkt_cli *cli = &c->cli;
	struct tkt_model *m = &c->model;
	struct tkt_run *run = &c->run;
	int rc, r;

	run->argv = cli->argv;
	run->argc = cli->argc;
	run->signaled = WIFSIGNALED(c->status);
	run->sig = run->signaled ? WTERMSIG(c->status) : 0;
	run->status = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 0;
	run->exit_code = tkt_shell_status(run->signaled, run->sig, run->status);
	run->duration_s = (double)(c->t_exit - c->t0) / 1e9;
	if ((r = tkt_tracer_drops(c->tracer, &run->kernel_drops)) < 0)
		tkt_error("warning: cannot read the kernel's count of lost events (%s): more may have "
			  "been lost than the report says", strerror(-r));
	run->memory_limit = cli->memory_limit_arg;
	rc = run->exit_code;

	tkt_report_text(&c->out, m, run, cli->quiet);
	c->mem.top = cli->top >= 0 ? cli->top : (m->nooms || m->nkills) ? 5 : 0;
	c->mem.threshold = cli->intensive_threshold;
	c->mem.marker = cli->marker;
	if (!cli->quiet) {
		/* Only tests over the threshold need their source read. */
		c->marked = calloc(m->ntests ? m->ntests : 1, sizeof(*c->marked));
		for (size_t i = 0; c->marked && i < m->ntests; i++)
			c->marked[i] = tkt_test_need(&m->tests[i]) > cli->intensive_threshold ?
					       tkt_test_marked(m->tests[i].cwd, m->tests[i].pyargs,
							       m->tests[i].nodeid, cli->marker) :
					       -1;
		c->mem.marked = c->marked;
		tkt_report_memory_text(&c->out, m, &c->mem);
	}
	if (c->rec && close_recording(c))
		rc = rc ? rc : TKT_EXIT_FAIL;
	if (c->out.len) {
		/* A killed COMMAND often leaves its last line unfinished (pytest's dots). */
		if (run->signaled && isatty(STDERR_FILENO))
			fputc('\n', stderr);
		fputs(c->out.data, stderr);
	}
	if (c->per_test_fd >= 0) {
		tkt_buf_reset(&c->out);
		tkt_report_per_test(&c->out, m);
		if (write_report(c, c->per_test_fd, cli->per_test_path, false))
			rc = rc ? rc : TKT_EXIT_FAIL;
	}
	tkt_github_outputs(m, run, cli, &c->creds);
	if (cli->junit_path && tkt_junit_outputs(m, run, cli, &c->creds, c->started))
		rc = rc ? rc : TKT_EXIT_FAIL;
	if (cli->stats) {
		tkt_buf_reset(&c->out);
		tkt_tracer_stats(c->tracer, &c->out);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
		{
			/* Heap in use, for the per-test memory budget that make bench checks. */
			struct mallinfo2 mi = mallinfo2();
			tkt_buf_printf(&c->out, "tktrace stats: tracer_heap_bytes %zu\n",
				       mi.uordblks + mi.hblkhd);
		}
#endif
		tkt_buf_printf(&c->out, "tktrace stats: tests %zu, processes %zu, report_ready_ms %.1f\n",
			       m->ntests, m->procs_seen, (double)(now_ns() - c->t_exit) / 1e6);
		/* Measured in the kernel around the walk itself (bpf_ktime), bpf_stats or not. */
		tkt_buf_printf(&c->out,
			       "tktrace stats: python_stack_walks %llu, walk_ns avg %.0f max %u\n",
			       (unsigned long long)m->py_walks,
			       m->py_walks ? (double)m->py_walk_ns / m->py_walks : 0.0,
			       m->py_walk_max_ns);
		fputs(c->out.data, stderr);
	}
	if (c->json_fd >= 0) {
		tkt_buf_reset(&c->out);
		tkt_report_json(&c->out, m, run);
		if (write_report(c, c->json_fd, cli->json_path, true))
			rc = rc ? rc : TKT_EXIT_FAIL;
	}
	if (c->html_fd >= 0) {
		tkt_buf_reset(&c->out);
		tkt_report_html(&c->out, m, run);
		if (write_report(c, c->html_fd, cli->html_path, false))
			rc = rc ? rc : TKT_EXIT_FAIL;
	}
	return rc;
}

/* Release what the phases took; die of COMMAND's interrupt when tktrace's status is its. */
static int run_finish(struct run_ctx *c, int rc)
{
	tkt_log_live(false);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->rec) /* an early failure: the file shows how far it got */
		tkt_rec_writer_close(c->rec, NULL);
	if (c->json_fd >= 0)
		close(c->json_fd);
	if (c->html_fd >= 0)
		close(c->html_fd);
	if (c->per_test_fd >= 0)
		close(c->per_test_fd);
	free(c->marked);
	tkt_cgroup_remove(&c->cg);
	tkt_tracer_destroy_async(c->tracer);
	tkt_model_free(&c->model);
	tkt_buf_free(&c->out);
	if (rc == c->run.exit_code && c->run.signaled)
		die_like(c->run.sig);
	return rc;
}

/* After the options, in order; each goes on only when the previous one said RUN_GO. */
static int (*const run_phases[])(struct run_ctx *c) = {
	run_preflight, run_trace, run_outputs, run_launch, run_wait, run_report,
};

int tkt_cmd_run(int argc, char **argv)
{
	struct run_ctx c;
	int rc;

	run_ctx_init(&c);
	rc = run_options(&c, argc, argv);
	for (size_t i = 0; rc == RUN_GO && i < sizeof(run_phases) / sizeof(run_phases[0]); i++)
		rc = run_phases[i](&c);
	return run_finish(&c, rc);
}
