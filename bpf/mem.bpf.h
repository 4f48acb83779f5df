/* Memory accounting in the kernel: peaks of resident memory and big mmaps per traced
 * process, kept in the tracked map; user space only sees them at test boundaries. */
#ifndef TKT_MEM_BPF_H
#define TKT_MEM_BPF_H

#include "common.bpf.h"
#include "core_fixes.bpf.h"

#define IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-4095)

/* rss (file + anon + shmem pages) of mm; direct reads where the layout allows. */
static __always_inline __u64 tkt_mm_rss(struct mm_struct *mm)
{
	if (bpf_core_type_exists(struct mm_rss_stat___old))
		return tkt_mm_counter(mm, 0) + tkt_mm_counter(mm, 1) + tkt_mm_counter(mm, 3);
	/* percpu_counter.count: approximate by up to the per-CPU batch, as the OOM report. */
	s64 v = mm->rss_stat[0].count + mm->rss_stat[1].count + mm->rss_stat[3].count;
	return v > 0 ? v : 0;
}

/*
 * Since 6.2 rss_stat fires on every counter change (once per fault or more). The raw
 * BTF tracepoint skips the classic one's percpu_counter_sum (a lock and a loop over all
 * CPUs) on this hot path; only tracked processes' own faults go further than two loads.
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(tkt_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *cur;
	struct tkt_pstate *st;
	__u64 rss;

	if (member == 2) /* MM_SWAPENTS */
		return 0;
	cur = bpf_get_current_task_btf();
	/* Changes made by others (fork copying into a child, reclaim) wait for the owner's own. */
	if (cur->mm != mm)
		return 0;
	st = bpf_task_storage_get(&pstate, cur->group_leader, 0, 0);
	if (!st)
		return 0;
	rss = tkt_mm_rss(mm);
	if (rss > st->peak_pages)
		st->peak_pages = rss;
	if (rss > st->life_peak_pages)
		st->life_peak_pages = rss;
	return 0;
}

/*
 * Big mmaps (>= 1 MiB): numpy buffers, arenas, mapped files. vm_unmapped_area fires only
 * when an mmap needs a new address range; a raw sys_enter probe would instead put every
 * syscall of every process on the machine on the slow tracing path.
 */
SEC("tp_btf/vm_unmapped_area")
int BPF_PROG(tkt_mmap, unsigned long addr, struct vm_unmapped_area_info *info)
{
	struct tkt_pstate *st;
	__u64 len;

	if (IS_ERR_VALUE(addr))
		return 0;
	len = BPF_CORE_READ(info, length);
	if (len < TKT_BIG_MMAP)
		return 0;
	st = bpf_task_storage_get(&pstate, bpf_get_current_task_btf()->group_leader, 0, 0);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->mmap_bytes, len);
	__sync_fetch_and_add(&st->mmap_count, 1);
	return 0;
}

/* Snapshot at a test phase boundary, then start a new period. */
static __always_inline void tkt_mem_snap(struct tkt_snap *s)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct mm_struct *mm = cur->mm;
	struct tkt_pstate *st;
	__u64 rss = 0;

	if (mm)
		rss = tkt_mm_rss(mm);
	s->rss_pages = rss;
	s->faults = cur->min_flt + cur->maj_flt;
	st = bpf_task_storage_get(&pstate, cur->group_leader, 0, 0);
	if (!st) {
		s->peak_pages = rss;
		s->mmap_bytes = 0;
		return;
	}
	s->peak_pages = st->peak_pages > rss ? st->peak_pages : rss;
	s->mmap_bytes = st->mmap_bytes;
	st->peak_pages = rss;
	st->mmap_bytes = 0;
	st->mmap_count = 0;
	if (rss > st->life_peak_pages)
		st->life_peak_pages = rss;
}

#endif /* TKT_MEM_BPF_H */
