/* Text in the HTML report (page, chart, tables): escaping and small shared helpers. Pure. */
#ifndef TKT_HTML_TEXT_H
#define TKT_HTML_TEXT_H

#include <stddef.h>
#include "core/model.h"
#include "core/util.h"

/* s as HTML text or attribute value: markup characters as entities, control characters
 * and invalid UTF-8 as U+FFFD. At most max_chars characters (then "…"); 0: all. */
void tkt_html_escape(struct tkt_buf *b, const char *s, size_t max_chars);
/* Characters in s, an invalid UTF-8 byte counting as one. */
size_t tkt_utf8_chars(const unsigned char *p);
#define ESC(b, s) tkt_html_escape(b, s, 0)

static inline const char *fmt_b(uint64_t v, char *buf, size_t sz)
{
	return tkt_fmt_bytes(v, buf, sz);
}

/* When test t ended, in seconds of the run; run_end when it was still running. */
double tkt_html_test_end_s(const struct tkt_model *m, const struct tkt_test_rec *t, double run_end);

#endif /* TKT_HTML_TEXT_H */
