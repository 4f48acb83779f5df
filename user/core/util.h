/* Small helpers: leveled logging, string interning, sizes, shell quoting, growable buffers. */
#ifndef TKT_UTIL_H
#define TKT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TKT_VERSION "0.1.0"

/* tktrace's own failures, GNU convention as timeout(1) and env(1); else COMMAND's status. */
#define TKT_EXIT_FAIL 125
#define TKT_EXIT_NOEXEC 126
#define TKT_EXIT_NOTFOUND 127

enum tkt_log_level { TKT_LOG_QUIET = 0, TKT_LOG_WARN = 1, TKT_LOG_INFO = 2, TKT_LOG_DEBUG = 3 };

void tkt_log_set_level(enum tkt_log_level level);
enum tkt_log_level tkt_log_get_level(void);
/* COMMAND is running (true) or has ended: at a terminal, messages start on a fresh line. */
void tkt_log_live(bool running);
void tkt_log_line_start(void);
void tkt_log(enum tkt_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line on stderr, "tktrace: ...", control characters in names shown as '?'. */
void tkt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define tkt_warn(...) tkt_log(TKT_LOG_WARN, __VA_ARGS__)
#define tkt_info(...) tkt_log(TKT_LOG_INFO, __VA_ARGS__)
#define tkt_debug(...) tkt_log(TKT_LOG_DEBUG, __VA_ARGS__)

/* Growable byte buffer, always NUL terminated. */
struct tkt_buf {
	char *data;
	size_t len;
	size_t cap;
};

int tkt_buf_append(struct tkt_buf *b, const void *data, size_t len);
int tkt_buf_printf(struct tkt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tkt_buf_reset(struct tkt_buf *b);
void tkt_buf_free(struct tkt_buf *b);

/* Interned strings: one copy of each node id, worker id, command; freed together. */
struct tkt_intern;
struct tkt_intern *tkt_intern_new(void);
const char *tkt_intern(struct tkt_intern *t, const char *s, size_t len);
size_t tkt_intern_count(const struct tkt_intern *t);
void tkt_intern_free(struct tkt_intern *t);

/* "512M", "1.5G", "300000000" -> bytes (binary units). -EINVAL on bad input. */
int tkt_parse_size(const char *s, uint64_t *out);
/* 536870912 -> "512.0 MiB" */
const char *tkt_fmt_bytes(uint64_t bytes, char *out, size_t outsz);
/* Append s to b quoted for a POSIX shell (only when needed). */
int tkt_shell_quote(struct tkt_buf *b, const char *s);

/* Copy a fixed-size kernel comm into a NUL-terminated string. */
void tkt_comm_copy(char dst[17], const char *src);
/* write(2) all of data, through EINTR and short writes; 0 or -errno. */
int tkt_write_all(int fd, const void *data, size_t len);
/* Room for one more element in the array *p of *cap elements of size elem holding n: doubles
 * (from first) when full. 0, or -ENOMEM with *p and *cap unchanged. */
int tkt_grow(void **p, size_t *cap, size_t n, size_t elem, size_t first);
/* Read path ("-": stdin) to its end, handing each chunk to feed. 0 at the end; else feed's
 * nonzero result, or -errno of the open or read with err set. */
int tkt_read_chunks(const char *path, int (*feed)(void *ctx, const char *data, size_t len),
		    void *ctx, char *err, size_t errsz);

#endif /* TKT_UTIL_H */
