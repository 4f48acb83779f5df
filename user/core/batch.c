/* Time-ordered batches of ring-buffer records. */
#include "batch.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "tktrace.h"

/* Records are read in place as struct tkt_hdr and friends (u64 fields): each one starts on
 * an 8-byte boundary of the buffer (whose base malloc aligns), whatever its used length. */
#define TKT_BATCH_ALIGN 8

int tkt_batch_add(void *batch, void *data, size_t size)
{
	struct tkt_batch *b = batch;
	struct tkt_batch_ref *r;
	uint64_t ts = 0;
	size_t pad = (TKT_BATCH_ALIGN - b->data.len % TKT_BATCH_ALIGN) % TKT_BATCH_ALIGN;
	static const char zeros[TKT_BATCH_ALIGN];

	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;
		struct tkt_batch_ref *n = realloc(b->refs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		b->refs = n;
		b->cap = ncap;
	}
	if (pad && tkt_buf_append(&b->data, zeros, pad))
		return -ENOMEM;
	if (size >= sizeof(struct tkt_hdr))
		memcpy(&ts, (const char *)data + offsetof(struct tkt_hdr, ts_ns), sizeof(ts));
	r = &b->refs[b->n];
	r->ts = ts;
	r->seq = b->seq++;
	r->off = (uint32_t)b->data.len;
	r->len = (uint32_t)size;
	if (tkt_buf_append(&b->data, data, size))
		return -ENOMEM;
	b->n++;
	return 0;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct tkt_batch_ref *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void tkt_batch_flush(struct tkt_batch *b, void (*fn)(void *ctx, const void *rec, size_t len),
		     void *ctx, size_t keep_bytes)
{
	if (b->n > 1)
		qsort(b->refs, b->n, sizeof(*b->refs), ref_cmp);
	for (size_t i = 0; i < b->n; i++)
		fn(ctx, b->data.data + b->refs[i].off, b->refs[i].len);
	b->n = 0;
	tkt_buf_reset(&b->data);
	/* Bounded memory: a burst's buffers are not kept. */
	if (b->data.cap > keep_bytes)
		tkt_buf_free(&b->data);
	if (b->cap * sizeof(*b->refs) > keep_bytes) {
		free(b->refs);
		b->refs = NULL;
		b->cap = 0;
	}
}

void tkt_batch_free(struct tkt_batch *b)
{
	tkt_buf_free(&b->data);
	free(b->refs);
	b->refs = NULL;
	b->n = b->cap = 0;
}
