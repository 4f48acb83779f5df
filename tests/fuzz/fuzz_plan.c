/* libFuzzer harness: any bytes as a per-test file must parse without a crash, and whatever
 * parses must plan with every test in exactly one shard and no fitting part over the budget. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tkt_plan_input in;
	struct tkt_plan_opts o = { .margin_pct = 10, .new_duration_s = -1,
				   .leak_threshold = 10 << 20 };
	struct tkt_plan p;
	const char *s = (const char *)data, *end = s + size;
	size_t total = 0;

	if (size < 3)
		return 0;
	/* The first bytes pick the options. */
	o.budget = (uint64_t)(data[0] + 1) << 22;
	o.max_workers = data[1] % 16 + 1;
	o.shards = data[2] % 5 + 1;
	s += 3;
	tkt_plan_input_init(&in);
	in.baseline = (uint64_t)(data[0] ^ data[1]) << 20;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		struct tkt_plan_test t;
		uint64_t start;
		char err[128];

		if (tkt_plan_parse_line(s, len, &t, &start, err, sizeof(err)) > 0) {
			if (tkt_plan_add(&in, &t))
				abort();
			free(t.nodeid);
		} else if (!memchr(err, '\0', sizeof(err))) {
			abort();
		}
		s += len + 1;
	}
	if (tkt_plan_make(&in, NULL, &o, &p) == 0) {
		for (size_t i = 0; i < p.ntests; i++)
			if (p.tests[i].shard >= p.nparts)
				abort();
		for (unsigned k = 0; k < p.nparts; k++) {
			total += p.parts[k].ntests;
			if (p.parts[k].fits && p.parts[k].predicted > p.usable)
				abort();
		}
		if (total != p.ntests)
			abort();
		tkt_plan_free(&p);
	}
	tkt_plan_input_free(&in);
	return 0;
}
