/* Memory cgroups, v1 and v2: find the hierarchy, make a limited cgroup, join it, remove it. */
#ifndef TKT_CGROUP_H
#define TKT_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct tkt_cgroup {
	int version;     /* 1 or 2; 0 when no memory controller was found */
	char mount[256]; /* hierarchy holding the memory controller */
	char path[512];  /* our cgroup, when created */
	bool created;
};

/* Find where the memory controller lives, from a mounts table (/proc/self/mounts). */
int tkt_cgroup_detect(struct tkt_cgroup *cg, const char *mounts_path);
/* Create <mount>/tktrace-<pid> limited to limit bytes, swap off where the kernel allows. */
int tkt_cgroup_create(struct tkt_cgroup *cg, uint64_t limit, char *err, size_t errsz);
int tkt_cgroup_join(const struct tkt_cgroup *cg, pid_t pid);
/* From /proc/PID/cgroup text: the memory cgroup's path relative to its hierarchy. */
int tkt_cgroup_parse_proc(const char *text, int version, char *out, size_t sz);
/* Absolute path of pid's memory cgroup. */
int tkt_cgroup_of_pid(const struct tkt_cgroup *cg, pid_t pid, char *out, size_t sz);
/* Charged bytes now (memory.usage_in_bytes / memory.current). */
int tkt_cgroup_usage(int version, const char *path, uint64_t *bytes);
/* The nearest limit at path or above it, up to the mount; -ENOENT when unlimited. */
int tkt_cgroup_limit(const struct tkt_cgroup *cg, const char *path, uint64_t *limit);
/* Remove it, retrying while its last processes finish exiting. */
int tkt_cgroup_remove(struct tkt_cgroup *cg);

#endif /* TKT_CGROUP_H */
