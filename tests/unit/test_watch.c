/* Unit tests of tktrace watch's pure part (user/core/watch_core.c) and its argument parsing:
 * synthetic kernel records in, JSON lines out; container ids; bounded memory. */
#include "recs.h"
#include "cli.h"
#include "cli.h"
#include "watch_core.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void container_is(const char *path, const char *runtime, const char *id, const char *pod)
{
	struct tkt_container c;

	if (!tkt_container_of(path, &c))
		fail_msg("no container found in %s", path);
	if (strcmp(c.runtime, runtime) || strcmp(c.id, id) || strcmp(c.pod, pod))
		fail_msg("%s: got runtime '%s' id '%s' pod '%s'", path, c.runtime, c.id, c.pod);
}

static void test_container_ids(void **state)
{
	(void)state;
	/* docker: cgroupfs (v1 and v2) and systemd drivers */
	container_is("/docker/" HEX64, "docker", HEX64, "");
	container_is("/system.slice/docker-" HEX64 ".scope", "docker", HEX64, "");
	container_is("/docker/" HEX64 "/inner/" HEX64, "unknown", HEX64, "");
	/* podman, cri-o, containerd */
	container_is("/machine.slice/libpod-" HEX64 ".scope", "podman", HEX64, "");
	container_is("/machine.slice/libpod-" HEX64 ".scope/container", "podman", HEX64, "");
}

static void test_container_ids_kube(void **state)
{
	(void)state;
	/* systemd driver: the pod uid is written with underscores */
	container_is("/kubepods.slice/kubepods-burstable.slice/"
		     "kubepods-burstable-pod1b2c3d4e_aaaa_bbbb_cccc_123456789abc.slice/"
		     "cri-containerd-" HEX64 ".scope",
		     "containerd", HEX64, "1b2c3d4e-aaaa-bbbb-cccc-123456789abc");
	container_is("/kubepods.slice/kubepods-pod1b2c3d4e_aaaa_bbbb_cccc_123456789abc.slice/"
		     "crio-" HEX64 ".scope",
		     "cri-o", HEX64, "1b2c3d4e-aaaa-bbbb-cccc-123456789abc");
	/* cgroupfs driver (v1 paths as /proc/PID/cgroup shows them) */
	container_is("/kubepods/burstable/pod1b2c3d4e-aaaa-bbbb-cccc-123456789abc/" HEX64, "kubepods",
		     HEX64, "1b2c3d4e-aaaa-bbbb-cccc-123456789abc");
	container_is("/kubepods/pod1b2c3d4e-aaaa-bbbb-cccc-123456789abc/" HEX64, "kubepods", HEX64,
		     "1b2c3d4e-aaaa-bbbb-cccc-123456789abc");
	/* the pod's own cgroup (its pause process): no container id, the pod */
	container_is("/kubepods/besteffort/pod1b2c3d4e-aaaa-bbbb-cccc-123456789abc", "kubepods", "",
		     "1b2c3d4e-aaaa-bbbb-cccc-123456789abc");
}

static void test_container_none(void **state)
{
	static const char *none[] = {
		"", "/", "/user.slice/user-1000.slice/session-3.scope", "/system.slice/docker.service",
		"/system.slice/docker-compose.scope", "/docker", "/docker/abc",
		"/docker/" HEX64 "0", "/tktrace-e2e-1-abcd", "/system.slice/docker-" HEX64 ".scopex",
		"/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	struct tkt_container c;

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (tkt_container_of(none[i], &c))
			fail_msg("'%s' has no container, got %s %s", none[i], c.runtime, c.id);
}

static void test_units(void **state)
{
	char u[128];

	(void)state;
	assert_true(tkt_unit_of("/user.slice/user-1000.slice/session-3.scope", u, sizeof(u)));
	assert_string_equal(u, "session-3.scope");
	assert_true(tkt_unit_of("/system.slice/actions.runner.x.service/sub", u, sizeof(u)));
	assert_string_equal(u, "actions.runner.x.service");
	assert_true(tkt_unit_of("/system.slice/docker-" HEX64 ".scope", u, sizeof(u)));
	assert_string_equal(u, "docker-" HEX64 ".scope");
	assert_false(tkt_unit_of("/user.slice", u, sizeof(u)));
	assert_false(tkt_unit_of("/docker/" HEX64, u, sizeof(u)));
	assert_false(tkt_unit_of("/.scope", u, sizeof(u)));
}

static void test_cg_filter(void **state)
{
	char f[256];

	(void)state;
	assert_int_equal(tkt_watch_cg_filter("/sys/fs/cgroup/memory/ci/job/", "/sys/fs/cgroup/memory",
					     f, sizeof(f)), 0);
	assert_string_equal(f, "/ci/job");
	assert_int_equal(tkt_watch_cg_filter("/ci", "/sys/fs/cgroup/memory", f, sizeof(f)), 0);
	assert_string_equal(f, "/ci");
	assert_int_equal(tkt_watch_cg_filter("/sys/fs/cgroup", "/sys/fs/cgroup", f, sizeof(f)), 0);
	assert_string_equal(f, "");
	/* /sys/fs/cgroupX is not under /sys/fs/cgroup */
	assert_int_equal(tkt_watch_cg_filter("/sys/fs/cgroupX/a", "/sys/fs/cgroup", f, sizeof(f)), 0);
	assert_string_equal(f, "/sys/fs/cgroupX/a");
	/* v1's other controllers, hybrid's unified tree: not the hierarchy paths come from */
	assert_int_equal(tkt_watch_cg_filter("/sys/fs/cgroup/pids/ci", "/sys/fs/cgroup/memory", f,
					     sizeof(f)), -EXDEV);
	assert_int_equal(tkt_watch_cg_filter("/sys/fs/cgroup/memoryx", "/sys/fs/cgroup/memory", f,
					     sizeof(f)), -EXDEV);
	assert_int_equal(tkt_watch_cg_filter("rel", "/sys/fs/cgroup", f, sizeof(f)), -EINVAL);
	assert_int_equal(tkt_watch_cg_filter("/a", NULL, f, sizeof(f)), 0);
	assert_string_equal(f, "/a");

	assert_true(tkt_cg_under("/ci/job", "/ci"));
	assert_true(tkt_cg_under("/ci", "/ci"));
	assert_false(tkt_cg_under("/cix", "/ci"));
	assert_false(tkt_cg_under("/", "/ci"));
	assert_true(tkt_cg_under("/anything", ""));
	assert_false(tkt_cg_under(".../ci/job", "/ci")); /* a cut path can't be placed */
}

static void test_iso8601(void **state)
{
	char s[48];

	(void)state;
	tkt_fmt_iso8601(0, s, sizeof(s));
	assert_string_equal(s, "1970-01-01T00:00:00.000000Z");
	tkt_fmt_iso8601(1795671601123456789LL, s, sizeof(s));
	assert_string_equal(s, "2026-11-26T05:40:01.123456Z");
}

/* ---- records ---- */

static void wtask_set(struct tkt_wtask *t, uint32_t pid, const char *comm, const char *cgpath,
		      const uint32_t *anc, int nanc)
{
	char buf[1024], *lv[TKT_WCG_DEPTH];
	int n = 0;

	memset(t, 0, sizeof(*t));
	t->pid = t->tid = pid;
	FIXED_SET(t->comm, comm);
	t->rss_pages = 10;
	for (int i = 0; i < nanc; i++) {
		t->anc[i].pid = anc[i];
		FIXED_SET(t->anc[i].comm, "anc");
	}
	t->nanc = nanc;
	snprintf(buf, sizeof(buf), "%s", cgpath);
	for (char *s = strtok(buf, "/"); s; s = strtok(NULL, "/"))
		lv[n++] = s;
	for (int i = 0; i < n; i++) { /* leaf first */
		FIXED_SET(t->cg[i], lv[n - 1 - i]);
		t->cg_id[i] = 1000 + n - 1 - i; /* depth-based ids */
	}
	t->ncg = n;
}

static struct tkt_ev_wkill *kill_rec(uint32_t kind, uint64_t ts, uint32_t target, const char *tcg,
				     const uint32_t *anc, int nanc, uint32_t source, bool kernel)
{
	struct tkt_ev_wkill *e = calloc(1, sizeof(*e));

	hdr_fill(&e->h, TKT_EV_WKILL, target, ts);
	e->kind = kind;
	e->flags = kernel ? TKT_SIG_F_KERNEL : 0;
	wtask_set(&e->target, target, "victim", tcg, anc, nanc);
	wtask_set(&e->source, source, "source", "/", NULL, 0);
	return e;
}

static void env_rec(struct tkt_watch *w, uint32_t pid, uint16_t key, uint16_t op, const char *val,
		    uint64_t ts)
{
	struct tkt_ev_env e;
	size_t n = val ? strlen(val) : 0;
	uint16_t chunk = 0;

	do {
		size_t len = n > TKT_ENV_CHUNK - 1 ? TKT_ENV_CHUNK - 1 : n;
		memset(&e, 0, sizeof(e));
		hdr_fill(&e.h, TKT_EV_ENV, pid, ts);
		e.key = key;
		e.op = op;
		e.chunk = chunk++;
		e.len = len;
		if (val)
			memcpy(e.data, val, len);
		val = val ? val + len : NULL;
		n -= len;
		e.flags = n ? 0 : TKT_ENV_F_LAST;
		/* At their used length, as the kernel sends them. */
		assert_int_equal(tkt_watch_apply(w, &e, offsetof(struct tkt_ev_env, data) + len,
						 NULL), 0);
	} while (n);
}

static void exit_rec(struct tkt_watch *w, uint32_t pid)
{
	struct tkt_ev_exit e = { 0 };

	hdr_fill(&e.h, TKT_EV_EXIT, pid, SECS(1));
	assert_int_equal(tkt_watch_apply(w, &e, sizeof(e), NULL), 0);
}

static void watch_start(struct tkt_watch *w, const char *filter, size_t cap)
{
	struct tkt_watch_opts o = { .cg_filter = filter, .page_size = PAGE, .table_cap = cap };

	assert_int_equal(tkt_watch_init(w, &o), 0);
}

static void apply_free(struct tkt_watch *w, struct tkt_ev_wkill *e, struct tkt_buf *out)
{
	assert_int_equal(tkt_watch_apply(w, e, sizeof(*e), out), 0);
	free(e);
}

static void test_sigkill_line(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	uint32_t anc[] = { 50, 40, 1 };

	(void)state;
	watch_start(&w, NULL, 0);
	w.rt_offset_ns = 1795671600000000000LL;
	env_rec(&w, 40, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, "tests/test_a.py::test_x[1] (call)", 1);
	env_rec(&w, 40, TKT_ENV_XDIST_WORKER, TKT_ENV_SET, "gw3", 1);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 77, "/system.slice/docker-" HEX64 ".scope",
				anc, 3, 50, false), &out);
	assert_non_null(out.data);
	assert_int_equal(out.data[out.len - 1], '\n');
	assert_null(strchr(out.data, '\n') + 1 == out.data + out.len ? NULL : "two lines");
	assert_non_null(strstr(out.data, "{\"type\":\"sigkill\",\"time\":\"2026-11-26T05:40:01.000000Z\","
					"\"monotonic_ns\":1000000000,\"kernel\":false,"
					"\"target\":{\"pid\":77,\"tid\":77,\"comm\":\"victim\","
					"\"rss_bytes\":40960,"));
	assert_non_null(strstr(out.data, "\"cgroup\":\"/system.slice/docker-" HEX64 ".scope\","
					"\"unit\":\"docker-" HEX64 ".scope\","
					"\"container\":{\"runtime\":\"docker\",\"id\":\"" HEX64
					"\",\"pod\":null},"));
	assert_non_null(strstr(out.data, "\"ancestry\":[{\"pid\":50,\"comm\":\"anc\"},{\"pid\":40,"
					"\"comm\":\"anc\"},{\"pid\":1,\"comm\":\"anc\"}],"
					"\"test\":\"tests/test_a.py::test_x[1]\",\"phase\":\"call\","
					"\"worker\":\"gw3\",\"test_pid\":40}"));
	assert_non_null(strstr(out.data, "\"sender\":{\"pid\":50,"));
	assert_non_null(strstr(out.data, "\"cgroup\":\"/\",\"unit\":null,\"container\":null,"
					"\"ancestry\":[],\"test\":null,\"phase\":null,\"worker\":null,"
					"\"test_pid\":null}}\n"));
	assert_int_equal(w.sigkills, 1);
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_test_ends_with_unset_and_exit(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	uint32_t anc[] = { 40 };

	(void)state;
	watch_start(&w, NULL, 0);
	env_rec(&w, 40, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, "t.py::a (call)", 1);
	env_rec(&w, 40, TKT_ENV_CURRENT_TEST, TKT_ENV_UNSET, NULL, 2);
	assert_int_equal(w.tab.n, 0); /* nothing left to remember */
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 77, "/a", anc, 1, 40, false), &out);
	assert_non_null(strstr(out.data, "\"test\":null"));
	tkt_buf_reset(&out);

	env_rec(&w, 40, TKT_ENV_XDIST_WORKER, TKT_ENV_SET, "gw0", 1);
	env_rec(&w, 40, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, "t.py::b (setup)", 1);
	env_rec(&w, 40, TKT_ENV_CURRENT_TEST, TKT_ENV_UNSET, NULL, 2);
	assert_int_equal(w.tab.n, 1); /* the worker id stays */
	exit_rec(&w, 40);
	assert_int_equal(w.tab.n, 0);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(2), 77, "/a", anc, 1, 40, false), &out);
	assert_non_null(strstr(out.data, "\"worker\":null"));
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_long_node_id_chunks_and_cap(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	char *id = malloc(3000 + 10), *big = malloc(20000);

	(void)state;
	watch_start(&w, NULL, 0);
	memset(id, 'p', 3000);
	strcpy(id + 3000, " (call)");
	env_rec(&w, 9, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, id, 1);
	assert_int_equal(tkt_wtab_find(&w.tab, 9)->test_len, 3007);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 9, "/", NULL, 0, 1, false), &out);
	id[3000] = '\0';
	assert_non_null(strstr(out.data, id));
	assert_non_null(strstr(out.data, "\"phase\":\"call\""));
	/* A huge value is kept only up to the cap. */
	memset(big, 'q', 19999);
	big[19999] = '\0';
	env_rec(&w, 9, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, big, 2);
	assert_int_equal(tkt_wtab_find(&w.tab, 9)->test_len, TKT_WATCH_TEST_MAX - 1);
	free(id);
	free(big);
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_oom_line_replaces_kernel_sigkill(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	struct tkt_ev_wkill *e;

	(void)state;
	watch_start(&w, NULL, 0);
	env_rec(&w, 77, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, "t.py::hog (call)", 1);
	/* The OOM killer's SIGKILL comes first: held back. */
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 77, "/ci/job", NULL, 0, 77, true), &out);
	assert_int_equal(out.len, 0);
	assert_int_equal(w.nheld, 1);
	e = kill_rec(TKT_WK_OOM, SECS(1) + 1000, 77, "/ci/job", NULL, 0, 77, false);
	/* memcg chain: job (at its limit), ci, root */
	e->ncg = 3;
	e->cg[0].id = 1001; /* "job": the victim's leaf level */
	e->cg[0].max_pages = 1000;
	e->cg[0].usage_pages = 999;
	FIXED_SET(e->cg[0].name, "job");
	e->cg[1].id = 1000;
	e->cg[1].max_pages = UINT64_MAX / PAGE;
	FIXED_SET(e->cg[1].name, "ci");
	e->cg[2].max_pages = UINT64_MAX / PAGE;
	e->total_vm_pages = 2000;
	e->oom_score_adj = 200;
	apply_free(&w, e, &out);
	assert_int_equal(w.nheld, 0);
	assert_int_equal(w.sigkills, 0);
	assert_int_equal(w.ooms, 1);
	assert_non_null(strstr(out.data, "{\"type\":\"oom_kill\","));
	assert_non_null(strstr(out.data, "\"victim\":{\"pid\":77,"));
	assert_non_null(strstr(out.data, "\"test\":\"t.py::hog\""));
	assert_non_null(strstr(out.data, "\"trigger\":{\"pid\":77,"));
	assert_non_null(strstr(out.data, "\"oom\":{\"constraint\":\"memcg\",\"memcg\":\"/ci/job\","
					"\"limit_bytes\":4096000,\"usage_bytes\":4091904,"
					"\"total_vm_bytes\":8192000,\"oom_score_adj\":200}}\n"));
	assert_null(strstr(out.data, "sigkill"));
	tkt_buf_reset(&out);
	tkt_watch_flush(&w, UINT64_MAX, &out);
	assert_int_equal(out.len, 0);
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_oom_global_and_parent_memcg(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	struct tkt_ev_wkill *e;

	(void)state;
	watch_start(&w, NULL, 0);
	/* The limit is on the parent: the path stops there. */
	e = kill_rec(TKT_WK_OOM, SECS(1), 5, "/ci/job", NULL, 0, 6, false);
	e->ncg = 3;
	e->cg[0].id = 1001;
	e->cg[0].max_pages = UINT64_MAX / PAGE;
	e->cg[0].usage_pages = 10;
	e->cg[1].id = 1000;
	e->cg[1].max_pages = 500;
	e->cg[1].usage_pages = 500;
	e->cg[2].max_pages = UINT64_MAX / PAGE;
	apply_free(&w, e, &out);
	assert_non_null(strstr(out.data, "\"constraint\":\"memcg\",\"memcg\":\"/ci\","
					"\"limit_bytes\":2048000"));
	tkt_buf_reset(&out);
	/* No limit reached anywhere: the machine ran out. */
	e = kill_rec(TKT_WK_OOM, SECS(2), 5, "/ci/job", NULL, 0, 6, false);
	e->ncg = 2;
	e->cg[0].id = 1001;
	e->cg[0].max_pages = UINT64_MAX / PAGE;
	e->cg[0].usage_pages = 10;
	e->cg[1].max_pages = UINT64_MAX / PAGE;
	apply_free(&w, e, &out);
	assert_non_null(strstr(out.data, "\"constraint\":\"global\",\"memcg\":null,"
					"\"limit_bytes\":null,\"usage_bytes\":40960"));
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_kernel_sigkill_without_oom_is_flushed(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };

	(void)state;
	watch_start(&w, NULL, 0);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 8, "/", NULL, 0, 9, true), &out);
	tkt_watch_flush(&w, SECS(1) + TKT_WATCH_HOLD_NS - 1, &out);
	assert_int_equal(out.len, 0);
	tkt_watch_flush(&w, SECS(1) + TKT_WATCH_HOLD_NS, &out);
	assert_non_null(strstr(out.data, "\"kernel\":true,\"target\":{\"pid\":8,"));
	assert_int_equal(w.nheld, 0);
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_cgroup_filter_and_truncated_paths(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	struct tkt_ev_wkill *e;

	(void)state;
	watch_start(&w, "/ci", 0);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 1, "/other", NULL, 0, 2, false), &out);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 3, "/cix", NULL, 0, 2, false), &out);
	assert_int_equal(out.len, 0);
	assert_int_equal(w.filtered, 2);
	apply_free(&w, kill_rec(TKT_WK_SIGKILL, SECS(1), 4, "/ci/a/b", NULL, 0, 2, false), &out);
	assert_non_null(strstr(out.data, "\"pid\":4,"));
	tkt_buf_reset(&out);
	tkt_watch_free(&w);

	watch_start(&w, NULL, 0);
	e = kill_rec(TKT_WK_SIGKILL, SECS(1), 4, "/b/c", NULL, 0, 2, false);
	e->target.cg_trunc = 1;
	apply_free(&w, e, &out);
	assert_non_null(strstr(out.data, "\"cgroup\":\".../b/c\""));
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_malformed_records(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	struct tkt_ev_wkill *e = kill_rec(TKT_WK_SIGKILL, SECS(1), 4, "/", NULL, 0, 2, false);

	(void)state;
	watch_start(&w, NULL, 0);
	assert_int_equal(tkt_watch_apply(&w, e, 10, &out), -EINVAL);
	{
		struct tkt_ev_env env = { 0 };

		hdr_fill(&env.h, TKT_EV_ENV, 5, 1);
		env.key = TKT_ENV_CURRENT_TEST;
		env.op = TKT_ENV_SET;
		env.len = 10; /* longer than what came */
		assert_int_equal(tkt_watch_apply(&w, &env, offsetof(struct tkt_ev_env, data) + 9,
						 &out), -EINVAL);
		env.len = TKT_ENV_CHUNK;
		assert_int_equal(tkt_watch_apply(&w, &env, sizeof(env), &out), -EINVAL);
		assert_null(tkt_wtab_find(&w.tab, 5));
	}
	assert_int_equal(tkt_watch_apply(&w, e, sizeof(*e) - 1, &out), -EINVAL);
	/* Counts past the arrays are clamped, not followed. */
	e->target.nanc = 1000;
	e->target.ncg = 1000;
	assert_int_equal(tkt_watch_apply(&w, e, sizeof(*e), &out), 0);
	assert_int_equal(out.data[out.len - 1], '\n');
	free(e);
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

/* Days of a busy runner, compressed: the table and the held kills never pass their caps. */
static void test_memory_stays_bounded(void **state)
{
	struct tkt_watch w;
	struct tkt_buf out = { 0 };
	size_t cap = 256, lines = 0;

	(void)state;
	watch_start(&w, NULL, cap);
	for (uint32_t i = 0; i < 200000; i++) {
		uint32_t pid = 1000 + i;

		env_rec(&w, pid, TKT_ENV_XDIST_WORKER, TKT_ENV_SET, "gw1", i);
		env_rec(&w, pid, TKT_ENV_CURRENT_TEST, TKT_ENV_SET, "t.py::x (call)", i);
		/* Most exits lost (ring full): eviction must still keep the table capped. */
		if (i % 10 == 0)
			exit_rec(&w, pid - 5);
		if (i % 7 == 0) {
			struct tkt_ev_wkill *e = kill_rec(TKT_WK_SIGKILL, SECS(1) + i, pid, "/", NULL, 0,
							  1, i % 2);
			apply_free(&w, e, &out);
		}
		assert_true(w.tab.n <= cap);
		assert_true(w.nheld <= TKT_WATCH_HELD);
		for (char *p = out.data; p && (p = strchr(p, '\n')); p++)
			lines++;
		tkt_buf_reset(&out);
	}
	tkt_watch_flush(&w, UINT64_MAX, &out);
	for (char *p = out.data; p && (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(w.tab.n, cap);
	assert_true(w.tab.evicted > 100000);
	assert_int_equal(lines, (200000 + 6) / 7); /* every kill came out once */
	assert_int_equal(w.nheld, 0);
	tkt_buf_free(&out);
	tkt_watch_free(&w);
}

static void test_parse_args(void **state)
{
	struct tkt_watch_cli c;
	char err[256];
	char *ok[] = { "watch", "--output", "/tmp/x", "--cgroup", "/ci", "-v", NULL };
	char *def[] = { "watch", NULL };
	char *bad1[] = { "watch", "--cgroup", "ci", NULL };
	char *bad2[] = { "watch", "--output", "", NULL };
	char *bad3[] = { "watch", "--", "pytest", NULL };
	char *bad4[] = { "watch", "--cgroup", NULL };

	(void)state;
	assert_int_equal(tkt_watch_parse(&c, 6, ok, err, sizeof(err)), 0);
	assert_string_equal(c.output, "/tmp/x");
	assert_string_equal(c.cgroup, "/ci");
	assert_int_equal(c.verbose, 1);
	assert_int_equal(tkt_watch_parse(&c, 1, def, err, sizeof(err)), 0);
	assert_string_equal(c.output, "-");
	assert_null(c.cgroup);
	assert_int_equal(tkt_watch_parse(&c, 3, bad1, err, sizeof(err)), TKT_EXIT_FAIL);
	assert_non_null(strstr(err, "absolute path"));
	assert_int_equal(tkt_watch_parse(&c, 3, bad2, err, sizeof(err)), TKT_EXIT_FAIL);
	assert_non_null(strstr(err, "--output needs a file name"));
	assert_int_equal(tkt_watch_parse(&c, 3, bad3, err, sizeof(err)), TKT_EXIT_FAIL);
	assert_non_null(strstr(err, "unexpected argument 'pytest'"));
	assert_int_equal(tkt_watch_parse(&c, 2, bad4, err, sizeof(err)), TKT_EXIT_FAIL);
	assert_non_null(strstr(err, "--cgroup needs a value"));
}

/* watch scans each new pid once: after pids wrap, a scanned pid may be a new process. */
static void test_pids_wrapped(void **state)
{
	(void)state;
	/* Increasing, fewer forks than pids handed out (others skipped as in use): no wrap. */
	assert_false(tkt_pids_wrapped(1000, 1000, 0, 32768));
	assert_false(tkt_pids_wrapped(1000, 5000, 3000, 32768));
	assert_false(tkt_pids_wrapped(300, 32767, 32000, 32768));
	/* The last pid went down: wrapped (pid_max 32768 wraps every 32468 forks). */
	assert_true(tkt_pids_wrapped(32000, 400, 800, 32768));
	assert_true(tkt_pids_wrapped(1001, 1000, 32767, 32768));
	/* Higher again, but a whole cycle of forks in between. */
	assert_true(tkt_pids_wrapped(1000, 1500, 32768, 32768));
	assert_true(tkt_pids_wrapped(1000, 1500, 32468, 32768)); /* pids below 300 are skipped */
	assert_false(tkt_pids_wrapped(1000, 1500, 32467, 32768));
	assert_true(tkt_pids_wrapped(1000, 1500, 5000000, 4194304));
}
