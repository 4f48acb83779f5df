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

/*
 * Helpers newer than 5.10, detected at load time: a CO-RE enum check on the kernel's own
 * enum bpf_func_id is a constant for the verifier, which drops the branch that calls a helper
 * the kernel lacks before it looks at the call.
 * - bpf_get_current_task_btf (5.11, commit 3ca1032ab7ab): a task pointer programs may
 *   dereference; before it, bpf_get_current_task and reads through bpf_probe_read.
 * - bpf_map_lookup_percpu_elem (5.19, commit 07343110b293): another CPU's slot of a per-CPU
 *   map; without it the rss hot path writes peaks straight into the process's state.
 */
#define tkt_has_task_btf() bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)
#define tkt_has_percpu_lookup()                                                                    \
	bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_map_lookup_percpu_elem)

/* The current task, for BPF_CORE_READ only (a plain pointer on 5.10). */
static __always_inline struct task_struct *tkt_current_task(void)
{
	if (tkt_has_task_btf())
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

/*
 * oom:mark_victim gives only the victim's pid before "mm: update mark_victim tracepoints
 * fields" (6.8, backported to 6.1.130). The OOM killer sends the victim its SIGKILL just
 * before, from the same task under task_lock (so on the same CPU): signal_generate keeps the
 * target of the kernel's last SIGKILL on each CPU, and mark_victim takes it when the pids
 * match. The task is alive and its mm held for the whole time.
 */
#ifndef TKT_TEST_OLD_MARK_VICTIM
#define tkt_mark_victim_has_task() bpf_core_field_exists(struct trace_event_raw_mark_victim, anon_rss)
/* The old shape's only argument. */
#define tkt_victim_tid(ctx) ((__u32)(ctx)[0])
#else
/* A test build (make BPF_CFLAGS=-DTKT_TEST_OLD_MARK_VICTIM) takes the old shape's path on a
 * kernel with the new one, its pid read from the task: no kernel at hand has the old shape. */
#define tkt_mark_victim_has_task() 0
#define tkt_victim_tid(ctx) ((__u32)BPF_CORE_READ((struct task_struct *)(ctx)[0], pid))
#endif

struct tkt_kill_target {
	__u64 task;
	__u32 tid;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tkt_kill_target);
} kill_target SEC(".maps");

/* In signal_generate: remember a SIGKILL the kernel itself sends (SEND_SIG_PRIV). */
static __always_inline void tkt_kill_target_keep(int sig, void *info, struct task_struct *task)
{
	struct tkt_kill_target *k;
	__u32 key = 0;

	if (tkt_mark_victim_has_task() || sig != 9 || (unsigned long)info != 1)
		return;
	k = bpf_map_lookup_elem(&kill_target, &key);
	if (k) {
		k->task = (__u64)task;
		k->tid = BPF_CORE_READ(task, pid);
	}
}

/* In mark_victim: the victim's task (for BPF_CORE_READ) from either shape, or NULL. */
static __always_inline struct task_struct *tkt_victim_task(__u64 *ctx)
{
	struct tkt_kill_target *k;
	__u32 key = 0;

	if (tkt_mark_victim_has_task())
		return (struct task_struct *)ctx[0];
	k = bpf_map_lookup_elem(&kill_target, &key);
	if (!k || !k->task || k->tid != tkt_victim_tid(ctx))
		return NULL;
	return (struct task_struct *)k->task;
}

#endif /* TKT_CORE_FIXES_BPF_H */
