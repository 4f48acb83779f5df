/* A task's identity, rss split and memory cgroup chain, as both modes' kill records carry them. */
#ifndef TKT_TASK_BPF_H
#define TKT_TASK_BPF_H

#include "common.bpf.h"
#include "core_fixes.bpf.h"

static __always_inline void tkt_task_fill(struct tkt_task *t, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	/* MM_FILEPAGES=0, MM_ANONPAGES=1, MM_SHMEMPAGES=3: an anonymous enum in BTF
	 * (no CO-RE relocation possible), unchanged since 2.6.34. */

	t->pid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
	t->rss_anon_pages = tkt_mm_counter(mm, 1);
	t->rss_file_pages = tkt_mm_counter(mm, 0);
	t->rss_shmem_pages = tkt_mm_counter(mm, 3);
}

/*
 * Whether p is its process's last thread to exit. do_exit drops signal->live before the
 * sched_process_exit tracepoint (so since 5.10), so the last thread reads 0; threads that
 * end together may all read 0, and callers let a map delete pick one of them.
 */
static __always_inline bool tkt_group_dead(struct task_struct *p)
{
	return BPF_CORE_READ(p, signal, live.counter) == 0;
}

/* The victim's memory cgroup and its ancestors, nearest first, with limit and usage. */
static __always_inline void tkt_cg_fill(struct tkt_cg *cg, __u32 *ncg, struct task_struct *task)
{
	int ssid = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	unsigned long cgs = (unsigned long)BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;
	__u32 i;

	*ncg = 0;
	if (!cgs || ssid < 0 || ssid >= 16)
		return;
	bpf_probe_read_kernel(&css, sizeof(css),
			      (void *)(cgs + bpf_core_field_offset(struct css_set, subsys) +
				       ssid * sizeof(void *)));
	for (i = 0; i < TKT_CG_DEPTH; i++) {
		struct mem_cgroup *memcg;
		const char *name;

		if (!css)
			break;
		memcg = (void *)((unsigned long)css - bpf_core_field_offset(struct mem_cgroup, css));
		cg[i].id = BPF_CORE_READ(css, cgroup, kn, id);
		cg[i].max_pages = BPF_CORE_READ(memcg, memory.max);
		cg[i].usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
		name = BPF_CORE_READ(css, cgroup, kn, name);
		bpf_probe_read_kernel_str(cg[i].name, sizeof(cg[i].name), name);
		css = BPF_CORE_READ(css, parent);
	}
	*ncg = i;
}

#endif /* TKT_TASK_BPF_H */
