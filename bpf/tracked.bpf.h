/* Run mode's table of traced processes (COMMAND and its descendants) with their memory state,
 * and the rss hot path's per-CPU cache. */
#ifndef TKT_TRACKED_BPF_H
#define TKT_TRACKED_BPF_H

#include "common.bpf.h"

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

#endif /* TKT_TRACKED_BPF_H */
