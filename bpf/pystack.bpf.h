/* CPython stacks, walked in the kernel in the context of the thread itself: at an OOM kill
 * (current is the trigger) and when a traced process dequeues its SIGKILL. Only kills pay.
 * The programs here use bpf_loop (5.17; its callback cannot even be loaded before 5.13): they
 * are optional ("?"), and user space loads them on kernels that have it. */
#ifndef TKT_PYSTACK_BPF_H
#define TKT_PYSTACK_BPF_H

#include "common.bpf.h"
#include "env.bpf.h"
#include "mem.bpf.h"
#include "tracked.bpf.h"

#define TKT_PY_MAX_THREADS 256 /* thread states looked at for this thread's */
#define TKT_PY_MAX_WALK 64     /* frames looked at, C-stack shims included */

/* Python processes user space found (pyproc.c), with their interpreter's layout (pystack.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tkt_py_proc);
} pyprocs SEC(".maps");

/* The record is built here (17 KiB: no room on the stack), then copied to the ring; the slack
 * after the pool lets the verifier see that any table copy that starts in it fits. */
struct py_scratch_val {
	struct tkt_ev_pystack e;
	__u8 slack[TKT_PY_TABLE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch_val);
} py_scratch SEC(".maps");

static __always_inline __u64 py_ptr(__u64 addr, int *fault)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		*fault = 1;
	return v;
}

/* A str object's characters as they are in memory; code objects' names are compact. */
static __always_inline void py_str(__u64 obj, const struct tkt_py_offsets *o, char *dst,
				   __u32 cap, __u16 *len, __u8 *kind)
{
	__u32 state = 0, k;
	__u64 bytes;
	__s64 n = 0;
	__u64 data;

	*len = 0;
	if (!obj || bpf_probe_read_user(&state, sizeof(state), (const void *)(obj + o->unicode_state)) ||
	    bpf_probe_read_user(&n, sizeof(n), (const void *)(obj + o->unicode_length)))
		return;
	k = (state >> 2) & 7;
	if (!((state >> 5) & 1) || (k != 1 && k != 2 && k != 4) || n <= 0)
		return;
	if ((state >> 6) & 1) {
		data = obj + o->unicode_ascii_size;
		*kind = TKT_PYF_ASCII;
	} else {
		data = obj + o->unicode_compact_size;
		*kind = k;
	}
	bytes = (__u64)n * k;
	if (bytes > cap)
		bytes = cap; /* cap is a multiple of 4: whole characters of any kind */
	if (bpf_probe_read_user(dst, bytes, (const void *)data) == 0)
		*len = bytes;
}

/* One frame's code object: names, first line, and its line table up to the instruction
 * (entries cover at least one 2-byte instruction and take about 1.5 bytes each: lasti + 64
 * bytes is ample), into the record's pool after the inner frames' tables. */
static __always_inline void py_code(__u64 code, const struct tkt_py_offsets *o,
				    struct tkt_ev_pystack *e, struct tkt_py_frame *f)
{
	__u64 tab, n, used = e->pool_used;
	__s64 size = 0;
	int fault = 0;

	bpf_probe_read_user(&f->firstlineno, sizeof(f->firstlineno),
			    (const void *)(code + o->code_firstlineno));
	py_str(py_ptr(code + o->code_filename, &fault), o, f->file, TKT_PY_FILE, &f->file_len,
	       &f->file_kind);
	py_str(py_ptr(code + o->code_name, &fault), o, f->name, TKT_PY_NAME, &f->name_len,
	       &f->name_kind);
	tab = py_ptr(code + o->code_linetable, &fault);
	if (!tab || bpf_probe_read_user(&size, sizeof(size), (const void *)(tab + o->bytes_size)) ||
	    size <= 0)
		return;
	f->table_total = size > 0xffffff ? 0xffffff : (__u32)size;
	if (f->lasti < 0 || used >= TKT_PY_POOL)
		return;
	n = (__u64)size < (__u64)f->lasti + 64 ? (__u64)size : (__u64)f->lasti + 64;
	if (n > TKT_PY_POOL - used)
		n = TKT_PY_POOL - used;
	if (n > TKT_PY_TABLE_MAX)
		n = TKT_PY_TABLE_MAX;
	used &= TKT_PY_POOL - 1;
	if (bpf_probe_read_user(&e->pool[used], n, (const void *)(tab + o->bytes_data)) == 0) {
		f->table_off = used;
		f->table_len = n;
		e->pool_used = used + n;
	}
}

struct py_thread_ctx {
	__u64 ts, fsbase;
	const struct tkt_py_proc *pp;
	int fault;
};

/* One thread state per call (bpf_loop): a bounded loop had the verifier walk all 256. */
static long py_thread_cb(__u64 i, struct py_thread_ctx *c)
{
	if (!c->ts || c->fault)
		return 1;
	if (py_ptr(c->ts + c->pp->o.tstate_thread_id, &c->fault) == c->fsbase)
		return 1;
	c->ts = py_ptr(c->ts + c->pp->o.tstate_next, &c->fault);
	return 0;
}

/* The current thread's PyThreadState: the one whose thread_id is this thread's
 * pthread_self(), which on x86-64 glibc is the TCB, the task's fs base. */
static __always_inline __u64 py_tstate(const struct tkt_py_proc *pp, int *err)
{
#ifdef __TARGET_ARCH_x86
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_thread_ctx c = { .pp = pp, .fsbase = BPF_CORE_READ(task, thread.fsbase) };

	c.ts = py_ptr(pp->runtime_addr + pp->o.runtime_interp_head, &c.fault);
	c.ts = c.ts ? py_ptr(c.ts + pp->o.interp_threads_head, &c.fault) : 0;
	if (bpf_loop(TKT_PY_MAX_THREADS, py_thread_cb, &c, 0) < TKT_PY_MAX_THREADS &&
	    c.ts && !c.fault)
		return c.ts;
	*err = c.fault ? TKT_PYE_FAULT : TKT_PYE_NO_THREAD;
	return 0;
#else
	*err = TKT_PYE_ARCH;
	return 0;
#endif
}

/* The frame count lives in the record (e->nframes), not here: a map value is an unknown
 * number to the verifier, so since 6.7, which checks a bpf_loop callback until its state
 * repeats, the body is checked a few times instead of once per possible count. */
struct py_walk_ctx {
	__u64 frame;
	__u32 key; /* pyprocs key of the process's interpreter */
	int fault;
	__u32 more;
};

/* One frame per call (bpf_loop): the verifier checks the body once, not once per frame. */
static long py_frame_cb(__u64 i, struct py_walk_ctx *c)
{
	const struct tkt_py_offsets *o;
	const struct tkt_py_proc *pp;
	struct tkt_ev_pystack *e;
	struct tkt_py_frame *f;
	__u32 zero = 0;
	__u64 code, instr, frame = c->frame;
	__s32 lasti = -1;
	__u8 owner = 0;

	e = bpf_map_lookup_elem(&py_scratch, &zero);
	pp = bpf_map_lookup_elem(&pyprocs, &c->key);
	if (!e || !pp || !frame || c->fault)
		return 1;
	if (e->nframes >= TKT_PY_FRAMES) {
		c->more = 1;
		return 1;
	}
	o = &pp->o;
	code = py_ptr(frame + o->frame_code, &c->fault);
	if (o->frame_owner)
		bpf_probe_read_user(&owner, 1, (const void *)(frame + o->frame_owner));
	if (code && owner != o->owner_cstack) {
		f = &e->f[e->nframes & (TKT_PY_FRAMES - 1)];
		__builtin_memset(f, 0, offsetof(struct tkt_py_frame, file));
		if (o->layout == TKT_PYL_FRAMEOBJ) {
			bpf_probe_read_user(&lasti, sizeof(lasti), (const void *)(frame + o->frame_instr));
			if (pp->version >= 0x30a && lasti >= 0)
				lasti *= 2; /* 3.10 counts code units */
		} else {
			instr = py_ptr(frame + o->frame_instr, &c->fault);
			if (instr >= code + o->code_bytecode)
				lasti = (__s32)(instr - code - o->code_bytecode);
		}
		f->lasti = lasti;
		py_code(code, o, e, f);
		e->nframes++;
	}
	c->frame = py_ptr(frame + o->frame_previous, &c->fault);
	return 0;
}

#define TKT_PY_MAX_ENV 1024 /* environment entries looked at */

struct py_env_ctx {
	__u64 envp;                 /* the process's environ array */
	__u64 env_start, env_end;   /* the block exec gave it: a value there is inherited */
	__u64 val[2];               /* where PYTEST_XDIST_WORKER's, PYTEST_CURRENT_TEST's values are */
};

/* One environment entry per call (bpf_loop). */
static long py_env_cb(__u64 i, struct py_env_ctx *c)
{
	char buf[TKT_KEY_LEN + 1];
	__u64 s = 0;
	__u16 key;

	if (bpf_probe_read_user(&s, sizeof(s), (const void *)(c->envp + i * sizeof(s))) || !s)
		return 1;
	/* A shorter entry at the end of its page cannot be ours: skipped. */
	if (bpf_probe_read_user(buf, sizeof(buf), (const void *)s))
		return 0;
	key = tkt_env_key(buf, '=');
	/* Set since its exec (os.environ, putenv: a string of its own heap), not a test's
	 * value a spawned process inherited. */
	if (key && (s < c->env_start || s >= c->env_end))
		c->val[key == TKT_ENV_XDIST_WORKER ? 0 : 1] = s + TKT_KEY_LEN + 1;
	return 0;
}

/* The at-kill chunk's record, off the stack: through tkt_env_chunk's frame the chain program
 * -> tkt_py_env -> callback -> tkt_env_chunk took 544 bytes, and Debian's 6.1 refuses a call
 * chain over 512 bytes, the callback's frame included (6.12 loaded it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tkt_ev_env);
} py_env_rec SEC(".maps");

/* tkt_env_send as a bpf_loop (these programs load only where it is): the verifier checks one
 * chunk, not each of 128 for each of the two variables. */
static long py_env_chunk_cb(__u64 i, void *unused)
{
	__u32 zero = 0;
	struct tkt_ev_env *e = bpf_map_lookup_elem(&py_env_rec, &zero);

	if (!e || tkt_env_fill(e, i))
		return 1;
	return tkt_env_put(e);
}

/* pytest's variables as the killed process's environment holds them now, sent as values
 * flagged TKT_ENV_F_KILL: the model takes them only for a process its libc probes have not
 * heard from (attached late, after the process set them). The process's own context, before
 * the OOM reaper takes its memory, is the last moment they can be read. A global function:
 * its stack is not added to the walk's (the chunks' own record is large). */
__noinline int tkt_py_env(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mm_struct *mm = task->mm;
	__u32 key = bpf_get_current_pid_tgid() >> 32;
	const struct tkt_py_proc *pp;
	struct py_env_ctx c = {};
	struct tkt_env_ctx *v;

	pp = bpf_map_lookup_elem(&pyprocs, &key);
	if (!pp) {
		/* A fork without exec has its parent's memory layout. */
		key = BPF_CORE_READ(task, real_parent, tgid);
		pp = bpf_map_lookup_elem(&pyprocs, &key);
	}
	if (!pp || !pp->environ_addr || !mm ||
	    bpf_probe_read_user(&c.envp, sizeof(c.envp), (const void *)pp->environ_addr) ||
	    !c.envp)
		return 0;
	c.env_start = BPF_CORE_READ(mm, env_start);
	c.env_end = BPF_CORE_READ(mm, env_end);
	bpf_loop(TKT_PY_MAX_ENV, py_env_cb, &c, 0);
	for (int k = 0; k < 2; k++) {
		if (!c.val[k] || !(v = tkt_env_slot()))
			continue;
		__builtin_memset(v, 0, sizeof(*v));
		v->value = (const char *)c.val[k];
		v->id = bpf_get_current_pid_tgid();
		v->key = k ? TKT_ENV_CURRENT_TEST : TKT_ENV_XDIST_WORKER;
		v->op = TKT_ENV_SET;
		v->flags = TKT_ENV_F_KILL;
		/* What is resident now, without closing the process's memory period. */
		v->snap.rss_pages = v->snap.peak_pages = tkt_mm_rss(mm);
		v->snap.faults = task->min_flt + task->maj_flt;
		bpf_loop(TKT_ENV_MAX_CHUNKS, py_env_chunk_cb, NULL, 0);
	}
	return 0;
}

/*
 * Walk the current thread's Python frames into one TKT_EV_PYSTACK record. A global function:
 * the verifier checks it once, on its own, so its loops do not add to its callers' budget.
 * quiet: say nothing unless there are frames (every thread of a killed process calls it).
 */
__noinline int tkt_py_walk(__u32 role, __u32 quiet)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid(), t0 = bpf_ktime_get_ns(), ts;
	struct py_walk_ctx c = { .key = id >> 32 };
	struct tkt_ev_pystack *e;
	const struct tkt_py_proc *pp;
	__u32 tgid = id >> 32, zero = 0, size;
	int err = 0;

	/* Every thread of a killed process comes here; the main thread's stack is the one the
	 * reports prefer. The others only while the kill ring is nearly empty: a process with
	 * hundreds of threads must not crowd out the kills themselves. */
	if (quiet && (__u32)id != tgid && bpf_ringbuf_query(&rb_urgent, BPF_RB_AVAIL_DATA) > 65536)
		return 0;
	e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!e)
		return 0;
	tkt_hdr_fill(&e->h, TKT_EV_PYSTACK, tgid, (__u32)id);
	e->role = role;
	e->version = 0;
	e->pool_used = 0;
	e->nframes = 0;
	pp = bpf_map_lookup_elem(&pyprocs, &c.key);
	if (!pp) {
		/* A fork without exec (multiprocessing, a worker pool) runs its parent's Python. */
		c.key = BPF_CORE_READ(task, real_parent, tgid);
		pp = bpf_map_lookup_elem(&pyprocs, &c.key);
	}
	if (!pp) {
		err = TKT_PYE_NOT_PYTHON;
		goto out;
	}
	e->version = pp->version;
	if (pp->o.layout == TKT_PYL_NONE) {
		err = TKT_PYE_UNSUPPORTED;
		goto out;
	}
	ts = py_tstate(pp, &err);
	if (!ts)
		goto out;
	c.frame = py_ptr(ts + pp->o.tstate_frame, &c.fault);
	if (c.frame && pp->o.layout == TKT_PYL_CFRAME)
		c.frame = py_ptr(c.frame + pp->o.cframe_current, &c.fault);
	bpf_loop(TKT_PY_MAX_WALK, py_frame_cb, &c, 0);
	if (c.fault && !e->nframes)
		err = TKT_PYE_FAULT;
	else if (!e->nframes)
		err = TKT_PYE_NO_FRAMES;
out:
	if (quiet && !e->nframes && (__u32)id != tgid)
		return 0;
	e->err = err;
	e->more = c.more;
	e->walk_ns = bpf_ktime_get_ns() - t0;
	size = e->pool_used;
	if (size > TKT_PY_POOL)
		size = TKT_PY_POOL;
	size += offsetof(struct tkt_ev_pystack, pool);
	if (bpf_ringbuf_output(&rb_urgent, e, size, BPF_RB_FORCE_WAKEUP))
		tkt_count_drop(TKT_DROP_URGENT);
	return 0;
}

/* A test build (make BPF_CFLAGS=-DTKT_TEST_REFUSE_STACKS) whose stack programs every verifier
 * refuses, a load through a number: tests/e2e/test_pystack.py shows tktrace tracing without
 * them, as on Debian's 6.1 before c92c8dd. */
#ifdef TKT_TEST_REFUSE_STACKS
#define TKT_TEST_REFUSED()                                                        \
	do {                                                                      \
		if (*(volatile __u32 *)(long)bpf_get_prandom_u32())                \
			return 1;                                                 \
	} while (0)
#else
#define TKT_TEST_REFUSED() do { } while (0)
#endif

/* Every thread of a SIGKILLed process dequeues the kill in its own context, before it exits
 * and before the OOM reaper can take its memory: the moment its stack can still be read. */
SEC("?tp_btf/signal_deliver")
int BPF_PROG(tkt_sig_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (sig != 9 || !tkt_tracked(id >> 32))
		return 0;
	TKT_TEST_REFUSED();
	if ((__u32)id == id >> 32)
		tkt_py_env(); /* once per process: its main thread */
	return tkt_py_walk(TKT_PY_KILLED, 1);
}

/* The trigger's stack at an OOM kill: a program of its own on mark_victim, attached after
 * tkt_mark_victim (so its record comes after the kill's), loaded only where bpf_loop is. */
SEC("?tp_btf/mark_victim")
int tkt_mark_victim_py(void *ctx)
{
	if (!tkt_tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	TKT_TEST_REFUSED();
	tkt_py_env();
	return tkt_py_walk(TKT_PY_TRIGGER, 0);
}

#endif /* TKT_PYSTACK_BPF_H */
