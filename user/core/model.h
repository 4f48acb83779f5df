/* The run as user space knows it: process tree, pytest attribution, kills. Pure logic: fed
 * decoded kernel records, it touches no system state, so unit tests drive it directly. */
#ifndef TKT_MODEL_H
#define TKT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tktrace.h"
#include "util.h"

enum tkt_phase {
	TKT_PHASE_NONE = 0, /* not under any pytest process */
	TKT_PHASE_COLLECTION,
	TKT_PHASE_SETUP,
	TKT_PHASE_CALL,
	TKT_PHASE_TEARDOWN,
	TKT_PHASE_SESSION, /* between tests */
};

const char *tkt_phase_name(enum tkt_phase p); /* NULL for NONE */

/* Where a process stands: the test, phase and xdist worker (interned strings or NULL). */
struct tkt_attr {
	const char *test;
	enum tkt_phase phase;
	const char *worker;
};

struct tkt_proc {
	uint32_t pid;
	uint32_t ppid;
	char comm[17];
	bool is_pytest; /* runs tests itself: attribution is its own */
	bool alive;
	uint64_t start_ns;
	uint64_t exit_ns;
	struct tkt_attr own;       /* when is_pytest */
	struct tkt_attr inherited; /* snapshot of the parent's at fork */
	const char *pytest_cmd;    /* how its pytest was started: "python3 -m pytest" */
	const char *cwd;           /* that pytest's working directory, then its rootdir */
	const char *pyargs;        /* pytest --pyargs: "module\tpath\n" per argument (pyargs.h) */
	bool cwd_checked;          /* the tracer looked for its rootdir (node ids are relative to it) */
	/* Reassembly of a chunked env value. */
	struct tkt_buf env;
	uint32_t env_tid; /* chunks of one value come from one thread */
	uint16_t env_key;
	uint16_t env_op;
	uint16_t env_next;
	bool env_broken;
	uint8_t env_kill;   /* keys taken from values read at its kill (TKT_ENV_F_KILL), 1 << key */
	bool env_kill_skip; /* the value read at its kill now arriving is left alone */
	struct tkt_snap env_snap; /* memory at the boundary this value marks */
	int32_t cur_test;  /* pytest process: index in tests[] of the test it runs, or -1 */
	int32_t test_idx;  /* other process: the test it was spawned under, or -1 */
	struct tkt_proc *hnext; /* hash chain */
	struct tkt_proc *dnext; /* dead list */
};

/* One named Python frame (strings interned in the model). */
struct tkt_pyframe {
	const char *file;
	const char *func;
	int32_t line; /* -1: unknown */
};

/* A thread's Python stack, taken in the kernel at a kill (TKT_EV_PYSTACK). */
struct tkt_pystack {
	bool present;   /* a record came; else the reports say "not captured" */
	uint8_t role;   /* enum tkt_py_role */
	bool more;      /* deeper than TKT_PY_FRAMES */
	uint32_t tid;
	uint32_t version; /* major << 8 | minor */
	int32_t err;      /* enum tkt_py_err */
	uint32_t walk_ns;
	uint64_t ts_ns;
	uint32_t nframes;
	struct tkt_pyframe f[TKT_PY_FRAMES]; /* innermost first */
};

#define TKT_PY_NPENDING 8

/* A process as a report shows it, frozen at the moment of an event. */
struct tkt_party {
	uint32_t pid;
	char comm[17];
	struct tkt_attr attr;
	bool known; /* a traced process */
	bool is_pytest; /* a pytest process (main or xdist worker) at that moment */
	uint64_t rss_bytes;
	uint64_t anon_bytes, file_bytes, shmem_bytes;
	const char *pytest_cmd;
	const char *cwd;
	const char *pyargs;
	struct tkt_pystack py; /* its Python stack at the kill */
};

enum tkt_outcome {
	TKT_OUTCOME_RUNNING = 0, /* started, never ended (its process ended otherwise) */
	TKT_OUTCOME_COMPLETED,   /* ran its teardown; pass/fail is pytest's to say */
	TKT_OUTCOME_KILLED,      /* its process was killed while it ran */
	/* pytest's own verdict, from the JUnit XML it wrote (--junitxml): */
	TKT_OUTCOME_PASSED,
	TKT_OUTCOME_FAILED,
	TKT_OUTCOME_SKIPPED,
	TKT_OUTCOME_XFAILED,
	TKT_OUTCOME_ERROR,
};

const char *tkt_outcome_name(enum tkt_outcome o);

/* One run of one test in one pytest process: memory measured in the kernel. */
struct tkt_test_rec {
	const char *nodeid;
	const char *worker;
	const char *cwd; /* its pytest's working directory: node ids are relative to it */
	const char *pyargs; /* unless its pytest ran with --pyargs: then to these (pyargs.h) */
	uint32_t pid;
	uint8_t outcome;
	bool ended;
	uint64_t start_ns, end_ns;
	uint64_t rss_start;     /* bytes resident when its setup began */
	uint64_t peak;          /* highest resident during setup + call + teardown */
	uint64_t rss_end;       /* resident after its teardown */
	uint64_t children_peak; /* highest peak of a process spawned during the test */
	uint64_t faults;        /* page faults of the test's thread */
	uint64_t faults_start;
	uint64_t mmap_bytes;    /* mmaps of >= 1 MiB */
};

#define TKT_BLAME_TOP 5
#define TKT_RETAINED_NOISE (1 << 20) /* what tktrace passes as retained_noise */

/* Why a worker was full: tests that ran before on it and left memory behind. */
struct tkt_blame {
	bool valid;
	uint32_t pid;             /* the pytest process the victim belongs to */
	size_t ntests;            /* completed tests there with memory left behind */
	uint64_t retained_total;  /* sum of what they left */
	int32_t running;          /* index of the test running at the kill, or -1 */
	uint64_t running_growth;  /* what the running test added so far */
	size_t ntop;
	int32_t top[TKT_BLAME_TOP]; /* indices into tests[], largest retained first */
};

struct tkt_oom_rec {
	uint64_t ts_ns;
	struct tkt_blame blame;
	struct tkt_party victim;
	struct tkt_party trigger;
	const char *cgroup; /* path of the limiting memory cgroup, or NULL */
	bool has_limit;
	uint64_t limit_bytes;
	uint64_t usage_bytes;
	int oom_score_adj;
	uint64_t total_vm_bytes;
};

struct tkt_kill_rec {
	uint64_t ts_ns;
	struct tkt_party target;
	uint32_t sender_pid;
	char sender_comm[17];
	bool kernel; /* SEND_SIG_PRIV: the kernel, not a process, sent it */
};

/* A pytest process, and the test it ran, when COMMAND's memory cgroup neared its limit. */
struct tkt_resident {
	uint32_t pid;
	const char *worker;
	const char *test; /* NULL between tests */
	enum tkt_phase phase;
};

#define TKT_WARN_RESIDENTS 32 /* processes listed per warning; the rest are counted */
#define TKT_WARNINGS_MAX 64   /* warnings kept; later ones are counted */
#define TKT_WARN_REARM_PCT 5  /* warn again only after usage fell this far below the mark */

/* --warn-at: COMMAND's memory cgroup crossed warn_pct % of its limit. */
struct tkt_warning {
	uint64_t ts_ns;
	uint64_t usage, limit;
	unsigned pct; /* the threshold crossed */
	size_t nres, more;
	struct tkt_resident res[TKT_WARN_RESIDENTS];
};

/* Every input of the model, as it arrives (for --record): kernel records as they are, the
 * others in the fixed forms below followed by their string, if any (no NUL). Replaying them
 * through the same functions rebuilds the same model. */
enum tkt_tap_type {
	TKT_TAP_RAW = 1,       /* tkt_model_apply: a kernel record (include/tktrace.h) */
	TKT_TAP_ROOT = 2,      /* tkt_model_add_root: struct tkt_tap_root + comm */
	TKT_TAP_CWD = 3,       /* tkt_model_set_cwd: struct tkt_tap_pid + cwd */
	TKT_TAP_CGROUP = 4,    /* tkt_model_set_cgroup: struct tkt_tap_cgroup + path */
	TKT_TAP_CG_SAMPLE = 5, /* tkt_model_cg_sample: struct tkt_tap_sample */
	TKT_TAP_SWEEP = 6,     /* tkt_model_sweep: struct tkt_tap_sweep */
	TKT_TAP_RSS_SAMPLE = 7, /* tkt_model_rss_sample: struct tkt_tap_rss (for --html) */
	TKT_TAP_PYARGS = 8,    /* tkt_model_set_pyargs: struct tkt_tap_pid + "module\tpath\n"... */
	TKT_TAP_JUNITXML = 9,  /* tkt_model_add_junitxml: struct tkt_tap_pid + path */
};

typedef void (*tkt_tap_fn)(void *ctx, uint16_t type, const void *data, size_t len);

struct tkt_tap_root {
	uint32_t pid;
	uint32_t root_pid; /* o.root_pid when COMMAND was added */
	uint64_t ts_ns;
};

struct tkt_tap_pid {
	uint32_t pid;
	uint32_t _pad;
};

struct tkt_tap_cgroup {
	uint8_t has_path;
	uint8_t has_limit;
	uint8_t _pad[6];
	uint64_t limit;
};

struct tkt_tap_sample {
	uint64_t ts_ns;
	uint64_t bytes;
};

struct tkt_tap_rss {
	uint32_t pid;
	uint32_t _pad;
	uint64_t ts_ns;
	uint64_t bytes;
};

struct tkt_tap_sweep {
	uint64_t grace_ns;
};

/* Why a run took no Python stacks at kills (tkt_model_opts.no_stacks). */
enum {
	TKT_STACKS_TAKEN = 0,
	TKT_STACKS_NO_LOOP = 1, /* the kernel has no bpf_loop (before 5.17) */
	TKT_STACKS_REFUSED = 2, /* the kernel's verifier refused the stack programs */
};

struct tkt_model_opts {
	uint32_t root_pid;
	uint64_t t0_ns;       /* CLOCK_MONOTONIC at start; times are reported from here */
	uint64_t page_size;
	const char *cg_mount; /* where the memory controller's hierarchy is mounted */
	uint64_t retained_noise; /* blame ignores tests that left less than this */
	unsigned warn_pct;       /* --warn-at: percent of the cgroup limit; 0: off */
	uint8_t no_stacks;       /* TKT_STACKS_*: why the kernel takes no Python stacks; 0: it does */
};

struct tkt_model {
	struct tkt_model_opts o;
	tkt_tap_fn tap; /* sees every input when set (--record) */
	void *tap_ctx;
	struct tkt_intern *strings;
	struct tkt_proc **buckets;
	size_t nbuckets;
	size_t nprocs;       /* live entries in the table */
	size_t procs_seen;   /* every process ever traced */
	size_t tests_seen;   /* test runs seen: ntests unless memory for tests[] ran out */
	const char **junitxml; /* JUnit XML files pytest processes were told to write */
	size_t njunitxml;
	struct tkt_proc *dead_head, *dead_tail; /* freed once no late record can need them */
	struct tkt_oom_rec *ooms;
	size_t nooms, cap_ooms;
	struct tkt_kill_rec *kills;
	size_t nkills, cap_kills;
	/* The last fatal signal sent to COMMAND itself. */
	bool root_signaled;
	uint32_t root_sig;
	uint32_t root_sig_sender;
	char root_sig_sender_comm[17];
	bool root_sig_kernel; /* sent by the kernel itself: a terminal key or hangup */
	/* For dropping the OOM killer's own SIGKILLs from the kill list. */
	uint32_t last_oom_sender;
	uint64_t last_oom_ns;
	uint64_t lost_events; /* records that could not be used (bad size, broken chunks) */
	uint64_t last_ns;
	struct tkt_test_rec *tests; /* in the order they started */
	size_t ntests, cap_tests;
	/* COMMAND's memory cgroup over time, downsampled to at most TKT_CG_SAMPLES points. */
	const char *cg_path;
	bool cg_has_limit;
	uint64_t cg_limit;
	uint64_t cg_peak;
	uint64_t (*cg_samples)[2]; /* ns, bytes */
	size_t ncg_samples;
	uint32_t cg_stride, cg_skip;
	/* --warn-at crossings, in order; warn_above: no new one until usage falls back. */
	struct tkt_warning *warnings;
	size_t nwarnings;
	size_t warnings_dropped;
	bool warn_above;
	/* Resident memory of each pytest process over time (tkt_model_rss_sample). */
	struct tkt_rss_series *rss;
	size_t nrss, cap_rss;
	uint64_t rss_dropped; /* samples of processes past TKT_RSS_SERIES */
	uint64_t py_walks, py_walk_ns; /* stacks taken in the kernel and what they cost there */
	uint32_t py_walk_max_ns;
	/* Killed threads' stacks that came before their OOM record (see ev_pystack). */
	struct tkt_pystack py_pending[TKT_PY_NPENDING];
	uint32_t py_pending_pid[TKT_PY_NPENDING];
	size_t py_npending;
};

#define TKT_CG_SAMPLES 2048

/* A pytest process's resident memory, sampled from user space, downsampled to at most
 * TKT_RSS_SAMPLES points: each point is the largest sample of its window (a peak survives
 * the downsampling), windows double in length when the array is full. */
#define TKT_RSS_SAMPLES 1024
#define TKT_RSS_SERIES 256 /* processes with a series; later ones are not sampled */

struct tkt_rss_series {
	uint32_t pid;
	const char *worker;       /* its xdist worker, once known */
	uint64_t (*pts)[2];       /* ns, bytes */
	size_t n, cap;
	uint32_t stride;          /* samples per point */
	uint32_t pend_n;          /* samples in the window not yet stored */
	uint64_t pend_ts, pend_bytes; /* the largest of them */
	uint64_t max_bytes;
};

/* retained = rss_end - rss_start (signed), growth = peak - rss_start. */
int64_t tkt_test_retained(const struct tkt_test_rec *t);
uint64_t tkt_test_growth(const struct tkt_test_rec *t);
/* Record one usage sample of COMMAND's memory cgroup. */
void tkt_model_cg_sample(struct tkt_model *m, uint64_t ts_ns, uint64_t bytes);
void tkt_model_set_cgroup(struct tkt_model *m, const char *path, bool has_limit, uint64_t limit);
/* --warn-at: record a warning when usage crosses o.warn_pct % of the limit (once per
 * crossing; re-armed below warn_pct - TKT_WARN_REARM_PCT). True when one was recorded. */
bool tkt_model_warn_check(struct tkt_model *m, uint64_t ts_ns, uint64_t usage);
/* Record one resident-memory sample (bytes) of pytest process pid. */
void tkt_model_rss_sample(struct tkt_model *m, uint32_t pid, uint64_t ts_ns, uint64_t bytes);
/* The series of pid, or NULL. */
const struct tkt_rss_series *tkt_model_rss_series(const struct tkt_model *m, uint32_t pid);
/* Up to max live pytest processes (to sample); returns how many were written. */
size_t tkt_model_live_pytest(const struct tkt_model *m, uint32_t *pids, size_t max);

int tkt_model_init(struct tkt_model *m, const struct tkt_model_opts *o);
void tkt_model_free(struct tkt_model *m);
/* COMMAND itself: user space forked it, no fork record comes. */
int tkt_model_add_root(struct tkt_model *m, uint32_t pid, const char *comm, uint64_t ts_ns);
/* Apply one raw record; -EINVAL when it is malformed (counted in lost_events). */
int tkt_model_apply(struct tkt_model *m, const void *data, size_t len);
struct tkt_proc *tkt_model_find(struct tkt_model *m, uint32_t pid);
/* The attribution of a process now: its own when it runs tests, else inherited. */
struct tkt_attr tkt_model_attr(struct tkt_model *m, uint32_t pid);
/* The directory pid's node ids are relative to: its working directory, then pytest's
 * rootdir once found. A change moves what was recorded with the old one along: pid's tests
 * and kills, and those of its non-pytest descendants. */
void tkt_model_set_cwd(struct tkt_model *m, uint32_t pid, const char *cwd);
/* Whether pid is a pytest process that started a test and whose rootdir was not looked for
 * since its cwd was set; marks it as looked for (the tracer then calls tkt_model_set_cwd). */
bool tkt_model_rootdir_due(struct tkt_model *m, uint32_t pid);
/* COMMAND's pid, known once it is forked (before tkt_model_add_root). */
void tkt_model_set_root_pid(struct tkt_model *m, uint32_t pid);
/* Every input from now on also goes to tap (--record); NULL: none. */
void tkt_model_set_tap(struct tkt_model *m, tkt_tap_fn tap, void *ctx);
/* pytest --pyargs: where each argument's package or module is (the tracer asks the process's
 * own Python); node ids are relative to those, not to the rootdir. Set before tests start. */
void tkt_model_set_pyargs(struct tkt_model *m, uint32_t pid, const char *roots);
/* pytest --junitxml=PATH (absolute): read after the run for each test's outcome. */
void tkt_model_add_junitxml(struct tkt_model *m, uint32_t pid, const char *path);
/* Free processes that exited more than grace_ns before the newest record. */
void tkt_model_sweep(struct tkt_model *m, uint64_t grace_ns);
/* Feed one tapped input back (TKT_TAP_*); -EINVAL when it is malformed, -EOPNOTSUPP for a
 * type this model does not know. */
int tkt_model_replay(struct tkt_model *m, uint16_t type, const void *data, size_t len);
double tkt_model_time_s(const struct tkt_model *m, uint64_t ts_ns);

/* Pure parsers, exported for tests. */
/* "tests/a.py::t[x] (call)" -> nodeid length and phase; false if the suffix is missing. */
bool tkt_parse_current_test(const char *val, size_t len, size_t *nodeid_len, enum tkt_phase *ph);
/* NUL-separated argv: is this a pytest invocation? Writes how to start pytest again. */
bool tkt_pytest_invocation(const char *args, size_t len, struct tkt_buf *cmd);
/* Index into cg[] of the cgroup whose limit was hit, or -1 when none is limited. */
int tkt_pick_limiting_cg(const struct tkt_cg *cg, uint32_t ncg, uint64_t page_size);

#endif /* TKT_MODEL_H */
