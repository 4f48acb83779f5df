/* Memory cgroup handling for --memory-limit, on cgroup v1 and v2. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "util.h"

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
