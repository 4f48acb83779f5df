/* Maps and helpers of both modes' objects (run.bpf.c, watch.bpf.c): the two rings, the drop
 * counters, the record header. Each object has its own copy. */
#ifndef TKT_COMMON_BPF_H
#define TKT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tktrace.h"

/* Each mode's object sizes its rings for its own traffic (set before including this). */
#ifndef TKT_RB_BULK_BYTES
#define TKT_RB_BULK_BYTES (4 << 20)
#endif
#ifndef TKT_RB_URGENT_BYTES
#define TKT_RB_URGENT_BYTES (256 << 10)
#endif

/* Lifecycle and test markers: frequent, woken adaptively. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TKT_RB_BULK_BYTES);
} rb SEC(".maps");

/* Kills only: a separate ring so bulk events can never crowd them out. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TKT_RB_URGENT_BYTES);
} rb_urgent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TKT_DROP_NR);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void tkt_count_drop(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&drops, &idx);

	if (c)
		(*c)++;
}

/*
 * Bulk records do not wake user space (a wakeup is an irq_work, an IPI on a VM: tens of
 * microseconds per setenv); it reads them every poll period anyway. Only when the ring is
 * filling up is it woken early, so a fork storm cannot overflow it.
 */
static __always_inline __u64 tkt_bulk_flags(void)
{
	return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) > (1 << 20) ? BPF_RB_FORCE_WAKEUP :
									  BPF_RB_NO_WAKEUP;
}

static __always_inline void tkt_hdr_fill(struct tkt_hdr *h, __u32 type, __u32 pid, __u32 tid)
{
	h->type = type;
	h->pid = pid;
	h->tid = tid;
	h->_pad = 0;
	h->ts_ns = bpf_ktime_get_ns();
}

#endif /* TKT_COMMON_BPF_H */
