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
#include "loader.h"
#include "pyproc.h"
#include "run.skel.h"
#include "system/marks.h"
#include "system/pyresolve.h"

#define MAX_LIBCS 32
#define SCAN_TRIES 300 /* about 3 s of 10 ms polls for a new image to map its libc */

struct pending_scan {
	uint32_t pid;
	int tries;
	bool libc_done; /* its C library is probed */
	bool py_done;   /* its CPython is in the pyprocs map */
};

struct tkt_tracer {
	struct tkt_loader *ld;
	struct run_bpf *skel;
	struct pending_scan *pending;
	size_t npending, cap_pending;
	struct tkt_model *model;
	size_t rootdir_ntests; /* tests started when pytest rootdirs were last looked for */
};

/* Run mode's object, for the loader. */
TKT_LOADER_SKEL_FNS(run)

static void run_configure(void *skel, void *ctx)
{
	struct run_bpf *s = skel;
	unsigned maj = 0, min = 0;
	struct utsname u;
	bool loop;

	(void)ctx;
	s->rodata->nr_cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
	/* Python stacks at kills walk frames with bpf_loop (5.17). */
	loop = uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
	       (maj > 5 || (maj == 5 && min >= 17));
	bpf_program__set_autoload(s->progs.tkt_mark_victim_py, loop);
	bpf_program__set_autoload(s->progs.tkt_sig_deliver, loop);
	if (!loop)
		tkt_info("Linux %s has no bpf_loop (5.17): kills are reported without Python stacks",
			 u.release);
}

static const char *const run_attach[] = {
	"tkt_fork", "tkt_exec", "tkt_exit", "tkt_signal", "tkt_mark_victim", "tkt_mark_victim_py",
	"tkt_rss_stat", "tkt_mmap", "tkt_sig_deliver", NULL,
};

static const struct tkt_bpf_mode run_mode = {
	.prefix = "",
	TKT_LOADER_SKEL(run),
	.configure = run_configure,
	.attach = run_attach,
	.env_progs = { "tkt_setenv", "tkt_unsetenv", "tkt_putenv" },
	.max_libcs = MAX_LIBCS,
	.libc_consequence = "kills are reported without their tests",
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Hand the kernel where pid's CPython keeps its threads, for stacks at kills. 1: found, 0: not
 * mapped yet, <0: gone. */
static int scan_python(struct tkt_tracer *t, uint32_t pid)
{
	struct tkt_py_proc pp;
	int r = tkt_py_find(pid, &pp);

	if (r == 1) {
		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.pyprocs), &pid, &pp, BPF_ANY))
			tkt_debug("pid %u: cannot store its python: %s", pid, strerror(errno));
		else
			tkt_debug("pid %u: python %u.%u, _PyRuntime at %#llx%s", pid, pp.version >> 8,
				  pp.version & 0xff, (unsigned long long)pp.runtime_addr,
				  pp.o.layout ? "" : " (no offsets: stacks unsupported)");
	}
	return r;
}

static void pending_add(struct tkt_tracer *t, uint32_t pid)
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
	t->npending++;
}

static void scan_pending(struct tkt_tracer *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->npending; i++) {
		struct pending_scan *s = &t->pending[i];
		int r = s->libc_done ? 1 : tkt_libcs_scan_pid(tkt_loader_libcs(t->ld), s->pid,
							       mono_ns());

		s->libc_done = r > 0;
		if (r >= 0 && !s->py_done)
			s->py_done = scan_python(t, s->pid) != 0;
		if (r < 0 || (s->libc_done && s->py_done) || ++s->tries >= SCAN_TRIES)
			continue; /* done: found, gone, or gave up (a static binary) */
		t->pending[j++] = *s;
	}
	t->npending = j;
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
	/* Only Pythons set pytest's variables: other programs (a fork-heavy suite's many
	 * short children) are not worth reading /proc for. */
	if (p && (p->is_pytest || strncmp(p->comm, "python", 6) == 0 || strncmp(p->comm, "pytest", 6) == 0))
		pending_add(t, pid);
	if (!p || !p->is_pytest || p->cwd)
		return;
	snprintf(link, sizeof(link), "/proc/%u/cwd", pid);
	n = readlink(link, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return;
	cwd[n] = '\0';
	tkt_model_set_cwd(t->model, pid, cwd);
	pytest_options(t, pid, cwd);
}

static void apply_one(void *ctx, const void *rec, size_t len)
{
	struct tkt_tracer *t = ctx;
	const struct tkt_hdr *h = rec;

	if (tkt_model_apply(t->model, h, len) == 0 && h->type == TKT_EV_EXEC)
		after_exec(t, h->pid);
	else if (h->type == TKT_EV_EXIT)
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.pyprocs), &h->pid);
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
	tkt_model_sweep(t->model, 5ULL * 1000 * 1000 * 1000);
}

int tkt_tracer_poll(struct tkt_tracer *t, int timeout_ms)
{
	int r;

	/* Look for a freshly exec'd libc often until it shows up. */
	if (t->npending && timeout_ms > 10)
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

	if (!t)
		return -ENOMEM;
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

	t->skel->bss->root_tgid = pid;
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.tracked), &key, &zero, BPF_ANY))
		return -errno;
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
	free(t->pending);
	free(t);
}
