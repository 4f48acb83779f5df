/* tktrace watch's pure part: records in, JSON lines out, memory bounded by fixed caps. */
#define _GNU_SOURCE
#include "watch_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "json.h"
#include "model.h"

/* ---- container ids and units from cgroup paths ---- */

static bool all_hex(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* comp (n bytes) is "<prefix><hex><suffix>": copy the hex part to id. */
static bool wrapped_hex(const char *comp, size_t n, const char *prefix, const char *suffix,
			char *id, size_t idsz)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (n <= p + s || strncmp(comp, prefix, p) || strncmp(comp + n - s, suffix, s))
		return false;
	/* Short ids are not container ids (a unit like "docker-compose.scope"). */
	if (n - p - s < 12 || n - p - s >= idsz || !all_hex(comp + p, n - p - s))
		return false;
	memcpy(id, comp + p, n - p - s);
	id[n - p - s] = '\0';
	return true;
}

/* A cgroup path's components from the innermost out: *cur starts at the path's end; each call
 * sets *start and *n to the component ending there and moves *cur above it. */
static bool prev_component(const char *path, const char **cur, const char **start, size_t *n)
{
	const char *end = *cur, *s = end;

	if (end <= path)
		return false;
	while (s > path && s[-1] != '/')
		s--;
	*start = s;
	*n = end - s;
	*cur = s > path ? s - 1 : s;
	return true;
}

/* A kubernetes pod uid from "pod<uid>" (cgroupfs) or "kubepods-...-pod<uid_>.slice" (systemd). */
static bool pod_uid(const char *comp, size_t n, char *out, size_t sz)
{
	const char *p = NULL;
	size_t len;

	if (n > 3 && strncmp(comp, "pod", 3) == 0) {
		p = comp + 3;
		len = n - 3;
	} else if (n > 6 && strncmp(comp, "kubepods", 8) == 0 &&
		   strncmp(comp + n - 6, ".slice", 6) == 0) {
		const char *q = memmem(comp, n, "-pod", 4);
		if (!q)
			return false;
		p = q + 4;
		len = comp + n - 6 - p;
	}
	if (!p || len < 8 || len >= sz)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i] == '_' ? '-' : p[i];
		if (!(all_hex(&c, 1) || c == '-'))
			return false;
		out[i] = c;
	}
	out[len] = '\0';
	return true;
}

bool tkt_container_of(const char *path, struct tkt_container *c)
{
	static const struct {
		const char *prefix, *suffix, *runtime;
	} scopes[] = {
		{ "docker-", ".scope", "docker" },
		{ "cri-containerd-", ".scope", "containerd" },
		{ "crio-", ".scope", "cri-o" },
		{ "libpod-", ".scope", "podman" },
	};
	const char *cur = path + strlen(path), *start;
	bool kube = strstr(path, "kubepods") != NULL;
	size_t n;

	memset(c, 0, sizeof(*c));
	/* Innermost first: a container nested in another is the one that matters. */
	while (prev_component(path, &cur, &start, &n)) {
		for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]) && !c->id[0] && n; i++)
			if (wrapped_hex(start, n, scopes[i].prefix, scopes[i].suffix, c->id,
					sizeof(c->id)))
				snprintf(c->runtime, sizeof(c->runtime), "%s", scopes[i].runtime);
		if (!c->id[0] && !c->pod[0] && n == 64 && all_hex(start, n)) {
			/* cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id>, ... */
			const char *pe = start > path ? start - 1 : start, *ps = pe;
			while (ps > path && ps[-1] != '/')
				ps--;
			memcpy(c->id, start, n);
			c->id[n] = '\0';
			snprintf(c->runtime, sizeof(c->runtime), "%s",
				 pe - ps == 6 && strncmp(ps, "docker", 6) == 0 ? "docker" :
				 pe - ps == 6 && strncmp(ps, "libpod", 6) == 0 ? "podman" :
				 kube ? "kubepods" : "unknown");
		}
		if (c->id[0] && !kube)
			return true;
		/* Under kubepods the pod's level is above the container's (or is the leaf, for
		 * the pod's own processes): nothing above it names this process. */
		if (kube && pod_uid(start, n, c->pod, sizeof(c->pod)))
			break;
	}
	if (!c->id[0] && !c->pod[0])
		return false;
	if (!c->id[0])
		snprintf(c->runtime, sizeof(c->runtime), "kubepods");
	return true;
}

bool tkt_unit_of(const char *path, char *out, size_t sz)
{
	const char *cur = path + strlen(path), *start;
	size_t n;

	while (prev_component(path, &cur, &start, &n)) {
		if ((n > 6 && strncmp(start + n - 6, ".scope", 6) == 0) ||
		    (n > 8 && strncmp(start + n - 8, ".service", 8) == 0)) {
			snprintf(out, sz, "%.*s", (int)n, start);
			return true;
		}
	}
	return false;
}

/* ---- the table of pytest processes ---- */

int tkt_wtab_init(struct tkt_wtab *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap ? cap : TKT_WATCH_TABLE_CAP;
	t->e = calloc(t->cap, sizeof(*t->e));
	return t->e ? 0 : -ENOMEM;
}

struct tkt_wentry *tkt_wtab_find(struct tkt_wtab *t, uint32_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].pid == pid)
			return &t->e[i];
	return NULL;
}

static void entry_clear(struct tkt_wentry *e)
{
	free(e->test);
	memset(e, 0, sizeof(*e));
}

struct tkt_wentry *tkt_wtab_get(struct tkt_wtab *t, uint32_t pid)
{
	struct tkt_wentry *e = tkt_wtab_find(t, pid);

	if (!e && t->n < t->cap) {
		e = &t->e[t->n++];
	} else if (!e) {
		/* Full: a process whose exit was lost (ring full) goes before any live one. */
		e = &t->e[0];
		for (size_t i = 1; i < t->n; i++)
			if (t->e[i].used < e->used)
				e = &t->e[i];
		entry_clear(e);
		t->evicted++;
	}
	if (e->pid != pid) {
		entry_clear(e);
		e->pid = pid;
	}
	e->used = ++t->clock;
	return e;
}

void tkt_wtab_remove(struct tkt_wtab *t, uint32_t pid)
{
	struct tkt_wentry *e = tkt_wtab_find(t, pid);

	if (!e)
		return;
	free(e->test);
	*e = t->e[--t->n];
	memset(&t->e[t->n], 0, sizeof(t->e[t->n]));
}

void tkt_wtab_free(struct tkt_wtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].test);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* ---- paths, times ---- */

int tkt_watch_cg_filter(const char *arg, const char *mount, char *out, size_t sz)
{
	size_t ml = mount ? strlen(mount) : 0, n;

	if (!arg || arg[0] != '/')
		return -EINVAL;
	while (ml && mount[ml - 1] == '/')
		ml--;
	/* A directory under the mount, or a path as /proc/PID/cgroup shows it. */
	if (ml && strncmp(arg, mount, ml) == 0 && (arg[ml] == '/' || arg[ml] == '\0'))
		arg += ml;
	else if (strncmp(arg, "/sys/fs/cgroup", 14) == 0 && (arg[14] == '/' || arg[14] == '\0'))
		return -EXDEV; /* another hierarchy (v1's pids, hybrid's unified): never matches */
	while (arg[0] == '/' && arg[1] == '/')
		arg++;
	n = strlen(arg);
	while (n > 1 && arg[n - 1] == '/')
		n--;
	if (n == 0 || (n == 1 && arg[0] == '/'))
		n = 0; /* the root: everything */
	if (n >= sz)
		return -ENAMETOOLONG;
	memcpy(out, arg, n);
	out[n] = '\0';
	return 0;
}

bool tkt_cg_under(const char *path, const char *filter)
{
	size_t n = strlen(filter);

	if (n == 0)
		return true;
	return strncmp(path, filter, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void cg_name(struct tkt_buf *b, const char *name, size_t max)
{
	tkt_buf_append(b, "/", 1);
	tkt_buf_append(b, name, strnlen(name, max));
}

void tkt_wtask_cgpath(const struct tkt_wtask *t, struct tkt_buf *b)
{
	uint32_t n = t->ncg > TKT_WCG_DEPTH ? TKT_WCG_DEPTH : t->ncg;

	if (t->cg_trunc)
		tkt_buf_append(b, "...", 3);
	for (uint32_t i = n; i-- > 0;)
		cg_name(b, t->cg[i], TKT_WCG_NAME);
	if (!n && !t->cg_trunc)
		tkt_buf_append(b, "/", 1);
}

void tkt_fmt_iso8601(int64_t realtime_ns, char *out, size_t sz)
{
	time_t s = realtime_ns / 1000000000;
	struct tm tm;
	char d[32];

	gmtime_r(&s, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sz, "%s.%06dZ", d, (int)(realtime_ns % 1000000000 / 1000));
}

/* ---- records ---- */

int tkt_watch_init(struct tkt_watch *w, const struct tkt_watch_opts *o)
{
	memset(w, 0, sizeof(*w));
	w->o = *o;
	if (!w->o.page_size)
		w->o.page_size = 4096;
	return tkt_wtab_init(&w->tab, o->table_cap);
}

void tkt_watch_free(struct tkt_watch *w)
{
	for (size_t i = 0; i < w->nheld; i++)
		free(w->held[i].line);
	tkt_wtab_free(&w->tab);
	w->nheld = 0;
}

static void apply_env(struct tkt_watch *w, const struct tkt_ev_env *e)
{
	struct tkt_wentry *en;
	size_t len = e->len; /* < TKT_ENV_CHUNK, checked */

	if (e->key == TKT_ENV_XDIST_WORKER) {
		if (e->op == TKT_ENV_SET) {
			en = tkt_wtab_get(&w->tab, e->h.pid);
			snprintf(en->worker, sizeof(en->worker), "%.*s", (int)len, e->data);
		} else if ((en = tkt_wtab_find(&w->tab, e->h.pid))) {
			en->worker[0] = '\0';
		}
		return;
	}
	if (e->op == TKT_ENV_UNSET) {
		en = tkt_wtab_find(&w->tab, e->h.pid);
		if (en) {
			free(en->test);
			en->test = NULL;
			en->test_len = 0;
			/* Between tests of a process that is no xdist worker: nothing to keep. */
			if (!en->worker[0])
				tkt_wtab_remove(&w->tab, e->h.pid);
		}
		return;
	}
	if (e->chunk == 0) {
		en = tkt_wtab_get(&w->tab, e->h.pid);
		free(en->test);
		en->test = malloc(TKT_ENV_CHUNK);
		en->test_len = 0;
		en->test_done = false;
		if (!en->test)
			return;
	} else {
		en = tkt_wtab_find(&w->tab, e->h.pid);
		if (!en || !en->test || en->test_done)
			return;
	}
	/* Chunks past the cap are dropped: a node id that long is cut, not kept whole. */
	if (en->test_len + len > TKT_WATCH_TEST_MAX - 1)
		len = TKT_WATCH_TEST_MAX - 1 - en->test_len;
	if (len && e->chunk) {
		char *n = realloc(en->test, en->test_len + len + 1);
		if (!n)
			return;
		en->test = n;
	}
	memcpy(en->test + en->test_len, e->data, len);
	en->test_len += len;
	en->test[en->test_len] = '\0';
	if (e->flags & TKT_ENV_F_LAST)
		en->test_done = true;
}

/* The pytest entry of pid or its nearest ancestor that has one. */
static const struct tkt_wentry *test_of(struct tkt_watch *w, const struct tkt_wtask *t)
{
	struct tkt_wentry *e = tkt_wtab_find(&w->tab, t->pid);
	uint32_t n = t->nanc > TKT_ANC_DEPTH ? TKT_ANC_DEPTH : t->nanc;

	for (uint32_t i = 0; (!e || (!e->test && !e->worker[0])) && i < n; i++)
		e = tkt_wtab_find(&w->tab, t->anc[i].pid);
	return e && (e->test || e->worker[0]) ? e : NULL;
}

static void comm_str(char dst[TKT_COMM_LEN + 1], const char *src)
{
	tkt_comm_copy(dst, src);
}

static void emit_task(struct tkt_watch *w, struct tkt_json *j, const char *key,
		      const struct tkt_wtask *t, const char *cgpath)
{
	const struct tkt_wentry *te = test_of(w, t);
	uint32_t nanc = t->nanc > TKT_ANC_DEPTH ? TKT_ANC_DEPTH : t->nanc;
	struct tkt_container c;
	char comm[TKT_COMM_LEN + 1], unit[TKT_WCG_NAME + 1];

	tkt_json_obj_begin(j, key);
	tkt_json_uint(j, "pid", t->pid);
	tkt_json_uint(j, "tid", t->tid);
	comm_str(comm, t->comm);
	tkt_json_str(j, "comm", comm);
	tkt_json_uint(j, "rss_bytes", t->rss_pages * w->o.page_size);
	tkt_json_str(j, "cgroup", cgpath);
	tkt_json_str(j, "unit", tkt_unit_of(cgpath, unit, sizeof(unit)) ? unit : NULL);
	if (tkt_container_of(cgpath, &c)) {
		tkt_json_obj_begin(j, "container");
		tkt_json_str(j, "runtime", c.runtime);
		tkt_json_str(j, "id", c.id[0] ? c.id : NULL);
		tkt_json_str(j, "pod", c.pod[0] ? c.pod : NULL);
		tkt_json_obj_end(j);
	} else {
		tkt_json_null(j, "container");
	}
	tkt_json_arr_begin(j, "ancestry");
	for (uint32_t i = 0; i < nanc; i++) {
		tkt_json_obj_begin(j, NULL);
		tkt_json_uint(j, "pid", t->anc[i].pid);
		comm_str(comm, t->anc[i].comm);
		tkt_json_str(j, "comm", comm);
		tkt_json_obj_end(j);
	}
	tkt_json_arr_end(j);
	if (te && te->test) {
		/* "path::name (call)": the node id, then the phase it was in. */
		size_t n = te->test_len;
		const char *sp = NULL;
		char *id;

		if (n > 3 && te->test[n - 1] == ')')
			for (size_t i = n - 1; i-- > 0;)
				if (te->test[i] == '(' && i > 0 && te->test[i - 1] == ' ') {
					sp = te->test + i - 1;
					break;
				}
		id = strndup(te->test, sp ? (size_t)(sp - te->test) : n);
		tkt_json_str(j, "test", id);
		free(id);
		if (sp) {
			id = strndup(sp + 2, te->test + n - 1 - (sp + 2));
			tkt_json_str(j, "phase", id);
			free(id);
		} else {
			tkt_json_null(j, "phase");
		}
	} else {
		tkt_json_null(j, "test");
		tkt_json_null(j, "phase");
	}
	tkt_json_str(j, "worker", te && te->worker[0] ? te->worker : NULL);
	if (te)
		tkt_json_uint(j, "test_pid", te->pid);
	else
		tkt_json_null(j, "test_pid");
	tkt_json_obj_end(j);
}

static void emit_head(struct tkt_watch *w, struct tkt_json *j, const char *type, uint64_t ts)
{
	char iso[48];

	tkt_fmt_iso8601((int64_t)ts + w->rt_offset_ns, iso, sizeof(iso));
	tkt_json_obj_begin(j, NULL);
	tkt_json_str(j, "type", type);
	tkt_json_str(j, "time", iso);
	tkt_json_uint(j, "monotonic_ns", ts);
}

/* The OOM's memory cgroup (the one at its limit) as a path. */
static void oom_memcg(const struct tkt_ev_wkill *e, int lim, struct tkt_buf *b)
{
	uint32_t ncg = e->ncg > TKT_CG_DEPTH ? TKT_CG_DEPTH : e->ncg;
	uint32_t tn = e->target.ncg > TKT_WCG_DEPTH ? TKT_WCG_DEPTH : e->target.ncg;
	int top;

	/* Full names from the victim's path when the level is in it (v1, or v2's own). */
	for (uint32_t i = 0; i < tn; i++) {
		if (e->target.cg_id[i] != e->cg[lim].id)
			continue;
		struct tkt_wtask cut = e->target;
		memmove(cut.cg, cut.cg + i, (tn - i) * sizeof(cut.cg[0]));
		cut.ncg = tn - i;
		tkt_wtask_cgpath(&cut, b);
		return;
	}
	/* Else the memcg walk's own names (cut at TKT_CG_NAME); its last level is the root
	 * unless the walk stopped at TKT_CG_DEPTH. */
	top = (int)ncg - 1;
	if (ncg < TKT_CG_DEPTH) {
		if (lim == top) {
			tkt_buf_append(b, "/", 1);
			return;
		}
		top--;
	} else {
		tkt_buf_append(b, "...", 3);
	}
	for (int i = top; i >= lim; i--)
		cg_name(b, e->cg[i].name, TKT_CG_NAME);
}

static int render_kill(struct tkt_watch *w, const struct tkt_ev_wkill *e, struct tkt_buf *out)
{
	struct tkt_buf tp = { 0 }, sp = { 0 }, mp = { 0 };
	struct tkt_json j;
	bool oom = e->kind == TKT_WK_OOM;
	uint64_t ps = w->o.page_size;

	tkt_wtask_cgpath(&e->target, &tp);
	tkt_wtask_cgpath(&e->source, &sp);
	if (w->o.cg_filter && !tkt_cg_under(tp.data ? tp.data : "", w->o.cg_filter)) {
		w->filtered++;
		tkt_buf_free(&tp);
		tkt_buf_free(&sp);
		return 0;
	}
	tkt_json_init(&j, out, false);
	emit_head(w, &j, oom ? "oom_kill" : "sigkill", e->h.ts_ns);
	if (oom) {
		uint32_t ncg = e->ncg > TKT_CG_DEPTH ? TKT_CG_DEPTH : e->ncg;
		int lim = tkt_pick_limiting_cg(e->cg, ncg, ps);
		bool at = lim >= 0 && e->cg[lim].usage_pages + e->cg[lim].max_pages / 32 + 64 >=
					      e->cg[lim].max_pages;

		w->ooms++;
		emit_task(w, &j, "victim", &e->target, tp.data ? tp.data : "");
		emit_task(w, &j, "trigger", &e->source, sp.data ? sp.data : "");
		tkt_json_obj_begin(&j, "oom");
		/* The same test as run mode's: a memcg charge that failed left its usage at the
		 * limit; otherwise the machine ran out. */
		tkt_json_str(&j, "constraint", at ? "memcg" : ncg ? "global" : NULL);
		if (at) {
			oom_memcg(e, lim, &mp);
			tkt_json_str(&j, "memcg", mp.data);
			tkt_json_uint(&j, "limit_bytes", e->cg[lim].max_pages * ps);
			tkt_json_uint(&j, "usage_bytes", e->cg[lim].usage_pages * ps);
		} else {
			tkt_json_null(&j, "memcg");
			tkt_json_null(&j, "limit_bytes");
			if (ncg)
				tkt_json_uint(&j, "usage_bytes", e->cg[0].usage_pages * ps);
			else
				tkt_json_null(&j, "usage_bytes");
		}
		tkt_json_uint(&j, "total_vm_bytes", e->total_vm_pages * ps);
		tkt_json_int(&j, "oom_score_adj", e->oom_score_adj);
		tkt_json_obj_end(&j);
	} else {
		w->sigkills++;
		tkt_json_bool(&j, "kernel", e->flags & TKT_SIG_F_KERNEL);
		emit_task(w, &j, "target", &e->target, tp.data ? tp.data : "");
		emit_task(w, &j, "sender", &e->source, sp.data ? sp.data : "");
	}
	tkt_json_obj_end(&j);
	tkt_buf_append(out, "\n", 1);
	tkt_buf_free(&tp);
	tkt_buf_free(&sp);
	tkt_buf_free(&mp);
	return 1;
}

static void held_emit(struct tkt_watch *w, size_t i, struct tkt_buf *out)
{
	if (out)
		tkt_buf_append(out, w->held[i].line, strlen(w->held[i].line));
	free(w->held[i].line);
	memmove(&w->held[i], &w->held[i + 1], (w->nheld - i - 1) * sizeof(w->held[0]));
	w->nheld--;
}

static int apply_kill(struct tkt_watch *w, const struct tkt_ev_wkill *e, struct tkt_buf *out)
{
	struct tkt_buf line = { 0 };

	if (e->kind == TKT_WK_OOM) {
		/* The OOM killer's SIGKILL to this victim, held back: this record tells it all. */
		for (size_t i = 0; i < w->nheld;) {
			if (w->held[i].pid == e->target.pid &&
			    e->h.ts_ns - w->held[i].ts < 1000000000ULL) {
				held_emit(w, i, NULL);
				w->sigkills--;
				continue;
			}
			i++;
		}
		return render_kill(w, e, out) >= 0 ? 0 : -ENOMEM;
	}
	if (!(e->flags & TKT_SIG_F_KERNEL))
		return render_kill(w, e, out) >= 0 ? 0 : -ENOMEM;
	if (render_kill(w, e, &line) <= 0) {
		tkt_buf_free(&line);
		return 0;
	}
	if (w->nheld == TKT_WATCH_HELD)
		held_emit(w, 0, out);
	w->held[w->nheld].ts = e->h.ts_ns;
	w->held[w->nheld].pid = e->target.pid;
	w->held[w->nheld].line = line.data; /* ownership moves */
	w->nheld++;
	return 0;
}

int tkt_watch_apply(struct tkt_watch *w, const void *rec, size_t len, struct tkt_buf *out)
{
	const struct tkt_hdr *h = rec;

	if (len < sizeof(*h))
		return -EINVAL;
	switch (h->type) {
	case TKT_EV_ENV: {
		const struct tkt_ev_env *e = rec;
		/* Sent at their used length: the header, then len bytes of data. */
		if (len < offsetof(struct tkt_ev_env, data) ||
		    e->len >= TKT_ENV_CHUNK || len < offsetof(struct tkt_ev_env, data) + e->len)
			return -EINVAL;
		apply_env(w, e);
		return 0;
	}
	case TKT_EV_EXIT:
		if (len < sizeof(struct tkt_ev_exit))
			return -EINVAL;
		tkt_wtab_remove(&w->tab, h->pid);
		return 0;
	case TKT_EV_WKILL:
		if (len < sizeof(struct tkt_ev_wkill))
			return -EINVAL;
		return apply_kill(w, rec, out);
	}
	return 0; /* run mode's records: not ours */
}

void tkt_watch_flush(struct tkt_watch *w, uint64_t now_ns, struct tkt_buf *out)
{
	while (w->nheld && (now_ns == UINT64_MAX || w->held[0].ts + TKT_WATCH_HOLD_NS <= now_ns))
		held_emit(w, 0, out);
}

void tkt_watch_lost(struct tkt_watch *w, uint64_t now_ns, uint64_t n, struct tkt_buf *out)
{
	struct tkt_json j;

	tkt_json_init(&j, out, false);
	emit_head(w, &j, "lost", now_ns);
	tkt_json_uint(&j, "records", n);
	tkt_json_obj_end(&j);
	tkt_buf_append(out, "\n", 1);
}

bool tkt_pids_wrapped(uint32_t prev_last, uint32_t last, uint64_t forks, uint32_t pid_max)
{
	/* After a wrap the kernel hands out pids from 300 (RESERVED_PIDS) up. */
	return last < prev_last || forks + 300 >= pid_max;
}
