/* Text in the HTML report: escaping, with invalid UTF-8 and control characters made visible. */
#include "html_text.h"

#include <stdint.h>
#include <string.h>

#define ELLIPSIS "\xe2\x80\xa6"
#define REPLACEMENT "\xef\xbf\xbd"

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t tkt_utf8_chars(const unsigned char *p)
{
	size_t n = 0, l;

	for (; *p; p += l ? l : 1, n++)
		l = utf8_seq(p);
	return n;
}

void tkt_html_escape(struct tkt_buf *b, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t limit = SIZE_MAX, chars = 0;

	if (max_chars && tkt_utf8_chars(p) > max_chars)
		limit = max_chars > 1 ? max_chars - 1 : 1;
	while (*p && chars < limit) {
		size_t l = utf8_seq(p);

		chars++;
		switch (*p) {
		case '&':
			tkt_buf_append(b, "&amp;", 5);
			break;
		case '<':
			tkt_buf_append(b, "&lt;", 4);
			break;
		case '>':
			tkt_buf_append(b, "&gt;", 4);
			break;
		case '"':
			tkt_buf_append(b, "&quot;", 6);
			break;
		case '\'':
			tkt_buf_append(b, "&#39;", 5);
			break;
		case '\n':
		case '\t':
			tkt_buf_append(b, p, 1);
			break;
		default:
			if (!l || *p < 0x20 || *p == 0x7f)
				tkt_buf_append(b, REPLACEMENT, 3);
			else
				tkt_buf_append(b, p, l);
		}
		p += l ? l : 1;
	}
	if (*p)
		tkt_buf_append(b, ELLIPSIS, 3);
}

double tkt_html_test_end_s(const struct tkt_model *m, const struct tkt_test_rec *t, double run_end)
{
	if (t->ended || t->end_ns)
		return tkt_model_time_s(m, t->end_ns);
	return run_end; /* still running when the run ended */
}
