/* libFuzzer harness: any bytes as a kernel log must parse without a crash or a hang; every
 * kill found must hold NUL-terminated, control-free strings; fed in two pieces (split where
 * the first byte says) it must parse exactly as fed whole. */
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

static void same_oom(const struct tkt_kmsg_oom *a, const struct tkt_kmsg_oom *b)
{
	if (a->has_ts != b->has_ts || memcmp(&a->ts_s, &b->ts_s, sizeof(a->ts_s)) ||
	    strcmp(a->trigger_comm, b->trigger_comm) || a->trigger_pid != b->trigger_pid ||
	    a->has_usage != b->has_usage || a->usage_kb != b->usage_kb ||
	    a->limit_kb != b->limit_kb || a->has_constraint != b->has_constraint ||
	    strcmp(a->constraint, b->constraint) || strcmp(a->oom_memcg, b->oom_memcg) ||
	    strcmp(a->task_memcg, b->task_memcg) || a->has_killed != b->has_killed ||
	    a->memcg != b->memcg || a->pid != b->pid || strcmp(a->comm, b->comm) ||
	    a->uid != b->uid || a->total_vm_kb != b->total_vm_kb ||
	    a->anon_rss_kb != b->anon_rss_kb || a->file_rss_kb != b->file_rss_kb ||
	    a->shmem_rss_kb != b->shmem_rss_kb || a->oom_score_adj != b->oom_score_adj)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tkt_kmsg k, whole;
	size_t cut = size ? data[0] * size / 256 : 0;

	tkt_kmsg_init(&k);
	tkt_kmsg_feed(&k, (const char *)data, cut);
	tkt_kmsg_feed(&k, (const char *)data + cut, size - cut);
	tkt_kmsg_end(&k);
	tkt_kmsg_init(&whole);
	tkt_kmsg_feed(&whole, (const char *)data, size);
	tkt_kmsg_end(&whole);
	if (whole.nooms != k.nooms)
		abort();
	for (size_t i = 0; i < k.nooms; i++)
		same_oom(&k.ooms[i], &whole.ooms[i]);
	tkt_kmsg_free(&whole);
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
