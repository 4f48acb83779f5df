/* --warn-at: a recorded crossing (tkt_model_warn_check, model.h) as text. */
#ifndef TKT_WARN_H
#define TKT_WARN_H

#include "model.h"
#include "util.h"

/* The block printed live on stderr when a warning is recorded. */
void tkt_warn_text(struct tkt_buf *b, const struct tkt_model *m, const struct tkt_warning *w);

#endif /* TKT_WARN_H */
