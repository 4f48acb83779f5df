/* The HTML report: one self-contained page (inline CSS and SVG, no network) with the kill
 * explanation, a memory timeline per pytest process and sortable per-test tables. Pure:
 * model and run in, text out. */
#ifndef TKT_HTML_H
#define TKT_HTML_H

#include "core/model.h"
#include "report.h"
#include "core/util.h"

int tkt_report_html(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r);
/* s as HTML text or attribute value: markup characters as entities, control characters
 * and invalid UTF-8 as U+FFFD. At most max_chars characters (then "…"); 0: all. */
void tkt_html_escape(struct tkt_buf *b, const char *s, size_t max_chars);

#endif /* TKT_HTML_H */
