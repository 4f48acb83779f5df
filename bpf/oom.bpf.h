/* OOM kills: oom:mark_victim runs in the context of the task whose charge failed
 * (the trigger); its argument is the victim. */
#ifndef TKT_OOM_BPF_H
#define TKT_OOM_BPF_H

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

/* The victim's memory cgroup and its ancestors, nearest first, with limit and usage. */
static __always_inline void tkt_cg_fill(struct tkt_ev_oom *e, struct task_struct *task)
{
	int ssid = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	unsigned long cgs = (unsigned long)BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;
	__u32 i;

	e->ncg = 0;
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
		e->cg[i].id = BPF_CORE_READ(css, cgroup, kn, id);
		e->cg[i].max_pages = BPF_CORE_READ(memcg, memory.max);
		e->cg[i].usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
		name = BPF_CORE_READ(css, cgroup, kn, name);
		bpf_probe_read_kernel_str(e->cg[i].name, sizeof(e->cg[i].name), name);
		css = BPF_CORE_READ(css, parent);
	}
	e->ncg = i;
}

static __always_inline struct tkt_ev_oom *tkt_oom_reserve(void)
{
	struct tkt_ev_oom *e = bpf_ringbuf_reserve(&rb_urgent, sizeof(*e), 0);

	if (!e)
		tkt_count_drop(TKT_DROP_URGENT);
	else
		__builtin_memset(e, 0, sizeof(*e));
	return e;
}

/* Kernels since 2024 (and 6.1.130+): mark_victim(struct task_struct *, uid_t). */
SEC("?tp_btf/mark_victim")
int BPF_PROG(tkt_mark_victim, struct task_struct *victim, uid_t uid)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 vtgid = BPF_CORE_READ(victim, tgid);
	struct tkt_pstate *st;
	struct tkt_ev_oom *e;

	if (!tkt_tracked(vtgid) && !tkt_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	e = tkt_oom_reserve();
	if (!e)
		return 0;
	tkt_hdr_fill(&e->h, TKT_EV_OOM, vtgid, BPF_CORE_READ(victim, pid));
	tkt_task_fill(&e->victim, victim);
	tkt_task_fill(&e->trigger, cur);
	e->total_vm_pages = BPF_CORE_READ(victim, mm, total_vm);
	e->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
	tkt_cg_fill(e, victim);
	st = bpf_task_storage_get(&pstate, victim->group_leader, 0, 0);
	if (st)
		e->victim_peak_pages = st->peak_pages;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* Older kernels: mark_victim(int pid) only; user space fills in what it can. */
SEC("?raw_tp/mark_victim")
int tkt_mark_victim_pid(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 vpid = (__u32)ctx->args[0];
	struct tkt_ev_oom *e;

	e = tkt_oom_reserve();
	if (!e)
		return 0;
	/* No task here: the tid stands in for the tgid; user space resolves it. */
	tkt_hdr_fill(&e->h, TKT_EV_OOM, vpid, vpid);
	e->victim.pid = vpid;
	e->victim.tid = vpid;
	tkt_task_fill(&e->trigger, cur);
	tkt_cg_fill(e, cur);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

#endif /* TKT_OOM_BPF_H */
