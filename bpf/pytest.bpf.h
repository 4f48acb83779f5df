/* pytest markers: uprobes on libc setenv/unsetenv/putenv see PYTEST_CURRENT_TEST and
 * PYTEST_XDIST_WORKER change in every traced process, with no plugin in the suite. */
#ifndef TKT_PYTEST_BPF_H
#define TKT_PYTEST_BPF_H

#include "common.bpf.h"
#include "env.bpf.h"
#include "mem.bpf.h"

/* Send a value in chunks so node ids of any length up to 32 KiB arrive whole. */
static __always_inline int tkt_emit_env(struct tkt_pstate *st, __u16 key, __u16 op,
					const char *value)
{
	struct tkt_env_ctx c = { .value = value, .id = bpf_get_current_pid_tgid(), .key = key,
				 .op = op };

	/* Test boundaries close a memory period; the worker id does not. */
	if (key == TKT_ENV_CURRENT_TEST)
		tkt_mem_snap(&c.snap, st);
	tkt_env_chunks(&c);
	return 0;
}

/* The calling process's state: NULL when it is not traced. */
static __always_inline struct tkt_pstate *tkt_current_pstate(void)
{
	return tkt_pstate_of(bpf_get_current_pid_tgid() >> 32);
}

SEC("uprobe")
int BPF_KPROBE(tkt_setenv, const char *name, const char *value)
{
	struct tkt_pstate *st = tkt_current_pstate();
	__u16 key;

	if (!st)
		return 0;
	key = tkt_name_key_any(name);
	if (key)
		tkt_emit_env(st, key, TKT_ENV_SET, value);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tkt_unsetenv, const char *name)
{
	struct tkt_pstate *st = tkt_current_pstate();
	__u16 key;

	if (!st)
		return 0;
	key = tkt_name_key_any(name);
	if (key)
		tkt_emit_env(st, key, TKT_ENV_UNSET, NULL);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(tkt_putenv, const char *string)
{
	struct tkt_pstate *st = tkt_current_pstate();
	const char *value = NULL;
	__u16 key, op = 0;

	if (!st)
		return 0;
	key = tkt_putenv_key(string, &op, &value);
	if (key)
		tkt_emit_env(st, key, op, value);
	return 0;
}

#endif /* TKT_PYTEST_BPF_H */
