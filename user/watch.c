/* tktrace watch: load the machine-wide programs, probe every C library in use, write a JSON
 * line per kill until SIGTERM. The records' meaning lives in watch_core.c. */
#define _GNU_SOURCE
#include "watch.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "cli.h"
#include "tktrace.skel.h"
#include "tracer.h"
#include "batch.h"
#include "elfsym.h"
#include "safeopen.h"
#include "util.h"
#include "watch_core.h"

#define W_MAX_LIBCS 64
#define W_MAX_ROOTS 256
#define W_RESCAN_NS (3ULL * 1000 * 1000 * 1000)
#ifndef W_RESCAN_ALL_NS /* forget scanned pids (they get reused), unprobe unused libraries */
#define W_RESCAN_ALL_NS (600ULL * 1000 * 1000 * 1000)
#endif
#define W_URGENT_RING (4u << 20) /* ~850 kill records */
#define W_BULK_RING (1u << 20)
#define W_PYTEST_MAX 16384

static volatile sig_atomic_t w_stop, w_reopen;

static void w_on_signal(int sig)
{
	if (sig == SIGHUP)
		w_reopen = 1;
	else
		w_stop = 1;
}

struct dev_ino {
	dev_t dev;
	ino_t ino;
};

/* A probed C library: its three uprobes, and when a scan last found it mapped. */
struct libc_slot {
	struct dev_ino id;
	struct bpf_link *links[3];
	uint64_t seen_ns;
	bool used;
	bool system; /* the host's own: kept */
};

struct watcher {
	struct tktrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[3];
	int nlinks;
	struct libc_slot libcs[W_MAX_LIBCS];
	struct dev_ino roots[W_MAX_ROOTS];
	int nlibcs, nroots;
	uint64_t now_ns; /* of the scan under way */
	uint8_t *seen; /* bitmap of pids whose maps were considered */
	size_t seen_bits;
	/* When pids wrap, a seen pid may be a new process: the bitmap is cleared. */
	bool have_pid_state;
	uint32_t last_pid;
	uint64_t forks;
	struct tkt_batch batch;
	bool warned_perm;
};

int tkt_watch_parse(struct tkt_watch_cli *c, int argc, char **argv, char *err, size_t errsz)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	memset(c, 0, sizeof(*c));
	c->output = "-";
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":o:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			if (!*optarg) {
				snprintf(err, errsz,
					 "watch: --output needs a file name, or - for stdout");
				return TKT_EXIT_FAIL;
			}
			c->output = optarg;
			break;
		case 'c':
			if (optarg[0] != '/') {
				snprintf(err, errsz,
					 "watch: invalid --cgroup '%s': give an absolute path, "
					 "like /sys/fs/cgroup/system.slice or /docker",
					 optarg);
				return TKT_EXIT_FAIL;
			}
			c->cgroup = optarg;
			break;
		case 'v':
			c->verbose++;
			break;
		case 'h':
			c->help = true;
			return 0;
		case ':':
			snprintf(err, errsz, "watch: %s needs a value (see tktrace watch --help)",
				 argv[optind - 1]);
			return TKT_EXIT_FAIL;
		default:
			snprintf(err, errsz,
				 "watch: unknown option '%s' (see tktrace watch --help)",
				 argv[optind - 1]);
			return TKT_EXIT_FAIL;
		}
	}
	if (optind < argc) {
		snprintf(err, errsz, "watch: unexpected argument '%s' (watch takes no command)",
			 argv[optind]);
		return TKT_EXIT_FAIL;
	}
	return 0;
}

void tkt_watch_usage(FILE *f)
{
	fputs("Usage: tktrace watch [--output FILE|-] [--cgroup PATH] [-v]\n"
	      "\n"
	      "Log every OOM kill and every SIGKILL on this machine, one JSON object per line,\n"
	      "with the process ancestry, cgroup, container and the pytest test that was\n"
	      "running in the killed process or an ancestor. Runs until SIGTERM or SIGINT\n"
	      "(exit 0); SIGHUP reopens FILE (log rotation). Memory stays bounded.\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output FILE|-  append lines to FILE (default -: standard output)\n"
	      "      --cgroup PATH    only kills whose victim is in this cgroup or below it:\n"
	      "                       a directory (/sys/fs/cgroup/memory/ci) or a path as\n"
	      "                       /proc/PID/cgroup shows it (/ci)\n"
	      "  -v, --verbose        say what is probed (twice: libbpf's debug output)\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo tktrace watch\n"
	      "  sudo tktrace watch --output /var/log/tktrace/watch.jsonl &\n"
	      "  sudo tktrace watch --cgroup /system.slice/docker.service | jq .victim.test\n"
	      "\n"
	      "Fields: docs/watch.md. A systemd unit: packaging/tktrace-watch.service.\n",
	      f);
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

/* ---- C libraries ---- */

static bool di_has(const struct dev_ino *s, int n, dev_t dev, ino_t ino)
{
	for (int i = 0; i < n; i++)
		if (s[i].dev == dev && s[i].ino == ino)
			return true;
	return false;
}

static struct libc_slot *libc_find(struct watcher *w, dev_t dev, ino_t ino)
{
	for (int i = 0; i < W_MAX_LIBCS; i++)
		if (w->libcs[i].used && w->libcs[i].id.dev == dev && w->libcs[i].id.ino == ino)
			return &w->libcs[i];
	return NULL;
}

static void libc_drop(struct watcher *w, struct libc_slot *c)
{
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(c->links[i]);
	memset(c, 0, sizeof(*c));
	w->nlibcs--;
}

/* 1: probed (now or before), 0: not a usable file. */
static int attach_libc(struct watcher *w, const char *path, bool system)
{
	struct bpf_program *progs[3] = { w->skel->progs.tkt_w_setenv,
					 w->skel->progs.tkt_w_unsetenv,
					 w->skel->progs.tkt_w_putenv };
	struct bpf_link *links[3];
	struct libc_slot *c;
	struct stat st;
	int ok = 0;

	if (stat(path, &st))
		return 0;
	c = libc_find(w, st.st_dev, st.st_ino);
	if (c) {
		c->seen_ns = w->now_ns;
		return 1;
	}
	for (c = w->libcs; c < w->libcs + W_MAX_LIBCS && c->used; c++)
		;
	if (c == w->libcs + W_MAX_LIBCS) {
		tkt_warn("watch: more than %d distinct C libraries in use; not probing %s",
			 W_MAX_LIBCS, path);
		return 1;
	}
	tkt_attach_env_probes(progs, path, links, &w->warned_perm,
			      "watch logs kills without their test");
	for (int i = 0; i < 3; i++)
		if (links[i])
			c->links[ok++] = links[i];
	c->id.dev = st.st_dev;
	c->id.ino = st.st_ino;
	c->seen_ns = w->now_ns;
	c->used = true;
	c->system = system;
	w->nlibcs++;
	tkt_info("watch: probing setenv/unsetenv/putenv in %s (%d probes)", path, ok);
	return 1;
}

struct attach_ctx {
	struct watcher *w;
	bool found;
};

static void attach_found(void *ctx, const char *path)
{
	struct attach_ctx *a = ctx;

	a->found |= attach_libc(a->w, path, false) > 0;
}

/* Whether pid maps a C library (now probed). */
static bool scan_maps(struct watcher *w, unsigned pid)
{
	struct attach_ctx a = { w, false };

	tkt_mapped_libcs(pid, attach_found, &a);
	return a.found;
}

/* The last pid handed out in our pid namespace, and how many processes and threads were
 * created since boot. */
static int read_pid_state(uint32_t *last, uint64_t *forks)
{
	char line[256];
	bool found = false;
	FILE *f;
	unsigned long v;

	f = fopen("/proc/sys/kernel/ns_last_pid", "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%lu", &v) != 1) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	*last = (uint32_t)v;
	f = fopen("/proc/stat", "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "processes %" SCNu64, forks) == 1;
	fclose(f);
	return found ? 0 : -EINVAL;
}

/* Pythons always (a venv or another build may bring its own libc); anything else until one
 * process of its root directory maps a libc (a container's processes share theirs). New pids
 * only. */
static void scan_procs(struct watcher *w)
{
	DIR *d;
	struct dirent *de;
	uint32_t last = 0;
	uint64_t forks = 0;

	if (read_pid_state(&last, &forks) == 0) {
		if (w->have_pid_state &&
		    tkt_pids_wrapped(w->last_pid, last, forks - w->forks, (uint32_t)w->seen_bits - 1))
			memset(w->seen, 0, (w->seen_bits + 7) / 8);
		w->have_pid_state = true;
		w->last_pid = last;
		w->forks = forks;
	}
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d))) {
		char p[64], comm[32] = "";
		unsigned long pid;
		struct stat st;
		char *end;
		int fd;
		ssize_t n;

		pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid >= w->seen_bits || (w->seen[pid / 8] & (1u << (pid % 8))))
			continue;
		w->seen[pid / 8] |= 1u << (pid % 8);
		snprintf(p, sizeof(p), "/proc/%lu/comm", pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[n > 0 ? n : 0] = '\0';
		if (strncmp(comm, "python", 6) == 0 || strncmp(comm, "pytest", 6) == 0) {
			scan_maps(w, pid);
			continue;
		}
		snprintf(p, sizeof(p), "/proc/%lu/root/", pid);
		if (stat(p, &st) || di_has(w->roots, w->nroots, st.st_dev, st.st_ino))
			continue;
		/* A static first process (tini, pause) does not settle its root. */
		if (scan_maps(w, pid) && w->nroots < W_MAX_ROOTS) {
			w->roots[w->nroots].dev = st.st_dev;
			w->roots[w->nroots].ino = st.st_ino;
			w->nroots++;
		}
	}
	closedir(d);
}

/* Every W_RESCAN_ALL_NS: consider every process again (pids and container roots are reused)
 * and stop probing the libraries no process maps any more (containers gone), so that days of
 * new images neither use up the slots nor pin their files. */
static void rescan_all(struct watcher *w)
{
	uint64_t start = w->now_ns;

	memset(w->seen, 0, (w->seen_bits + 7) / 8);
	w->nroots = 0;
	scan_procs(w);
	for (int i = 0; i < W_MAX_LIBCS; i++) {
		struct libc_slot *c = &w->libcs[i];
		if (c->used && !c->system && c->seen_ns < start) {
			tkt_info("watch: no process maps a probed C library any more: unprobing it");
			libc_drop(w, c);
		}
	}
}

/* ---- records ---- */

struct apply_ctx {
	struct tkt_watch *core;
	struct tkt_buf *out;
};

static void apply_one(void *ctx, const void *rec, size_t len)
{
	struct apply_ctx *a = ctx;

	tkt_watch_apply(a->core, rec, len, a->out);
}

/* Both rings are read, then applied in time order (a test's setenv sits in the bulk ring when
 * the kill that ends it wakes us). */
static void apply_batch(struct watcher *w, struct tkt_watch *core, struct tkt_buf *out)
{
	struct apply_ctx a = { core, out };

	tkt_batch_flush(&w->batch, apply_one, &a, 256u << 10);
}

static void watcher_free(struct watcher *w)
{
	for (int i = 0; i < W_MAX_LIBCS; i++)
		if (w->libcs[i].used)
			libc_drop(w, &w->libcs[i]);
	for (int i = 0; i < w->nlinks; i++)
		bpf_link__destroy(w->links[i]);
	ring_buffer__free(w->rb);
	tktrace_bpf__destroy(w->skel);
	tkt_batch_free(&w->batch);
	free(w->seen);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && tkt_log_get_level() < TKT_LOG_DEBUG)
		return 0;
	if (level != LIBBPF_DEBUG && tkt_log_get_level() < TKT_LOG_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int watcher_open(struct watcher *w, int cg_version)
{
	static const char *const system_libcs[] = {
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
		"/usr/lib64/libc.so.6", "/usr/lib/libc.so.6", "/lib/libc.so.6",
		"/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1",
	};
	struct bpf_program *prog;
	long pid_max = 4194304;
	char err[256];
	FILE *f;
	int e;

	libbpf_set_print(libbpf_print);
	e = tkt_kernel_check(err, sizeof(err));
	if (e) {
		tkt_error("watch: %s", err);
		return e;
	}
	/* Our types are all in vmlinux: naming its BTF keeps libbpf (1.1) from listing module
	 * BTFs for the ___old flavours, which takes CAP_SYS_ADMIN. */
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = "/sys/kernel/btf/vmlinux");
	w->skel = tktrace_bpf__open_opts(&oo);
	if (!w->skel) {
		e = -errno;
		tkt_error("watch: failed to open the BPF object: %s", strerror(-e));
		return e;
	}
	/* Only the machine-wide programs; run mode's tables shrink to nothing. */
	bpf_object__for_each_program(prog, w->skel->obj)
		bpf_program__set_autoload(prog, strncmp(bpf_program__name(prog), "tkt_w_", 6) == 0);
	bpf_map__set_max_entries(w->skel->maps.tracked, 1);
	bpf_map__set_max_entries(w->skel->maps.watch_pytest, W_PYTEST_MAX);
	bpf_map__set_max_entries(w->skel->maps.rb_urgent, W_URGENT_RING);
	bpf_map__set_max_entries(w->skel->maps.rb, W_BULK_RING);
	w->skel->rodata->watch_cg_v1 = cg_version == 1;
	e = tktrace_bpf__load(w->skel);
	if (e) {
		tkt_error("watch: failed to load the BPF programs: %s%s", strerror(-e),
			  e == -EPERM || e == -EACCES ?
				  " (run as root, or grant CAP_BPF and CAP_PERFMON)" : "");
		return e;
	}
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.rb_urgent), tkt_batch_add, &w->batch,
				 NULL);
	if (!w->rb || ring_buffer__add(w->rb, bpf_map__fd(w->skel->maps.rb), tkt_batch_add,
				       &w->batch)) {
		e = -errno;
		tkt_error("watch: failed to set up the ring buffers: %s", strerror(-e));
		return e;
	}
	struct bpf_program *progs[] = {
		w->skel->progs.tkt_w_signal,
		w->skel->progs.tkt_w_mark_victim,
		w->skel->progs.tkt_w_exit,
	};
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_link *l = bpf_program__attach(progs[i]);
		if (!l) {
			e = -errno;
			tkt_error("watch: failed to attach %s: %s",
				  bpf_program__section_name(progs[i]), strerror(-e));
			return e;
		}
		w->links[w->nlinks++] = l;
	}
	f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (fscanf(f, "%ld", &pid_max) != 1 || pid_max <= 0 || pid_max > 4194304)
			pid_max = 4194304;
		fclose(f);
	}
	w->seen_bits = pid_max + 1;
	w->seen = calloc((w->seen_bits + 7) / 8, 1);
	if (!w->seen)
		return -ENOMEM;
	w->now_ns = clock_ns(CLOCK_MONOTONIC);
	for (size_t i = 0; i < sizeof(system_libcs) / sizeof(system_libcs[0]); i++)
		if (access(system_libcs[i], R_OK) == 0)
			attach_libc(w, system_libcs[i], true);
	scan_procs(w);
	if (!w->nlibcs)
		tkt_warn("watch: found no C library to probe yet; tests will be named once one is "
			 "mapped");
	return 0;
}

int tkt_watch_main(int argc, char **argv)
{
	struct tkt_watch_cli cli;
	struct tkt_cgroup cg = { 0 };
	struct tkt_watch core;
	struct tkt_watch_opts wo = { 0 };
	struct watcher w = { 0 };
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
	r = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (r < 0 || write(r, "-1000", 5) < 0)
		tkt_info("watch: cannot shield tktrace from the OOM killer: %s", strerror(errno));
	if (r >= 0)
		close(r);
	if (watcher_open(&w, cg.version))
		goto out;
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
		(int)getpid(), w.nlibcs, strcmp(cli.output, "-") ? cli.output : "stdout",
		wo.cg_filter ? ", cgroup " : "", wo.cg_filter ? (filter[0] ? filter : "/") : "");
	sd_ready();
	last_scan = last_reset = clock_ns(CLOCK_MONOTONIC);
	while (!w_stop) {
		r = ring_buffer__poll(w.rb, 100);
		if (r >= 0)
			r = ring_buffer__consume(w.rb); /* the bulk ring too, before ordering */
		if (r < 0 && r != -EINTR) {
			tkt_error("watch: reading events failed: %s", strerror(-r));
			goto out;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		core.rt_offset_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - now);
		apply_batch(&w, &core, &out);
		tkt_watch_flush(&core, now, &out);
		if (now - last_scan >= W_RESCAN_NS) {
			uint64_t d;
			int e = tkt_drops_read(bpf_map__fd(w.skel->maps.drops), &d);
			if (e < 0 && !drops_warned) { /* once, not every second */
				tkt_error("watch: warning: cannot read the kernel's count of lost "
					  "events (%s): losses may go unreported", strerror(-e));
				drops_warned = true;
			}
			if (d > last_drops) { /* a partial read may come out lower */
				tkt_watch_lost(&core, now, d - last_drops, &out);
				last_drops = d;
			}
			w.now_ns = now;
			if (now - last_reset >= W_RESCAN_ALL_NS) {
				rescan_all(&w);
				last_reset = now;
			} else {
				scan_procs(&w);
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
	ring_buffer__consume(w.rb);
	apply_batch(&w, &core, &out);
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
	watcher_free(&w);
	tkt_watch_free(&core);
	tkt_buf_free(&out);
out_fd:
	if (fd != STDOUT_FILENO)
		close(fd);
	return rc;
}
