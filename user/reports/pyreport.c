/* The Python stacks in the reports: JSON frames, the text report's `at` line (see pyreport.h). */
#include "pyreport.h"

#include <stdio.h>
#include <string.h>
#include "core/pyargs.h"
#include "core/pystack.h"

static bool under(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n && strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Installed code, not the project's: a virtualenv or the interpreter's own library. */
static bool installed(const char *path)
{
	return strstr(path, "/site-packages/") || strstr(path, "/dist-packages/") ||
	       strstr(path, "/lib/python") || path[0] == '<';
}

const struct tkt_pyframe *tkt_py_at_frame(const struct tkt_party *p)
{
	const struct tkt_pystack *s = &p->py;

	if (!s->present || !s->nframes)
		return NULL;
	for (uint32_t i = 0; i < s->nframes; i++) {
		const char *f = s->f[i].file;
		if (s->f[i].line > 0 && !installed(f) && (f[0] != '/' || under(f, p->cwd)))
			return &s->f[i];
	}
	/* pytest --pyargs: the test's own file is an installed one. */
	if (p->attr.test) {
		const struct tkt_pyframe *hit = NULL;
		struct tkt_buf tf = { 0 };

		tkt_test_file(&tf, p->cwd, p->pyargs, p->attr.test);
		for (uint32_t i = 0; tf.data && !hit && i < s->nframes; i++)
			if (s->f[i].line > 0 && strcmp(s->f[i].file, tf.data) == 0)
				hit = &s->f[i];
		tkt_buf_free(&tf);
		if (hit)
			return hit;
	}
	for (uint32_t i = 0; i < s->nframes; i++)
		if (s->f[i].line > 0 && !installed(s->f[i].file))
			return &s->f[i];
	return &s->f[0];
}

const char *tkt_py_rel_path(const struct tkt_party *p, const char *file)
{
	size_t n = p->cwd ? strlen(p->cwd) : 0;

	while (n > 1 && p->cwd[n - 1] == '/')
		n--;
	return under(file, p->cwd) ? file + n + 1 : file;
}

bool tkt_py_source_line(const struct tkt_party *p, const struct tkt_pyframe *f, char *buf,
			size_t sz)
{
	char path[4096];
	int line = 0;
	FILE *fp;

	size_t n = f ? strlen(f->file) : 0;

	/* Only Python sources: a recording's file names are not to be trusted (report as root). */
	if (!f || f->line <= 0 || sz < 2 || n < 3 || strcmp(f->file + n - 3, ".py") != 0)
		return false;
	if (f->file[0] == '/' || !p->cwd)
		snprintf(path, sizeof(path), "%s", f->file);
	else
		snprintf(path, sizeof(path), "%s/%s", p->cwd, f->file);
	fp = fopen(path, "re");
	if (!fp)
		return false;
	while (fgets(buf, (int)sz, fp)) {
		size_t len = strlen(buf);
		bool whole = len && buf[len - 1] == '\n';

		if (whole || feof(fp))
			line++;
		if (line == f->line) {
			char *s = buf;
			fclose(fp);
			buf[strcspn(buf, "\r\n")] = '\0';
			while (*s == ' ' || *s == '\t')
				s++;
			memmove(buf, s, strlen(s) + 1);
			return true;
		}
	}
	fclose(fp);
	return false;
}

static void frame_text(struct tkt_buf *b, const char *label, const struct tkt_party *p,
		       const struct tkt_pyframe *f, bool with_func)
{
	char src[512];

	tkt_buf_printf(b, "  %-8s %s:", label, tkt_py_rel_path(p, f->file));
	if (f->line > 0)
		tkt_buf_printf(b, "%d", f->line);
	else
		tkt_buf_printf(b, "?");
	if (with_func)
		tkt_buf_printf(b, " in %s", f->func);
	if (tkt_py_source_line(p, f, src, sizeof(src)) && src[0])
		tkt_buf_printf(b, "  %s", src);
	tkt_buf_append(b, "\n", 1);
}

/* Why a known process has no stack record. */
static const char *missing(const struct tkt_model *m)
{
	switch (m->o.no_stacks) {
	case TKT_STACKS_NO_LOOP:
		return "no stacks on this kernel (bpf_loop: 5.17+)";
	case TKT_STACKS_REFUSED:
		return "no stacks on this kernel (its verifier refused the stack programs)";
	default:
		return "not captured";
	}
}

void tkt_py_text(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_party *p, bool full)
{
	const struct tkt_pystack *s = &p->py;
	const struct tkt_pyframe *at = tkt_py_at_frame(p);
	char e[64];

	if (!at) {
		/* Only where there was a Python to ask: the reason, with -v. */
		if (full && p->known)
			tkt_buf_printf(b, "  at       (no python stack: %s)\n",
				       s->present ? tkt_py_err_text(s->err, s->version, e, sizeof(e)) :
						    missing(m));
		return;
	}
	frame_text(b, "at", p, at, false);
	if (!full)
		return;
	for (uint32_t i = 0; i < s->nframes; i++)
		frame_text(b, i ? "" : "stack", p, &s->f[i], true);
	if (s->more)
		tkt_buf_printf(b, "           ... (outer frames not captured)\n");
}

void tkt_py_json(struct tkt_json *j, const struct tkt_model *m, const struct tkt_party *p)
{
	const struct tkt_pystack *s = &p->py;
	char e[64];

	if (!s->present || !s->nframes) {
		tkt_json_null(j, "python_stack");
		tkt_json_str(j, "python_stack_error",
			     s->present ? tkt_py_err_text(s->err ? s->err : TKT_PYE_NO_FRAMES,
							  s->version, e, sizeof(e)) :
			     p->known   ? missing(m) :
					  "not a traced process");
		return;
	}
	tkt_json_arr_begin(j, "python_stack");
	for (uint32_t i = 0; i < s->nframes; i++) {
		tkt_json_obj_begin(j, NULL);
		tkt_json_str(j, "file", s->f[i].file);
		if (s->f[i].line > 0)
			tkt_json_int(j, "line", s->f[i].line);
		else
			tkt_json_null(j, "line");
		tkt_json_str(j, "function", s->f[i].func);
		tkt_json_obj_end(j);
	}
	tkt_json_arr_end(j);
	tkt_json_null(j, "python_stack_error");
	tkt_json_uint(j, "python_stack_tid", s->tid);
	tkt_json_double(j, "python_stack_time_s", tkt_model_time_s(m, s->ts_ns), 6);
	tkt_json_bool(j, "python_stack_truncated", s->more);
}
