/* Loading, attaching and polling the BPF programs. */
#define _GNU_SOURCE
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "core/util.h"
#include "core/pyargs.h"
#include "environ.h"
#include "loader.h"
#include "pyproc.h"
#include "run.skel.h"
#include "system/marks.h"
#include "system/pyresolve.h"

#define MAX_LIBCS 32
#define SCAN_TRIES 300 /* about 3 s of 10 ms polls for a new image to map its libc */
/* A Python that is not pytest is followed once it has lived this long. Each attach and detach
 * takes the kernel's dup_mmap_sem for writing, which stalls every fork on the machine for an
 * RCU grace period: measured, 40 `python -c pass` in one test took 0.98 s traced instead of
 * 0.63 s when each was followed at its exec. What it set before is caught up from its memory,
 * or read at its kill. TKTRACE_FOLLOW_DELAY_MS in tktrace's environment changes it. */
#define FOLLOW_DELAY_MS 100

struct pending_scan {
	uint32_t pid;
	int tries;
	bool libc_done; /* its C library is probed */
	bool py_done;   /* its CPython is in the pyprocs map */
	/* Forked from a followed process: followed itself unless it execs first (most children
	 * exec at once: following those would cost three attaches and detaches each). */
	bool forked;
	uint64_t due_ns; /* not followed (nor scanned) before: a Python that ends sooner is not
			  * worth its attach */
};

struct tkt_tracer {
	struct tkt_loader *ld;
	struct run_bpf *skel;
	struct pending_scan *pending;
	size_t npending, cap_pending;
	size_t nscanning; /* pending entries that are not forks: polled every 10 ms */
	struct tkt_model *model;
	uint64_t follow_delay_ns; /* FOLLOW_DELAY_MS or TKTRACE_FOLLOW_DELAY_MS */
	uint32_t *catchup; /* followed since the last batch: read their environment next */
	size_t ncatchup, cap_catchup;
	int *closing; /* fds of exited processes' probes, closed after each batch */
	size_t nclosing, cap_closing;
	size_t rootdir_ntests; /* tests started when pytest rootdirs were last looked for */
};

/* Run mode's object, for the loader. */
TKT_LOADER_SKEL_FNS(run)

/* Load the stack programs or not; the reports then say why no stack came (why), and
 * recordings keep it. */
static void stack_progs(struct run_bpf *s, struct tkt_tracer *t, uint8_t why)
{
	bool load = why == TKT_STACKS_TAKEN;

	bpf_program__set_autoload(s->progs.tkt_mark_victim_py, load);
	bpf_program__set_autoload(s->progs.tkt_sig_deliver, load);
	t->model->o.no_stacks = why;
}

static void run_configure(void *skel, void *ctx)
{
	struct run_bpf *s = skel;
	struct tkt_tracer *t = ctx;
	struct utsname u;
	bool loop;

	s->rodata->nr_cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
	/* Python stacks at kills walk frames with bpf_loop (5.17, or a backport): asked of the
	 * kernel with the smallest program type that has it (tracing programs cannot be probed
	 * without a target). */
	loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER, BPF_FUNC_loop, NULL) == 1;
	stack_progs(s, t, loop ? TKT_STACKS_TAKEN : TKT_STACKS_NO_LOOP);
	if (!loop)
		tkt_info("Linux %s has no bpf_loop (5.17): kills are reported without Python stacks",
			 uname(&u) == 0 ? u.release : "?");
}

/* The stack programs are optional: a kernel whose verifier refuses them (Debian's 6.1 did, over
 * its combined stack limit) still gets everything else. */
static bool run_drop_optional(void *skel, void *ctx)
{
	struct run_bpf *s = skel;
	struct tkt_tracer *t = ctx;

	if (!bpf_program__autoload(s->progs.tkt_sig_deliver) &&
	    !bpf_program__autoload(s->progs.tkt_mark_victim_py))
		return false;
	stack_progs(s, t, TKT_STACKS_REFUSED);
	return true;
}

static const char *const run_attach[] = {
	"tkt_fork", "tkt_exec", "tkt_exit", "tkt_signal", "tkt_mark_victim", "tkt_mark_victim_py",
	"tkt_rss_stat", "tkt_mmap", "tkt_sig_deliver", NULL,
};

static const struct tkt_bpf_mode run_mode = {
	.prefix = "",
	TKT_LOADER_SKEL(run),
	.configure = run_configure,
	.drop_optional = run_drop_optional,
	.optional_consequence = "kills are reported without Python stacks, and pytest's variables are "
				"not read at kills",
	.attach = run_attach,
	.env_progs = { "tkt_setenv", "tkt_unsetenv", "tkt_putenv" },
	.max_libcs = MAX_LIBCS,
	.per_pid_probes = true,
	.libc_consequence = "tests are not followed (no per-test memory); a kill is named only by "
			    "what the kernel reads at it (Python processes, Linux 5.17+)",
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Hand the kernel where pid's CPython keeps its threads, for stacks at kills, and where its
 * environment is, for pytest's variables at kills. 1: found, 0: not mapped yet (looked for
 * again), <0: gone. */
static int scan_python(struct tkt_tracer *t, uint32_t pid)
{
	struct tkt_py_proc pp;
	int r = tkt_py_find(pid, &pp);

	if (r == 1) {
		/* At its exec record the C library (whose __environ a PIE Python uses) may not be
		 * mapped yet: the stacks are handed over now, the environment on a later try. */
		uint64_t env = 0;

		if (tkt_proc_environ_addr(pid, &env))
			r = 0;
		pp.environ_addr = env;
		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.pyprocs), &pid, &pp, BPF_ANY))
			tkt_debug("pid %u: cannot store its python: %s", pid, strerror(errno));
		else
			tkt_debug("pid %u: python %u.%u, _PyRuntime at %#llx%s, __environ %s", pid,
				  pp.version >> 8, pp.version & 0xff,
				  (unsigned long long)pp.runtime_addr,
				  pp.o.layout ? "" : " (no offsets: stacks unsupported)",
				  r == 1 ? "found" : "not mapped yet");
	}
	return r;
}

static void pending_add(struct tkt_tracer *t, uint32_t pid, bool forked, uint64_t due_ns)
{
	if (t->npending == t->cap_pending) {
		size_t ncap = t->cap_pending ? t->cap_pending * 2 : 64;
		struct pending_scan *n = realloc(t->pending, ncap * sizeof(*n));
		if (!n)
			return;
		t->pending = n;
		t->cap_pending = ncap;
	}
	memset(&t->pending[t->npending], 0, sizeof(t->pending[0]));
	t->pending[t->npending].pid = pid;
	t->pending[t->npending].forked = forked;
	t->pending[t->npending].due_ns = due_ns;
	t->npending++;
	t->nscanning += !forked;
}

/* Per-process libc probes for pid, unless it is gone already (a short-lived Python whose exit
 * came in the same batch: attaching to it, and detaching, would cost grace periods). */
static void follow(struct tkt_tracer *t, uint32_t pid)
{
	const struct tkt_proc *p = tkt_model_find(t->model, pid);
	int r;

	if (!p || !p->alive)
		return;
	r = tkt_libcs_follow(tkt_loader_libcs(t->ld), pid);
	if (r <= 0)
		return;
	tkt_debug("pid %u (%s): libc probes attached %.1f ms after it started", pid, p->comm,
		  (mono_ns() - p->start_ns) / 1e6);
	if (t->ncatchup == t->cap_catchup) {
		size_t ncap = t->cap_catchup ? t->cap_catchup * 2 : 16;
		uint32_t *n = realloc(t->catchup, ncap * sizeof(*n));

		if (!n)
			return;
		t->catchup = n;
		t->cap_catchup = ncap;
	}
	t->catchup[t->ncatchup++] = pid;
}

static void apply_one(void *ctx, const void *rec, size_t len);

/* rss and faults of pid now, from /proc, for a value read from its memory. */
static void proc_snap(uint32_t pid, struct tkt_snap *s)
{
	unsigned long long size, rss, minflt = 0, majflt = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%u/statm", pid);
	if ((f = fopen(path, "re"))) {
		if (fscanf(f, "%llu %llu", &size, &rss) == 2)
			s->rss_pages = s->peak_pages = rss;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if ((f = fopen(path, "re"))) {
		/* after "(comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %llu %*u %llu", &minflt, &majflt) == 2)
			s->faults = minflt + majflt;
		fclose(f);
	}
}

/* Hand the model pid's current value of key as the probes would have sent it. */
static void inject_env(struct tkt_tracer *t, uint32_t pid, uint16_t key, const struct tkt_buf *v)
{
	struct tkt_ev_env e;
	size_t off = 0;
	uint16_t chunk = 0;

	memset(&e, 0, sizeof(e));
	e.h.type = TKT_EV_ENV;
	e.h.pid = pid;
	e.h.tid = pid;
	e.h.ts_ns = mono_ns();
	e.key = key;
	e.op = TKT_ENV_SET;
	proc_snap(pid, &e.snap);
	do {
		size_t n = v->len - off > TKT_ENV_CHUNK - 1 ? TKT_ENV_CHUNK - 1 : v->len - off;

		e.chunk = chunk++;
		e.len = (uint32_t)n;
		e.flags = off + n == v->len ? TKT_ENV_F_LAST : 0;
		memcpy(e.data, v->data + off, n);
		tkt_model_apply(t->model, &e.h, offsetof(struct tkt_ev_env, data) + n);
		off += n;
	} while (off < v->len);
}

/* A process is followed once the tracer has seen its exec (or fork): pytest or xdist may have
 * set their variables before its probes were in place (a forked test runner at once, a
 * worker on a busy machine: followed 0.5 s after its fork, measured). Right after the attach,
 * a process the probes have not heard from gets what its environment holds, read from its
 * memory; what the probes saw in between is applied first. */
static void catch_up(struct tkt_tracer *t)
{
	static const struct { const char *name; uint16_t key; } vars[] = {
		{ "PYTEST_XDIST_WORKER", TKT_ENV_XDIST_WORKER },
		{ "PYTEST_CURRENT_TEST", TKT_ENV_CURRENT_TEST },
	};
	struct tkt_buf v[2] = { { 0 }, { 0 } }, init = { 0 };

	/* The flush below may follow more processes: they are taken in the same loop. */
	for (size_t i = 0; i < t->ncatchup; i++) {
		uint32_t pid = t->catchup[i];
		const struct tkt_proc *p = tkt_model_find(t->model, pid);
		int found[2] = { 0, 0 };

		if (!p || !p->alive || p->env_tid)
			continue; /* gone, or its probes have spoken */
		for (size_t k = 0; k < 2; k++) {
			found[k] = tkt_proc_getenv(pid, vars[k].name, &v[k]);
			if (found[k] < 0) {
				tkt_debug("pid %u: its environment cannot be read: %s", pid,
					  strerror(-found[k]));
				break;
			}
			/* The value it was started with is its parent's (a Python a test spawns
			 * inherits the test's PYTEST_CURRENT_TEST), not one it set. */
			if (found[k] == 1 && tkt_proc_initial_env(pid, vars[k].name, &init) == 1 &&
			    init.len == v[k].len && memcmp(init.data, v[k].data, init.len) == 0)
				found[k] = 0;
		}
		if (found[0] != 1 && found[1] != 1)
			continue;
		/* A setenv the probes saw just before the read is in the rings by now (the program
		 * ran inside that setenv): apply it first, and then the probes have spoken. */
		tkt_loader_consume(t->ld);
		tkt_loader_flush(t->ld, apply_one, t, 1u << 20);
		p = tkt_model_find(t->model, pid);
		if (!p || !p->alive || p->env_tid)
			continue;
		for (size_t k = 0; k < 2; k++) {
			if (found[k] != 1)
				continue;
			tkt_debug("pid %u: %s was set before its probes: %.*s", pid, vars[k].name,
				  (int)v[k].len, v[k].data);
			inject_env(t, pid, vars[k].key, &v[k]);
		}
	}
	t->ncatchup = 0;
	tkt_buf_free(&v[0]);
	tkt_buf_free(&v[1]);
	tkt_buf_free(&init);
}

static void scan_pending(struct tkt_tracer *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->npending; i++) {
		struct pending_scan *s = &t->pending[i];
		int r;

		if (s->forked) {
			/* Still the parent's image after a poll: a worker, not a child about to exec
			 * (its exec record drops it from this list). */
			if (s->tries++ < 1) {
				t->pending[j++] = *s;
				continue;
			}
			follow(t, s->pid);
			continue;
		}
		/* Its CPython at once, not after the delay: a short-lived one can be killed too,
		 * and this costs no attach. */
		if (!s->py_done) {
			r = scan_python(t, s->pid);
			if (r < 0)
				continue; /* gone */
			s->py_done = r != 0;
		}
		if (s->due_ns && mono_ns() < s->due_ns) {
			t->pending[j++] = *s;
			continue;
		}
		if (s->tries == 0)
			follow(t, s->pid);
		r = s->libc_done ? 1 : tkt_libcs_scan_pid(tkt_loader_libcs(t->ld), s->pid, mono_ns());
		s->libc_done = r > 0;
		if (r < 0 || (s->libc_done && s->py_done) || ++s->tries >= SCAN_TRIES)
			continue; /* done: found, gone, or gave up (a static binary) */
		t->pending[j++] = *s;
	}
	t->npending = j;
	t->nscanning = 0;
	for (size_t i = 0; i < j; i++)
		t->nscanning += !t->pending[i].forked;
}

/* What the whole command line says (the exec record has only its start): --pyargs, whose
 * node ids are relative to packages Python finds, and --junitxml, for the outcomes. */
static void pytest_options(struct tkt_tracer *t, uint32_t pid, const char *cwd)
{
	char path[64], buf[16384];
	struct tkt_buf names = { 0 }, out = { 0 };
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf));
		close(fd);
	}
	if (n <= 0)
		return;
	if (tkt_pytest_junitxml(buf, n, cwd, &out))
		tkt_model_add_junitxml(t->model, pid, out.data);
	if (tkt_pyargs_names(buf, n, &names)) {
		int r = tkt_pyargs_resolve(pid, cwd, names.data, &out);
		if (r == 0)
			tkt_model_set_pyargs(t->model, pid, out.data);
		else
			tkt_warn("pid %u runs pytest --pyargs, but where %s is could not be found "
				 "(%s): rerun commands may not find its files", pid,
				 strtok(names.data, "\n"), strerror(-r));
	}
	tkt_buf_free(&names);
	tkt_buf_free(&out);
}

static void after_exec(struct tkt_tracer *t, uint32_t pid)
{
	const struct tkt_proc *p = tkt_model_find(t->model, pid);
	char link[64], cwd[PATH_MAX];
	ssize_t n;

	/* A new image: whatever Python the old one ran is gone. */
	bpf_map_delete_elem(bpf_map__fd(t->skel->maps.pyprocs), &pid);
	for (size_t i = 0; i < t->npending; i++)
		if (t->pending[i].pid == pid && t->pending[i].forked)
			t->pending[i] = t->pending[--t->npending];
	/* Only Pythons set pytest's variables: other programs (a fork-heavy suite's many
	 * short children) are not worth reading /proc for, nor probing. The first test comes
	 * after pytest's imports (0.1 s or more); the exec record wakes us at once. */
	if (p && (p->is_pytest || strncmp(p->comm, "python", 6) == 0 ||
		  strncmp(p->comm, "pytest", 6) == 0))
		pending_add(t, pid, false, p->is_pytest ? 0 : p->start_ns + t->follow_delay_ns);
	if (!p || !p->is_pytest || p->cwd)
		return;
	/* A pytest now, before --pyargs is resolved (that runs its Python: 0.1 s or more). */
	follow(t, pid);
	snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
	n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return;
	cwd[n] = '\0';
	tkt_model_set_cwd(t->model, pid, cwd);
	pytest_options(t, pid, cwd);
}

static void close_later(void *ctx, int fd)
{
	struct tkt_tracer *t = ctx;

	if (t->nclosing == t->cap_closing) {
		size_t ncap = t->cap_closing ? t->cap_closing * 2 : 16;
		int *n = realloc(t->closing, ncap * sizeof(*n));

		if (!n) {
			close(fd);
			return;
		}
		t->closing = n;
		t->cap_closing = ncap;
	}
	t->closing[t->nclosing++] = fd;
}

static void apply_one(void *ctx, const void *rec, size_t len)
{
	struct tkt_tracer *t = ctx;
	const struct tkt_hdr *h = rec;
	struct tkt_libcs *c = tkt_loader_libcs(t->ld);

	if (tkt_model_apply(t->model, h, len) != 0)
		return;
	if (h->type == TKT_EV_EXEC)
		after_exec(t, h->pid);
	/* A child of a followed process that has not exec'd by the next poll is a forked worker,
	 * unless it shares its parent's memory (vfork, posix_spawn): that one only waits for its
	 * exec, which a slow machine may run after the poll (an xdist worker's start in QEMU). */
	else if (h->type == TKT_EV_FORK &&
		 !(((const struct tkt_ev_fork *)rec)->flags & TKT_FORK_F_VM) &&
		 tkt_libcs_followed(c, ((const struct tkt_ev_fork *)rec)->ppid))
		pending_add(t, h->pid, true, 0);
	else if (h->type == TKT_EV_EXIT) {
		tkt_libcs_forget(c, h->pid, close_later, t);
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.pyprocs), &h->pid);
	}
}

/* Node ids are relative to pytest's rootdir, not its cwd (cd tests && pytest, pytest.ini one
 * level up): once a pytest process runs its first test, find the directory its node id's
 * file is in, and give it to the model as an input like the cwd read from /proc. */
static void find_rootdirs(struct tkt_tracer *t)
{
	struct tkt_model *m = t->model;
	uint32_t pids[256];
	char dir[PATH_MAX];
	size_t n;

	if (m->ntests == t->rootdir_ntests)
		return; /* no process started a test since the last look */
	t->rootdir_ntests = m->ntests;
	n = tkt_model_live_pytest(m, pids, sizeof(pids) / sizeof(pids[0]));
	for (size_t i = 0; i < n; i++) {
		const struct tkt_proc *p;

		if (!tkt_model_rootdir_due(m, pids[i]) || !(p = tkt_model_find(m, pids[i])))
			continue;
		if (tkt_find_rootdir(p->cwd, p->own.test, dir, sizeof(dir)) &&
		    strcmp(dir, p->cwd) != 0) {
			tkt_debug("pid %u: node ids are relative to %s, not its cwd %s", p->pid, dir,
				  p->cwd);
			tkt_model_set_cwd(m, p->pid, dir);
		}
	}
}

static void apply_batch(struct tkt_tracer *t)
{
	tkt_loader_flush(t->ld, apply_one, t, 1u << 20);
	find_rootdirs(t);
	scan_pending(t);
	catch_up(t);
	tkt_close_detached(t->closing, t->nclosing);
	t->nclosing = 0;
	tkt_model_sweep(t->model, 5ULL * 1000 * 1000 * 1000);
}

int tkt_tracer_poll(struct tkt_tracer *t, int timeout_ms)
{
	int r;

	/* Look for a freshly exec'd libc often until it shows up. */
	if (t->nscanning && timeout_ms > 10)
		timeout_ms = 10;
	r = tkt_loader_wait(t->ld, timeout_ms);
	apply_batch(t);
	return r;
}

int tkt_tracer_drain(struct tkt_tracer *t)
{
	int r = tkt_loader_consume(t->ld);

	apply_batch(t);
	return r;
}

int tkt_tracer_drops(struct tkt_tracer *t, uint64_t *total)
{
	return tkt_loader_drops(t->ld, total);
}

int tkt_tracer_open(struct tkt_tracer **out, struct tkt_model *m, char *err, size_t errsz)
{
	struct tkt_tracer *t = calloc(1, sizeof(*t));
	int e;

	const char *delay = getenv("TKTRACE_FOLLOW_DELAY_MS");
	char *end;
	unsigned long ms = FOLLOW_DELAY_MS;

	if (!t)
		return -ENOMEM;
	if (delay) {
		errno = 0;
		ms = strtoul(delay, &end, 10);
		if (!*delay || *end || errno || ms > 3600000 || *delay == '-') {
			snprintf(err, errsz, "TKTRACE_FOLLOW_DELAY_MS=%s: not a number of milliseconds "
				 "(0 to 3600000)", delay);
			free(t);
			return -EINVAL;
		}
	}
	t->follow_delay_ns = ms * 1000000ULL;
	t->model = m;
	e = tkt_loader_open(&t->ld, &run_mode, t, err, errsz);
	if (e) {
		free(t);
		return e;
	}
	t->skel = tkt_loader_skel(t->ld);
	*out = t;
	return 0;
}

int tkt_tracer_attach(struct tkt_tracer *t, char *err, size_t errsz)
{
	return tkt_loader_attach(t->ld, err, errsz);
}

int tkt_tracer_track_root(struct tkt_tracer *t, pid_t pid)
{
	struct tkt_pstate zero = { 0 };
	__u32 key = pid;

	struct tkt_libcs *c = tkt_loader_libcs(t->ld);
	int r;

	t->skel->bss->root_tgid = pid;
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.tracked), &key, &zero, BPF_ANY))
		return -errno;
	/* COMMAND, held at its gate, is followed before it runs: if it is pytest, its probes
	 * are in place when its C library is mapped. Where per-process probes fail, fall back
	 * to probing the files for everyone. */
	r = tkt_libcs_follow(c, (unsigned)pid);
	if (tkt_libcs_per_pid(c) && (r < 0 || (r == 0 && tkt_libcs_count(c) > 0))) {
		tkt_debug("per-process libc probes failed (%s): probing the files",
			  r < 0 ? strerror(-r) : "none placed");
		tkt_libcs_file_wide(c);
		tkt_loader_say_probes(t->ld);
	}
	return 0;
}

int tkt_tracer_wake_on(struct tkt_tracer *t, int fd)
{
	return tkt_loader_wake_on(t->ld, fd);
}

void tkt_tracer_stats(struct tkt_tracer *t, struct tkt_buf *out)
{
	tkt_loader_stats(t->ld, out);
}

void tkt_tracer_destroy_async(struct tkt_tracer *t)
{
	if (!t)
		return;
	tkt_loader_destroy_async(t->ld);
	free(t->closing);
	free(t->catchup);
	free(t->pending);
	free(t);
}
