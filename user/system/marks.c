/* Markers from test sources: decorators above the def or class, and module pytestmark. */
#define _GNU_SOURCE
#include "marks.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/pyargs.h"
#include "safeopen.h"

/* Name of the function (last "::" part, parameters cut) and of its innermost class. */
static void split_nodeid(const char *nodeid, char *func, size_t fsz, char *cls, size_t csz)
{
	const char *last = NULL, *prev = NULL, *p = nodeid;
	const char *br = strchr(nodeid, '[');

	while ((p = strstr(p, "::")) && (!br || p < br)) {
		prev = last;
		last = p;
		p += 2;
	}
	func[0] = cls[0] = '\0';
	if (!last)
		return;
	size_t n = br ? (size_t)(br - (last + 2)) : strlen(last + 2);
	snprintf(func, fsz, "%.*s", (int)n, last + 2);
	if (prev)
		snprintf(cls, csz, "%.*s", (int)(last - (prev + 2)), prev + 2);
}

/* Start of the line that defines "def name" / "class name", or NULL. */
static const char *find_def(const char *src, size_t len, const char *kw, const char *name)
{
	size_t nl = strlen(name), kl = strlen(kw);

	for (const char *line = src; line && line < src + len;) {
		const char *s = line;
		while (s < src + len && (*s == ' ' || *s == '\t'))
			s++;
		if (strncmp(s, "async ", 6) == 0 && strcmp(kw, "def") == 0)
			s += 6;
		if ((size_t)(src + len - s) > kl + nl && strncmp(s, kw, kl) == 0 && s[kl] == ' ') {
			const char *q = s + kl;
			while (*q == ' ')
				q++;
			if (strncmp(q, name, nl) == 0 && !(isalnum((unsigned char)q[nl]) || q[nl] == '_'))
				return line;
		}
		const char *e = memchr(line, '\n', src + len - line);
		line = e ? e + 1 : NULL;
	}
	return NULL;
}

/* marker as a whole word (memory_intensive, not memory_intensive_gpu). */
static bool has_word(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = s; (p = memmem(p, s + n - p, word, wl)); p++) {
		bool before = p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = p + wl < s + n && (isalnum((unsigned char)p[wl]) || p[wl] == '_');
		if (!before && !after)
			return true;
	}
	return false;
}

/* Do the decorator lines right above line mention marker? */
static bool decorated(const char *src, const char *line, const char *marker)
{
	const char *end = line;

	/* Walk up line by line while lines are decorators or their continuations. */
	for (int i = 0; i < 50 && end > src; i++) {
		const char *start = end - 1;
		while (start > src && start[-1] != '\n')
			start--;
		const char *s = start;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= end - 1 || (end - s > 3 && (strncmp(s, "def ", 4) == 0 || strncmp(s, "class ", 6) == 0)))
			break;
		if (has_word(start, end - start, marker))
			return true;
		end = start;
	}
	return false;
}

/* The def line of the test: inside its class when the node id names one. */
static const char *test_def(const char *src, size_t len, const char *func, const char *cls)
{
	const char *def = find_def(src, len, "def", func);

	if (def && cls[0]) {
		/* Class::test: the method of that class, not a namesake before it. */
		const char *c = find_def(src, len, "class", cls);
		const char *in = c ? find_def(c, src + len - c, "def", func) : NULL;
		if (in)
			def = in;
	}
	return def;
}

int tkt_marker_in_source(const char *src, size_t len, const char *nodeid, const char *marker)
{
	char func[512], cls[512];
	const char *def;

	split_nodeid(nodeid, func, sizeof(func), cls, sizeof(cls));
	if (!func[0])
		return -1;
	def = test_def(src, len, func, cls);
	if (!def)
		return -1;
	if (decorated(src, def, marker))
		return 1;
	if (cls[0]) {
		const char *c = find_def(src, len, "class", cls);
		if (c && decorated(src, c, marker))
			return 1;
	}
	/* pytestmark = [pytest.mark.memory_intensive, ...] at module level. */
	for (const char *p = src; (p = memmem(p, src + len - p, "pytestmark", 10)); p += 10) {
		const char *eol = memchr(p, '\n', src + len - p);
		const char *e = eol ? eol : src + len;
		/* pytestmark = [ ... ] over several lines: up to the closing bracket. */
		const char *open = memchr(p, '[', e - p);
		if (!open)
			open = memchr(p, '(', e - p);
		if (open) {
			int depth = 0;
			for (e = open; e < src + len; e++) {
				if (*e == '[' || *e == '(')
					depth++;
				else if ((*e == ']' || *e == ')') && --depth == 0)
					break;
			}
		}
		if (has_word(p, e - p, marker))
			return 1;
	}
	return 0;
}

unsigned tkt_def_line_in_source(const char *src, size_t len, const char *nodeid)
{
	char func[512], cls[512];
	const char *def;
	unsigned line = 1;

	split_nodeid(nodeid, func, sizeof(func), cls, sizeof(cls));
	if (!func[0] || !(def = test_def(src, len, func, cls)))
		return 0;
	for (const char *p = src; p < def; p++)
		line += *p == '\n';
	return line;
}

/* The test file of nodeid, relative to dir (or its --pyargs root), read whole (at most
 * 8 MiB); NULL on failure. */
static char *read_test_file(const char *dir, const char *pyargs, const char *nodeid, size_t *lenp)
{
	struct tkt_buf path = { 0 };
	char *src = NULL;
	size_t len = 0, cap = 0, n;
	char why[128];
	FILE *f;
	int fd;

	if (!strstr(nodeid, "::"))
		return NULL;
	tkt_test_file(&path, dir ? dir : ".", pyargs, nodeid);
	/* Read as root from a tree the suite controls: a FIFO planted there must not hang us. */
	fd = path.data ? tkt_open_regular(path.data, O_RDONLY, 0, NULL, why, sizeof(why)) : -1;
	tkt_buf_free(&path);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *p;
			cap = cap ? cap * 2 : 65536;
			if (cap > (8u << 20) || !(p = realloc(src, cap + 1)))
				break;
			src = p;
		}
		n = fread(src + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (src)
		src[len] = '\0';
	*lenp = len;
	return src;
}

int tkt_test_marked(const char *dir, const char *pyargs, const char *nodeid, const char *marker)
{
	size_t len;
	char *src = read_test_file(dir, pyargs, nodeid, &len);
	int r;

	if (!src)
		return -1;
	r = tkt_marker_in_source(src, len, nodeid, marker);
	free(src);
	return r;
}

unsigned tkt_test_def_line(const char *dir, const char *pyargs, const char *nodeid)
{
	size_t len;
	char *src = read_test_file(dir, pyargs, nodeid, &len);
	unsigned line;

	if (!src)
		return 0;
	line = tkt_def_line_in_source(src, len, nodeid);
	free(src);
	return line;
}

bool tkt_find_rootdir(const char *cwd, const char *nodeid, char *out, size_t outsz)
{
	const char *sep = strstr(nodeid, "::");
	size_t flen = sep ? (size_t)(sep - nodeid) : strlen(nodeid);
	char dir[4096], path[8192];
	struct stat st;

	if (!cwd || cwd[0] != '/' || !flen || nodeid[0] == '/' || strlen(cwd) >= sizeof(dir))
		return false;
	strcpy(dir, cwd);
	for (;;) {
		size_t n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			dir[--n] = '\0';
		snprintf(path, sizeof(path), "%s/%.*s", n == 1 ? "" : dir, (int)flen, nodeid);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (n >= outsz)
				return false;
			memcpy(out, dir, n + 1);
			return true;
		}
		if (n == 1)
			return false;
		char *slash = strrchr(dir, '/');
		if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
}
