/* Unit tests for user/core/batch.c: time order, alignment, bounded memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include "batch.h"
#include "tktrace.h"

/* A record of any used length: a header, then bytes up to len. */
static void add(struct tkt_batch *b, uint64_t ts, uint32_t id, size_t len)
{
	char raw[256 + 8];
	struct tkt_hdr h = { .type = 1, .pid = id, .ts_ns = ts };

	assert_true(len >= sizeof(h) && len <= 256);
	memset(raw, 0xab, sizeof(raw));
	memcpy(raw, &h, sizeof(h));
	assert_int_equal(tkt_batch_add(b, raw, len), 0);
}

struct seen {
	uint32_t ids[64];
	size_t lens[64];
	size_t n;
	bool misaligned;
};

static void collect(void *ctx, const void *rec, size_t len)
{
	struct seen *s = ctx;
	const struct tkt_hdr *h = rec;

	if ((uintptr_t)rec % 8)
		s->misaligned = true;
	else if (s->n < 64) {
		s->ids[s->n] = h->pid; /* an aligned read: UBSan checks it */
		s->lens[s->n++] = len;
	}
}

static void test_order_time_then_arrival(void **state)
{
	struct tkt_batch b = { 0 };
	struct seen s = { 0 };

	(void)state;
	add(&b, 300, 1, 24);
	add(&b, 100, 2, 27);
	add(&b, 300, 3, 33);
	add(&b, 200, 4, 41);
	add(&b, 100, 5, 24);
	tkt_batch_flush(&b, collect, &s, 1 << 20);
	assert_false(s.misaligned);
	assert_int_equal(s.n, 5);
	uint32_t want[] = { 2, 5, 4, 1, 3 };
	size_t wlen[] = { 27, 24, 41, 24, 33 };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(s.ids[i], want[i]);
		assert_int_equal(s.lens[i], wlen[i]); /* the padding is not handed out */
	}
	assert_int_equal(b.n, 0);
	tkt_batch_free(&b);
}

static void test_every_record_aligned(void **state)
{
	struct tkt_batch b = { 0 };
	struct seen s = { 0 };

	(void)state;
	/* Used lengths of every residue mod 8, back to back. */
	for (uint32_t i = 0; i < 40; i++)
		add(&b, i, i, sizeof(struct tkt_hdr) + i * 3 % 61);
	for (size_t i = 0; i < b.n; i++)
		assert_int_equal(b.refs[i].off % 8, 0);
	tkt_batch_flush(&b, collect, &s, 1 << 20);
	assert_false(s.misaligned);
	assert_int_equal(s.n, 40);
	tkt_batch_free(&b);
}

static void nop(void *ctx, const void *rec, size_t len)
{
	(void)rec;
	(void)len;
	(*(size_t *)ctx)++;
}

static void test_burst_released(void **state)
{
	struct tkt_batch b = { 0 };
	size_t n = 0;

	(void)state;
	for (uint32_t i = 0; i < 100000; i++)
		add(&b, 100000 - i, i, 64);
	assert_true(b.data.cap >= 100000 * 64);
	tkt_batch_flush(&b, nop, &n, 64 << 10);
	assert_int_equal(n, 100000);
	assert_null(b.data.data);
	assert_int_equal(b.data.cap, 0);
	assert_null(b.refs);
	assert_int_equal(b.cap, 0);
	/* A small batch keeps its buffers for the next round. */
	add(&b, 1, 1, 64);
	tkt_batch_flush(&b, nop, &n, 64 << 10);
	assert_non_null(b.data.data);
	assert_non_null(b.refs);
	/* And it still works after the release. */
	add(&b, 2, 2, 30);
	add(&b, 1, 3, 30);
	struct seen s = { 0 };
	tkt_batch_flush(&b, collect, &s, 64 << 10);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 3);
	tkt_batch_free(&b);
}
