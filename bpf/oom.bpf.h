/* OOM kills: oom:mark_victim runs in the context of the task whose charge failed
 * (the trigger); its argument is the victim. */
#ifndef TKT_OOM_BPF_H
#define TKT_OOM_BPF_H

#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "mem.bpf.h"
#include "task.bpf.h"

static __always_inline struct tkt_ev_oom *tkt_oom_reserve(void)
{
	struct tkt_ev_oom *e = bpf_ringbuf_reserve(&rb_urgent, sizeof(*e), 0);

	if (!e)
		tkt_count_drop(TKT_DROP_URGENT);
	else
		__builtin_memset(e, 0, sizeof(*e));
	return e;
}

/*
 * mark_victim has two shapes: (struct task_struct *task, uid_t uid) since 2024 ("mm: update
 * mark_victim tracepoints fields", also in 6.1.130+), (int pid) before, where the victim's task
 * comes from the SIGKILL just sent (core_fixes.bpf.h). The classic event's record gained
 * anon_rss with the change, so its existence in BTF tells them apart at load time.
 */
SEC("tp_btf/mark_victim")
int tkt_mark_victim(__u64 *ctx)
{
	struct task_struct *cur = tkt_current_task();
	struct task_struct *victim = tkt_victim_task(ctx);
	struct tkt_pstate *st;
	struct tkt_ev_oom *e;
	__u32 vtgid;

	if (victim) {
		vtgid = BPF_CORE_READ(victim, tgid);
		if (!tkt_tracked(vtgid) && !tkt_tracked(bpf_get_current_pid_tgid() >> 32))
			return 0;
		e = tkt_oom_reserve();
		if (!e)
			return 0;
		tkt_hdr_fill(&e->h, TKT_EV_OOM, vtgid, BPF_CORE_READ(victim, pid));
		tkt_task_fill(&e->victim, victim);
		e->total_vm_pages = BPF_CORE_READ(victim, mm, total_vm);
		e->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
		tkt_cg_fill(e->cg, &e->ncg, victim);
	} else {
		/* Only a thread id: it stands in for the tgid; the trigger's cgroup for the victim's. */
		vtgid = tkt_victim_tid(ctx);
		e = tkt_oom_reserve();
		if (!e)
			return 0;
		tkt_hdr_fill(&e->h, TKT_EV_OOM, vtgid, vtgid);
		e->victim.pid = vtgid;
		e->victim.tid = vtgid;
		tkt_cg_fill(e->cg, &e->ncg, cur);
	}
	tkt_task_fill(&e->trigger, cur);
	st = tkt_pstate_of(vtgid);
	if (st)
		e->victim_peak_pages = tkt_fold_cpus(st, vtgid, false);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

#endif /* TKT_OOM_BPF_H */
