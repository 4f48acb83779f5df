/* Minimal streaming JSON writer: correct escaping, commas handled for the caller. */
#ifndef TKT_JSON_H
#define TKT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include "core/util.h"

#define TKT_JSON_DEPTH 16

struct tkt_json {
	struct tkt_buf *out;
	int depth;
	bool need_comma[TKT_JSON_DEPTH];
	bool pretty;
};

void tkt_json_init(struct tkt_json *j, struct tkt_buf *out, bool pretty);
void tkt_json_obj_begin(struct tkt_json *j, const char *key);
void tkt_json_obj_end(struct tkt_json *j);
void tkt_json_arr_begin(struct tkt_json *j, const char *key);
void tkt_json_arr_end(struct tkt_json *j);
void tkt_json_str(struct tkt_json *j, const char *key, const char *val); /* NULL -> null */
void tkt_json_int(struct tkt_json *j, const char *key, int64_t val);
void tkt_json_uint(struct tkt_json *j, const char *key, uint64_t val);
void tkt_json_double(struct tkt_json *j, const char *key, double val, int decimals);
void tkt_json_bool(struct tkt_json *j, const char *key, bool val);
void tkt_json_null(struct tkt_json *j, const char *key);
/* Escape s as a JSON string literal (with quotes) onto b; invalid UTF-8 becomes U+FFFD. */
void tkt_json_escape(struct tkt_buf *b, const char *s);

#endif /* TKT_JSON_H */
