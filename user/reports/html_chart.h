/* The HTML report's memory timelines (inline SVG), apart from its tables. Pure. */
#ifndef TKT_HTML_CHART_H
#define TKT_HTML_CHART_H

#include "core/model.h"
#include "core/run.h"
#include "core/util.h"

/* A figure per pytest process (the busiest first, at most 16) with its legend. */
void tkt_html_timelines(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_run *r);

#endif /* TKT_HTML_CHART_H */
