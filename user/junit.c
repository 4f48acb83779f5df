/* --junitxml-merge: the kill explanation in pytest's JUnit XML. A small scanner, not an XML
 * library: it finds <testcase> elements by pytest's classname/name and inserts text; the rest
 * of the file is copied byte for byte. */
#define _GNU_SOURCE
#include "junit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safeopen.h"

static void put(struct tkt_buf *b, const char *s)
{
	tkt_buf_append(b, s, strlen(s));
}

void tkt_xml_escape(struct tkt_buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;
		switch (c) {
		case '&':
			put(b, "&amp;");
			break;
		case '<':
			put(b, "&lt;");
			break;
		case '>':
			put(b, "&gt;");
			break;
		case '"':
			put(b, "&quot;");
			break;
		default:
			/* XML 1.0 allows no other control characters, not even escaped. */
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				put(b, "?");
			else
				tkt_buf_append(b, s, 1);
		}
	}
}

void tkt_junit_names(const char *nodeid, struct tkt_buf *classname, struct tkt_buf *name)
{
	/* pytest's mangle_test_address: params stay with the name, the file becomes dotted. */
	const char *br = strchr(nodeid, '[');
	const char *end = br ? br : nodeid + strlen(nodeid);
	const char *last = NULL, *first = NULL;

	for (const char *p = nodeid; (p = strstr(p, "::")) && p < end; p += 2) {
		if (!first)
			first = p;
		last = p;
	}
	if (!last) { /* a module (collection error): classname empty, name the dotted path */
		first = last = nodeid + strlen(nodeid);
	}
	size_t flen = first - nodeid;
	if (flen >= 3 && strncmp(first - 3, ".py", 3) == 0)
		flen -= 3;
	for (size_t i = 0; i < flen; i++)
		tkt_buf_append(classname, nodeid[i] == '/' ? "." : &nodeid[i], 1);
	/* Classes between the file and the function, joined by dots. */
	for (const char *p = first; p < last;) {
		const char *q = strstr(p + 2, "::");
		put(classname, ".");
		tkt_buf_append(classname, p + 2, q - p - 2);
		p = q;
	}
	if (*last)
		tkt_buf_append(name, last + 2, strlen(last + 2));
	if (!name->data)
		put(name, "");
	if (!classname->data)
		put(classname, "");
}

/* Decode the value of attribute attr in the start tag [tag, tag_end) into out; false if absent. */
static bool attr_value(const char *tag, const char *tag_end, const char *attr, struct tkt_buf *out)
{
	size_t al = strlen(attr);

	tkt_buf_reset(out);
	for (const char *p = tag + 1; p + al + 2 < tag_end; p++) {
		if ((p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\n' && p[-1] != '\r') ||
		    strncmp(p, attr, al) != 0)
			continue;
		const char *q = p + al;
		while (q < tag_end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
			q++;
		if (q >= tag_end || *q != '=')
			continue;
		q++;
		while (q < tag_end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
			q++;
		if (q >= tag_end || (*q != '"' && *q != '\''))
			continue;
		char quote = *q++;
		const char *e = memchr(q, quote, tag_end - q);
		if (!e)
			return false;
		while (q < e) {
			static const struct { const char *ent; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&apos;", '\'' },
			};
			bool done = false;
			for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]) && *q == '&'; k++) {
				size_t n = strlen(ents[k].ent);
				if ((size_t)(e - q) >= n && strncmp(q, ents[k].ent, n) == 0) {
					tkt_buf_append(out, &ents[k].c, 1);
					q += n;
					done = true;
					break;
				}
			}
			if (!done && *q == '&' && q + 2 < e && q[1] == '#') {
				char *stop;
				unsigned long cp = q[2] == 'x' ? strtoul(q + 3, &stop, 16) : strtoul(q + 2, &stop, 10);
				if (stop < e && *stop == ';' && cp > 0 && cp < 0x110000) {
					char u[4];
					size_t n;
					if (cp < 0x80) {
						u[0] = cp;
						n = 1;
					} else if (cp < 0x800) {
						u[0] = 0xc0 | cp >> 6;
						u[1] = 0x80 | (cp & 0x3f);
						n = 2;
					} else if (cp < 0x10000) {
						u[0] = 0xe0 | cp >> 12;
						u[1] = 0x80 | (cp >> 6 & 0x3f);
						u[2] = 0x80 | (cp & 0x3f);
						n = 3;
					} else {
						u[0] = 0xf0 | cp >> 18;
						u[1] = 0x80 | (cp >> 12 & 0x3f);
						u[2] = 0x80 | (cp >> 6 & 0x3f);
						u[3] = 0x80 | (cp & 0x3f);
						n = 4;
					}
					tkt_buf_append(out, u, n);
					q = stop + 1;
					done = true;
				}
			}
			if (!done)
				tkt_buf_append(out, q++, 1);
		}
		if (!out->data)
			put(out, "");
		return true;
	}
	return false;
}

/* Next start tag named name at or after p (outside comments, CDATA, declarations): sets
 * *tag_end to its '>' and returns its '<', or NULL. */
static const char *next_tag(const char *p, const char *end, const char *name, const char **tag_end)
{
	size_t nl = strlen(name);

	while (p < end && (p = memchr(p, '<', end - p))) {
		if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
			const char *c = memmem(p, end - p, "-->", 3);
			if (!c)
				return NULL;
			p = c + 3;
			continue;
		}
		if (end - p >= 9 && strncmp(p, "<![CDATA[", 9) == 0) {
			const char *c = memmem(p, end - p, "]]>", 3);
			if (!c)
				return NULL;
			p = c + 3;
			continue;
		}
		if ((size_t)(end - p) > nl + 1 && strncmp(p + 1, name, nl) == 0 &&
		    strchr(" \t\r\n/>", p[1 + nl])) {
			/* '>' of the tag: outside quoted attribute values. */
			char quote = 0;
			for (const char *q = p + 1 + nl; q < end; q++) {
				if (quote) {
					if (*q == quote)
						quote = 0;
				} else if (*q == '"' || *q == '\'') {
					quote = *q;
				} else if (*q == '>') {
					*tag_end = q;
					return p;
				}
			}
			return NULL;
		}
		p++;
	}
	return NULL;
}

/* Position of the closing tag "</name>" from p on, outside comments and CDATA; or NULL. */
static const char *close_tag(const char *p, const char *end, const char *name)
{
	size_t nl = strlen(name);

	while (p < end && (p = memchr(p, '<', end - p))) {
		if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
			const char *c = memmem(p, end - p, "-->", 3);
			if (!c)
				return NULL;
			p = c + 3;
			continue;
		}
		if (end - p >= 9 && strncmp(p, "<![CDATA[", 9) == 0) {
			const char *c = memmem(p, end - p, "]]>", 3);
			if (!c)
				return NULL;
			p = c + 3;
			continue;
		}
		if ((size_t)(end - p) >= nl + 3 && p[1] == '/' && strncmp(p + 2, name, nl) == 0 &&
		    strchr(" \t\r\n>", p[2 + nl]))
			return p;
		p++;
	}
	return NULL;
}

/* Find the <testcase> of nodeid: its '<', the '>' of its start tag, and its "</testcase>" (or
 * NULL when self-closing). */
static const char *find_case(const char *xml, const char *end, const char *nodeid,
			     const char **tag_end, const char **close)
{
	struct tkt_buf cls = { 0 }, name = { 0 }, v = { 0 };
	const char *p = xml, *t, *te, *found = NULL;

	tkt_junit_names(nodeid, &cls, &name);
	while ((t = next_tag(p, end, "testcase", &te))) {
		bool ok = attr_value(t, te, "name", &v) && strcmp(v.data, name.data) == 0;
		if (ok)
			ok = attr_value(t, te, "classname", &v) && strcmp(v.data, cls.data) == 0;
		if (ok) {
			found = t;
			*tag_end = te;
			*close = te[-1] == '/' ? NULL : close_tag(te + 1, end, "testcase");
			break;
		}
		p = te + 1;
	}
	tkt_buf_free(&cls);
	tkt_buf_free(&name);
	tkt_buf_free(&v);
	return found;
}

static void testcase_xml(struct tkt_buf *b, const struct tkt_junit_kill *k)
{
	struct tkt_buf cls = { 0 }, name = { 0 };

	tkt_junit_names(k->nodeid, &cls, &name);
	put(b, "<testcase classname=\"");
	tkt_xml_escape(b, cls.data);
	put(b, "\" name=\"");
	tkt_xml_escape(b, name.data);
	put(b, "\" time=\"0\"><error message=\"");
	tkt_xml_escape(b, k->message);
	put(b, "\">");
	tkt_xml_escape(b, k->details);
	put(b, "</error></testcase>");
	tkt_buf_free(&cls);
	tkt_buf_free(&name);
}

/* Add n to the integer attribute attr of the start tag [tag, tag_end), copying it to out. */
static void copy_tag_bumped(struct tkt_buf *out, const char *tag, const char *tag_end,
			    const char *attr1, const char *attr2, unsigned n)
{
	const char *p = tag;
	size_t a1 = strlen(attr1), a2 = strlen(attr2);

	while (p < tag_end) {
		const char *q = p;
		size_t al = 0;
		/* " errors=\"" at q? */
		if (q > tag && q[-1] == ' ') {
			if (strncmp(q, attr1, a1) == 0 && strncmp(q + a1, "=\"", 2) == 0)
				al = a1;
			else if (strncmp(q, attr2, a2) == 0 && strncmp(q + a2, "=\"", 2) == 0)
				al = a2;
		}
		if (al) {
			char *stop;
			unsigned long v = strtoul(q + al + 2, &stop, 10);
			if (stop > q + al + 2 && *stop == '"') {
				tkt_buf_append(out, q, al + 2);
				tkt_buf_printf(out, "%lu", v + n);
				p = stop;
				continue;
			}
		}
		tkt_buf_append(out, p, 1);
		p++;
	}
}

int tkt_junit_merge(struct tkt_buf *out, const char *xml, size_t len,
		    const struct tkt_junit_kill *kills, size_t nkills, size_t *added)
{
	struct tkt_buf cur = { 0 }, next = { 0 }, missing = { 0 };
	unsigned nmissing = 0;
	const char *t, *te, *cl;

	*added = 0;
	tkt_buf_append(&cur, xml, len);
	if (!cur.data)
		put(&cur, "");
	for (size_t i = 0; i < nkills; i++) {
		const char *s = cur.data, *end = cur.data + cur.len;
		const struct tkt_junit_kill *k = &kills[i];
		const char *ins, *fe;

		tkt_buf_reset(&next);
		t = find_case(s, end, k->nodeid, &te, &cl);
		if (!t) {
			testcase_xml(&missing, k);
			nmissing++;
			continue;
		}
		if (!cl) { /* <testcase .../>: open it to hold an error */
			tkt_buf_append(&next, s, te - 1 - s);
			put(&next, "><error message=\"");
			tkt_xml_escape(&next, k->message);
			put(&next, "\">");
			tkt_xml_escape(&next, k->details);
			put(&next, "</error></testcase>");
			tkt_buf_append(&next, te + 1, end - te - 1);
		} else if ((ins = next_tag(te + 1, cl, "failure", &fe)) ||
			   (ins = next_tag(te + 1, cl, "error", &fe))) {
			/* The explanation first in the failure's text (xdist: "worker crashed"). */
			bool self = fe[-1] == '/';
			tkt_buf_append(&next, s, (self ? fe - 1 : fe) - s);
			put(&next, ">");
			tkt_xml_escape(&next, k->message);
			put(&next, "\n");
			tkt_xml_escape(&next, k->details);
			put(&next, "\n");
			if (self) {
				const char *nm = strncmp(ins + 1, "failure", 7) == 0 ? "failure" : "error";
				tkt_buf_printf(&next, "</%s>", nm);
			}
			tkt_buf_append(&next, fe + 1, end - fe - 1);
		} else {
			tkt_buf_append(&next, s, cl - s);
			put(&next, "<error message=\"");
			tkt_xml_escape(&next, k->message);
			put(&next, "\">");
			tkt_xml_escape(&next, k->details);
			put(&next, "</error>");
			tkt_buf_append(&next, cl, end - cl);
		}
		(*added)++;
		struct tkt_buf swap = cur;
		cur = next;
		next = swap;
	}
	if (nmissing) {
		/* Tests pytest did not record: new cases at the end of the first suite. */
		const char *s = cur.data, *end = cur.data + cur.len;
		const char *st = next_tag(s, end, "testsuite", &te);
		const char *sc = st && te[-1] != '/' ? close_tag(te + 1, end, "testsuite") : NULL;
		tkt_buf_reset(&next);
		if (!sc) {
			tkt_buf_free(&cur);
			tkt_buf_free(&next);
			tkt_buf_free(&missing);
			return -EINVAL;
		}
		tkt_buf_append(&next, s, st - s);
		copy_tag_bumped(&next, st, te + 1, "errors", "tests", nmissing);
		tkt_buf_append(&next, te + 1, sc - te - 1);
		tkt_buf_append(&next, missing.data, missing.len);
		tkt_buf_append(&next, sc, end - sc);
		*added += nmissing;
		struct tkt_buf swap = cur;
		cur = next;
		next = swap;
	}
	tkt_buf_append(out, cur.data, cur.len);
	tkt_buf_free(&cur);
	tkt_buf_free(&next);
	tkt_buf_free(&missing);
	return 0;
}

int tkt_junit_minimal(struct tkt_buf *out, const struct tkt_junit_kill *kills, size_t nkills,
		      double duration_s)
{
	tkt_buf_printf(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			    "<!-- written by tktrace: pytest was killed before it wrote its JUnit XML -->\n"
			    "<testsuites><testsuite name=\"pytest\" errors=\"%zu\" failures=\"0\" "
			    "skipped=\"0\" tests=\"%zu\" time=\"%.3f\">",
		       nkills, nkills, duration_s);
	for (size_t i = 0; i < nkills; i++)
		testcase_xml(out, &kills[i]);
	put(out, "</testsuite></testsuites>\n");
	return 0;
}

/* Read path (no links followed, a regular file of ours) whole; -ENOENT when absent, else
 * why not in err. */
static int read_file(const char *path, struct tkt_buf *b, struct stat *st,
		     const struct tkt_junit_io *io, char *err, size_t errsz)
{
	const struct tkt_open_check chk = { .owned = true, .also_uid_ok = io->chown,
					    .also_uid = io->uid };
	int fd = tkt_open_regular(path, O_RDONLY | O_NOFOLLOW, 0, &chk, err, errsz);
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return fd;
	if (fstat(fd, st)) {
		int e = -errno;
		snprintf(err, errsz, "%s", strerror(-e));
		close(fd);
		return e;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			snprintf(err, errsz, "%s", strerror(-e));
			close(fd);
			return e;
		}
		tkt_buf_append(b, chunk, n);
	}
	close(fd);
	if (!b->data)
		put(b, "");
	return 0;
}

int tkt_junit_merge_file(const char *path, const struct tkt_junit_kill *kills, size_t nkills,
			 const struct tkt_junit_io *io, char *err, size_t errsz)
{
	struct tkt_buf in = { 0 }, out = { 0 };
	struct stat st;
	char tmp[4096] = "";
	const char *slash = strrchr(path, '/');
	size_t added = 0;
	int r, fd = -1;
	bool fresh;
	char why[128] = "";

	r = read_file(path, &in, &st, io, why, sizeof(why));
	if (r && r != -ENOENT) {
		snprintf(err, errsz, "cannot merge into %s: %s", path, why);
		goto out;
	}
	/* A file older than this run is a previous run's: pytest did not write one this time. */
	fresh = r == 0 && st.st_mtime >= io->started && in.len > 0;
	if (!nkills) {
		r = 0;
		goto out;
	}
	if (fresh && tkt_junit_merge(&out, in.data, in.len, kills, nkills, &added) == 0) {
		/* merged */
	} else {
		if (fresh)
			tkt_debug("%s: no <testsuite> to add to: writing a new file", path);
		tkt_buf_reset(&out);
		tkt_junit_minimal(&out, kills, nkills, io->duration_s);
	}
	/* The temporary file in the same directory, so that rename() replaces atomically. */
	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.tktrace-XXXXXX", (int)(slash - path), path, slash + 1);
	else
		snprintf(tmp, sizeof(tmp), ".%s.tktrace-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errsz, "cannot write next to %s: %s", path, strerror(errno));
		goto out;
	}
	/* Same owner and mode as the file pytest wrote; else the invoking user's. */
	if (r == 0) {
		if (fchown(fd, st.st_uid, st.st_gid) || fchmod(fd, st.st_mode & 07777))
			tkt_debug("cannot keep the owner of %s: %s", path, strerror(errno));
	} else {
		if ((io->chown && fchown(fd, io->uid, io->gid)) || fchmod(fd, 0644))
			tkt_debug("cannot set the owner of %s: %s", path, strerror(errno));
	}
	for (size_t off = 0; off < out.len;) {
		ssize_t n = write(fd, out.data + off, out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errsz, "writing %s failed: %s", tmp, strerror(errno));
			goto out;
		}
		off += n;
	}
	if (fsync(fd) && errno != EINVAL && errno != EROFS) {
		r = -errno;
		snprintf(err, errsz, "writing %s failed: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path)) {
		r = -errno;
		snprintf(err, errsz, "cannot replace %s: %s", path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r && tmp[0] && !strstr(tmp, "XXXXXX"))
		unlink(tmp); /* our own temporary file, never the target */
	tkt_buf_free(&in);
	tkt_buf_free(&out);
	return r;
}
