/* tktrace plan: read earlier runs' per-test memory, print a schedule that fits a memory
 * budget, and write it as a pytest plugin (docs/plan.md). The packing is user/plan.c. */
#include "cmd_report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "json.h"
#include "plan.h"
#include "replay.h"
#include "safeopen.h"
#include "util.h"

#define HEAVY_GROUP "tktrace_heavy"
#define PLUGIN "tktrace_plan"
#define SHARD_ENV "TKTRACE_SHARD"
/* The first line of the plugin: --apply replaces only a file that starts with it. */
#define PLUGIN_MARK "# Written by `tktrace plan --apply`"

static void usage(FILE *f)
{
	fputs("Usage: tktrace plan (--record FILE | --per-test-file FILE)... [--budget SIZE]\n"
	      "                    [--shards K] [--apply DIR] [--json OUT] [options]\n"
	      "\n"
	      "Turn the per-test memory of earlier runs into a schedule that keeps pytest under a\n"
	      "memory budget and finishes as early as it can: how many xdist workers fit, which\n"
	      "heavy tests run one at a time (an xdist_group for --dist loadgroup), K shards\n"
	      "balanced by duration under the same budget, and the tests that leak. Several inputs\n"
	      "are merged, each test's worst figures kept. The model: docs/plan.md. Needs no root.\n"
	      "\n"
	      "Options:\n"
	      "  --record FILE          a run recorded with `tktrace --record FILE` (repeatable)\n"
	      "  --per-test-file FILE   per-test JSON lines from --per-test-file (repeatable)\n"
	      "  --budget SIZE          memory for the whole pytest run (default: the memory limit\n"
	      "                         a recording saw, else MemTotal), e.g. 1G, 512M\n"
	      "  --margin PCT           part of the budget kept free (default 10)\n"
	      "  --max-workers N        most xdist workers to consider (default: online CPUs)\n"
	      "  --shards K             K shards for a CI matrix, picked with TKTRACE_SHARD=1..K\n"
	      "  --tests FILE           the suite's node ids now, one a line (`pytest --collect-only\n"
	      "                         -q`): new ones are listed and costed, gone ones dropped\n"
	      "  --new-test-cost SIZE   a new test's memory (default: the median measured test)\n"
	      "  --new-test-duration S  a new test's duration in seconds (default: the median)\n"
	      "  --leak-threshold SIZE  name a test a leak from this much retained (default 10M)\n"
	      "  --apply DIR            write DIR/" PLUGIN ".py, the plan as a pytest plugin\n"
	      "  --json OUT             the plan as JSON to OUT ('-' for stdout)\n"
	      "  -h, --help             show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo tktrace --record run.tkt -- python -m pytest -n 4\n"
	      "  tktrace plan --record run.tkt --budget 1G --apply .\n"
	      "  python -m pytest -p " PLUGIN " -n 3 --dist loadgroup\n"
	      "  tktrace plan --record a.tkt --record b.tkt --shards 2 --apply . --json plan.json\n"
	      "  TKTRACE_SHARD=1 python -m pytest -p " PLUGIN " -n 2 --dist loadgroup\n"
	      "\n"
	      "Exit status: 0 when the plan fits the budget, 1 when it cannot (a test larger than\n"
	      "the budget on its own, or leaks that fill it: named in the output), 125 on bad input.\n",
	      f);
}

struct inputs {
	struct tkt_plan_input in;
	uint64_t limit;        /* the largest limit a recording saw */
	size_t nfiles;
};

/* A run made with the plan applied names its heavy tests "<id>@tktrace_heavy" (xdist's
 * loadgroup rewrites the node id): the same test as "<id>". */
static char *plain_nodeid(const char *id, char *buf, size_t bufsz)
{
	size_t n = strlen(id), g = strlen("@" HEAVY_GROUP);

	if (n > g && n - g < bufsz && !strcmp(id + n - g, "@" HEAVY_GROUP)) {
		memcpy(buf, id, n - g);
		buf[n - g] = '\0';
		return buf;
	}
	return (char *)id;
}

static int add_recording(struct inputs *x, const char *path)
{
	struct tkt_replay rp;
	struct tkt_run run;
	char err[512];
	uint32_t *pids = NULL;
	size_t npids = 0;
	int rc = -1;

	if (tkt_replay_init(&rp)) {
		tkt_error("out of memory");
		return -1;
	}
	if (tkt_replay_file(&rp, path, err, sizeof(err))) {
		tkt_error("plan: %s: %s", path, err);
		goto out;
	}
	tkt_replay_run(&rp, &run);
	if (rp.model.cg_has_limit && rp.model.cg_limit > x->limit)
		x->limit = rp.model.cg_limit;
	if (run.memory_limit) {
		uint64_t l;
		if (!tkt_parse_size(run.memory_limit, &l) && l > x->limit)
			x->limit = l;
	}
	if (!(pids = calloc(rp.model.ntests ? rp.model.ntests : 1, sizeof(*pids)))) {
		tkt_error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < rp.model.ntests; i++) {
		const struct tkt_test_rec *r = &rp.model.tests[i];
		struct tkt_plan_test t = { 0 };
		bool seen = false;
		uint64_t end = r->ended || r->end_ns ? r->end_ns : rp.model.last_ns;
		char id[4096];

		t.nodeid = plain_nodeid(r->nodeid, id, sizeof(id));
		t.duration_s = end > r->start_ns ? (double)(end - r->start_ns) / 1e9 : 0;
		t.peak = r->peak;
		t.growth = tkt_test_growth(r);
		t.children = r->children_peak;
		t.unfinished = !r->ended;
		t.retained = r->ended ? tkt_test_retained(r) : 0;
		if (tkt_plan_add(&x->in, &t)) {
			tkt_error("out of memory");
			goto out;
		}
		if (r->worker)
			x->in.xdist = true;
		/* A worker's baseline: what it held when its first test began (tests are in
		 * start order). */
		for (size_t j = 0; j < npids && !seen; j++)
			seen = pids[j] == r->pid;
		if (!seen) {
			pids[npids++] = r->pid;
			if (r->rss_start > x->in.baseline)
				x->in.baseline = r->rss_start;
		}
	}
	x->in.nruns++;
	rc = 0;
out:
	free(pids);
	tkt_replay_free(&rp);
	return rc;
}

static int collect(void *ctx, const char *data, size_t len)
{
	return tkt_buf_append(ctx, data, len) ? -ENOMEM : 0;
}

static int read_text(const char *path, struct tkt_buf *b)
{
	char err[256];
	int r = tkt_read_chunks(path, collect, b, err, sizeof(err));

	if (r == -ENOMEM) {
		tkt_error("out of memory");
		return -1;
	}
	if (r) {
		tkt_error("plan: %s: %s", path, err);
		return -1;
	}
	if (tkt_buf_append(b, "", 1)) { /* NUL-terminated */
		tkt_error("out of memory");
		return -1;
	}
	b->len--;
	return 0;
}

static int add_per_test_file(struct inputs *x, const char *path)
{
	struct tkt_buf b = { 0 };
	uint64_t least = UINT64_MAX;
	size_t lineno = 0, n = 0;
	int rc = -1;

	if (read_text(path, &b))
		return -1;
	for (const char *p = b.data ? b.data : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct tkt_plan_test t;
		uint64_t start;
		char err[128];
		int r = tkt_plan_parse_line(p, len, &t, &start, err, sizeof(err));

		lineno++;
		if (r < 0) {
			tkt_error("plan: %s:%zu: %s", path, lineno, err);
			goto out;
		}
		if (r > 0) {
			char id[4096];
			char *orig = t.nodeid;
			t.nodeid = plain_nodeid(orig, id, sizeof(id));
			r = tkt_plan_add(&x->in, &t);
			t.nodeid = orig;
			free(t.nodeid);
			if (r) {
				tkt_error("out of memory");
				goto out;
			}
			/* Lines are by node id, not start order: the least resident at a test's
			 * start is the closest to a worker's baseline this file has. */
			if (start < least)
				least = start;
			n++;
		}
		p += len + (nl != NULL);
	}
	if (!n) {
		tkt_error("plan: %s: no tests in it (an empty per-test file?)", path);
		goto out;
	}
	if (least > x->in.baseline)
		x->in.baseline = least;
	x->in.nruns++;
	rc = 0;
out:
	tkt_buf_free(&b);
	return rc;
}

/* The node ids of --tests, NULL-terminated, pointing into b. */
static char **read_suite(const char *path, struct tkt_buf *b)
{
	size_t n = 0, cap = 16;
	char **ids = malloc(cap * sizeof(*ids)), *save = NULL;

	if (!ids || read_text(path, b)) {
		free(ids);
		return NULL;
	}
	for (char *line = strtok_r(b->data ? b->data : "", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		/* `pytest --collect-only -q` ends with a blank line and "N tests collected". */
		if (!len || !strstr(line, "::"))
			continue;
		if (n + 1 >= cap) {
			char **m = realloc(ids, (cap *= 2) * sizeof(*ids));
			if (!m) {
				free(ids);
				tkt_error("out of memory");
				return NULL;
			}
			ids = m;
		}
		ids[n++] = line;
	}
	ids[n] = NULL;
	if (!n) {
		free(ids);
		tkt_error("plan: %s: no node ids in it (expected `pytest --collect-only -q` output)", path);
		return NULL;
	}
	return ids;
}

static uint64_t mem_total(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* The options a part adds to the user's pytest command. */
static void part_args(struct tkt_buf *b, const struct tkt_plan_part *pt, bool plugin, bool xdist,
		      bool as_json)
{
	const char *sep = "";
	char n[16];
	const char *args[6];
	size_t na = 0;

	if (plugin) {
		args[na++] = "-p";
		args[na++] = PLUGIN;
	}
	if (pt->workers || xdist) {
		snprintf(n, sizeof(n), "%u", pt->workers);
		args[na++] = "-n";
		args[na++] = n;
	}
	if (pt->workers && pt->nheavy) {
		args[na++] = "--dist";
		args[na++] = "loadgroup";
	}
	for (size_t i = 0; i < na; i++) {
		tkt_buf_printf(b, "%s", sep);
		if (as_json)
			tkt_json_escape(b, args[i]);
		else
			tkt_buf_printf(b, "%s", args[i]);
		sep = as_json ? ", " : " ";
	}
}

static void json_args(struct tkt_json *j, const char *key, const struct tkt_plan_part *pt,
		      bool plugin, bool xdist)
{
	struct tkt_buf tmp = { 0 };

	/* The writer has no raw-array call: build the strings one by one. */
	tkt_json_arr_begin(j, key);
	part_args(&tmp, pt, plugin, xdist, false);
	for (char *save = NULL, *a = strtok_r(tmp.data ? tmp.data : "", " ", &save); a;
	     a = strtok_r(NULL, " ", &save))
		tkt_json_str(j, NULL, a);
	tkt_json_arr_end(j);
	tkt_buf_free(&tmp);
}

static const char *mib(uint64_t v, char *buf, size_t n)
{
	return tkt_fmt_bytes(v, buf, n);
}

static void json_part(struct tkt_json *j, const struct tkt_plan_part *pt, bool fits)
{
	tkt_json_uint(j, "workers", pt->workers);
	if (fits)
		tkt_json_bool(j, "fits", pt->fits);
	tkt_json_uint(j, "tests", pt->ntests);
	tkt_json_uint(j, "heavy_tests", pt->nheavy);
	tkt_json_uint(j, "heavy_above_bytes", pt->heavy_above);
	tkt_json_uint(j, "retained_bytes", pt->retained);
	tkt_json_uint(j, "predicted_peak_bytes", pt->predicted);
	tkt_json_uint(j, "predicted_peak_per_worker_bytes", pt->per_worker);
	tkt_json_double(j, "tests_duration_s", pt->duration_s, 3);
	tkt_json_double(j, "estimated_s", pt->est_s, 3);
}

struct outcome {
	const char *budget_from;
	bool plugin;        /* the pytest options load the plugin */
	const char *apply;  /* DIR, or NULL */
	const char *file;   /* what --apply wrote */
	bool *heavy_all;    /* heavy in the unsharded plan */
	const struct tkt_plan_part *all;
};

static void write_json(struct tkt_buf *b, const struct tkt_plan *p, const struct tkt_plan_input *in,
		       const struct outcome *oc)
{
	struct tkt_json j;
	char env[16];

	tkt_json_init(&j, b, true);
	tkt_json_obj_begin(&j, NULL);
	tkt_json_uint(&j, "budget_bytes", p->o.budget);
	tkt_json_str(&j, "budget_from", oc->budget_from);
	tkt_json_uint(&j, "margin_pct", p->o.margin_pct);
	tkt_json_uint(&j, "usable_bytes", p->usable);
	tkt_json_uint(&j, "worker_baseline_bytes", p->baseline);
	tkt_json_uint(&j, "inputs", in->nruns);
	tkt_json_bool(&j, "fits", p->fits);
	tkt_json_uint(&j, "new_tests", p->nnew);
	tkt_json_uint(&j, "dropped_tests", p->ndropped);
	tkt_json_uint(&j, "new_test_cost_bytes", p->new_cost);
	json_args(&j, "pytest_args", oc->all, oc->plugin, in->xdist);
	tkt_json_arr_begin(&j, "files");
	if (oc->file)
		tkt_json_str(&j, NULL, oc->file);
	tkt_json_arr_end(&j);
	json_part(&j, oc->all, false);
	tkt_json_str(&j, "heavy_group", HEAVY_GROUP);
	if (p->nparts > 1) {
		tkt_json_arr_begin(&j, "shards");
		for (unsigned s = 0; s < p->nparts; s++) {
			tkt_json_obj_begin(&j, NULL);
			tkt_json_uint(&j, "shard", s + 1);
			json_args(&j, "pytest_args", &p->parts[s], true, in->xdist);
			tkt_json_obj_begin(&j, "env");
			snprintf(env, sizeof(env), "%u", s + 1);
			tkt_json_str(&j, SHARD_ENV, env);
			tkt_json_obj_end(&j);
			json_part(&j, &p->parts[s], true);
			tkt_json_obj_end(&j);
		}
		tkt_json_arr_end(&j);
	}
	tkt_json_arr_begin(&j, "tests");
	for (size_t i = 0; i < p->ntests; i++) {
		const struct tkt_plan_test *t = &p->tests[i];
		tkt_json_obj_begin(&j, NULL);
		tkt_json_str(&j, "nodeid", t->nodeid);
		tkt_json_uint(&j, "cost_bytes", t->is_new ? p->new_cost : tkt_plan_cost(t));
		tkt_json_double(&j, "duration_s", t->is_new ? p->new_duration_s : t->duration_s, 3);
		tkt_json_int(&j, "retained_bytes", t->retained);
		tkt_json_bool(&j, "heavy", oc->heavy_all[i]);
		if (p->nparts > 1) {
			tkt_json_uint(&j, "shard", t->shard + 1);
			tkt_json_bool(&j, "heavy_in_shard", t->heavy);
		}
		tkt_json_bool(&j, "leak", t->leak);
		tkt_json_bool(&j, "new", t->is_new);
		tkt_json_bool(&j, "unfinished", t->unfinished);
		tkt_json_bool(&j, "impossible", t->impossible);
		tkt_json_obj_end(&j);
	}
	tkt_json_arr_end(&j);
	tkt_json_obj_end(&j);
	tkt_buf_append(b, "\n", 1);
}

/* A few tests of a kind, largest cost first, then "and N more". */
static void list_tests(struct tkt_buf *b, const struct tkt_plan *p, const char *title,
		       bool (*pick)(const struct tkt_plan *, size_t, const void *), const void *ctx,
		       bool show_retained)
{
	size_t n = 0, shown = 0;
	char c[32], r[32];

	for (size_t i = 0; i < p->ntests; i++)
		n += pick(p, i, ctx);
	if (!n)
		return;
	tkt_buf_printf(b, "  %s (%zu):\n", title, n);
	for (size_t i = 0; i < p->ntests && shown < 8; i++) {
		const struct tkt_plan_test *t = &p->tests[i];
		if (!pick(p, i, ctx))
			continue;
		shown++;
		if (show_retained)
			tkt_buf_printf(b, "    %s keeps %s after it ends\n", t->nodeid,
				       mib(t->retained > 0 ? (uint64_t)t->retained : 0, r, sizeof(r)));
		else
			tkt_buf_printf(b, "    %s  +%s%s, %.1f s%s\n", t->nodeid,
				       mib(t->is_new ? p->new_cost : tkt_plan_cost(t), c, sizeof(c)),
				       t->unfinished ? " or more (killed before it ended)" : "",
				       t->is_new ? p->new_duration_s : t->duration_s,
				       t->is_new ? " (new: default cost)" : "");
	}
	if (n > shown)
		tkt_buf_printf(b, "    and %zu more (--json lists all)\n", n - shown);
}

static bool pick_impossible(const struct tkt_plan *p, size_t i, const void *ctx)
{
	(void)ctx;
	return p->tests[i].impossible;
}

static bool pick_heavy_all(const struct tkt_plan *p, size_t i, const void *ctx)
{
	return ((const bool *)ctx)[i] && !p->tests[i].impossible;
}

static bool pick_leak(const struct tkt_plan *p, size_t i, const void *ctx)
{
	(void)ctx;
	return p->tests[i].leak;
}

static bool pick_new(const struct tkt_plan *p, size_t i, const void *ctx)
{
	(void)ctx;
	return p->tests[i].is_new;
}

static void text_part(struct tkt_buf *b, const struct tkt_plan *p, const struct tkt_plan_part *pt,
		      const char *indent)
{
	char x[32], y[32], z[32], w[32];

	if (!pt->workers)
		tkt_buf_printf(b, "%sno xdist (one process): predicted peak %s = baseline %s + retained "
			       "%s + largest test %s\n", indent, mib(pt->predicted, x, sizeof(x)),
			       mib(p->baseline, y, sizeof(y)), mib(pt->retained, z, sizeof(z)),
			       mib(pt->max_cost, w, sizeof(w)));
	else
		tkt_buf_printf(b, "%s%u worker%s: predicted peak %s = %u x baseline %s (controller + "
			       "workers) + retained %s + concurrent test peaks %s\n", indent, pt->workers,
			       pt->workers == 1 ? "" : "s", mib(pt->predicted, x, sizeof(x)),
			       pt->workers + 1, mib(p->baseline, y, sizeof(y)),
			       mib(pt->retained, z, sizeof(z)),
			       mib(pt->light_sum + pt->heavy_max, w, sizeof(w)));
	if (pt->workers && pt->nheavy)
		tkt_buf_printf(b, "%s%zu heavy test%s (cost above %s, or killed in a recorded run) run one at "
			       "a time, on one worker, in xdist_group \"" HEAVY_GROUP "\"\n", indent,
			       pt->nheavy, pt->nheavy == 1 ? "" : "s", mib(pt->heavy_above, x, sizeof(x)));
	tkt_buf_printf(b, "%sestimated %.1f s of tests (%.1f s one after another)%s\n", indent,
		       pt->est_s, pt->duration_s, pt->fits ? "" : "; DOES NOT FIT the budget");
}

static void write_text(struct tkt_buf *b, const struct tkt_plan *p, const struct tkt_plan_input *in,
		       const struct outcome *oc)
{
	char x[32], y[32];

	tkt_buf_printf(b, "tktrace plan: budget %s (%s), %u%% margin: %s usable\n",
		       mib(p->o.budget, x, sizeof(x)), oc->budget_from, p->o.margin_pct,
		       mib(p->usable, y, sizeof(y)));
	tkt_buf_printf(b, "  from %zu run%s: %zu tests", in->nruns, in->nruns == 1 ? "" : "s", p->ntests);
	if (p->nnew || p->ndropped)
		tkt_buf_printf(b, " (%zu new, %zu no longer in --tests)", p->nnew, p->ndropped);
	tkt_buf_printf(b, ", worker baseline %s (resident before its first test)\n",
		       mib(p->baseline, x, sizeof(x)));
	list_tests(b, p, "IMPOSSIBLE: larger than the usable budget even alone (baseline + cost)",
		   pick_impossible, NULL, false);
	text_part(b, p, oc->all, "  ");
	list_tests(b, p, "heavy", pick_heavy_all, oc->heavy_all, false);
	list_tests(b, p, "leaks: fix them, what they keep stays on a worker for the rest of the run",
		   pick_leak, NULL, true);
	list_tests(b, p, "new tests, not in the inputs", pick_new, NULL, false);
	tkt_buf_printf(b, "  run: python -m pytest ");
	part_args(b, oc->all, oc->plugin, in->xdist, false);
	tkt_buf_printf(b, "\n");
	for (unsigned s = 0; p->nparts > 1 && s < p->nparts; s++) {
		tkt_buf_printf(b, "  shard %u/%u (%zu tests): " SHARD_ENV "=%u python -m pytest ", s + 1,
			       p->nparts, p->parts[s].ntests, s + 1);
		part_args(b, &p->parts[s], true, in->xdist, false);
		tkt_buf_printf(b, "\n");
		text_part(b, p, &p->parts[s], "    ");
	}
	if (oc->file)
		tkt_buf_printf(b, "  wrote %s: run pytest from %s (python -m pytest puts it on sys.path; "
			       "else PYTHONPATH=%s)\n", oc->file, oc->apply, oc->apply);
	else if (oc->plugin)
		tkt_buf_printf(b, "  the groups need the plugin: add --apply DIR (the suite's rootdir)\n");
}

/* A Python string literal: JSON's escapes are Python's too. */
static void py_str(struct tkt_buf *b, const char *s)
{
	tkt_json_escape(b, s);
}

static void write_plugin(struct tkt_buf *b, const struct tkt_plan *p, const struct outcome *oc)
{
	char c[32];

	tkt_buf_printf(b, PLUGIN_MARK " from measured per-test memory; write it again\n"
		       "# rather than by hand. Load it from the suite's rootdir: python -m pytest -p " PLUGIN
		       "\n# (see docs/plan.md of tktrace). It needs no tktrace.\n"
		       "\"\"\"The tktrace plan: heavy tests run one at a time in one xdist_group (use\n"
		       "--dist loadgroup), and " SHARD_ENV "=i (1..SHARDS) runs shard i only.\"\"\"\n"
		       "import os\nimport zlib\n\nimport pytest\n\n"
		       "BUDGET_BYTES = %llu\nSHARDS = %u\nHEAVY_GROUP = \"" HEAVY_GROUP "\"\n\n"
		       "# Heavy when the whole suite runs (planned with -n %u).\nHEAVY = {\n",
		       (unsigned long long)p->o.budget, p->nparts, oc->all->workers);
	for (size_t i = 0; i < p->ntests; i++)
		if (oc->heavy_all[i]) {
			tkt_buf_printf(b, "    ");
			py_str(b, p->tests[i].nodeid);
			tkt_buf_printf(b, ",  # +%s\n", mib(p->tests[i].is_new ? p->new_cost :
							   tkt_plan_cost(&p->tests[i]), c, sizeof(c)));
		}
	tkt_buf_printf(b, "}\n\n# Each test's shard, and whether it is heavy within its shard.\nSHARD = {\n");
	for (size_t i = 0; p->nparts > 1 && i < p->ntests; i++) {
		tkt_buf_printf(b, "    ");
		py_str(b, p->tests[i].nodeid);
		tkt_buf_printf(b, ": (%u, %s),\n", p->tests[i].shard + 1,
			       p->tests[i].heavy ? "True" : "False");
	}
	tkt_buf_printf(b, "}\n\n\n"
		       "def _shard_of(nodeid):\n"
		       "    if nodeid in SHARD:\n"
		       "        return SHARD[nodeid][0]\n"
		       "    # A test the plan has not seen: a shard that stays the same from run to run.\n"
		       "    return zlib.crc32(nodeid.encode()) %% SHARDS + 1\n\n\n"
		       "def _wanted_shard():\n"
		       "    want = os.environ.get(\"" SHARD_ENV "\", \"\").strip()\n"
		       "    if not want:\n"
		       "        return None\n"
		       "    if not want.isdigit() or not 1 <= int(want) <= SHARDS:\n"
		       "        raise pytest.UsageError(f\"" SHARD_ENV "={want}: the plan has shards 1..{SHARDS}\")\n"
		       "    return int(want)\n\n\n"
		       "# Before xdist reads the xdist_group markers (it does so in this same hook).\n"
		       "@pytest.hookimpl(tryfirst=True)\n"
		       "def pytest_collection_modifyitems(config, items):\n"
		       "    shard = _wanted_shard()\n"
		       "    keep, drop = [], []\n"
		       "    for item in items:\n"
		       "        if shard is not None and _shard_of(item.nodeid) != shard:\n"
		       "            drop.append(item)\n"
		       "            continue\n"
		       "        if shard is not None and item.nodeid in SHARD:\n"
		       "            heavy = SHARD[item.nodeid][1]\n"
		       "        else:\n"
		       "            heavy = item.nodeid in HEAVY\n"
		       "        if heavy:\n"
		       "            item.add_marker(pytest.mark.xdist_group(HEAVY_GROUP))\n"
		       "        keep.append(item)\n"
		       "    if drop:\n"
		       "        config.hook.pytest_deselected(items=drop)\n"
		       "        items[:] = keep\n");
}

/* DIR/tktrace_plan.py, replacing only a file this command wrote. */
static int apply_plugin(const char *dir, const struct tkt_buf *src, char *path, size_t pathsz)
{
	struct stat st;
	char head[sizeof(PLUGIN_MARK)];
	int fd;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		tkt_error("plan: --apply %s: not a directory", dir);
		return -1;
	}
	if ((size_t)snprintf(path, pathsz, "%s/" PLUGIN ".py", dir) >= pathsz) {
		tkt_error("plan: --apply %s: path too long", dir);
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		ssize_t n = read(fd, head, sizeof(head) - 1);
		close(fd);
		if (n != (ssize_t)sizeof(head) - 1 || memcmp(head, PLUGIN_MARK, n)) {
			tkt_error("plan: %s exists and was not written by tktrace plan: not replacing it",
				  path);
			return -1;
		}
	}
	return tkt_cmd_write_out(path, src);
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *e;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &e, 10);
	if (!*s || *e || errno || v > max || s[0] == '-')
		return -1;
	*out = (unsigned)v;
	return 0;
}

int tkt_cmd_plan(int argc, char **argv)
{
	enum { OPT_RECORD = 256, OPT_PER_TEST, OPT_BUDGET, OPT_MARGIN, OPT_MAXW, OPT_SHARDS,
	       OPT_TESTS, OPT_NEW_COST, OPT_NEW_DUR, OPT_LEAK, OPT_APPLY, OPT_JSON };
	static const struct option opts[] = {
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "per-test-file", required_argument, NULL, OPT_PER_TEST },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "margin", required_argument, NULL, OPT_MARGIN },
		{ "max-workers", required_argument, NULL, OPT_MAXW },
		{ "shards", required_argument, NULL, OPT_SHARDS },
		{ "tests", required_argument, NULL, OPT_TESTS },
		{ "new-test-cost", required_argument, NULL, OPT_NEW_COST },
		{ "new-test-duration", required_argument, NULL, OPT_NEW_DUR },
		{ "leak-threshold", required_argument, NULL, OPT_LEAK },
		{ "apply", required_argument, NULL, OPT_APPLY },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tkt_plan_opts po = { .margin_pct = 10, .shards = 1, .new_duration_s = -1,
				    .leak_threshold = 10ULL << 20 };
	struct inputs x = { 0 };
	struct tkt_plan p = { 0 }, all = { 0 };
	struct tkt_plan_part all_part;
	struct outcome oc = { 0 };
	struct tkt_buf out = { 0 }, plugin = { 0 }, suite_buf = { 0 };
	const char *json = NULL, *tests = NULL, *apply = NULL;
	char **suite = NULL, path[4096];
	bool budget_set = false;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int o, li = 0, rc = TKT_EXIT_FAIL;

	po.max_workers = ncpu > 0 ? (unsigned)ncpu : 1;
	tkt_plan_input_init(&x.in);
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
		const char *bad = NULL;
		switch (o) {
		case OPT_RECORD:
			if (add_recording(&x, optarg))
				goto out;
			x.nfiles++;
			break;
		case OPT_PER_TEST:
			if (add_per_test_file(&x, optarg))
				goto out;
			x.nfiles++;
			break;
		case OPT_BUDGET:
			if (tkt_parse_size(optarg, &po.budget) || po.budget < (16u << 20))
				bad = "a size of at least 16M, e.g. 1G";
			budget_set = true;
			break;
		case OPT_MARGIN:
			if (parse_uint(optarg, 90, &po.margin_pct))
				bad = "a percentage from 0 to 90";
			break;
		case OPT_MAXW:
			if (parse_uint(optarg, 1024, &po.max_workers) || !po.max_workers)
				bad = "a number from 1 to 1024";
			break;
		case OPT_SHARDS:
			if (parse_uint(optarg, 256, &po.shards) || !po.shards)
				bad = "a number from 1 to 256";
			break;
		case OPT_TESTS:
			tests = optarg;
			break;
		case OPT_NEW_COST:
			if (tkt_parse_size(optarg, &po.new_cost) || !po.new_cost)
				bad = "a size above 0, e.g. 50M";
			break;
		case OPT_NEW_DUR: {
			char *e;
			po.new_duration_s = strtod(optarg, &e);
			if (!*optarg || *e || !(po.new_duration_s >= 0 && po.new_duration_s < 1e7))
				bad = "seconds, e.g. 2.5";
			break;
		}
		case OPT_LEAK:
			if (tkt_parse_size(optarg, &po.leak_threshold))
				bad = "a size, e.g. 10M";
			break;
		case OPT_APPLY:
			apply = optarg;
			break;
		case OPT_JSON:
			json = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case ':':
			tkt_error("plan: option '%s' needs an argument (see tktrace plan --help)",
				  argv[optind - 1]);
			goto out;
		default:
			tkt_error("plan: unknown option '%s' (see tktrace plan --help)", argv[optind - 1]);
			goto out;
		}
		if (bad) {
			tkt_error("plan: --%s %s: expected %s", opts[li].name, optarg, bad);
			goto out;
		}
	}
	if (optind != argc) {
		tkt_error("plan: unexpected argument '%s': inputs go with --record or --per-test-file",
			  argv[optind]);
		goto out;
	}
	if (!x.nfiles) {
		tkt_error("plan: no input: give --record FILE or --per-test-file FILE (see tktrace plan --help)");
		goto out;
	}
	if ((json && !*json) || (apply && !*apply)) {
		tkt_error("plan: --json and --apply need a name");
		goto out;
	}
	if (!x.in.ntests) {
		tkt_error("plan: the inputs hold no tests (was pytest run under tktrace?)");
		goto out;
	}
	oc.budget_from = "--budget";
	if (!budget_set && x.limit) {
		po.budget = x.limit;
		oc.budget_from = "the recorded memory limit";
	} else if (!budget_set) {
		po.budget = mem_total();
		oc.budget_from = "MemTotal";
		if (!po.budget) {
			tkt_error("plan: cannot read MemTotal from /proc/meminfo: give --budget SIZE");
			goto out;
		}
	}
	if (tests && !(suite = read_suite(tests, &suite_buf)))
		goto out;

	/* The whole suite unsharded first (the top-level options), then the shards. */
	{
		struct tkt_plan_opts one = po;
		one.shards = 1;
		if (tkt_plan_make(&x.in, (const char *const *)suite, &one, &all)) {
			tkt_error("out of memory");
			goto out;
		}
		all_part = all.parts[0];
		if (!(oc.heavy_all = calloc(all.ntests ? all.ntests : 1, sizeof(bool)))) {
			tkt_error("out of memory");
			goto out;
		}
		for (size_t i = 0; i < all.ntests; i++)
			oc.heavy_all[i] = all.tests[i].heavy;
	}
	if (tkt_plan_make(&x.in, (const char *const *)suite, &po, &p)) {
		tkt_error("out of memory");
		goto out;
	}
	oc.all = &all_part;
	oc.apply = apply;
	oc.plugin = apply || po.shards > 1 || all_part.nheavy;
	if (apply) {
		write_plugin(&plugin, &p, &oc);
		if (apply_plugin(apply, &plugin, path, sizeof(path)))
			goto out;
		oc.file = path;
	}
	write_text(&out, &p, &x.in, &oc);
	/* With the JSON on stdout, the text goes to stderr. */
	if (json && !strcmp(json, "-"))
		fputs(out.data ? out.data : "", stderr);
	else if (tkt_cmd_write_out("-", &out))
		goto out;
	if (json) {
		tkt_buf_reset(&out);
		write_json(&out, &p, &x.in, &oc);
		if (tkt_cmd_write_out(json, &out))
			goto out;
	}
	rc = p.fits ? 0 : 1;
out:
	tkt_plan_free(&all);
	tkt_plan_free(&p);
	free(oc.heavy_all);
	free(suite);
	tkt_buf_free(&suite_buf);
	tkt_buf_free(&out);
	tkt_buf_free(&plugin);
	tkt_plan_input_free(&x.in);
	return rc;
}
