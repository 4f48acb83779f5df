/* Process lifecycle: follow COMMAND's descendants through fork, exec and exit. */
#ifndef TKT_PROC_BPF_H
#define TKT_PROC_BPF_H

#include "common.bpf.h"
#include "mem.bpf.h"
#include "task.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tkt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);
	struct tkt_ev_fork *e;
	struct tkt_pstate zero = {};

	/* Threads share their process's entry; only new processes matter. */
	if (cpid != ctgid || !tkt_tracked(ptgid))
		return 0;
	if (bpf_map_update_elem(&tracked, &ctgid, &zero, BPF_ANY))
		tkt_count_drop(TKT_DROP_TRACKED_FULL);

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		tkt_count_drop(TKT_DROP_BULK);
		return 0;
	}
	tkt_hdr_fill(&e->h, TKT_EV_FORK, ctgid, cpid);
	e->ppid = ptgid;
	e->flags = BPF_CORE_READ(child, mm) == BPF_CORE_READ(parent, mm) ? TKT_FORK_F_VM : 0;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	bpf_ringbuf_submit(e, tkt_bulk_flags());
	return 0;
}

/* The comms user space follows with libc probes (tracer.c after_exec). */
static __always_inline bool tkt_is_python(const char *comm)
{
	return (comm[0] == 'p' && comm[1] == 'y' && comm[2] == 't') &&
	       ((comm[3] == 'h' && comm[4] == 'o' && comm[5] == 'n') ||
		(comm[3] == 'e' && comm[4] == 's' && comm[5] == 't'));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tkt_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct tkt_ev_exec *e;
	unsigned long start, end;
	__u32 len;

	if (!tkt_tracked(tgid))
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		tkt_count_drop(TKT_DROP_BULK);
		return 0;
	}
	tkt_hdr_fill(&e->h, TKT_EV_EXEC, tgid, BPF_CORE_READ(p, pid));
	e->_pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	/* The new image's argv was just copied to its stack: read a fixed size (the verifier
	 * likes it, and env strings follow argv), or the exact length near the stack top. */
	start = BPF_CORE_READ(p, mm, arg_start);
	end = BPF_CORE_READ(p, mm, arg_end);
	len = end > start ? end - start : 0;
	e->args_len = 0;
	if (len > 0 && bpf_probe_read_user(e->args, TKT_ARGS_MAX, (void *)start) == 0) {
		e->args_len = len > TKT_ARGS_MAX ? TKT_ARGS_MAX : len;
	} else {
		len &= TKT_ARGS_MAX - 1;
		if (len > 0 && bpf_probe_read_user(e->args, len, (void *)start) == 0)
			e->args_len = len;
	}
	/* A Python's exec wakes user space at once: it attaches the libc probes for that process
	 * alone, before pytest's imports are done and its first test sets PYTEST_CURRENT_TEST. */
	bpf_ringbuf_submit(e, tkt_is_python(e->comm) ? BPF_RB_FORCE_WAKEUP : tkt_bulk_flags());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tkt_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 pid = BPF_CORE_READ(p, pid);
	struct tkt_pstate *st;
	struct tkt_ev_exit *e;
	__u64 peak;

	/* A process ends with its last thread, not with its leader: a main thread that leaves
	 * first (pthread_exit, or woken first by the group's SIGKILL) must not take away the
	 * entry that the kill's attribution and the victim's stack walk still need. */
	if (!tkt_group_dead(p))
		return 0;
	st = tkt_pstate_of(tgid);
	if (!st)
		return 0;
	tkt_fold_cpus(st, tgid, true);
	peak = st->life_peak_pages;
	if (bpf_map_delete_elem(&tracked, &tgid))
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		tkt_count_drop(TKT_DROP_BULK);
		return 0;
	}
	e->peak_rss_pages = peak;
	tkt_hdr_fill(&e->h, TKT_EV_EXIT, tgid, pid);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->_pad = 0;
	/* The process's name is its main thread's (a worker thread may have renamed itself). */
	BPF_CORE_READ_STR_INTO(&e->comm, p, group_leader, comm);
	bpf_ringbuf_submit(e, tkt_bulk_flags());
	return 0;
}

#endif /* TKT_PROC_BPF_H */
