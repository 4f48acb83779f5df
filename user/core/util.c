/* Small helpers shared by the user-space modules. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum tkt_log_level log_level = TKT_LOG_WARN;
static bool live_tty;

/* While COMMAND runs, its output may have left a terminal's cursor mid-line (pytest -v
 * prints a node id, then PASSED when the test ends). tktrace cannot see the cursor, so at
 * a terminal each message then starts with a newline: at worst a blank line, never a
 * message glued to the end of pytest's. Pipes and files get no extra newline. */
void tkt_log_live(bool running)
{
	live_tty = running && isatty(STDERR_FILENO);
}

void tkt_log_line_start(void)
{
	if (live_tty)
		fputc('\n', stderr);
}

void tkt_log_set_level(enum tkt_log_level level)
{
	log_level = level;
}

enum tkt_log_level tkt_log_get_level(void)
{
	return log_level;
}

void tkt_log(enum tkt_log_level level, const char *fmt, ...)
{
	va_list ap;

	/* Warnings are shown even with -q: they mean the report may be incomplete. */
	if (level > log_level && !(level == TKT_LOG_WARN))
		return;
	/* -v's info and debug lines come in bursts: a blank line between each would be worse. */
	if (level <= TKT_LOG_WARN)
		tkt_log_line_start();
	fputs("tktrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tkt_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	tkt_log_line_start();
	fprintf(stderr, "tktrace: %s\n", msg);
}

static int buf_reserve(struct tkt_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	char *p;

	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int tkt_buf_append(struct tkt_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len))
		return -ENOMEM;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int tkt_buf_printf(struct tkt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
	return 0;
}

void tkt_buf_reset(struct tkt_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void tkt_buf_free(struct tkt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Strings live in 64 KiB blocks: one malloc per node id would add its own header and
 * rounding to every test a long run records. */
#define INTERN_BLOCK (64 * 1024)

struct intern_block {
	struct intern_block *next;
	size_t used, cap;
	char data[];
};

/* Open-addressing set of strings keyed by FNV-1a, at most 3/4 full. */
struct tkt_intern {
	char **slots;
	size_t cap;
	size_t count;
	struct intern_block *blocks; /* the first one is filled */
};

static char *intern_store(struct tkt_intern *t, const char *s, size_t len)
{
	struct intern_block *b = t->blocks;
	char *out;

	if (!b || b->cap - b->used < len + 1) {
		/* A string too big for a block gets its own, behind the one being filled. */
		size_t cap = len + 1 > INTERN_BLOCK / 4 ? len + 1 : INTERN_BLOCK - sizeof(*b);
		struct intern_block *n = malloc(sizeof(*n) + cap);

		if (!n)
			return NULL;
		n->used = 0;
		n->cap = cap;
		if (b && cap != INTERN_BLOCK - sizeof(*b)) {
			n->next = b->next;
			b->next = n;
		} else {
			n->next = b;
			t->blocks = n;
		}
		b = n;
	}
	out = b->data + b->used;
	memcpy(out, s, len);
	out[len] = '\0';
	b->used += len + 1;
	return out;
}

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct tkt_intern *tkt_intern_new(void)
{
	struct tkt_intern *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = 64;
	t->slots = calloc(t->cap, sizeof(char *));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

static int intern_grow(struct tkt_intern *t)
{
	size_t ncap = t->cap * 2;
	char **ns = calloc(ncap, sizeof(char *));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		char *s = t->slots[i];
		if (!s)
			continue;
		size_t j = fnv1a(s, strlen(s)) & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = s;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

const char *tkt_intern(struct tkt_intern *t, const char *s, size_t len)
{
	size_t i;

	if (!s)
		return NULL;
	len = strnlen(s, len); /* a C string: up to an embedded NUL */
	if ((t->count + 1) * 4 > t->cap * 3 && intern_grow(t))
		return NULL;
	i = fnv1a(s, len) & (t->cap - 1);
	while (t->slots[i]) {
		if (strlen(t->slots[i]) == len && memcmp(t->slots[i], s, len) == 0)
			return t->slots[i];
		i = (i + 1) & (t->cap - 1);
	}
	t->slots[i] = intern_store(t, s, len);
	if (!t->slots[i])
		return NULL;
	t->count++;
	return t->slots[i];
}

size_t tkt_intern_count(const struct tkt_intern *t)
{
	return t->count;
}

void tkt_intern_free(struct tkt_intern *t)
{
	if (!t)
		return;
	while (t->blocks) {
		struct intern_block *b = t->blocks;
		t->blocks = b->next;
		free(b);
	}
	free(t->slots);
	free(t);
}

int tkt_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mult = 1;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	/* Plain decimals only: strtod would also take hex and exponents. */
	for (const char *p = s; *p && !isalpha((unsigned char)*p); p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL;
	if (strpbrk(s, "xXeE"))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || v < 0)
		return -EINVAL;
	switch (toupper((unsigned char)*end)) {
	case '\0':
	case 'B': /* bytes: the suffix is consumed below */
		break;
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	/* Accept K, KB, KiB, and a trailing B alone. */
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	v *= (double)mult;
	if (v >= 18446744073709551615.0)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

const char *tkt_fmt_bytes(uint64_t bytes, char *out, size_t outsz)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, outsz, "%.1f %s", v, units[u]);
	return out;
}

int tkt_shell_quote(struct tkt_buf *b, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++) {
		if (!(isalnum((unsigned char)*p) || strchr("@%_+=:,./-", *p))) {
			plain = false;
			break;
		}
	}
	if (plain)
		return tkt_buf_append(b, s, strlen(s));
	if (tkt_buf_append(b, "'", 1))
		return -ENOMEM;
	for (const char *p = s; *p; p++) {
		int r = *p == '\'' ? tkt_buf_append(b, "'\\''", 4) : tkt_buf_append(b, p, 1);
		if (r)
			return r;
	}
	return tkt_buf_append(b, "'", 1);
}

void tkt_comm_copy(char dst[17], const char *src)
{
	memcpy(dst, src, 16);
	dst[16] = '\0';
}

int tkt_read_chunks(const char *path, int (*feed)(void *ctx, const char *data, size_t len),
		    void *ctx, char *err, size_t errsz)
{
	char buf[65536];
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	int r = 0, e;

	if (fd < 0) {
		e = errno;
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			snprintf(err, errsz, "cannot read %s: %s", path, strerror(e));
			r = -e;
			break;
		}
		if (n == 0 || (r = feed(ctx, buf, (size_t)n)))
			break;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

int tkt_grow(void **p, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

int tkt_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}
