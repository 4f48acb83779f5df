/* The files tktrace writes for the user after a run. */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "reports/gha.h"
#include "junit_file.h"
#include "system/marks.h"
#include "system/safeopen.h"
#include "core/util.h"

int tkt_output_open(const char *path, const struct tkt_creds *creds, char *err, size_t errsz)
{
	/* No link followed, no FIFO, nothing someone else planted (another user's file, a hard
	 * link): tkt_open_regular checks before anything is truncated. */
	struct tkt_open_check chk = { .owned = true, .also_uid_ok = creds->drop,
				      .also_uid = creds->uid };
	char why[128];
	int fd;

	if (strcmp(path, "-") == 0) { /* after COMMAND's own output */
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			snprintf(err, errsz, "cannot write the report to stdout: %s", strerror(errno));
		return fd;
	}
	fd = tkt_open_regular(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0644, &chk, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, errsz, "%s %s: %s",
			 fd == -EPERM ? "refusing to overwrite" : "cannot write", path, why);
		return -1;
	}
	if (ftruncate(fd, 0)) {
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Leave no root-owned file in the invoking user's tree. */
	if (creds->drop && fchown(fd, creds->uid, creds->gid))
		tkt_debug("cannot give %s to uid %u: %s", path, creds->uid, strerror(errno));
	return fd;
}

int tkt_output_open_checked(const char *path, const struct tkt_creds *creds)
{
	char err[512];
	int fd = tkt_output_open(path, creds, err, sizeof(err));

	if (fd < 0)
		tkt_error("%s", err);
	return fd;
}

static unsigned def_line(const char *cwd, const char *pyargs, const char *nodeid)
{
	return tkt_test_def_line(cwd, pyargs, nodeid);
}

/* The path comes from the environment and we may be root: append only to a regular file
 * with no other links, never block on a FIFO, and give the invoking user only a file this
 * run created. */
static int open_summary(const char *path, const struct tkt_creds *creds)
{
	const int fl = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	bool created = true;
	struct stat st;
	int fd = open(path, fl | O_CREAT | O_EXCL, 0644);

	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(path, fl);
	}
	if (fd < 0) {
		tkt_error("cannot append to GITHUB_STEP_SUMMARY %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
		tkt_error("cannot append to GITHUB_STEP_SUMMARY %s: not a regular file of its own",
			  path);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (created && creds->drop && fchown(fd, creds->uid, creds->gid))
		tkt_debug("cannot give %s to uid %u: %s", path, creds->uid, strerror(errno));
	return fd;
}

void tkt_github_outputs(const struct tkt_model *m, const struct tkt_run *run,
			   const struct tkt_cli *cli, const struct tkt_creds *creds)
{
	const char *ga = getenv("GITHUB_ACTIONS"), *sum = getenv("GITHUB_STEP_SUMMARY");
	struct tkt_gha_opts o = {
		.workspace = getenv("GITHUB_WORKSPACE"),
		.top = cli->top >= 0 ? cli->top : 5,
		.def_line = def_line,
	};
	struct tkt_buf b = { 0 };
	int fd;

	if (!ga || strcmp(ga, "true"))
		return;
	/* A command must start a line: COMMAND may have left its last one unfinished. */
	tkt_buf_append(&b, "\n", 1);
	tkt_gha_annotations(&b, m, run, &o);
	if (b.len > 1) {
		fflush(stdout);
		if (tkt_write_all(STDOUT_FILENO, b.data, b.len))
			tkt_debug("cannot write annotations: %s", strerror(errno));
	}
	if (!sum || !*sum || (cli->quiet && !m->nooms && !m->nkills && !m->nwarnings))
		goto out;
	tkt_buf_reset(&b);
	tkt_gha_summary(&b, m, run, &o);
	fd = open_summary(sum, creds);
	if (fd < 0)
		goto out;
	if (tkt_write_all(fd, b.data, b.len))
		tkt_error("writing GITHUB_STEP_SUMMARY %s failed: %s", sum, strerror(errno));
	close(fd);
out:
	tkt_buf_free(&b);
}

int tkt_junit_outputs(const struct tkt_model *m, const struct tkt_run *run,
			 const struct tkt_cli *cli, const struct tkt_creds *creds, time_t started)
{
	size_t cap = m->nooms + m->nkills, n = 0;
	struct tkt_junit_kill *k = calloc(cap ? cap : 1, sizeof(*k));
	char (*msgs)[512] = calloc(cap ? cap : 1, sizeof(*msgs));
	struct tkt_junit_io io = {
		.started = started,
		.duration_s = run->duration_s,
		.chown = creds->drop,
		.uid = creds->uid,
		.gid = creds->gid,
	};
	struct tkt_buf *sec = calloc(cap ? cap : 1, sizeof(*sec));
	char err[512];
	int r = 0;

	if (!k || !msgs || !sec) {
		free(k);
		free(msgs);
		free(sec);
		tkt_error("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nooms + m->nkills; i++) {
		const struct tkt_party *p = i < m->nooms ? &m->ooms[i].victim :
							   &m->kills[i - m->nooms].target;
		const char *ph = tkt_phase_name(p->attr.phase);
		bool dup = false;

		if (!p->attr.test)
			continue;
		if (i >= m->nooms && !tkt_kill_fails_test(&m->kills[i - m->nooms]))
			continue; /* a test that kills its own subprocess passes */
		for (size_t j = 0; j < n; j++)
			dup |= strcmp(k[j].nodeid, p->attr.test) == 0;
		if (dup)
			continue;
		if (i < m->nooms)
			snprintf(msgs[n], sizeof(msgs[n]),
				 "tktrace: killed by the OOM killer in its %s phase%s%s (pid %u)",
				 ph ? ph : "?", p->attr.worker ? " on worker " : "",
				 p->attr.worker ? p->attr.worker : "", p->pid);
		else
			snprintf(msgs[n], sizeof(msgs[n]),
				 "tktrace: killed by SIGKILL from pid %u (%s) in its %s phase (pid %u)",
				 m->kills[i - m->nooms].sender_pid, m->kills[i - m->nooms].sender_comm,
				 ph ? ph : "?", p->pid);
		k[n].nodeid = p->attr.test;
		k[n].message = msgs[n];
		/* Its own kill's section of the text report, not the whole report per test. */
		if (i < m->nooms)
			tkt_report_oom_text(&sec[n], m, i);
		else
			tkt_report_kill_text(&sec[n], m, i - m->nooms);
		k[n].details = sec[n].data ? sec[n].data : "";
		n++;
	}
	if (tkt_junit_merge_file(cli->junit_path, k, n, &io, err, sizeof(err))) {
		tkt_error("--junitxml-merge: %s", err);
		r = -EIO;
	}
	for (size_t j = 0; j < n; j++)
		tkt_buf_free(&sec[j]);
	free(sec);
	free(k);
	free(msgs);
	return r;
}

struct verdict {
	char *key; /* classname '\n' name */
	enum tkt_outcome outcome;
};

struct verdicts {
	struct verdict *v;
	size_t n, cap;
};

static void verdict_add(void *ctx, const char *cls, const char *name, enum tkt_outcome o)
{
	struct verdicts *vs = ctx;
	struct tkt_buf k = { 0 };

	if (vs->n == vs->cap) {
		size_t ncap = vs->cap ? vs->cap * 2 : 256;
		struct verdict *n = realloc(vs->v, ncap * sizeof(*n));
		if (!n)
			return;
		vs->v = n;
		vs->cap = ncap;
	}
	tkt_buf_printf(&k, "%s\n%s", cls, name);
	if (k.data)
		vs->v[vs->n++] = (struct verdict){ .key = k.data, .outcome = o };
}

static int verdict_cmp(const void *a, const void *b)
{
	return strcmp(((const struct verdict *)a)->key, ((const struct verdict *)b)->key);
}

void tkt_outcomes_from_junit(struct tkt_model *m, time_t started)
{
	struct verdicts vs = { 0 };
	struct tkt_buf cls = { 0 }, name = { 0 }, key = { 0 };

	for (size_t i = 0; i < m->njunitxml; i++) {
		struct tkt_buf xml = { 0 };
		char why[128], chunk[65536];
		struct stat st;
		ssize_t n;
		/* A FIFO or device planted there must not hang or feed us. */
		int fd = tkt_open_regular(m->junitxml[i], O_RDONLY | O_NOFOLLOW, 0, NULL, why,
					  sizeof(why));
		if (fd < 0)
			continue;
		/* Older than the run: pytest was killed before writing it; not this run's. */
		if (fstat(fd, &st) == 0 && st.st_mtime >= started)
			while ((n = read(fd, chunk, sizeof(chunk))) > 0 && xml.len < (256u << 20))
				tkt_buf_append(&xml, chunk, n);
		close(fd);
		if (xml.data)
			tkt_junit_outcomes(xml.data, xml.len, verdict_add, &vs);
		tkt_buf_free(&xml);
	}
	qsort(vs.v, vs.n, sizeof(*vs.v), verdict_cmp);
	for (size_t i = 0; vs.n && i < m->ntests; i++) {
		struct tkt_test_rec *t = &m->tests[i];
		struct verdict q, *hit;
		/* Killed (and interrupted) say more than what pytest wrote about them. */
		if (t->outcome != TKT_OUTCOME_COMPLETED)
			continue;
		tkt_buf_reset(&cls); /* tkt_junit_names appends */
		tkt_buf_reset(&name);
		tkt_junit_names(t->nodeid, &cls, &name);
		tkt_buf_reset(&key);
		tkt_buf_printf(&key, "%s\n%s", cls.data ? cls.data : "", name.data ? name.data : "");
		q.key = key.data;
		if (q.key && (hit = bsearch(&q, vs.v, vs.n, sizeof(*vs.v), verdict_cmp)))
			t->outcome = hit->outcome;
	}
	for (size_t i = 0; i < vs.n; i++)
		free(vs.v[i].key);
	free(vs.v);
	tkt_buf_free(&cls);
	tkt_buf_free(&name);
	tkt_buf_free(&key);
}
