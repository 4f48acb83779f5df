/* Loading, attaching and polling the BPF programs. */
#define _GNU_SOURCE
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "batch.h"
#include "elfsym.h"
#include "marks.h"
#include "pyargs.h"
#include "tktrace.skel.h"
#include "util.h"

#define MAX_LIBCS 32
#define MAX_LINKS (8 + 3 * MAX_LIBCS)
#define SCAN_TRIES 300 /* about 3 s of 10 ms polls for a new image to map its libc */

struct libc_id {
	dev_t dev;
	ino_t ino;
};

struct pending_scan {
	uint32_t pid;
	int tries;
};

struct tkt_tracer {
	struct tktrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	struct libc_id libcs[MAX_LIBCS];
	int nlibcs;
	bool warned_perm;
	struct pending_scan *pending;
	size_t npending, cap_pending;
	struct tkt_model *model;
	struct tkt_batch batch;
	size_t rootdir_ntests; /* tests started when pytest rootdirs were last looked for */
	int epfd;    /* the rings' epoll fd and the wake fd, or -1: then the rings' own */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	enum tkt_log_level l = tkt_log_get_level();

	if (level == LIBBPF_DEBUG && l < TKT_LOG_DEBUG)
		return 0;
	if (level != LIBBPF_DEBUG && l < TKT_LOG_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

bool tkt_is_libc_path(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	if (strcmp(b, "libc.so.6") == 0 || strcmp(b, "libc.so") == 0)
		return true;
	/* glibc < 2.34 ships libc-2.31.so; musl is libc.musl-ARCH.so.1 or ld-musl-ARCH.so.1 */
	if (strncmp(b, "libc-", 5) == 0 && b[5] >= '0' && b[5] <= '9' && strstr(b, ".so"))
		return true;
	if (strncmp(b, "libc.musl-", 10) == 0 || strncmp(b, "ld-musl-", 8) == 0)
		return true;
	return false;
}

static int attach_libc(struct tkt_tracer *t, const char *path)
{
	struct bpf_program *progs[3] = { t->skel->progs.tkt_setenv, t->skel->progs.tkt_unsetenv,
					 t->skel->progs.tkt_putenv };
	struct bpf_link *links[3];
	struct stat st;
	int ok;

	if (stat(path, &st))
		return -errno;
	for (int i = 0; i < t->nlibcs; i++)
		if (t->libcs[i].dev == st.st_dev && t->libcs[i].ino == st.st_ino)
			return 0;
	if (t->nlibcs == MAX_LIBCS || t->nlinks + 3 > MAX_LINKS) {
		tkt_warn("too many distinct C libraries; not probing %s", path);
		return -ENOSPC;
	}
	ok = tkt_attach_env_probes(progs, path, links, &t->warned_perm,
				   "kills are reported without their tests");
	for (int i = 0; i < 3; i++)
		if (links[i])
			t->links[t->nlinks++] = links[i];
	t->libcs[t->nlibcs].dev = st.st_dev;
	t->libcs[t->nlibcs].ino = st.st_ino;
	t->nlibcs++;
	tkt_info("probing setenv/unsetenv/putenv in %s (%d probes)", path, ok);
	return ok ? 0 : -ENOENT;
}

static void attach_found(void *t, const char *path)
{
	attach_libc(t, path);
}

/* 1: found a libc (attached or known), 0: not mapped yet, <0: process gone. */
static int scan_maps(struct tkt_tracer *t, uint32_t pid)
{
	int n = tkt_mapped_libcs(pid, attach_found, t);

	return n > 0 ? 1 : n;
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
	t->pending[t->npending].pid = pid;
	t->pending[t->npending].tries = 0;
	t->npending++;
}

static void scan_pending(struct tkt_tracer *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->npending; i++) {
		struct pending_scan *s = &t->pending[i];
		int r = scan_maps(t, s->pid);
		if (r != 0 || ++s->tries >= SCAN_TRIES)
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
	struct tkt_proc *p = tkt_model_find(t->model, pid);
	char link[64], cwd[PATH_MAX];
	ssize_t n;

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
		struct tkt_proc *p = tkt_model_find(m, pids[i]);
		if (!p || p->cwd_checked || !p->cwd || !p->own.test)
			continue;
		p->cwd_checked = true;
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
	tkt_batch_flush(&t->batch, apply_one, t, 1u << 20);
	find_rootdirs(t);
	scan_pending(t);
	tkt_model_sweep(t->model, 5ULL * 1000 * 1000 * 1000);
}

int tkt_tracer_poll(struct tkt_tracer *t, int timeout_ms)
{
	int n;

	/* Look for a freshly exec'd libc often until it shows up. */
	if (t->npending && timeout_ms > 10)
		timeout_ms = 10;
	if (t->epfd >= 0) {
		struct epoll_event ev[2];

		n = epoll_wait(t->epfd, ev, 2, timeout_ms);
		if (n < 0 && errno == EINTR)
			n = 0; /* a signal: the caller looks at it */
		else if (n < 0)
			n = -errno;
	} else {
		n = ring_buffer__poll(t->rb, timeout_ms);
	}
	if (n >= 0)
		n = ring_buffer__consume(t->rb); /* both rings, before ordering */
	apply_batch(t);
	return n < 0 ? n : 0;
}

int tkt_tracer_drain(struct tkt_tracer *t)
{
	int n = ring_buffer__consume(t->rb);

	apply_batch(t);
	return n < 0 ? n : 0;
}

int tkt_drops_read(int map_fd, uint64_t *total)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	int r = 0;

	*total = 0;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	/* A counter that cannot be read is an error, not a zero: "nothing lost" would lie. */
	for (__u32 k = 0; k < TKT_DROP_NR; k++) {
		if (bpf_map_lookup_elem(map_fd, &k, vals)) {
			r = -errno;
			continue;
		}
		for (int c = 0; c < ncpu; c++)
			*total += vals[c];
	}
	free(vals);
	return r;
}

int tkt_tracer_drops(struct tkt_tracer *t, uint64_t *total)
{
	return tkt_drops_read(bpf_map__fd(t->skel->maps.drops), total);
}

static void errmsg(char *err, size_t errsz, const char *what, int e)
{
	const char *hint = "";

	if (e == -EPERM || e == -EACCES)
		hint = " (run as root, or grant CAP_BPF and CAP_PERFMON)";
	else if (e == -ENOENT || e == -ESRCH)
		hint = " (does this kernel have BTF at /sys/kernel/btf/vmlinux?)";
	snprintf(err, errsz, "%s: %s%s", what, strerror(-e), hint);
}

int tkt_kernel_check(char *err, size_t errsz)
{
	struct utsname u;

	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	/* What no fallback can replace: the kernel's BTF (CO-RE, BTF tracepoints) and BPF ring
	 * buffers (5.8). Newer helpers are probed in the BPF programs themselves
	 * (bpf/core_fixes.bpf.h); the floor tested is 5.10 (tests/kernels). */
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errsz,
			 "this kernel (Linux %s) has no BTF (/sys/kernel/btf/vmlinux): tktrace needs "
			 "a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.10 or later)", u.release);
		return -ENOENT;
	}
	/* 0: the kernel said no; < 0 (no privileges...) is left to the load's own message. */
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0) {
		snprintf(err, errsz, "Linux %s has no BPF ring buffers: tktrace needs 5.10 or later",
			 u.release);
		return -ENOTSUP;
	}
	return 0;
}

int tkt_tracer_open(struct tkt_tracer **out, struct tkt_model *m, char *err, size_t errsz)
{
	struct tkt_tracer *t = calloc(1, sizeof(*t));
	int e;

	if (!t)
		return -ENOMEM;
	t->epfd = -1;
	t->model = m;
	libbpf_set_print(libbpf_print);
	e = tkt_kernel_check(err, errsz);
	if (e) {
		free(t);
		return e;
	}
	for (int named = 0; named < 2; named++) {
		/* Naming the kernel's BTF keeps libbpf (< 1.3) from listing module BTFs for our
		 * ___old flavours, which takes CAP_SYS_ADMIN; but libbpf then holds two copies of
		 * it (+6 MiB): only a second try, when the first was refused. */
		LIBBPF_OPTS(bpf_object_open_opts, oo,
			    .btf_custom_path = named ? "/sys/kernel/btf/vmlinux" : NULL);

		t->skel = tktrace_bpf__open_opts(&oo);
		if (!t->skel) {
			e = -errno;
			errmsg(err, errsz, "failed to open the BPF object", e);
			free(t);
			return e;
		}
		t->skel->rodata->nr_cpus =
			libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
		e = tktrace_bpf__load(t->skel);
		if (!e)
			break;
		if (named || (e != -EPERM && e != -EACCES)) {
			errmsg(err, errsz, "failed to load the BPF programs", e);
			tkt_tracer_destroy(t);
			return e;
		}
		tkt_debug("loading refused (%s): again with the kernel's BTF named", strerror(-e));
		tktrace_bpf__destroy(t->skel);
		t->skel = NULL;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.rb_urgent), tkt_batch_add, &t->batch,
				 NULL);
	if (!t->rb || ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.rb), tkt_batch_add,
				       &t->batch)) {
		e = -errno;
		errmsg(err, errsz, "failed to set up the ring buffers", e);
		tkt_tracer_destroy(t);
		return e;
	}
	*out = t;
	return 0;
}

int tkt_tracer_attach(struct tkt_tracer *t, char *err, size_t errsz)
{
	static const char *const system_libcs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
		"/usr/lib64/libc.so.6", "/usr/lib/libc.so.6", "/lib/libc.so.6",
		"/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1",
	};
	struct bpf_program *progs[] = {
		t->skel->progs.tkt_fork, t->skel->progs.tkt_exec, t->skel->progs.tkt_exit,
		t->skel->progs.tkt_signal, t->skel->progs.tkt_mark_victim, t->skel->progs.tkt_rss_stat,
		t->skel->progs.tkt_mmap,
	};
	int e;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_link *l;
		if (!bpf_program__autoload(progs[i]))
			continue;
		l = bpf_program__attach(progs[i]);
		if (!l) {
			char what[128];
			e = -errno;
			snprintf(what, sizeof(what), "failed to attach %s",
				 bpf_program__section_name(progs[i]));
			errmsg(err, errsz, what, e);
			return e;
		}
		t->links[t->nlinks++] = l;
		tkt_debug("attached %s", bpf_program__section_name(progs[i]));
	}
	/* The libc tktrace itself uses (none when static), then the usual system ones. */
	scan_maps(t, getpid());
	for (size_t i = 0; i < sizeof(system_libcs) / sizeof(system_libcs[0]); i++)
		if (access(system_libcs[i], R_OK) == 0)
			attach_libc(t, system_libcs[i]);
	if (t->nlibcs == 0)
		tkt_warn("found no C library to probe yet; tests will be named once one is mapped");
	return 0;
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
	struct epoll_event ev = { .events = EPOLLIN };

	if (t->epfd < 0) {
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (t->epfd < 0)
			return -errno;
		ev.data.fd = ring_buffer__epoll_fd(t->rb);
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev)) {
			int e = -errno;
			close(t->epfd);
			t->epfd = -1;
			return e;
		}
	}
	ev.data.fd = fd;
	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void tkt_tracer_destroy(struct tkt_tracer *t)
{
	if (!t)
		return;
	if (t->epfd >= 0)
		close(t->epfd);
	for (int i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	ring_buffer__free(t->rb);
	tktrace_bpf__destroy(t->skel);
	tkt_batch_free(&t->batch);
	free(t->pending);
	free(t);
}

/* memlock of a BPF object fd, from /proc/self/fdinfo. */
static uint64_t fd_memlock(int fd)
{
	char p[64], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	f = fopen(p, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lu", &v) == 1)
			break;
	fclose(f);
	return v;
}

void tkt_tracer_stats(struct tkt_tracer *t, struct tkt_buf *out)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	uint64_t maps = 0;
	char line[256];
	FILE *f;

	tkt_buf_printf(out, "tktrace stats: %-22s %12s %14s %10s\n", "program", "runs", "run_time_ns",
		       "ns/run");
	bpf_object__for_each_program(prog, t->skel->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		tkt_buf_printf(out, "tktrace stats: %-22s %12llu %14llu %10.1f\n", bpf_program__name(prog),
			       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns,
			       info.run_cnt ? (double)info.run_time_ns / info.run_cnt : 0.0);
	}
	bpf_object__for_each_map(map, t->skel->obj) {
		int fd = bpf_map__fd(map);
		if (fd >= 0)
			maps += fd_memlock(fd);
	}
	tkt_buf_printf(out, "tktrace stats: map_memory_bytes %llu\n", (unsigned long long)maps);
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long kb;
		if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			tkt_buf_printf(out, "tktrace stats: tracer_peak_rss_bytes %lu\n", kb * 1024);
	}
	if (f)
		fclose(f);
}

void tkt_tracer_destroy_async(struct tkt_tracer *t)
{
	int gate[2];
	pid_t p;

	if (!t)
		return;
	fflush(NULL);
	if (pipe2(gate, O_CLOEXEC)) {
		tkt_tracer_destroy(t);
		return;
	}
	p = fork();
	if (p == 0) {
		/* Double fork: the detacher is nobody's child to wait for, holds no terminal and
		 * no pipe of ours (a caller reading our output sees EOF now), and ends by itself. */
		if (fork() == 0) {
			int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			char c;

			setsid();
			if (fd >= 0) {
				dup2(fd, 0);
				dup2(fd, 1);
				dup2(fd, 2);
			}
			close(gate[1]);
			/* Only once tktrace has let go is this the last holder: else tktrace's exit
			 * would pay the detach after all. */
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			tkt_tracer_destroy(t);
			_exit(0);
		}
		_exit(0);
	}
	close(gate[0]);
	if (p > 0) {
		waitpid(p, NULL, 0);
		/* Detaching is the detacher's job now: here the links are only let go of (their
		 * destroy would disable the shared perf events and wait just the same). */
		for (int i = 0; i < t->nlinks; i++) {
			int fd = bpf_link__fd(t->links[i]);
			bpf_link__disconnect(t->links[i]);
			if (fd >= 0)
				close(fd);
		}
	}
	tkt_tracer_destroy(t);
	close(gate[1]);
}
