/* Unit tests for user/system/cgroup.c on a fake hierarchy in a temporary directory: synthetic mounts
 * tables for tkt_cgroup_detect, plain files standing in for the cgroup control files. Nothing
 * here touches a real cgroup or needs root. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroup.h"

static char tmp[128];

/* snprintf that fails the test instead of cutting a path short. */
#define fmt(out, n, ...)                                                                     \
	do {                                                                                 \
		int r_ = snprintf(out, n, __VA_ARGS__);                                      \
		if (r_ < 0 || (size_t)r_ >= (size_t)(n))                                     \
			fail_msg("path too long");                                           \
	} while (0)

static void pathf(char *out, size_t n, const char *rel)
{
	fmt(out, n, "%s/%s", tmp, rel);
}

static void mkdir_rel(const char *rel)
{
	char p[512];

	pathf(p, sizeof(p), rel);
	if (mkdir(p, 0755) && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
}

static void write_rel(const char *rel, const char *content)
{
	char p[512];
	FILE *f;

	pathf(p, sizeof(p), rel);
	f = fopen(p, "w");
	if (!f)
		fail_msg("create %s: %s", p, strerror(errno));
	fputs(content, f);
	fclose(f);
}

static void read_rel(const char *rel, char *out, size_t n)
{
	char p[512];
	FILE *f;
	size_t k;

	pathf(p, sizeof(p), rel);
	f = fopen(p, "r");
	if (!f)
		fail_msg("open %s: %s", p, strerror(errno));
	k = fread(out, 1, n - 1, f);
	out[k] = '\0';
	fclose(f);
}

static bool exists_rel(const char *rel)
{
	char p[512];
	struct stat st;

	pathf(p, sizeof(p), rel);
	return stat(p, &st) == 0;
}

/* A mounts table; "@" in lines stands for the temporary directory. */
static void write_mounts(const char *name, const char *const *lines)
{
	struct { char *d; size_t n; } b = { NULL, 0 };
	FILE *m = open_memstream(&b.d, &b.n);

	assert_non_null(m);
	for (; *lines; lines++) {
		for (const char *c = *lines; *c; c++) {
			if (*c == '@')
				fputs(tmp, m);
			else
				fputc(*c, m);
		}
		fputc('\n', m);
	}
	fclose(m);
	write_rel(name, b.d);
	free(b.d);
}

static int detect(struct tkt_cgroup *cg, const char *mounts_name)
{
	char p[512];

	pathf(p, sizeof(p), mounts_name);
	memset(cg, 0x55, sizeof(*cg)); /* detect must clear it */
	return tkt_cgroup_detect(cg, p);
}

static void assert_mount(const struct tkt_cgroup *cg, const char *rel)
{
	char p[512];

	pathf(p, sizeof(p), rel);
	assert_string_equal(cg->mount, p);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	int n;

	(void)state;
	if (!base || !*base || strlen(base) > 64)
		base = "/tmp";
	n = snprintf(tmp, sizeof(tmp), "%s/tktrace-unit-cg-XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(tmp) || !mkdtemp(tmp))
		return -1;
	/* Fake hierarchies. */
	mkdir_rel("memory");
	mkdir_rel("cpu,cpuacct");
	mkdir_rel("unified");
	write_rel("unified/cgroup.controllers", "\n");
	mkdir_rel("v2");
	write_rel("v2/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	mkdir_rel("v2nomem");
	write_rel("v2nomem/cgroup.controllers", "cpuset cpu io hugetlb pids\n");
	mkdir_rel("v2memoryx");
	write_rel("v2memoryx/cgroup.controllers", "memoryx memory_recursiveprot cpu\n");
	mkdir_rel("my cg");
	write_rel("my cg/cgroup.controllers", "memory\n");
	mkdir_rel("v2nofile");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_detect_v1(void **state)
{
	static const char *const lines[] = {
		"sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0",
		"tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0",
		"cgroup2 @/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0",
		"cgroup @/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0",
		"cgroup @/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0",
		"cgroup @/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0",
		"cgroup @/pids cgroup rw,nosuid,nodev,noexec,relatime,pids 0 0",
		NULL,
	};
	struct tkt_cgroup cg;

	(void)state;
	write_mounts("mounts-v1", lines);
	assert_int_equal(detect(&cg, "mounts-v1"), 0);
	assert_int_equal(cg.version, 1);
	assert_mount(&cg, "memory");
	assert_string_equal(cg.path, "");
	assert_false(cg.created);
}

static void test_detect_v2(void **state)
{
	static const char *const lines[] = {
		"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
		"cgroup2 @/v2 cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0",
		NULL,
	};
	struct tkt_cgroup cg;

	(void)state;
	write_mounts("mounts-v2", lines);
	assert_int_equal(detect(&cg, "mounts-v2"), 0);
	assert_int_equal(cg.version, 2);
	assert_mount(&cg, "v2");
	assert_string_equal(cg.path, "");
	assert_false(cg.created);
}

/* The first cgroup2 mount whose cgroup.controllers lists the memory controller. */
static void test_detect_v2_first_with_memory(void **state)
{
	static const char *const lines[] = {
		"cgroup2 @/v2nomem cgroup2 rw 0 0",
		"cgroup2 @/v2nofile cgroup2 rw 0 0",
		"cgroup2 @/v2memoryx cgroup2 rw 0 0",
		"cgroup2 @/v2 cgroup2 rw 0 0",
		"cgroup2 @/my\\040cg cgroup2 rw 0 0",
		NULL,
	};
	struct tkt_cgroup cg;

	(void)state;
	write_mounts("mounts-v2-many", lines);
	assert_int_equal(detect(&cg, "mounts-v2-many"), 0);
	assert_int_equal(cg.version, 2);
	assert_mount(&cg, "v2");
}

/* Mount points are octal-escaped in the table: "\040" is a space. */
static void test_detect_v2_escaped_path(void **state)
{
	static const char *const lines[] = {
		"cgroup2 @/my\\040cg cgroup2 rw,nosuid 0 0",
		NULL,
	};
	struct tkt_cgroup cg;

	(void)state;
	write_mounts("mounts-v2-space", lines);
	assert_int_equal(detect(&cg, "mounts-v2-space"), 0);
	assert_int_equal(cg.version, 2);
	assert_mount(&cg, "my cg");
}

/* A hybrid system: the v1 memory hierarchy is used, wherever it is listed. */
static void test_detect_v1_preferred(void **state)
{
	static const char *const lines[] = {
		"cgroup2 @/v2 cgroup2 rw 0 0",
		"cgroup @/memory cgroup rw,memory 0 0",
		NULL,
	};
	struct tkt_cgroup cg;

	(void)state;
	write_mounts("mounts-hybrid", lines);
	assert_int_equal(detect(&cg, "mounts-hybrid"), 0);
	assert_int_equal(cg.version, 1);
	assert_mount(&cg, "memory");
}

static void test_detect_none(void **state)
{
	static const char *const no_memory[] = {
		"cgroup2 @/v2nomem cgroup2 rw 0 0",
		"cgroup2 @/v2memoryx cgroup2 rw 0 0",
		"cgroup2 @/v2nofile cgroup2 rw 0 0",
		"cgroup2 @/does-not-exist cgroup2 rw 0 0",
		/* Not the memory controller: a named v1 hierarchy, a v1 hierarchy without it,
		 * "memory" as an option of another file system type. */
		"cgroup @/memory cgroup rw,name=memory 0 0",
		"cgroup @/cpu,cpuacct cgroup rw,cpu,cpuacct,memory_pressure 0 0",
		"tmpfs @/memory tmpfs rw,memory 0 0",
		"cgroup @/v2 cgroup2x rw,memory 0 0",
		NULL,
	};
	static const char *const empty[] = { NULL };
	struct tkt_cgroup cg;
	char p[512];

	(void)state;
	write_mounts("mounts-none", no_memory);
	assert_int_equal(detect(&cg, "mounts-none"), -ENOENT);
	assert_int_equal(cg.version, 0);
	assert_string_equal(cg.mount, "");
	assert_false(cg.created);
	write_mounts("mounts-empty", empty);
	assert_int_equal(detect(&cg, "mounts-empty"), -ENOENT);
	assert_int_equal(cg.version, 0);
	/* No mounts table at all. */
	pathf(p, sizeof(p), "no-such-mounts");
	memset(&cg, 0x55, sizeof(cg));
	assert_int_equal(tkt_cgroup_detect(&cg, p), -ENOENT);
	assert_int_equal(cg.version, 0);
}

/* Our cgroup's directory in the fake hierarchy, made beforehand with its control files. */
static void fake_cgroup_dir(const char *mnt, const char *const *files)
{
	char rel[256];

	fmt(rel, sizeof(rel), "%s/tktrace-%d", mnt, (int)getpid());
	mkdir_rel(rel);
	for (; *files; files++) {
		char f[300];
		fmt(f, sizeof(f), "%s/%s", rel, *files);
		write_rel(f, "");
	}
}

static void read_ours(const char *mnt, const char *file, char *out, size_t n)
{
	char rel[300];

	fmt(rel, sizeof(rel), "%s/tktrace-%d/%s", mnt, (int)getpid(), file);
	read_rel(rel, out, n);
}

static void unlink_ours(const char *mnt, const char *const *files)
{
	for (; *files; files++) {
		char rel[300], p[600];
		fmt(rel, sizeof(rel), "%s/tktrace-%d/%s", mnt, (int)getpid(), *files);
		pathf(p, sizeof(p), rel);
		assert_int_equal(unlink(p), 0);
	}
}

static void test_create_join_remove_v2(void **state)
{
	static const char *const files[] = { "memory.max", "memory.swap.max", "cgroup.procs", NULL };
	struct tkt_cgroup cg;
	char err[256] = "", buf[64], want[600], rel[300];

	(void)state;
	mkdir_rel("fake2");
	write_rel("fake2/cgroup.controllers", "cpu memory\n");
	write_rel("fake2/cgroup.subtree_control", "");
	fake_cgroup_dir("fake2", files);
	memset(&cg, 0, sizeof(cg));
	cg.version = 2;
	pathf(cg.mount, sizeof(cg.mount), "fake2");
	assert_int_equal(tkt_cgroup_create(&cg, 512ULL << 20, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	fmt(want, sizeof(want), "%s/fake2/tktrace-%d", tmp, (int)getpid());
	assert_string_equal(cg.path, want);
	assert_true(cg.created);
	/* The memory controller was enabled for the children of the mount. */
	read_rel("fake2/cgroup.subtree_control", buf, sizeof(buf));
	assert_string_equal(buf, "+memory");
	read_ours("fake2", "memory.max", buf, sizeof(buf));
	assert_string_equal(buf, "536870912");
	read_ours("fake2", "memory.swap.max", buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(tkt_cgroup_join(&cg, 4242), 0);
	read_ours("fake2", "cgroup.procs", buf, sizeof(buf));
	assert_string_equal(buf, "4242");
	unlink_ours("fake2", files);
	assert_int_equal(tkt_cgroup_remove(&cg), 0);
	assert_false(cg.created);
	fmt(rel, sizeof(rel), "fake2/tktrace-%d", (int)getpid());
	assert_false(exists_rel(rel));
	/* Removing again is a no-op. */
	assert_int_equal(tkt_cgroup_remove(&cg), 0);
}

static void test_create_v2_controller_already_enabled(void **state)
{
	static const char *const files[] = { "memory.max", NULL };
	struct tkt_cgroup cg;
	char err[256] = "", buf[64];

	(void)state;
	mkdir_rel("fake2b");
	write_rel("fake2b/cgroup.subtree_control", "memory pids\n");
	fake_cgroup_dir("fake2b", files);
	memset(&cg, 0, sizeof(cg));
	cg.version = 2;
	pathf(cg.mount, sizeof(cg.mount), "fake2b");
	/* No memory.swap.max (no swap accounting): not an error. */
	assert_int_equal(tkt_cgroup_create(&cg, 4ULL << 20, err, sizeof(err)), 0);
	read_rel("fake2b/cgroup.subtree_control", buf, sizeof(buf));
	assert_string_equal(buf, "memory pids\n");
	read_ours("fake2b", "memory.max", buf, sizeof(buf));
	assert_string_equal(buf, "4194304");
	unlink_ours("fake2b", files);
	assert_int_equal(tkt_cgroup_remove(&cg), 0);
}

static void test_create_v1(void **state)
{
	static const char *const files[] = { "memory.limit_in_bytes", "memory.swappiness",
					     "cgroup.procs", NULL };
	struct tkt_cgroup cg;
	char err[256] = "", buf[64];

	(void)state;
	mkdir_rel("fake1");
	fake_cgroup_dir("fake1", files);
	memset(&cg, 0, sizeof(cg));
	cg.version = 1;
	pathf(cg.mount, sizeof(cg.mount), "fake1");
	assert_int_equal(tkt_cgroup_create(&cg, 1ULL << 30, err, sizeof(err)), 0);
	assert_true(cg.created);
	read_ours("fake1", "memory.limit_in_bytes", buf, sizeof(buf));
	assert_string_equal(buf, "1073741824");
	read_ours("fake1", "memory.swappiness", buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(tkt_cgroup_join(&cg, 77), 0);
	read_ours("fake1", "cgroup.procs", buf, sizeof(buf));
	assert_string_equal(buf, "77");
	unlink_ours("fake1", files);
	assert_int_equal(tkt_cgroup_remove(&cg), 0);
	assert_false(cg.created);
}

/* The limit file cannot be written: an error naming the cgroup, and the directory is gone. */
static void test_create_fails_cleanly(void **state)
{
	struct tkt_cgroup cg;
	char err[512] = "", want[600], rel[300];

	(void)state;
	mkdir_rel("fake2c");
	write_rel("fake2c/cgroup.subtree_control", "memory\n");
	memset(&cg, 0, sizeof(cg));
	cg.version = 2;
	pathf(cg.mount, sizeof(cg.mount), "fake2c");
	assert_int_equal(tkt_cgroup_create(&cg, 1ULL << 30, err, sizeof(err)), -ENOENT);
	fmt(want, sizeof(want),
		 "cannot set the memory limit of %s/fake2c/tktrace-%d: No such file or directory",
		 tmp, (int)getpid());
	assert_string_equal(err, want);
	assert_false(cg.created);
	fmt(rel, sizeof(rel), "fake2c/tktrace-%d", (int)getpid());
	assert_false(exists_rel(rel));
	/* Joining a cgroup that does not exist fails. */
	assert_int_equal(tkt_cgroup_join(&cg, 1), -ENOENT);

	/* No controller found: nothing is created. */
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(tkt_cgroup_create(&cg, 1ULL << 30, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no memory cgroup controller is mounted");
	assert_false(cg.created);
}

/* ---- /proc/PID/cgroup, limits and usage on fake trees ---- */

static void test_parse_proc_v1(void **state)
{
	static const char text[] = "12:pids:/user.slice/user-1000.slice\n"
				   "11:name=systemd:/user.slice/session-2.scope\n"
				   "10:cpu,cpuacct:/user.slice\n"
				   "9:memory:/user.slice/user-1000.slice/session-2.scope\n"
				   "0::/user.slice/session-2.scope\n";
	char out[128];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(tkt_cgroup_parse_proc(text, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice/user-1000.slice/session-2.scope");
	/* Co-mounted with other controllers, in any position; the last line without '\n'. */
	assert_int_equal(tkt_cgroup_parse_proc("5:cpu,memory:/grp", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/grp");
	assert_int_equal(tkt_cgroup_parse_proc("3:blkio:/x\n4:memory,cpu:/y\n", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/y");
	assert_int_equal(tkt_cgroup_parse_proc("4:cpu,memory,pids:/z\n", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/z");
	/* The root. */
	assert_int_equal(tkt_cgroup_parse_proc("4:memory:/\n", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* A path with a colon is taken whole. */
	assert_int_equal(tkt_cgroup_parse_proc("4:memory:/a:b\n", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "/a:b");
	/* Names that only contain "memory" are other controllers; v1 ignores the v2 line. */
	memset(out, 'x', sizeof(out));
	out[sizeof(out) - 1] = '\0';
	assert_int_equal(tkt_cgroup_parse_proc("4:memory_pressure:/a\n"
					       "5:name=memory:/b\n"
					       "6:nomemory,cpu:/c\n"
					       "0::/d\n",
					       1, out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(out[0], 'x'); /* untouched */
}

static void test_parse_proc_v2(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(tkt_cgroup_parse_proc("0::/x\n", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/x");
	assert_int_equal(tkt_cgroup_parse_proc("0::/", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* A hybrid system's text: v2 takes only the "0::" line. */
	assert_int_equal(tkt_cgroup_parse_proc("9:memory:/v1path\n"
					       "1:name=systemd:/s\n"
					       "0::/user.slice/tktrace-42\n",
					       2, out, sizeof(out)),
			 0);
	assert_string_equal(out, "/user.slice/tktrace-42");
	/* Not "10::" nor a v1 memory line. */
	assert_int_equal(tkt_cgroup_parse_proc("10::/no\n9:memory:/v1\n", 2, out, sizeof(out)),
			 -ENOENT);
}

static void test_parse_proc_errors(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(tkt_cgroup_parse_proc("", 1, out, sizeof(out)), -ENOENT);
	assert_int_equal(tkt_cgroup_parse_proc("", 2, out, sizeof(out)), -ENOENT);
	assert_int_equal(tkt_cgroup_parse_proc("garbage\nno colons here\n", 2, out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(tkt_cgroup_parse_proc("4:cpu:/a\n", 1, out, sizeof(out)), -ENOENT);
	/* Seven bytes and the NUL fit in eight; eight do not. */
	assert_int_equal(tkt_cgroup_parse_proc("0::/abcdef\n", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/abcdef");
	assert_int_equal(tkt_cgroup_parse_proc("0::/abcdefg\n", 2, out, sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(tkt_cgroup_parse_proc("4:memory:/abcdefgh", 1, out, sizeof(out)),
			 -ENAMETOOLONG);
}

static struct tkt_cgroup fake_hierarchy(int version, const char *rel)
{
	struct tkt_cgroup cg;

	memset(&cg, 0, sizeof(cg));
	cg.version = version;
	pathf(cg.mount, sizeof(cg.mount), rel);
	return cg;
}

static int limit_of(const struct tkt_cgroup *cg, const char *rel, uint64_t *limit)
{
	char p[512];

	pathf(p, sizeof(p), rel);
	*limit = 12345; /* left alone when there is no limit */
	return tkt_cgroup_limit(cg, p, limit);
}

/* v1: unlimited is a huge number; the tightest limit from the cgroup up to the mount. */
static void test_cgroup_limit_v1(void **state)
{
	static const char unlimited[] = "9223372036854771712\n";
	struct tkt_cgroup cg = fake_hierarchy(1, "lim1/mem");
	uint64_t limit;

	(void)state;
	mkdir_rel("lim1");
	mkdir_rel("lim1/mem");
	mkdir_rel("lim1/mem/a");
	mkdir_rel("lim1/mem/a/b");
	mkdir_rel("lim1/mem/a/b/c");
	mkdir_rel("lim1/mem/a/big");
	mkdir_rel("lim1/mem/free");
	mkdir_rel("lim1/mem/free/x");
	/* Above the mount: never read. */
	write_rel("lim1/memory.limit_in_bytes", "4096\n");
	write_rel("lim1/mem/memory.limit_in_bytes", unlimited);
	write_rel("lim1/mem/a/memory.limit_in_bytes", "1073741824\n");
	write_rel("lim1/mem/a/b/memory.limit_in_bytes", unlimited);
	write_rel("lim1/mem/a/b/c/memory.limit_in_bytes", "536870912\n");
	write_rel("lim1/mem/a/big/memory.limit_in_bytes", "2147483648\n");
	write_rel("lim1/mem/free/memory.limit_in_bytes", unlimited);
	write_rel("lim1/mem/free/x/memory.limit_in_bytes", unlimited);
	/* Its own limit. */
	assert_int_equal(limit_of(&cg, "lim1/mem/a", &limit), 0);
	assert_int_equal(limit, 1ULL << 30);
	/* Unlimited itself: the parent's. */
	assert_int_equal(limit_of(&cg, "lim1/mem/a/b", &limit), 0);
	assert_int_equal(limit, 1ULL << 30);
	/* Tighter than the grandparent's: its own. */
	assert_int_equal(limit_of(&cg, "lim1/mem/a/b/c", &limit), 0);
	assert_int_equal(limit, 512ULL << 20);
	/* Looser than its parent's: the parent's limit is the one that holds. */
	assert_int_equal(limit_of(&cg, "lim1/mem/a/big", &limit), 0);
	assert_int_equal(limit, 1ULL << 30);
	/* Unlimited up to the mount; the file above it does not count. */
	assert_int_equal(limit_of(&cg, "lim1/mem/free/x", &limit), -ENOENT);
	assert_int_equal(limit, 12345);
	assert_int_equal(limit_of(&cg, "lim1/mem", &limit), -ENOENT);
	/* v1 files are not v2's. */
	cg.version = 2;
	assert_int_equal(limit_of(&cg, "lim1/mem/a/b/c", &limit), -ENOENT);
}

/* v2: "max" is unlimited; the root has no memory.max. */
static void test_cgroup_limit_v2(void **state)
{
	struct tkt_cgroup cg = fake_hierarchy(2, "lim2/v2");
	uint64_t limit;

	(void)state;
	mkdir_rel("lim2");
	mkdir_rel("lim2/v2");
	mkdir_rel("lim2/v2/s");
	mkdir_rel("lim2/v2/s/t");
	mkdir_rel("lim2/v2/s/t/u");
	mkdir_rel("lim2/v2/free");
	write_rel("lim2/memory.max", "1000\n");
	write_rel("lim2/v2/s/memory.max", "max\n");
	write_rel("lim2/v2/s/t/memory.max", "268435456\n");
	write_rel("lim2/v2/s/t/u/memory.max", "max\n");
	write_rel("lim2/v2/free/memory.max", "max\n");
	assert_int_equal(limit_of(&cg, "lim2/v2/s/t", &limit), 0);
	assert_int_equal(limit, 256ULL << 20);
	assert_int_equal(limit_of(&cg, "lim2/v2/s/t/u", &limit), 0);
	assert_int_equal(limit, 256ULL << 20);
	/* A cgroup already gone: its ancestors still tell. */
	assert_int_equal(limit_of(&cg, "lim2/v2/s/t/u/gone", &limit), 0);
	assert_int_equal(limit, 256ULL << 20);
	assert_int_equal(limit_of(&cg, "lim2/v2/s", &limit), -ENOENT);
	assert_int_equal(limit, 12345);
	assert_int_equal(limit_of(&cg, "lim2/v2/free", &limit), -ENOENT);
	assert_int_equal(limit_of(&cg, "lim2/v2", &limit), -ENOENT);
}

static void test_cgroup_usage(void **state)
{
	char p[512];
	uint64_t v;

	(void)state;
	mkdir_rel("use");
	mkdir_rel("use/v1");
	mkdir_rel("use/v2");
	mkdir_rel("use/empty");
	write_rel("use/v1/memory.usage_in_bytes", "123456789\n");
	write_rel("use/v2/memory.current", "987654321\n");
	write_rel("use/empty/memory.current", "");
	pathf(p, sizeof(p), "use/v1");
	v = 1;
	assert_int_equal(tkt_cgroup_usage(1, p, &v), 0);
	assert_int_equal(v, 123456789);
	assert_int_equal(tkt_cgroup_usage(2, p, &v), -ENOENT);
	pathf(p, sizeof(p), "use/v2");
	assert_int_equal(tkt_cgroup_usage(2, p, &v), 0);
	assert_int_equal(v, 987654321);
	assert_int_equal(tkt_cgroup_usage(1, p, &v), -ENOENT);
	pathf(p, sizeof(p), "use/empty");
	assert_int_equal(tkt_cgroup_usage(2, p, &v), -EIO);
	pathf(p, sizeof(p), "use/none");
	assert_int_equal(tkt_cgroup_usage(2, p, &v), -ENOENT);
}
