/* pytest's variables as libc's setenv/unsetenv/putenv see them: which name, and the value sent
 * in chunks through the bulk ring. Both modes' uprobes use these. */
#ifndef TKT_ENV_BPF_H
#define TKT_ENV_BPF_H

#include "common.bpf.h"

#define TKT_KEY_LEN 19 /* both names have 19 characters */

static const char key_current_test[TKT_KEY_LEN] = "PYTEST_CURRENT_TEST";
static const char key_xdist_worker[TKT_KEY_LEN] = "PYTEST_XDIST_WORKER";

/* Which of our two keys buf starts with; end is the byte that must follow. Differences are
 * OR-ed, not compared byte by byte with &&: each branch on an unknown byte doubles the paths
 * the verifier walks (47 k of the 62 k instructions it checked per stack program, 6.18). */
static __always_inline __u16 tkt_env_key(const char *buf, char end)
{
	__u8 a = 0, b = 0;

	for (int i = 0; i < TKT_KEY_LEN; i++) {
		a |= buf[i] ^ key_current_test[i];
		b |= buf[i] ^ key_xdist_worker[i];
	}
	if (buf[TKT_KEY_LEN] != end)
		return 0;
	return !a ? TKT_ENV_CURRENT_TEST : !b ? TKT_ENV_XDIST_WORKER : 0;
}

struct tkt_env_ctx {
	const char *value;
	__u64 id;
	struct tkt_snap snap;
	__u16 key;
	__u16 op;
	__u16 flags; /* TKT_ENV_F_KILL, or 0 */
};

/* The value being sent, for tkt_env_chunk: a global function takes only scalars before 5.12.
 * Per CPU: the uprobe programs run with preemption off, one at a time per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tkt_env_ctx);
} env_value SEC(".maps");

/* Fill *e with chunk i of the value in env_value; 1 when there is no value slot. */
static __always_inline int tkt_env_fill(struct tkt_ev_env *e, __u32 i)
{
	struct tkt_env_ctx *c;
	__u32 len = 0, key = 0;
	long n = 0;

	c = bpf_map_lookup_elem(&env_value, &key);
	if (!c)
		return 1;
	tkt_hdr_fill(&e->h, TKT_EV_ENV, c->id >> 32, (__u32)c->id);
	e->key = c->key;
	e->op = c->op;
	e->chunk = i;
	e->_pad = 0;
	e->snap = c->snap;
	if (c->op == TKT_ENV_SET && c->value)
		n = bpf_probe_read_user_str(e->data, TKT_ENV_CHUNK,
					    c->value + (long)i * (TKT_ENV_CHUNK - 1));
	if (n >= TKT_ENV_CHUNK) {
		len = TKT_ENV_CHUNK - 1;
		e->flags = c->flags;
	} else {
		len = n > 0 ? n - 1 : 0;
		e->flags = c->flags | TKT_ENV_F_LAST;
	}
	e->len = len;
	return 0;
}

/* Send *e at its used length: node ids are mostly short, and a fixed-size reservation would
 * move the whole chunk through the ring every time. 1 when it was the last chunk (or could not
 * be sent), 0 when more are to come. */
static __always_inline int tkt_env_put(struct tkt_ev_env *e)
{
	__u32 len = e->len & (TKT_ENV_CHUNK - 1); /* bounds for the verifier */

	if (bpf_ringbuf_output(&rb, e, offsetof(struct tkt_ev_env, data) + len,
			       tkt_bulk_flags())) {
		tkt_count_drop(TKT_DROP_BULK);
		return 1;
	}
	return e->flags & TKT_ENV_F_LAST ? 1 : 0;
}

/* Chunk i of the value in env_value, built on the stack; 1 when it was the last (or could not
 * be sent). A global function: the verifier checks it once, not once per iteration of the
 * caller's loop. */
__noinline int tkt_env_chunk(__u32 i)
{
	struct tkt_ev_env e;

	if (tkt_env_fill(&e, i))
		return 1;
	return tkt_env_put(&e);
}

/* The per-CPU value tkt_env_chunk sends, to be filled in place. */
static __always_inline struct tkt_env_ctx *tkt_env_slot(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&env_value, &key);
}

/* Send the value in env_value in chunks so node ids of any length up to 32 KiB arrive whole.
 * A bounded loop, not bpf_loop (5.17), whose callback reference cannot be loaded before 5.13. */
static __always_inline void tkt_env_send(void)
{
	for (__u32 i = 0; i < TKT_ENV_MAX_CHUNKS; i++)
		if (tkt_env_chunk(i))
			break;
}

static __always_inline void tkt_env_chunks(struct tkt_env_ctx *c)
{
	struct tkt_env_ctx *v = tkt_env_slot();

	if (!v)
		return;
	*v = *c;
	tkt_env_send();
}

/* setenv(name, value) and unsetenv(name): which of our names, if any, in any process. */
static __always_inline __u16 tkt_name_key_any(const char *name)
{
	char buf[TKT_KEY_LEN + 2] = {};

	/* One byte more than the name: a longer name (PYTEST_XDIST_WORKER_COUNT) reads 21. */
	if (bpf_probe_read_user_str(buf, sizeof(buf), name) != TKT_KEY_LEN + 1)
		return 0;
	return tkt_env_key(buf, '\0');
}

/* Python < 3.9 calls putenv("NAME=value"); glibc treats "NAME" alone as unset. Which of
 * our names string sets (op TKT_ENV_SET, *value after the '=') or unsets, if any. */
static __always_inline __u16 tkt_putenv_key(const char *string, __u16 *op, const char **value)
{
	char buf[TKT_KEY_LEN + 2] = {};
	long n;

	n = bpf_probe_read_user_str(buf, sizeof(buf), string);
	if (n == TKT_KEY_LEN + 1) {
		*op = TKT_ENV_UNSET;
		*value = NULL;
		return tkt_env_key(buf, '\0');
	}
	if (n < TKT_KEY_LEN + 2)
		return 0;
	*op = TKT_ENV_SET;
	*value = string + TKT_KEY_LEN + 1;
	return tkt_env_key(buf, '=');
}

#endif /* TKT_ENV_BPF_H */
