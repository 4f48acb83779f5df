/* Records from the two ring buffers, copied as they are read and handed out in time order:
 * a kill on the always-woken ring must not be applied before the test marker that preceded it
 * on the bulk ring. Used by run mode (tracer.c) and watch mode (watch.c). */
#ifndef TKT_BATCH_H
#define TKT_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct tkt_batch_ref {
	uint64_t ts;
	uint32_t seq; /* arrival order, for equal times */
	uint32_t off;
	uint32_t len;
};

struct tkt_batch {
	struct tkt_buf data;
	struct tkt_batch_ref *refs;
	size_t n, cap;
	uint32_t seq;
};

/* Copy one record (a ring_buffer_sample_fn: ctx is the batch). */
int tkt_batch_add(void *batch, void *data, size_t size);
/* Sort by time, then call fn on each record; then empty the batch, and free what a burst
 * made it grow to beyond keep_bytes. */
void tkt_batch_flush(struct tkt_batch *b, void (*fn)(void *ctx, const void *rec, size_t len),
		     void *ctx, size_t keep_bytes);
void tkt_batch_free(struct tkt_batch *b);

#endif /* TKT_BATCH_H */
