/* Maps and helpers shared by every tktrace BPF program (one translation unit). */
#ifndef TKT_COMMON_BPF_H
#define TKT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tktrace.h"

#define TKT_MAX_TRACKED 32768

/* tgids of COMMAND and its descendants, with their memory state; user space seeds
 * COMMAND's pid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TKT_MAX_TRACKED);
	__type(key, __u32);
	__type(value, struct tkt_pstate);
} tracked SEC(".maps");

/*
 * The rss hot path's per-CPU cache: which process this CPU last saw changing its own rss,
 * whether it is traced, and the peak seen here since the last test boundary. A hit costs
 * an inlined array lookup; the hash is only consulted when the CPU switches processes.
 */
struct tkt_rss_cache {
	__u64 mm;
	__u32 tgid;
	__u32 tracked;
	__u64 peak_pages;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tkt_rss_cache);
} rss_cache SEC(".maps");

/* Possible CPUs, for walking rss_cache at boundaries (set before load). */
const volatile __u32 nr_cpus = 1;
#define TKT_MAX_CPUS 512

/* Lifecycle and test markers: frequent, woken adaptively. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rb SEC(".maps");

/* Kills only: a separate ring so bulk events can never crowd them out. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} rb_urgent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TKT_DROP_NR);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* COMMAND's own tgid: it alone gets non-SIGKILL fatal signals reported. */
__u32 root_tgid = 0;

static __always_inline struct tkt_pstate *tkt_pstate_of(__u32 tgid)
{
	return bpf_map_lookup_elem(&tracked, &tgid);
}

static __always_inline bool tkt_tracked(__u32 tgid)
{
	return tkt_pstate_of(tgid) != NULL;
}

/* A process reached pages resident: raise its period and lifetime peaks. */
static __always_inline void tkt_raise_peaks(struct tkt_pstate *st, __u64 pages)
{
	if (pages > st->peak_pages)
		st->peak_pages = pages;
	if (pages > st->life_peak_pages)
		st->life_peak_pages = pages;
}

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
