/* Loading, attaching and reading a mode's BPF object (run.bpf.c or watch.bpf.c). */
#define _GNU_SOURCE
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/batch.h"
#include "tktrace.h"

#define MAX_LINKS 16

struct tkt_loader {
	const struct tkt_bpf_mode *mode;
	void *skel;
	struct bpf_object *obj;
	struct ring_buffer *rb;
	struct tkt_batch batch;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	struct tkt_libcs *libcs;
	int epfd; /* the rings' epoll fd and the wake fd, or -1: then the rings' own */
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

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* "what: why (hint)": the hint names the usual cause of this errno. */
static void errmsg(const struct tkt_loader *l, char *err, size_t errsz, const char *what, int e)
{
	const char *hint = "";

	/* Root with EACCES: the verifier, not privileges (root without them gets EPERM). */
	if (e == -EACCES && geteuid() == 0)
		hint = " (the kernel's verifier refused a program: -v shows why)";
	else if (e == -EPERM || e == -EACCES)
		hint = " (run as root, or grant CAP_BPF and CAP_PERFMON)";
	else if (e == -ENOENT || e == -ESRCH)
		hint = " (does this kernel have BTF at /sys/kernel/btf/vmlinux?)";
	snprintf(err, errsz, "%s%s: %s%s", l->mode->prefix, what, strerror(-e), hint);
}

static struct bpf_map *map_of(const struct tkt_loader *l, const char *name)
{
	return bpf_object__find_map_by_name(l->obj, name);
}

static struct bpf_program *prog_of(const struct tkt_loader *l, const char *name)
{
	return bpf_object__find_program_by_name(l->obj, name);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* 5.14 */
#endif
#define MALLOC_DEFAULT (128 << 10) /* glibc's mmap and trim thresholds */

/*
 * libbpf reads the kernel's BTF (5-6 MiB) into fresh memory and copies it once more to parse
 * it: some 3000 first-touch page faults. Where a fault leaves the guest (the 2-core dev VM),
 * they were a third of the 45 ms parse. The heap instead grows by that much at once, faulted
 * in by one madvise (5.14+; before, nothing changes), and the BTF copies are carved from it;
 * heap_release hands it back after the load. glibc only: other C libraries skip both.
 */
static void heap_prepare(void)
{
#ifdef M_TOP_PAD
	struct stat st;
	size_t pad, pg = 4096;
	char *p;

	if (stat("/sys/kernel/btf/vmlinux", &st) || st.st_size <= 0)
		return;
	pad = 2 * (size_t)st.st_size + (2 << 20);
	/* The copies come from the heap (glibc refuses a threshold over 32 MiB: nothing done) ... */
	if (!mallopt(M_MMAP_THRESHOLD, (int)pad + (1 << 20)))
		return;
	mallopt(M_TRIM_THRESHOLD, (int)(2 * pad)); /* ... and it keeps what is freed until then */
	p = malloc(pad);
	if (!p)
		return;
	/* The range of whole pages inside p: once p is freed, the heap's top. */
	madvise((void *)(((uintptr_t)p + pg - 1) & ~(pg - 1)), pad - 2 * pg, MADV_POPULATE_WRITE);
	free(p);
#endif
}

static void heap_release(void)
{
#ifdef M_TOP_PAD
	mallopt(M_MMAP_THRESHOLD, MALLOC_DEFAULT);
	mallopt(M_TRIM_THRESHOLD, MALLOC_DEFAULT);
	malloc_trim(0);
#endif
}

/* An error a verifier gives to a program it refuses; not, say, EPERM (no privileges) or ENOMEM,
 * which loading without the optional programs would not mend and would blame on them. */
static bool verifier_said_no(int e)
{
	return e == -EACCES || e == -EINVAL || e == -E2BIG || e == -ENOSPC ||
	       e == -LIBBPF_ERRNO__VERIFY || e == -LIBBPF_ERRNO__PROG2BIG || e == -LIBBPF_ERRNO__LOAD;
}

int tkt_loader_open(struct tkt_loader **out, const struct tkt_bpf_mode *mode, void *ctx,
		    char *err, size_t errsz)
{
	struct tkt_loader *l = calloc(1, sizeof(*l));
	struct bpf_map *urgent, *bulk;
	struct utsname u;
	int e;

	if (!l)
		return -ENOMEM;
	l->mode = mode;
	l->epfd = -1;
	libbpf_set_print(libbpf_print);
	/* What no fallback can replace: the kernel's BTF (CO-RE, BTF tracepoints) and BPF ring
	 * buffers (5.8). Newer helpers are probed in the BPF programs themselves
	 * (bpf/core_fixes.bpf.h); the floor tested is 5.10 (tests/kernels). */
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "?");
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errsz,
			 "%sthis kernel (Linux %s) has no BTF (/sys/kernel/btf/vmlinux): tktrace needs "
			 "a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.10 or later)", mode->prefix,
			 u.release);
		free(l);
		return -ENOENT;
	}
	/* 0: the kernel said no; < 0 (no privileges...) is left to the load's own message. */
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 0) {
		snprintf(err, errsz, "%sLinux %s has no BPF ring buffers: tktrace needs 5.10 or later",
			 mode->prefix, u.release);
		free(l);
		return -ENOTSUP;
	}
	heap_prepare();
	/* Tries: as is; with the kernel's BTF named; then the same two without the mode's optional
	 * programs, so a kernel whose verifier refuses those still traces (and says what is lost). */
	for (int named = 0, dropped = 0;;) {
		/* Naming the kernel's BTF keeps libbpf (< 1.3) from listing module BTFs for our
		 * ___old flavours, which takes CAP_SYS_ADMIN; but libbpf then holds two copies of
		 * it (+6 MiB): only a second try, when the first was refused. */
		LIBBPF_OPTS(bpf_object_open_opts, oo,
			    .btf_custom_path = named ? "/sys/kernel/btf/vmlinux" : NULL);

		uint64_t t0 = mono_ns(), t1;

		l->skel = mode->open(&oo);
		t1 = mono_ns();
		if (!l->skel) {
			e = -errno;
			errmsg(l, err, errsz, "failed to open the BPF object", e);
			heap_release();
			free(l);
			return e;
		}
		l->obj = mode->object(l->skel);
		if (mode->configure)
			mode->configure(l->skel, ctx);
		if (dropped)
			mode->drop_optional(l->skel, ctx);
		e = mode->load(l->skel);
		tkt_debug("%sBPF object opened in %.1f ms, loaded (CO-RE relocations, verifier) in "
			  "%.1f ms", mode->prefix, (t1 - t0) / 1e6, (mono_ns() - t1) / 1e6);
		if (!e) {
			if (dropped)
				tkt_warn("%sLinux %s refused the optional BPF programs (-v shows the "
					 "verifier's reason): %s", mode->prefix, u.release,
					 mode->optional_consequence);
			break;
		}
		if (!named && (e == -EPERM || e == -EACCES)) {
			tkt_debug("loading refused (%s): again with the kernel's BTF named",
				  strerror(-e));
			named = 1;
		} else if (!dropped && verifier_said_no(e) && mode->drop_optional &&
			   mode->drop_optional(l->skel, ctx)) {
			/* named stays: a kernel that needed it still does. */
			tkt_debug("loading refused (%s): again without the optional programs",
				  strerror(-e));
			dropped = 1;
		} else {
			errmsg(l, err, errsz, "failed to load the BPF programs", e);
			tkt_loader_destroy(l);
			heap_release();
			return e;
		}
		mode->destroy(l->skel);
		l->skel = NULL;
		l->obj = NULL;
	}
	heap_release();
	urgent = map_of(l, "rb_urgent");
	bulk = map_of(l, "rb");
	l->rb = urgent ? ring_buffer__new(bpf_map__fd(urgent), tkt_batch_add, &l->batch, NULL) :
			 NULL;
	if (!l->rb || !bulk ||
	    ring_buffer__add(l->rb, bpf_map__fd(bulk), tkt_batch_add, &l->batch)) {
		e = errno ? -errno : -EINVAL;
		errmsg(l, err, errsz, "failed to set up the ring buffers", e);
		tkt_loader_destroy(l);
		return e;
	}
	*out = l;
	return 0;
}

int tkt_loader_attach(struct tkt_loader *l, char *err, size_t errsz)
{
	const struct tkt_bpf_mode *mode = l->mode;
	struct bpf_program *env[3];
	const char *probes;
	uint64_t t0 = mono_ns(), t1;
	bool per_pid;
	int e;

	for (const char *const *name = mode->attach; *name; name++) {
		struct bpf_program *p = prog_of(l, *name);
		struct bpf_link *link;
		char what[128];

		if (!p || l->nlinks == MAX_LINKS) {
			snprintf(err, errsz, "%sno program %s to attach", mode->prefix, *name);
			return -EINVAL;
		}
		if (!bpf_program__autoload(p))
			continue; /* optional, and not loaded on this kernel */
		link = bpf_program__attach(p);
		if (!link) {
			e = -errno;
			snprintf(what, sizeof(what), "failed to attach %s",
				 bpf_program__section_name(p));
			errmsg(l, err, errsz, what, e);
			return e;
		}
		l->links[l->nlinks++] = link;
		tkt_debug("attached %s", bpf_program__section_name(p));
	}
	t1 = mono_ns();
	for (int i = 0; i < 3; i++) {
		env[i] = prog_of(l, mode->env_progs[i]);
		if (!env[i]) {
			snprintf(err, errsz, "%sno program %s to attach", mode->prefix,
				 mode->env_progs[i]);
			return -EINVAL;
		}
	}
	probes = getenv("TKTRACE_LIBC_PROBES");
	per_pid = mode->per_pid_probes && !(probes && strcmp(probes, "file") == 0);
	l->libcs = tkt_libcs_new(env, mode->max_libcs, mode->libc_consequence, mode->prefix,
				 per_pid);
	if (!l->libcs) {
		snprintf(err, errsz, "%sout of memory", mode->prefix);
		return -ENOMEM;
	}
	if (tkt_libcs_add_system(l->libcs, mono_ns()) == 0)
		tkt_warn("%sfound no C library to probe yet; tests will be named once one is mapped",
			 mode->prefix);
	tkt_debug("%sattached in %.1f ms, C libraries found in %.1f ms", mode->prefix,
		  (t1 - t0) / 1e6, (mono_ns() - t1) / 1e6);
	tkt_loader_say_probes(l);
	return 0;
}

void tkt_loader_say_probes(const struct tkt_loader *l)
{
	if (tkt_libcs_per_pid(l->libcs))
		tkt_info("%slibc probes: per process (breakpoints only in traced Python processes)",
			 l->mode->prefix);
	else
		tkt_info("%slibc probes: file-wide (breakpoints in every process mapping a probed "
			 "C library)", l->mode->prefix);
}

void *tkt_loader_skel(struct tkt_loader *l)
{
	return l->skel;
}

struct tkt_libcs *tkt_loader_libcs(struct tkt_loader *l)
{
	return l->libcs;
}

int tkt_loader_wait(struct tkt_loader *l, int timeout_ms)
{
	int n;

	if (l->epfd >= 0) {
		struct epoll_event ev[2];

		n = epoll_wait(l->epfd, ev, 2, timeout_ms);
		if (n < 0 && errno == EINTR)
			n = 0; /* a signal: the caller looks at it */
		else if (n < 0)
			n = -errno;
	} else {
		n = ring_buffer__poll(l->rb, timeout_ms);
		if (n == -EINTR)
			n = 0;
	}
	if (n >= 0)
		n = ring_buffer__consume(l->rb); /* both rings, before ordering */
	return n < 0 ? n : 0;
}

int tkt_loader_consume(struct tkt_loader *l)
{
	int n = ring_buffer__consume(l->rb);

	return n < 0 ? n : 0;
}

void tkt_loader_flush(struct tkt_loader *l, void (*fn)(void *ctx, const void *rec, size_t len),
		      void *ctx, size_t keep_cap)
{
	tkt_batch_flush(&l->batch, fn, ctx, keep_cap);
}

int tkt_loader_wake_on(struct tkt_loader *l, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (l->epfd < 0) {
		l->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (l->epfd < 0)
			return -errno;
		ev.data.fd = ring_buffer__epoll_fd(l->rb);
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev)) {
			int e = -errno;
			close(l->epfd);
			l->epfd = -1;
			return e;
		}
	}
	ev.data.fd = fd;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
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

int tkt_loader_drops(struct tkt_loader *l, uint64_t *total)
{
	struct bpf_map *drops = map_of(l, "drops");

	if (!drops) {
		*total = 0;
		return -ENOENT;
	}
	return tkt_drops_read(bpf_map__fd(drops), total);
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

void tkt_loader_stats(struct tkt_loader *l, struct tkt_buf *out)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	uint64_t maps = 0;
	char line[256];
	FILE *f;

	tkt_buf_printf(out, "tktrace stats: %-22s %12s %14s %10s\n", "program", "runs", "run_time_ns",
		       "ns/run");
	bpf_object__for_each_program(prog, l->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		tkt_buf_printf(out, "tktrace stats: %-22s %12llu %14llu %10.1f\n", bpf_program__name(prog),
			       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns,
			       info.run_cnt ? (double)info.run_time_ns / info.run_cnt : 0.0);
	}
	bpf_object__for_each_map(map, l->obj) {
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

void tkt_loader_destroy(struct tkt_loader *l)
{
	if (!l)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	tkt_libcs_free(l->libcs);
	for (int i = 0; i < l->nlinks; i++)
		bpf_link__destroy(l->links[i]);
	ring_buffer__free(l->rb);
	if (l->skel)
		l->mode->destroy(l->skel);
	tkt_batch_free(&l->batch);
	free(l);
}

/* Fork a detached process (double fork: nobody's child to wait for, no terminal, stdio on
 * /dev/null so a caller reading our output sees EOF when we exit). True in that process, false
 * in the caller once the intermediate child is reaped (or the fork failed: *ok false). */
static bool detached_child(bool *ok)
{
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p == 0) {
		if (fork() == 0) {
			int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

			setsid();
			if (fd >= 0) {
				dup2(fd, 0);
				dup2(fd, 1);
				dup2(fd, 2);
			}
			return true;
		}
		_exit(0);
	}
	*ok = p > 0;
	if (p > 0)
		waitpid(p, NULL, 0);
	return false;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close fds lo..hi (hi -1: all above lo); one by one where close_range (5.9) is missing. */
static void close_fds(int lo, int hi)
{
	if (close_range((unsigned)lo, hi < 0 ? ~0u : (unsigned)hi, 0) == 0)
		return;
	for (int fd = lo; fd <= (hi < 0 ? 1023 : hi); fd++)
		close(fd);
}

void tkt_close_detached(int *fds, size_t n)
{
	bool ok;

	if (!n)
		return;
	qsort(fds, n, sizeof(*fds), cmp_int);
	if (detached_child(&ok)) {
		int lo = 3;

		/* Only the fds to close are kept: holding tktrace's others (pipes, links) would
		 * be a surprise to whoever waits for them. */
		for (size_t i = 0; i < n; i++) {
			if (fds[i] > lo)
				close_fds(lo, fds[i] - 1);
			lo = fds[i] + 1;
		}
		close_fds(lo, -1);
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		_exit(0);
	}
	/* Here they are only let go of (the detached process holds them), or, if it could not be
	 * started, closed slowly. */
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	(void)ok;
}

void tkt_loader_destroy_async(struct tkt_loader *l)
{
	int gate[2];
	bool ok;

	if (!l)
		return;
	if (pipe2(gate, O_CLOEXEC)) {
		tkt_loader_destroy(l);
		return;
	}
	if (detached_child(&ok)) {
		char c;

		close(gate[1]);
		/* Only once tktrace has let go is this the last holder: else tktrace's exit would
		 * pay the detach after all. */
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		tkt_loader_destroy(l);
		_exit(0);
	}
	close(gate[0]);
	if (ok) {
		/* Detaching is the detacher's job now: here the links are only let go of (their
		 * destroy would disable the shared perf events and wait just the same). */
		for (int i = 0; i < l->nlinks; i++) {
			int fd = bpf_link__fd(l->links[i]);
			bpf_link__disconnect(l->links[i]);
			if (fd >= 0)
				close(fd);
		}
		tkt_libcs_disconnect(l->libcs);
	}
	tkt_loader_destroy(l);
	close(gate[1]);
}
