/* Signals: every SIGKILL to a traced process, and fatal signals to COMMAND itself. */
#ifndef TKT_SIGNAL_BPF_H
#define TKT_SIGNAL_BPF_H

#include "common.bpf.h"
#include "core_fixes.bpf.h"
#include "mem.bpf.h"

/* Signals whose default action ends the process (not CHLD, CONT, STOP, TSTP, TTIN,
 * TTOU, URG, WINCH). */
#define TKT_FATAL_MASK 0xef01fffeULL /* bits 1..16, 24..27, 29..31 */

SEC("tp_btf/signal_generate")
int BPF_PROG(tkt_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 id = bpf_get_current_pid_tgid();
	struct tkt_ev_signal *e;
	struct mm_struct *mm = task->mm;

	tkt_kill_target_keep(sig, info, task);
	if (sig <= 0 || sig > 31)
		return 0;
	if (sig == 9) {
		if (!tkt_tracked(tgid))
			return 0;
	} else if (tgid != root_tgid || !((TKT_FATAL_MASK >> sig) & 1)) {
		return 0;
	}
	e = bpf_ringbuf_reserve(&rb_urgent, sizeof(*e), 0);
	if (!e) {
		tkt_count_drop(TKT_DROP_URGENT);
		return 0;
	}
	tkt_hdr_fill(&e->h, TKT_EV_SIGNAL, tgid, BPF_CORE_READ(task, pid));
	e->sig = sig;
	e->sender_pid = id >> 32;
	e->sender_tid = (__u32)id;
	e->result = result;
	/* SEND_SIG_PRIV is (struct kernel_siginfo *)1: the kernel's own kills (OOM). */
	e->flags = (unsigned long)info == 1 ? TKT_SIG_F_KERNEL : 0;
	e->_pad = 0;
	e->target_rss_pages = mm ? tkt_mm_rss(mm) : 0; /* none left when it is exiting */
	BPF_CORE_READ_STR_INTO(&e->target_comm, task, comm);
	bpf_get_current_comm(e->sender_comm, sizeof(e->sender_comm));
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

#endif /* TKT_SIGNAL_BPF_H */
