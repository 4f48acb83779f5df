/*
 * tktrace watch: every SIGKILL that takes effect and every OOM kill on the machine, with the
 * ancestry and cgroup path read at event time (the processes are gone when user space looks),
 * and pytest's variables set by any process. watch mode's own object: run mode neither loads
 * nor sizes any of it, and this object has none of run mode's tables.
 */
/* Kills are the traffic here (~850 records fit); bulk is only pytest's variables and exits. */
#define TKT_RB_URGENT_BYTES (4 << 20)
#define TKT_RB_BULK_BYTES (1 << 20)
#define TKT_W_PYTEST_MAX 16384

#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "env.bpf.h"
#include "task.bpf.h"

/* Which hierarchy names a process's cgroup: the memory controller's on v1, the unified one
 * on v2 (set before load). */
const volatile bool watch_cg_v1 = false;

/* tgids that set a pytest variable: only their exits are reported, so user space can forget
 * them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TKT_W_PYTEST_MAX);
	__type(key, __u32);
	__type(value, __u8);
} watch_pytest SEC(".maps");

/* The css naming task's cgroup: the memory controller's (v1) or the unified cgroup's own. */
static __always_inline struct cgroup_subsys_state *tkt_w_css(struct task_struct *task)
{
	unsigned long cgs = (unsigned long)BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;
	int ssid = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup *cg;

	if (!cgs)
		return NULL;
	if (!watch_cg_v1) {
		cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
		if (!cg)
			return NULL;
		return (void *)((unsigned long)cg + bpf_core_field_offset(struct cgroup, self));
	}
	if (ssid < 0 || ssid >= 16)
		return NULL;
	bpf_probe_read_kernel(&css, sizeof(css),
			      (void *)(cgs + bpf_core_field_offset(struct css_set, subsys) +
				       ssid * sizeof(void *)));
	return css;
}

static __always_inline void tkt_w_task(struct tkt_wtask *t, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct cgroup_subsys_state *css, *parent;
	struct task_struct *p = task;
	__u32 i, pid;

	t->nanc = 0;
	t->_pad = 0;
	t->pid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
	t->rss_pages = tkt_mm_counter(mm, 0) + tkt_mm_counter(mm, 1) + tkt_mm_counter(mm, 3);
	for (i = 0; i < TKT_ANC_DEPTH; i++) {
		p = BPF_CORE_READ(p, real_parent);
		pid = p ? BPF_CORE_READ(p, tgid) : 0;
		if (!pid)
			break;
		t->anc[i].pid = pid;
		t->anc[i]._pad = 0;
		BPF_CORE_READ_STR_INTO(&t->anc[i].comm, p, group_leader, comm);
		t->nanc = i + 1;
		if (pid == 1)
			break;
	}
	css = tkt_w_css(task);
	for (i = 0; i < TKT_WCG_DEPTH; i++) {
		if (!css)
			break;
		parent = BPF_CORE_READ(css, parent);
		if (!parent)
			break; /* the hierarchy's root: not part of the path */
		t->cg_id[i] = BPF_CORE_READ(css, cgroup, kn, id);
		bpf_probe_read_kernel_str(t->cg[i], TKT_WCG_NAME,
					  BPF_CORE_READ(css, cgroup, kn, name));
		css = parent;
	}
	t->ncg = i;
	t->cg_trunc = css && BPF_CORE_READ(css, parent);
}

static __always_inline struct tkt_ev_wkill *tkt_w_reserve(__u32 kind)
{
	struct tkt_ev_wkill *e = bpf_ringbuf_reserve(&rb_urgent, sizeof(*e), 0);

	if (!e) {
		tkt_count_drop(TKT_DROP_URGENT);
		return NULL;
	}
	/* Too big to clear whole: every field user space reads is written (counts bound the
	 * arrays). */
	e->kind = kind;
	e->flags = 0;
	e->oom_score_adj = 0;
	e->ncg = 0;
	e->total_vm_pages = 0;
	return e;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(tkt_w_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct tkt_ev_wkill *e;

	/* Only kills that take effect: TRACE_SIGNAL_DELIVERED (0) or LOSE_INFO (4), not one
	 * already pending or ignored (a kernel thread, a process already exiting). */
	tkt_kill_target_keep(sig, info, task);
	if (sig != 9 || (result != 0 && result != 4))
		return 0;
	e = tkt_w_reserve(TKT_WK_SIGKILL);
	if (!e)
		return 0;
	tkt_hdr_fill(&e->h, TKT_EV_WKILL, BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, pid));
	e->flags = (unsigned long)info == 1 ? TKT_SIG_F_KERNEL : 0;
	tkt_w_task(&e->target, task);
	tkt_w_task(&e->source, tkt_current_task());
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* Both mark_victim shapes, as tkt_mark_victim (oom.bpf.h). */
SEC("tp_btf/mark_victim")
int tkt_w_mark_victim(__u64 *ctx)
{
	struct task_struct *cur = tkt_current_task();
	struct task_struct *victim = tkt_victim_task(ctx);
	struct tkt_ev_wkill *e = tkt_w_reserve(TKT_WK_OOM);
	__u32 vtgid;

	if (!e)
		return 0;
	if (victim) {
		vtgid = BPF_CORE_READ(victim, tgid);
		tkt_hdr_fill(&e->h, TKT_EV_WKILL, vtgid, BPF_CORE_READ(victim, pid));
		tkt_w_task(&e->target, victim);
		e->total_vm_pages = BPF_CORE_READ(victim, mm, total_vm);
		e->oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
		tkt_cg_fill(e->cg, &e->ncg, victim);
	} else {
		vtgid = tkt_victim_tid(ctx);
		tkt_hdr_fill(&e->h, TKT_EV_WKILL, vtgid, vtgid);
		__builtin_memset(&e->target, 0, offsetof(struct tkt_wtask, cg_id));
		e->target.pid = vtgid;
		e->target.tid = vtgid;
		tkt_cg_fill(e->cg, &e->ncg, cur);
	}
	tkt_w_task(&e->source, cur);
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tkt_w_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct tkt_ev_exit *e;

	/* As in run mode: the last thread's exit ends the process, not the leader's. */
	if (!tkt_group_dead(p) || bpf_map_delete_elem(&watch_pytest, &tgid))
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		tkt_count_drop(TKT_DROP_BULK);
		return 0;
	}
	tkt_hdr_fill(&e->h, TKT_EV_EXIT, tgid, tgid);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->_pad = 0;
	e->peak_rss_pages = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, p, group_leader, comm);
	bpf_ringbuf_submit(e, tkt_bulk_flags());
	return 0;
}

/* A pytest variable changed in any process: remember the process, send the value. */
static __always_inline void tkt_w_env(__u16 key, __u16 op, const char *value)
{
	struct tkt_env_ctx c = { .value = value, .id = bpf_get_current_pid_tgid(), .key = key,
				 .op = op };
	__u32 tgid = c.id >> 32;
	__u8 one = 1;

	bpf_map_update_elem(&watch_pytest, &tgid, &one, BPF_ANY);
	tkt_env_chunks(&c);
}

SEC("uprobe")
int BPF_KPROBE(tkt_w_setenv, const char *name, const char *value)
{
	__u16 key = tkt_name_key_any(name);

	if (key)
		tkt_w_env(key, TKT_ENV_SET, value);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tkt_w_unsetenv, const char *name)
{
	__u16 key = tkt_name_key_any(name);

	if (key)
		tkt_w_env(key, TKT_ENV_UNSET, NULL);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tkt_w_putenv, const char *string)
{
	const char *value = NULL;
	__u16 key, op = 0;

	key = tkt_putenv_key(string, &op, &value);
	if (key)
		tkt_w_env(key, op, value);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
