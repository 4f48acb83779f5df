/* watch mode's BPF object and the machine's C libraries. */
#define _GNU_SOURCE
#include "watcher.h"

#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/util.h"
#include "core/watch_core.h"
#include "loader.h"
#include "watch.skel.h"

#define W_MAX_LIBCS 64
#define W_MAX_ROOTS 256

struct dev_ino {
	dev_t dev;
	ino_t ino;
};

struct tkt_watcher {
	struct tkt_loader *ld;
	struct dev_ino roots[W_MAX_ROOTS];
	int nroots;
	uint64_t now_ns; /* of the scan under way */
	uint8_t *seen; /* bitmap of pids whose maps were considered */
	size_t seen_bits;
	/* When pids wrap, a seen pid may be a new process: the bitmap is cleared. */
	bool have_pid_state;
	uint32_t last_pid;
	uint64_t forks;
};

/* watch mode's object, for the loader. */
TKT_LOADER_SKEL_FNS(watch)

static void watch_configure(void *skel, void *ctx)
{
	((struct watch_bpf *)skel)->rodata->watch_cg_v1 = *(int *)ctx == 1;
}

static const char *const watch_attach[] = { "tkt_w_signal", "tkt_w_mark_victim", "tkt_w_exit",
					    NULL };

static const struct tkt_bpf_mode watch_mode = {
	.prefix = "watch: ",
	TKT_LOADER_SKEL(watch),
	.configure = watch_configure,
	.attach = watch_attach,
	.env_progs = { "tkt_w_setenv", "tkt_w_unsetenv", "tkt_w_putenv" },
	.max_libcs = W_MAX_LIBCS,
	.libc_consequence = "watch logs kills without their test",
};

static bool di_has(const struct dev_ino *s, int n, dev_t dev, ino_t ino)
{
	for (int i = 0; i < n; i++)
		if (s[i].dev == dev && s[i].ino == ino)
			return true;
	return false;
}

/* Whether pid maps a C library (now probed). */
static bool scan_maps(struct tkt_watcher *w, unsigned pid)
{
	return tkt_libcs_scan_pid(tkt_loader_libcs(w->ld), pid, w->now_ns) > 0;
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
static void scan_procs(struct tkt_watcher *w)
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

void tkt_watcher_scan(struct tkt_watcher *w, uint64_t now_ns, bool all)
{
	w->now_ns = now_ns;
	if (!all) {
		scan_procs(w);
		return;
	}
	/* Every process again (pids and container roots are reused), and stop probing the
	 * libraries no process maps any more (containers gone), so that days of new images
	 * neither use up the slots nor pin their files. */
	memset(w->seen, 0, (w->seen_bits + 7) / 8);
	w->nroots = 0;
	scan_procs(w);
	tkt_libcs_drop_unseen(tkt_loader_libcs(w->ld), now_ns);
}

int tkt_watcher_wait(struct tkt_watcher *w, int timeout_ms)
{
	return timeout_ms ? tkt_loader_wait(w->ld, timeout_ms) : tkt_loader_consume(w->ld);
}

/* Both rings are read, then applied in time order (a test's setenv sits in the bulk ring when
 * the kill that ends it wakes us). */
void tkt_watcher_apply(struct tkt_watcher *w, void (*fn)(void *ctx, const void *rec, size_t len),
		       void *ctx)
{
	tkt_loader_flush(w->ld, fn, ctx, 256u << 10);
}

int tkt_watcher_drops(struct tkt_watcher *w, uint64_t *total)
{
	return tkt_loader_drops(w->ld, total);
}

int tkt_watcher_nlibcs(struct tkt_watcher *w)
{
	return tkt_libcs_count(tkt_loader_libcs(w->ld));
}

int tkt_watcher_open(struct tkt_watcher **out, int cg_version, char *err, size_t errsz)
{
	struct tkt_watcher *w = calloc(1, sizeof(*w));
	struct timespec ts;
	long pid_max = 4194304;
	FILE *f;
	int e;

	if (!w)
		return -ENOMEM;
	e = tkt_loader_open(&w->ld, &watch_mode, &cg_version, err, errsz);
	if (!e)
		e = tkt_loader_attach(w->ld, err, errsz);
	if (e) {
		tkt_watcher_free(w);
		return e;
	}
	f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (fscanf(f, "%ld", &pid_max) != 1 || pid_max <= 0 || pid_max > 4194304)
			pid_max = 4194304;
		fclose(f);
	}
	w->seen_bits = pid_max + 1;
	w->seen = calloc((w->seen_bits + 7) / 8, 1);
	if (!w->seen) {
		snprintf(err, errsz, "watch: out of memory");
		tkt_watcher_free(w);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w->now_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	scan_procs(w);
	*out = w;
	return 0;
}

void tkt_watcher_free(struct tkt_watcher *w)
{
	if (!w)
		return;
	tkt_loader_destroy(w->ld);
	free(w->seen);
	free(w);
}
