/* Unit tests for user/core/kmsg.c: OOM kills from kernel log lines in every format tktrace reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include "kmsg.h"

/* Lines as this VM's kernel (6.18, cgroup v1) printed them for an OOM in a tktrace memcg. */
static const char DMESG[] =
	"[ 7052.557499] python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
	"[ 7052.557514] CPU: 0 UID: 0 PID: 26550 Comm: python3 Not tainted 6.18.44-fc-v669 #1 PREEMPT(none) \n"
	"[ 7052.557519] Call Trace:\n"
	"[ 7052.557700] memory: usage 409600kB, limit 409600kB, failcnt 0\n"
	"[ 7052.557780] [  26549]     0 26549      648      407        0      407         0    53248        0             0 sh\n"
	"[ 7052.557789] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
	"oom_memcg=/tktrace-e2e-26297-2e0db7f9,task_memcg=/tktrace-e2e-26297-2e0db7f9,task=python3,pid=26550,uid=0\n"
	"[ 7052.557876] Memory cgroup out of memory: Killed process 26550 (python3) total-vm:675868kB, "
	"anon-rss:408316kB, file-rss:15620kB, shmem-rss:0kB, UID:0 pgtables:896kB oom_score_adj:0\n";

static void parse(struct tkt_kmsg *k, const char *log)
{
	tkt_kmsg_init(k);
	assert_int_equal(tkt_kmsg_feed(k, log, strlen(log)), 0);
	assert_int_equal(tkt_kmsg_end(k), 0);
}

static void test_dmesg_memcg_v1(void **state)
{
	struct tkt_kmsg k;
	const struct tkt_kmsg_oom *o;

	(void)state;
	parse(&k, DMESG);
	assert_int_equal(k.nooms, 1);
	o = &k.ooms[0];
	assert_true(o->has_ts);
	assert_true(o->ts_s > 7052.557498 && o->ts_s < 7052.5575);
	assert_string_equal(o->trigger_comm, "python3");
	assert_int_equal(o->trigger_pid, 26550);
	assert_true(o->has_usage);
	assert_int_equal(o->usage_kb, 409600);
	assert_int_equal(o->limit_kb, 409600);
	assert_true(o->has_constraint);
	assert_string_equal(o->constraint, "CONSTRAINT_MEMCG");
	assert_string_equal(o->oom_memcg, "/tktrace-e2e-26297-2e0db7f9");
	assert_string_equal(o->task_memcg, "/tktrace-e2e-26297-2e0db7f9");
	assert_true(o->has_killed);
	assert_true(o->memcg);
	assert_int_equal(o->pid, 26550);
	assert_string_equal(o->comm, "python3");
	assert_int_equal(o->total_vm_kb, 675868);
	assert_int_equal(o->anon_rss_kb, 408316);
	assert_int_equal(o->file_rss_kb, 15620);
	assert_int_equal(o->shmem_rss_kb, 0);
	assert_int_equal(o->oom_score_adj, 0);
	tkt_kmsg_free(&k);
}

/* /dev/kmsg records, and journalctl -k of a v2 (systemd) machine; both in one log. */
static void test_kmsg_and_journal_v2(void **state)
{
	struct tkt_kmsg k;
	const struct tkt_kmsg_oom *o;

	(void)state;
	parse(&k,
	      "6,51555,6898125715,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
	      "mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=python3,pid=24025,uid=0\n"
	      " SUBSYSTEM=memory\n"
	      "3,51556,6898125795,-;Memory cgroup out of memory: Killed process 24025 (python3) total-vm:675864kB, "
	      "anon-rss:408600kB, file-rss:15632kB, shmem-rss:0kB, UID:0 pgtables:904kB oom_score_adj:0\n"
	      "Nov 26 05:41:03 ci-host kernel: pytest invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
	      "Nov 26 05:41:03 ci-host kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
	      "mems_allowed=0,oom_memcg=/user.slice/user-1000.slice/session-3.scope,"
	      "task_memcg=/user.slice/user-1000.slice/session-3.scope/ci,tests.scope,task=pytest-xdist w,pid=4243,uid=1000\n"
	      "Nov 26 05:41:03 ci-host kernel: Memory cgroup out of memory: Killed process 4243 (pytest-xdist w) "
	      "total-vm:2012345kB, anon-rss:1003520kB, file-rss:12288kB, shmem-rss:4096kB, UID:1000 "
	      "pgtables:2100kB oom_score_adj:-500\n");
	assert_int_equal(k.nooms, 2);
	o = &k.ooms[0];
	assert_true(o->has_ts);
	assert_true(o->ts_s > 6898.125714 && o->ts_s < 6898.125716);
	assert_string_equal(o->oom_memcg, "/a");
	assert_int_equal(o->pid, 24025);
	assert_int_equal(o->anon_rss_kb, 408600);
	o = &k.ooms[1];
	assert_false(o->has_ts); /* journal's wall clock is not the kernel's */
	assert_string_equal(o->trigger_comm, "pytest");
	assert_string_equal(o->oom_memcg, "/user.slice/user-1000.slice/session-3.scope");
	/* A comma inside a path does not end it. */
	assert_string_equal(o->task_memcg, "/user.slice/user-1000.slice/session-3.scope/ci,tests.scope");
	assert_string_equal(o->comm, "pytest-xdist w");
	assert_int_equal(o->pid, 4243);
	assert_int_equal(o->uid, 1000);
	assert_int_equal(o->shmem_rss_kb, 4096);
	assert_int_equal(o->oom_score_adj, -500);
	tkt_kmsg_free(&k);
}

/* syslog(2) priorities, a machine-wide OOM, dmesg -T, a comm with ") (" in it. */
static void test_syslog_global_and_odd_comm(void **state)
{
	struct tkt_kmsg k;
	const struct tkt_kmsg_oom *o;

	(void)state;
	parse(&k,
	      "<4>[  812.331100] stress-ng invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n"
	      "<4>[  812.331201] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
	      "global_oom,task_memcg=/system.slice/stress.service,task=stress-ng,pid=911,uid=0\n"
	      "<3>[  812.331300] Out of memory: Killed process 911 (stress-ng) total-vm:8388608kB, anon-rss:7340032kB, "
	      "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:14400kB oom_score_adj:1000\n"
	      "[Thu Nov 26 05:41:03 2026] Memory cgroup out of memory: Killed process 77 (a,b) c) total-vm:10kB, "
	      "anon-rss:5kB, file-rss:1kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0");
	assert_int_equal(k.nooms, 2);
	o = &k.ooms[0];
	assert_true(o->has_ts);
	assert_string_equal(o->constraint, "CONSTRAINT_NONE");
	assert_string_equal(o->oom_memcg, ""); /* no memcg limit: the machine's */
	assert_string_equal(o->task_memcg, "/system.slice/stress.service");
	assert_false(o->memcg);
	assert_int_equal(o->anon_rss_kb, 7340032);
	assert_int_equal(o->oom_score_adj, 1000);
	o = &k.ooms[1]; /* only a "Killed process" line, without a newline at the end */
	assert_false(o->has_ts);
	assert_false(o->has_constraint);
	assert_true(o->memcg);
	assert_int_equal(o->pid, 77);
	assert_string_equal(o->comm, "a,b) c");
	assert_int_equal(o->anon_rss_kb, 5);
	tkt_kmsg_free(&k);
}

/* Lines that are not OOM kills, pieces of them, or hostile: ignored or clamped, no crash. */
static void test_noise_and_hostile_lines(void **state)
{
	struct tkt_kmsg k;
	char longline[3 * TKT_KMSG_LINE_MAX];

	(void)state;
	parse(&k,
	      "[    0.000000] Linux version 6.18.0\n"
	      "[ 1.0] oom_reaper: reaped process 5 (x), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n"
	      "Killed process x (y)\n"
	      "Killed process 99999999999999999999 (y) total-vm:1kB\n"
	      "Killed process 12 (no close paren\n"
	      "oom-kill:\n"
	      "memory: usage 1kB, limit 2kB, failcnt 0\n"
	      "\n\n\r\n");
	/* Only "oom-kill:" opened a kill; the malformed Killed lines did not. */
	assert_int_equal(k.nooms, 1);
	assert_false(k.ooms[0].has_killed);
	assert_int_equal(k.ooms[0].pid, 0);
	assert_true(k.ooms[0].has_usage);
	tkt_kmsg_free(&k);

	/* A line longer than the limit is cut, and the next line still parses. */
	memset(longline, 'A', sizeof(longline));
	tkt_kmsg_init(&k);
	assert_int_equal(tkt_kmsg_feed(&k, longline, sizeof(longline)), 0);
	assert_int_equal(tkt_kmsg_feed(&k, "\n", 1), 0);
	assert_int_equal(tkt_kmsg_feed(&k, DMESG, strlen(DMESG)), 0);
	assert_int_equal(tkt_kmsg_end(&k), 0);
	assert_int_equal(k.nooms, 1);
	assert_int_equal(k.ooms[0].pid, 26550);
	tkt_kmsg_free(&k);

	/* Control characters in a comm never reach the output; a NUL byte is noted. */
	tkt_kmsg_init(&k);
	assert_int_equal(tkt_kmsg_feed(&k, "Killed process 5 (a\033[2Jb) total-vm:1kB\n", 39), 0);
	assert_int_equal(tkt_kmsg_feed(&k, "x\0y\n", 4), 0);
	assert_int_equal(k.nooms, 1);
	assert_string_equal(k.ooms[0].comm, "a?[2Jb");
	assert_int_equal(k.nul_at, 39 + 2);
	tkt_kmsg_free(&k);
}

/* Fed one byte at a time, the same kills come out. */
static void test_byte_by_byte(void **state)
{
	struct tkt_kmsg k;

	(void)state;
	tkt_kmsg_init(&k);
	for (size_t i = 0; i < strlen(DMESG); i++)
		assert_int_equal(tkt_kmsg_feed(&k, DMESG + i, 1), 0);
	assert_int_equal(tkt_kmsg_end(&k), 0);
	assert_int_equal(k.nooms, 1);
	assert_string_equal(k.ooms[0].oom_memcg, "/tktrace-e2e-26297-2e0db7f9");
	assert_int_equal(k.ooms[0].file_rss_kb, 15620);
	tkt_kmsg_free(&k);
}

static void test_strip_prefixes(void **state)
{
	struct {
		const char *line, *msg;
		bool has_ts;
		double ts;
	} cases[] = {
		{ "[ 7052.557499] hello", "hello", true, 7052.557499 },
		{ "[    0.000000] hello", "hello", true, 0 },
		{ "<6>[   12.5] hello", "hello", true, 12.5 },
		{ "6,1,6898125715,-;hello", "hello", true, 6898.125715 },
		{ "4,51558,6898753433,c,caller=T12;hello", "hello", true, 6898.753433 },
		{ "Nov 26 05:41:03 host kernel: hello", "hello", false, 0 },
		{ "2026-11-26T05:41:03+0000 host kernel: [ 3.25] hello", "hello", true, 3.25 },
		{ "[ 7054.848808] host kernel: hello", "hello", true, 7054.848808 },
		{ "[Thu Nov 26 05:41:03 2026] hello", "hello", false, 0 },
		{ "hello", "hello", false, 0 },
		{ "[12.3 hello", "[12.3 hello", false, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;
		bool has_ts;
		double ts = 0;
		const char *m = tkt_kmsg_strip(cases[i].line, strlen(cases[i].line), &n, &has_ts, &ts);
		assert_string_equal(m, cases[i].msg);
		assert_int_equal(has_ts, cases[i].has_ts);
		if (has_ts && (ts - cases[i].ts > 1e-9 || cases[i].ts - ts > 1e-9))
			fail_msg("%s: ts %.9f", cases[i].line, ts);
	}
}
