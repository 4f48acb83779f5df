/* Streaming JSON writer used by the report. */
#include "json.h"

#include <inttypes.h>
#include <string.h>

void tkt_json_init(struct tkt_json *j, struct tkt_buf *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
}

/* Length of the valid UTF-8 sequence at s, or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void tkt_json_escape(struct tkt_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	tkt_buf_append(b, "\"", 1);
	while (*p) {
		size_t n;

		switch (*p) {
		case '"':
			tkt_buf_append(b, "\\\"", 2);
			p++;
			continue;
		case '\\':
			tkt_buf_append(b, "\\\\", 2);
			p++;
			continue;
		case '\n':
			tkt_buf_append(b, "\\n", 2);
			p++;
			continue;
		case '\t':
			tkt_buf_append(b, "\\t", 2);
			p++;
			continue;
		case '\r':
			tkt_buf_append(b, "\\r", 2);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			tkt_buf_printf(b, "\\u%04x", *p);
			p++;
			continue;
		}
		n = utf8_len(p);
		if (n == 0) {
			tkt_buf_append(b, "\\ufffd", 6);
			p++;
			continue;
		}
		tkt_buf_append(b, p, n);
		p += n;
	}
	tkt_buf_append(b, "\"", 1);
}

static void indent(struct tkt_json *j)
{
	if (!j->pretty)
		return;
	tkt_buf_append(j->out, "\n", 1);
	for (int i = 0; i < j->depth; i++)
		tkt_buf_append(j->out, "  ", 2);
}

static void key_prefix(struct tkt_json *j, const char *key)
{
	if (j->depth > 0 && j->need_comma[j->depth])
		tkt_buf_append(j->out, ",", 1);
	if (j->depth > 0) {
		j->need_comma[j->depth] = true;
		indent(j);
	}
	if (key) {
		tkt_json_escape(j->out, key);
		tkt_buf_append(j->out, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	}
}

static void open_(struct tkt_json *j, const char *key, char c)
{
	key_prefix(j, key);
	tkt_buf_append(j->out, &c, 1);
	if (j->depth < TKT_JSON_DEPTH - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct tkt_json *j, char c)
{
	bool had = j->need_comma[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had)
		indent(j);
	tkt_buf_append(j->out, &c, 1);
	if (j->depth == 0 && j->pretty)
		tkt_buf_append(j->out, "\n", 1);
}

void tkt_json_obj_begin(struct tkt_json *j, const char *key)
{
	open_(j, key, '{');
}

void tkt_json_obj_end(struct tkt_json *j)
{
	close_(j, '}');
}

void tkt_json_arr_begin(struct tkt_json *j, const char *key)
{
	open_(j, key, '[');
}

void tkt_json_arr_end(struct tkt_json *j)
{
	close_(j, ']');
}

void tkt_json_str(struct tkt_json *j, const char *key, const char *val)
{
	key_prefix(j, key);
	if (val)
		tkt_json_escape(j->out, val);
	else
		tkt_buf_append(j->out, "null", 4);
}

void tkt_json_int(struct tkt_json *j, const char *key, int64_t val)
{
	key_prefix(j, key);
	tkt_buf_printf(j->out, "%" PRId64, val);
}

void tkt_json_uint(struct tkt_json *j, const char *key, uint64_t val)
{
	key_prefix(j, key);
	tkt_buf_printf(j->out, "%" PRIu64, val);
}

void tkt_json_double(struct tkt_json *j, const char *key, double val, int decimals)
{
	key_prefix(j, key);
	tkt_buf_printf(j->out, "%.*f", decimals, val);
}

void tkt_json_bool(struct tkt_json *j, const char *key, bool val)
{
	key_prefix(j, key);
	tkt_buf_append(j->out, val ? "true" : "false", val ? 4 : 5);
}

void tkt_json_null(struct tkt_json *j, const char *key)
{
	key_prefix(j, key);
	tkt_buf_append(j->out, "null", 4);
}
