/* Event records shared by the BPF programs and user space: fixed widths, explicit padding. */
#ifndef TKTRACE_H
#define TKTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TKT_COMM_LEN 16
#define TKT_ARGS_MAX 512     /* argv bytes captured at exec (NUL separated) */
#define TKT_ENV_CHUNK 256     /* env values arrive in chunks of at most this size ... */
#define TKT_ENV_MAX_CHUNKS 128 /* ... so a node id may be up to 32 KiB */
#define TKT_CG_DEPTH 8       /* memory cgroup levels captured, victim's first */
#define TKT_CG_NAME 64

enum tkt_event_type {
	TKT_EV_FORK = 1,
	TKT_EV_EXEC = 2,
	TKT_EV_EXIT = 3,
	TKT_EV_ENV = 4,
	TKT_EV_OOM = 5,
	TKT_EV_SIGNAL = 6,
	TKT_EV_WKILL = 7, /* tktrace watch: any kill on the machine */
	TKT_EV_PYSTACK = 8, /* a thread's Python stack, walked in the kernel at a kill */
};

/* Which pytest variable an env record is about. */
enum tkt_env_key {
	TKT_ENV_CURRENT_TEST = 1,
	TKT_ENV_XDIST_WORKER = 2,
};

enum tkt_env_op {
	TKT_ENV_SET = 1,
	TKT_ENV_UNSET = 2,
};

#define TKT_ENV_F_LAST 1u /* last chunk of the value */
#define TKT_ENV_F_KILL 2u /* read from the process's memory as it was killed (stack programs) */

/* Every record starts with this; pid is the tgid the record is about. */
struct tkt_hdr {
	__u32 type;
	__u32 pid;
	__u32 tid;
	__u32 _pad;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
};

struct tkt_ev_fork {
	struct tkt_hdr h; /* h.pid: the child */
	__u32 ppid;
	__u32 flags; /* TKT_FORK_F_VM, or 0 */
	char comm[TKT_COMM_LEN];
};

/* The child shares its parent's memory until it execs or exits: vfork, posix_spawn (Python's
 * subprocess), never a worker that runs Python code of its own. */
#define TKT_FORK_F_VM 1u

struct tkt_ev_exec {
	struct tkt_hdr h;
	__u32 args_len;
	__u32 _pad;
	char comm[TKT_COMM_LEN];
	char args[TKT_ARGS_MAX];
};

struct tkt_ev_exit {
	struct tkt_hdr h;
	__s32 exit_code; /* task->exit_code: wait status layout */
	__u32 _pad;
	__u64 peak_rss_pages; /* highest resident memory over the process's life */
	char comm[TKT_COMM_LEN];
};

/* Per traced process, kept in the kernel (value of the tracked map): the hot path
 * (every rss change) only raises peaks here; nothing per fault leaves the kernel. */
struct tkt_pstate {
	__u64 peak_pages;      /* highest rss since the last test phase boundary */
	__u64 life_peak_pages; /* highest rss since the process was first seen */
	__u64 mmap_bytes;      /* mmaps of at least TKT_BIG_MMAP since the last boundary */
};

#define TKT_BIG_MMAP (1u << 20)

/* Taken at a test phase boundary, in the process that crosses it. */
struct tkt_snap {
	__u64 rss_pages;   /* resident now */
	__u64 peak_pages;  /* highest since the previous boundary */
	__u64 faults;      /* minor + major faults of the calling thread, cumulative */
	__u64 mmap_bytes;  /* big mmaps since the previous boundary */
};

struct tkt_ev_env {
	struct tkt_hdr h;
	__u16 key;   /* enum tkt_env_key */
	__u16 op;    /* enum tkt_env_op */
	__u16 chunk; /* index of this chunk */
	__u16 flags; /* TKT_ENV_F_* */
	__u32 len;   /* bytes of data used in this chunk */
	__u32 _pad;
	struct tkt_snap snap; /* memory at this boundary (chunk 0 is authoritative) */
	char data[TKT_ENV_CHUNK];
};

struct tkt_task {
	__u32 pid; /* tgid */
	__u32 tid;
	char comm[TKT_COMM_LEN];
	__u64 rss_anon_pages;
	__u64 rss_file_pages;
	__u64 rss_shmem_pages;
};

struct tkt_cg {
	__u64 id;          /* kernfs id: the cgroup directory's inode number */
	__u64 max_pages;   /* memory limit, pages (huge when unlimited) */
	__u64 usage_pages; /* charged pages when the kill happened */
	char name[TKT_CG_NAME];
};

struct tkt_ev_oom {
	struct tkt_hdr h; /* h.pid: the victim's tgid */
	struct tkt_task victim;
	struct tkt_task trigger; /* current at mark_victim: whose charge failed */
	__u64 total_vm_pages;
	__s32 oom_score_adj;
	__u32 ncg; /* levels filled in cg[]; 0 on kernels without the task */
	__u64 victim_peak_pages; /* the victim's peak since its last test boundary */
	struct tkt_cg cg[TKT_CG_DEPTH];
};

#define TKT_SIG_F_KERNEL 1u /* sent with SEND_SIG_PRIV: the kernel's own kill */

struct tkt_ev_signal {
	struct tkt_hdr h; /* h.pid: the target's tgid */
	__u32 sig;
	__u32 sender_pid;
	__u32 sender_tid;
	__s32 result;
	__u32 flags;
	__u32 _pad;
	__u64 target_rss_pages; /* anon + file + shmem */
	char target_comm[TKT_COMM_LEN];
	char sender_comm[TKT_COMM_LEN];
};

/* tktrace watch: a process as seen when it is killed, with what is gone once it is dead. */
#define TKT_ANC_DEPTH 16  /* ancestors captured (real_parent chain) */
#define TKT_WCG_DEPTH 12  /* cgroup path levels captured, leaf first */
#define TKT_WCG_NAME 128  /* per level: fits "cri-containerd-<64 hex>.scope" */

struct tkt_anc {
	__u32 pid; /* tgid */
	__u32 _pad;
	char comm[TKT_COMM_LEN];
};

struct tkt_wtask {
	__u32 pid; /* tgid */
	__u32 tid;
	char comm[TKT_COMM_LEN];
	__u64 rss_pages; /* anon + file + shmem */
	__u32 nanc;      /* ancestors filled, parent first */
	__u32 ncg;       /* cgroup levels filled, leaf first, the root not included */
	__u32 cg_trunc;  /* 1: levels above cg[ncg - 1] were left out */
	__u32 _pad;
	__u64 cg_id[TKT_WCG_DEPTH]; /* kernfs ids, to find the OOM's memcg in the path */
	struct tkt_anc anc[TKT_ANC_DEPTH];
	char cg[TKT_WCG_DEPTH][TKT_WCG_NAME];
};

enum tkt_wkill_kind {
	TKT_WK_SIGKILL = 1,
	TKT_WK_OOM = 2,
};

struct tkt_ev_wkill {
	struct tkt_hdr h; /* h.pid: the target's (victim's) tgid */
	__u32 kind;       /* enum tkt_wkill_kind */
	__u32 flags;      /* TKT_SIG_F_KERNEL */
	__s32 oom_score_adj;
	__u32 ncg;        /* memcg levels in cg[] (OOM only) */
	__u64 total_vm_pages;
	struct tkt_wtask target; /* SIGKILL: the target; OOM: the victim */
	struct tkt_wtask source; /* SIGKILL: the sender; OOM: the trigger */
	struct tkt_cg cg[TKT_CG_DEPTH]; /* OOM: the victim's memcg chain with limits */
};

/* Python stacks (bpf/pystack.bpf.h, user/core/pystack.c): what the kernel copies out of a CPython
 * thread so user space can name each frame after the process is gone. */
#define TKT_PY_FRAMES 32
#define TKT_PY_FILE 160
#define TKT_PY_NAME 96
#define TKT_PY_POOL 8192       /* line-table bytes per stack, innermost frames first ... */
#define TKT_PY_TABLE_MAX 2048  /* ... each the prefix up to its instruction, at most this */

/* How an interpreter version keeps its frames. */
enum tkt_py_layout {
	TKT_PYL_NONE = 0,     /* a Python tktrace cannot walk: reported as unsupported */
	TKT_PYL_FRAMEOBJ = 1, /* 3.8-3.10: tstate->frame, PyFrameObject, f_lasti an int */
	TKT_PYL_CFRAME = 2,   /* 3.11-3.12: tstate->cframe->current_frame, _PyInterpreterFrame */
	TKT_PYL_CURFRAME = 3, /* 3.13: tstate->current_frame */
};

/* Byte offsets into one CPython minor version's structures (x86-64). */
struct tkt_py_offsets {
	__u16 runtime_interp_head;  /* _PyRuntimeState.interpreters.head */
	__u16 interp_threads_head;  /* PyInterpreterState.threads.head (tstate_head < 3.11) */
	__u16 tstate_next;
	__u16 tstate_thread_id;     /* pthread_self() of the thread */
	__u16 tstate_frame;         /* frame / cframe / current_frame */
	__u16 cframe_current;       /* _PyCFrame.current_frame (3.11-3.12) */
	__u16 frame_code;
	__u16 frame_previous;
	__u16 frame_instr;          /* f_lasti (int) / prev_instr / instr_ptr */
	__u16 frame_owner;          /* 3.11+; 0: none */
	__u16 code_filename;
	__u16 code_name;            /* co_qualname from 3.11, co_name before */
	__u16 code_firstlineno;
	__u16 code_linetable;       /* co_linetable (co_lnotab < 3.10) */
	__u16 code_bytecode;        /* co_code_adaptive (3.11+) */
	__u16 unicode_state;
	__u16 unicode_ascii_size;   /* where a compact ASCII string's bytes start */
	__u16 unicode_compact_size; /* ... and a compact non-ASCII one's */
	__u16 unicode_length;
	__u16 bytes_size;
	__u16 bytes_data;
	__u8 layout;                /* enum tkt_py_layout */
	__u8 owner_cstack;          /* owner value of C-stack shim frames; 0xff: none */
};

/* Value of the pyprocs map, keyed by tgid: a Python process user space looked at. */
struct tkt_py_proc {
	__u64 runtime_addr; /* &_PyRuntime in the process */
	__u32 version;      /* major << 8 | minor */
	__u32 _pad;
	struct tkt_py_offsets o;
	__u16 _pad2;
	__u64 environ_addr; /* &__environ in the process, or 0: pytest's variables at a kill */
};

enum tkt_py_role {
	TKT_PY_TRIGGER = 1, /* mark_victim: the thread whose charge failed */
	TKT_PY_KILLED = 2,  /* signal delivery: a thread of a SIGKILLed traced process */
};

enum tkt_py_err {
	TKT_PYE_OK = 0,
	TKT_PYE_NOT_PYTHON = 1,  /* tktrace found no CPython in the process */
	TKT_PYE_UNSUPPORTED = 2, /* a CPython version without an offset table */
	TKT_PYE_NO_THREAD = 3,   /* no thread state has this thread's id */
	TKT_PYE_FAULT = 4,       /* interpreter memory could not be read (page not resident) */
	TKT_PYE_ARCH = 5,        /* the walk is x86-64 only */
	TKT_PYE_NO_FRAMES = 6,   /* the thread runs no Python code now */
};

#define TKT_PYF_ASCII 0  /* string kinds: PyUnicode's 1, 2 or 4 bytes per character */
struct tkt_py_frame {
	__s32 firstlineno;
	__s32 lasti;        /* byte offset of the current instruction in the bytecode; -1: none */
	__u16 file_len;     /* bytes copied into file[] */
	__u16 name_len;
	__u16 table_len;    /* bytes of its line table copied, at pool[table_off] */
	__u8 file_kind;     /* TKT_PYF_ASCII, or 1, 2, 4 bytes per character */
	__u8 name_kind;
	__u32 table_total;  /* the whole line table's length */
	__u32 table_off;
	char file[TKT_PY_FILE];
	char name[TKT_PY_NAME];
};

struct tkt_ev_pystack {
	struct tkt_hdr h; /* h.pid, h.tid: the thread walked */
	__u32 role;       /* enum tkt_py_role */
	__u32 version;    /* major << 8 | minor; 0: unknown */
	__s32 err;        /* enum tkt_py_err */
	__u32 nframes;    /* innermost first */
	__u32 more;       /* 1: the stack had more frames than were copied */
	__u32 walk_ns;    /* what the walk cost, in the kernel */
	struct tkt_py_frame f[TKT_PY_FRAMES];
	__u32 pool_used;  /* the record ends after pool[pool_used] */
	__u32 _pad;
	__u8 pool[TKT_PY_POOL];
};

/* Indices of the per-CPU drop counters. */
enum tkt_drop_idx {
	TKT_DROP_BULK = 0,
	TKT_DROP_URGENT = 1,
	TKT_DROP_TRACKED_FULL = 2,
	TKT_DROP_NR = 3,
};

_Static_assert(sizeof(struct tkt_hdr) == 24, "tkt_hdr layout");
_Static_assert(sizeof(struct tkt_ev_fork) == 48, "tkt_ev_fork layout");
_Static_assert(sizeof(struct tkt_ev_exec) == 560, "tkt_ev_exec layout");
_Static_assert(sizeof(struct tkt_ev_exit) == 56, "tkt_ev_exit layout");
_Static_assert(sizeof(struct tkt_pstate) == 24, "tkt_pstate layout");
_Static_assert(sizeof(struct tkt_snap) == 32, "tkt_snap layout");
_Static_assert(sizeof(struct tkt_ev_env) == 72 + TKT_ENV_CHUNK, "tkt_ev_env layout");
_Static_assert(sizeof(struct tkt_task) == 48, "tkt_task layout");
_Static_assert(sizeof(struct tkt_cg) == 88, "tkt_cg layout");
_Static_assert(sizeof(struct tkt_ev_oom) == 24 + 96 + 24 + 8 * 88, "tkt_ev_oom layout");
_Static_assert(sizeof(struct tkt_ev_signal) == 24 + 32 + 32, "tkt_ev_signal layout");

_Static_assert(sizeof(struct tkt_py_offsets) == 44, "tkt_py_offsets layout");
_Static_assert(sizeof(struct tkt_py_proc) == 16 + 44 + 4 + 8, "tkt_py_proc layout");
_Static_assert(sizeof(struct tkt_py_frame) == 24 + TKT_PY_FILE + TKT_PY_NAME, "tkt_py_frame layout");
_Static_assert(sizeof(struct tkt_ev_pystack) ==
		       48 + TKT_PY_FRAMES * sizeof(struct tkt_py_frame) + 8 + TKT_PY_POOL,
	       "tkt_ev_pystack layout");
_Static_assert(sizeof(struct tkt_anc) == 24, "tkt_anc layout");
_Static_assert(sizeof(struct tkt_wtask) == 48 + 8 * TKT_WCG_DEPTH + 24 * TKT_ANC_DEPTH +
				     TKT_WCG_DEPTH * TKT_WCG_NAME, "tkt_wtask layout");
_Static_assert(sizeof(struct tkt_ev_wkill) == 48 + 2 * sizeof(struct tkt_wtask) + 8 * 88,
	       "tkt_ev_wkill layout");

#endif /* TKTRACE_H */
