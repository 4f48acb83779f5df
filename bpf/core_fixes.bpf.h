/* CO-RE workarounds for kernel layout differences; each names the change that made it needed. */
#ifndef TKT_CORE_FIXES_BPF_H
#define TKT_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/*
 * Before 6.2 (commit f1a7941243c1 "mm: convert mm's rss stats into
 * percpu_counter") mm->rss_stat was a struct of atomic_long_t; since then it
 * is an array of percpu_counter whose ->count is the (approximate) total.
 */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* Resident pages of one mm counter (MM_ANONPAGES, ...), clamped at zero. */
static __always_inline __u64 tkt_mm_counter(struct mm_struct *mm, int member)
{
	unsigned long base = (unsigned long)mm;
	long v = 0;

	if (!mm || member < 0 || member > 3)
		return 0;
	if (bpf_core_type_exists(struct mm_rss_stat___old)) {
		base += bpf_core_field_offset(struct mm_struct___old, rss_stat);
		base += member * sizeof(long);
	} else {
		base += bpf_core_field_offset(struct mm_struct, rss_stat);
		base += member * bpf_core_type_size(struct percpu_counter);
		base += bpf_core_field_offset(struct percpu_counter, count);
	}
	bpf_probe_read_kernel(&v, sizeof(v), (void *)base);
	return v > 0 ? (__u64)v : 0;
}

#endif /* TKT_CORE_FIXES_BPF_H */
