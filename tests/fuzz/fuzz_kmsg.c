/* libFuzzer harness: any bytes as a kernel log must parse without a crash or a hang; every
 * kill found must hold NUL-terminated, control-free strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kmsg.h"

static void check_str(const char *s, size_t sz)
{
	size_t n = strnlen(s, sz);

	if (n == sz)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tkt_kmsg k;
	size_t cut = size ? data[0] * size / 256 : 0;

	tkt_kmsg_init(&k);
	tkt_kmsg_feed(&k, (const char *)data, cut);
	tkt_kmsg_feed(&k, (const char *)data + cut, size - cut);
	tkt_kmsg_end(&k);
	for (size_t i = 0; i < k.nooms; i++) {
		const struct tkt_kmsg_oom *o = &k.ooms[i];
		check_str(o->comm, sizeof(o->comm));
		check_str(o->trigger_comm, sizeof(o->trigger_comm));
		check_str(o->constraint, sizeof(o->constraint));
		check_str(o->oom_memcg, sizeof(o->oom_memcg));
		check_str(o->task_memcg, sizeof(o->task_memcg));
	}
	tkt_kmsg_free(&k);
	return 0;
}
