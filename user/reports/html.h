/* The HTML report: one self-contained page (inline CSS and SVG, no network) with the kill
 * explanation, a memory timeline per pytest process and sortable per-test tables. Pure:
 * model and run in, text out. */
#ifndef TKT_HTML_H
#define TKT_HTML_H

#include "core/model.h"
#include "report.h"
#include "core/util.h"
#include "html_text.h" /* tkt_html_escape */

int tkt_report_html(struct tkt_buf *out, const struct tkt_model *m, const struct tkt_run *r);

#endif /* TKT_HTML_H */
