/* passwd(5) and group(5) parsing for the privilege drop. */
#define _GNU_SOURCE
#include "passwd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

/* Field i (0-based) of the ':'-separated line [s, e): start and length. */
static bool field(const char *s, const char *e, int i, const char **f, size_t *n)
{
	for (; i > 0; i--) {
		const char *c = memchr(s, ':', e - s);
		if (!c)
			return false;
		s = c + 1;
	}
	const char *c = memchr(s, ':', e - s);
	*f = s;
	*n = c ? (size_t)(c - s) : (size_t)(e - s);
	return true;
}

static bool parse_id(const char *f, size_t n, unsigned long *v)
{
	char buf[24], *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, f, n);
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return false;
	*v = strtoul(buf, &end, 10);
	return *end == '\0';
}

bool tkt_passwd_find(const char *text, size_t len, uid_t uid, struct tkt_pwent *pw)
{
	const char *end = text + len;

	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', end - s);
		const char *e = nl ? nl : end;
		const char *f;
		size_t n;
		unsigned long v;

		/* NIS "+" / "-" lines and comments are not entries. */
		if (e > s && *s != '#' && *s != '+' && *s != '-' && field(s, e, 2, &f, &n) &&
		    parse_id(f, n, &v) && v == uid) {
			memset(pw, 0, sizeof(*pw));
			field(s, e, 0, &f, &n);
			if (n == 0 || n >= sizeof(pw->name))
				return false;
			memcpy(pw->name, f, n);
			if (!field(s, e, 3, &f, &n) || !parse_id(f, n, &v))
				return false;
			pw->gid = v;
			if (field(s, e, 5, &f, &n) && n < sizeof(pw->home))
				memcpy(pw->home, f, n);
			if (field(s, e, 6, &f, &n) && n < sizeof(pw->shell))
				memcpy(pw->shell, f, n);
			return true;
		}
		s = nl ? nl + 1 : end;
	}
	return false;
}

static void add_gid(gid_t *gids, int *n, int max, gid_t g)
{
	for (int i = 0; i < *n; i++)
		if (gids[i] == g)
			return;
	if (*n < max)
		gids[(*n)++] = g;
}

int tkt_group_list(const char *text, size_t len, const char *user, gid_t gid, gid_t *gids, int max)
{
	const char *end = text + len;
	size_t ul = strlen(user);
	int n = 0;

	add_gid(gids, &n, max, gid);
	for (const char *s = text; s < end;) {
		const char *nl = memchr(s, '\n', end - s);
		const char *e = nl ? nl : end;
		const char *f, *m;
		size_t fn;
		unsigned long v;

		if (e > s && *s != '#' && *s != '+' && *s != '-' && field(s, e, 2, &f, &fn) &&
		    parse_id(f, fn, &v) && field(s, e, 3, &m, &fn)) {
			/* members: "a,b,c" */
			for (const char *p = m; p < m + fn;) {
				const char *c = memchr(p, ',', m + fn - p);
				const char *pe = c ? c : m + fn;
				if ((size_t)(pe - p) == ul && strncmp(p, user, ul) == 0)
					add_gid(gids, &n, max, v);
				p = pe + 1;
			}
		}
		s = nl ? nl + 1 : end;
	}
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len + 4096 > cap) {
			char *p;
			cap = cap ? cap * 2 : 16384;
			if (cap > (64u << 20) || !(p = realloc(buf, cap))) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	return buf;
}

int tkt_files_user(const char *passwd_path, uid_t uid, struct tkt_pwent *pw)
{
	size_t len;
	char *t = slurp(passwd_path, &len);
	bool ok;

	if (!t)
		return -errno;
	ok = tkt_passwd_find(t, len, uid, pw);
	free(t);
	return ok ? 0 : -ENOENT;
}

int tkt_files_groups(const char *group_path, const char *user, gid_t gid, gid_t *gids, int max)
{
	size_t len;
	char *t = slurp(group_path, &len);
	int n;

	if (!t) {
		gids[0] = gid;
		return 1;
	}
	n = tkt_group_list(t, len, user, gid, gids, max);
	free(t);
	return n;
}

bool tkt_is_static(void)
{
	/* AT_BASE is where the dynamic loader was mapped: 0 when there is none. */
	return getauxval(AT_BASE) == 0;
}
