/* Memory cgroup handling for --memory-limit, on cgroup v1 and v2. */
#include "cgroup.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core/util.h"

static int write_file(const char *dir, const char *name, const char *val)
{
	char p[768];
	int fd, r = 0;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	while (fscanf(f, "%1023s", buf) == 1)
		if (strcmp(buf, word) == 0)
			found = true;
	fclose(f);
	return found;
}

int tkt_cgroup_detect(struct tkt_cgroup *cg, const char *mounts_path)
{
	FILE *f = setmntent(mounts_path, "re");
	struct mntent *me;
	char v2[256] = "";

	memset(cg, 0, sizeof(*cg));
	if (!f)
		return -errno;
	while ((me = getmntent(f))) {
		if (strcmp(me->mnt_type, "cgroup") == 0 && hasmntopt(me, "memory")) {
			cg->version = 1;
			snprintf(cg->mount, sizeof(cg->mount), "%s", me->mnt_dir);
			break;
		}
		if (strcmp(me->mnt_type, "cgroup2") == 0 && !v2[0]) {
			char p[300];
			snprintf(p, sizeof(p), "%s/cgroup.controllers", me->mnt_dir);
			if (file_has_word(p, "memory"))
				snprintf(v2, sizeof(v2), "%s", me->mnt_dir);
		}
	}
	endmntent(f);
	if (!cg->version && v2[0]) {
		cg->version = 2;
		snprintf(cg->mount, sizeof(cg->mount), "%s", v2);
	}
	return cg->version ? 0 : -ENOENT;
}

int tkt_cgroup_create(struct tkt_cgroup *cg, uint64_t limit, char *err, size_t errsz)
{
	char val[32];
	int r;

	if (!cg->version) {
		snprintf(err, errsz, "no memory cgroup controller is mounted");
		return -ENOENT;
	}
	snprintf(cg->path, sizeof(cg->path), "%s/tktrace-%d", cg->mount, (int)getpid());
	if (cg->version == 2) {
		char p[300];
		snprintf(p, sizeof(p), "%s/cgroup.subtree_control", cg->mount);
		if (!file_has_word(p, "memory") && (r = write_file(cg->mount, "cgroup.subtree_control", "+memory"))) {
			snprintf(err, errsz, "cannot enable the memory controller in %s: %s", cg->mount,
				 strerror(-r));
			return r;
		}
	}
	if (mkdir(cg->path, 0755) && errno != EEXIST) {
		r = -errno;
		snprintf(err, errsz, "cannot create cgroup %s: %s", cg->path, strerror(errno));
		return r;
	}
	cg->created = true;
	snprintf(val, sizeof(val), "%llu", (unsigned long long)limit);
	if (cg->version == 1) {
		r = write_file(cg->path, "memory.limit_in_bytes", val);
		/* memsw exists only with swap accounting; equal limits mean no swap. */
		if (!r)
			write_file(cg->path, "memory.memsw.limit_in_bytes", val);
		if (!r)
			write_file(cg->path, "memory.swappiness", "0");
	} else {
		r = write_file(cg->path, "memory.max", val);
		if (!r)
			write_file(cg->path, "memory.swap.max", "0");
	}
	if (r) {
		snprintf(err, errsz, "cannot set the memory limit of %s: %s", cg->path, strerror(-r));
		tkt_cgroup_remove(cg);
		return r;
	}
	return 0;
}

int tkt_cgroup_parse_proc(const char *text, int version, char *out, size_t sz)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', n);
		const char *c2 = c1 ? memchr(c1 + 1, ':', n - (c1 + 1 - line)) : NULL;

		if (c2) {
			size_t clen = c2 - c1 - 1;
			bool match = false;
			if (version == 2)
				match = strncmp(line, "0:", 2) == 0 && clen == 0;
			else
				/* "4:memory:/x" or a co-mounted "4:cpu,memory:/x" */
				for (const char *s = c1 + 1; s < c2;) {
					const char *e = memchr(s, ',', c2 - s);
					size_t l = e ? (size_t)(e - s) : (size_t)(c2 - s);
					if (l == 6 && strncmp(s, "memory", 6) == 0)
						match = true;
					s += l + 1;
				}
			if (match) {
				size_t plen = n - (c2 + 1 - line);
				if (plen + 1 > sz)
					return -ENAMETOOLONG;
				memcpy(out, c2 + 1, plen);
				out[plen] = '\0';
				return 0;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

static int cgroup_file(const struct tkt_cgroup *cg, const char *p, char *rel, size_t sz)
{
	char text[4096];
	ssize_t n;
	int fd;

	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	text[n] = '\0';
	return tkt_cgroup_parse_proc(text, cg->version, rel, sz);
}

int tkt_cgroup_of_pid(const struct tkt_cgroup *cg, pid_t pid, char *out, size_t sz)
{
	char p[64], rel[1024];
	int r;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	r = cgroup_file(cg, p, rel, sizeof(rel));
	if (r)
		return r;
	if (strcmp(rel, "/") == 0) {
		/* v1 shows an exiting thread (a main thread gone before the others) in the root:
		 * ask the process's other threads. */
		char tp[64];
		DIR *d;
		struct dirent *de;

		snprintf(tp, sizeof(tp), "/proc/%d/task", (int)pid);
		d = opendir(tp);
		while (d && (de = readdir(d))) {
			char r2[1024];
			if (de->d_name[0] == '.' || atoi(de->d_name) == pid)
				continue;
			snprintf(p, sizeof(p), "/proc/%d/task/%.16s/cgroup", (int)pid, de->d_name);
			if (cgroup_file(cg, p, r2, sizeof(r2)) == 0 && strcmp(r2, "/")) {
				snprintf(rel, sizeof(rel), "%s", r2);
				break;
			}
		}
		if (d)
			closedir(d);
	}
	snprintf(out, sz, "%s%s", cg->mount, strcmp(rel, "/") == 0 ? "" : rel);
	return 0;
}

static int read_u64(const char *dir, const char *name, uint64_t *v, bool *is_max)
{
	char p[1100], buf[64];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*is_max = strncmp(buf, "max", 3) == 0;
	*v = *is_max ? UINT64_MAX : strtoull(buf, NULL, 10);
	return 0;
}

int tkt_cgroup_usage(int version, const char *path, uint64_t *bytes)
{
	bool is_max;

	return read_u64(path, version == 1 ? "memory.usage_in_bytes" : "memory.current", bytes,
			&is_max);
}

int tkt_cgroup_limit(const struct tkt_cgroup *cg, const char *path, uint64_t *limit)
{
	char dir[1024];
	uint64_t best = UINT64_MAX;
	size_t mlen = strlen(cg->mount);

	snprintf(dir, sizeof(dir), "%s", path);
	for (;;) {
		uint64_t v;
		bool is_max;
		/* v1 says "unlimited" with a huge number (PAGE_COUNTER_MAX pages). */
		if (read_u64(dir, cg->version == 1 ? "memory.limit_in_bytes" : "memory.max", &v,
			     &is_max) == 0 && !is_max && v < (1ULL << 62) && v < best)
			best = v;
		char *slash = strrchr(dir, '/');
		if (strlen(dir) <= mlen || !slash || (size_t)(slash - dir) < mlen)
			break;
		*slash = '\0';
	}
	if (best == UINT64_MAX)
		return -ENOENT;
	*limit = best;
	return 0;
}

int tkt_cgroup_join(const struct tkt_cgroup *cg, pid_t pid)
{
	char val[32];

	snprintf(val, sizeof(val), "%d", (int)pid);
	return write_file(cg->path, "cgroup.procs", val);
}

int tkt_cgroup_remove(struct tkt_cgroup *cg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (!cg->created)
		return 0;
	/* Exiting processes leave the cgroup a moment after their parent sees them die. */
	for (int i = 0; i < 100; i++) {
		if (rmdir(cg->path) == 0 || errno == ENOENT) {
			cg->created = false;
			return 0;
		}
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	int e = errno;
	tkt_warn("could not remove cgroup %s: %s (processes still in it?)", cg->path, strerror(e));
	return -e;
}
