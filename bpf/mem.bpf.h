/* Memory accounting in the kernel: peaks of resident memory and big mmaps per traced
 * process, kept in the tracked map and a per-CPU cache; user space only sees them at test
 * boundaries. */
#ifndef TKT_MEM_BPF_H
#define TKT_MEM_BPF_H

#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "tracked.bpf.h"

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

/* Fold every CPU's cached peak for tgid into st (and reset them when reset is set). A bounded
 * loop, not bpf_loop (5.17): its callback reference cannot even be loaded before 5.13. The
 * bound is nr_cpus, read-only, so the verifier walks the body once per possible CPU. */
static __always_inline __u64 tkt_fold_cpus(struct tkt_pstate *st, __u32 tgid, bool reset)
{
	__u64 peak = st->peak_pages;
	__u32 key = 0;

	/* Without per-CPU lookups the hot path kept st's peaks itself. */
	if (tkt_has_percpu_lookup()) {
		for (__u32 cpu = 0; cpu < TKT_MAX_CPUS && cpu < nr_cpus; cpu++) {
			struct tkt_rss_cache *c = bpf_map_lookup_percpu_elem(&rss_cache, &key, cpu);

			if (!c || c->tgid != tgid || !c->tracked)
				continue;
			if (c->peak_pages > peak)
				peak = c->peak_pages;
			if (reset)
				c->peak_pages = 0;
		}
	}
	if (peak > st->life_peak_pages)
		st->life_peak_pages = peak;
	return peak;
}

/*
 * Since 6.2 rss_stat fires on every counter change (once per fault or more). The raw
 * BTF tracepoint skips the classic one's percpu_counter_sum (a lock and a loop over all
 * CPUs); the per-CPU cache skips the hash lookup while a CPU stays with one process.
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(tkt_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *cur;
	struct tkt_rss_cache *c;
	__u32 key = 0, tgid;
	__u64 rss;

	if (member == 2) /* MM_SWAPENTS */
		return 0;
	if (!tkt_has_task_btf() || !tkt_has_percpu_lookup()) {
		/* Before 5.19: no per-CPU cache (it could not be folded), the peak goes straight
		 * into the state. Before 6.2 rss_stat fires far less often (batched updates). */
		struct tkt_pstate *st;

		cur = tkt_current_task();
		if (BPF_CORE_READ(cur, mm) != mm)
			return 0;
		st = tkt_pstate_of(bpf_get_current_pid_tgid() >> 32);
		if (st)
			tkt_raise_peaks(st, tkt_mm_rss(mm));
		return 0;
	}
	cur = bpf_get_current_task_btf();
	/* Changes made by others (fork copying into a child, reclaim) wait for the owner's own. */
	if (cur->mm != mm)
		return 0;
	c = bpf_map_lookup_elem(&rss_cache, &key);
	if (!c)
		return 0;
	tgid = cur->tgid;
	if (c->mm != (__u64)mm || c->tgid != tgid) {
		/* Another process on this CPU: hand the old one's peak to its state first. */
		if (c->tracked) {
			struct tkt_pstate *old = tkt_pstate_of(c->tgid);
			if (old)
				tkt_raise_peaks(old, c->peak_pages);
		}
		c->mm = (__u64)mm;
		c->tgid = tgid;
		c->tracked = tkt_pstate_of(tgid) != NULL;
		c->peak_pages = 0;
	}
	if (!c->tracked)
		return 0;
	rss = tkt_mm_rss(mm);
	if (rss > c->peak_pages)
		c->peak_pages = rss;
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
	st = tkt_pstate_of(bpf_get_current_pid_tgid() >> 32);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->mmap_bytes, len);
	return 0;
}

/* Snapshot at a test phase boundary of the calling process (st: its state, looked up once by
 * the caller), then start a new period. */
static __always_inline void tkt_mem_snap(struct tkt_snap *s, struct tkt_pstate *st)
{
	struct task_struct *cur = tkt_current_task();
	struct mm_struct *mm;
	__u64 rss = 0, peak;

	/* A pointer tkt_mm_rss may dereference where the kernel gives one (5.11+). */
	if (tkt_has_task_btf())
		mm = cur->mm;
	else
		mm = BPF_CORE_READ(cur, mm);
	if (mm)
		rss = tkt_mm_rss(mm);
	s->rss_pages = rss;
	s->faults = BPF_CORE_READ(cur, min_flt) + BPF_CORE_READ(cur, maj_flt);
	peak = tkt_fold_cpus(st, bpf_get_current_pid_tgid() >> 32, true);
	s->peak_pages = peak > rss ? peak : rss;
	s->mmap_bytes = st->mmap_bytes;
	/* The new period starts at what is resident now. */
	st->peak_pages = 0;
	st->mmap_bytes = 0;
	tkt_raise_peaks(st, rss);
}

#endif /* TKT_MEM_BPF_H */
