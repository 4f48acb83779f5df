/* Test helpers: build the kernel records of include/tktrace.h and feed them to a model, the way
 * the BPF programs would produce them. Included by the unit tests only. */
#ifndef TKT_TEST_RECS_H
#define TKT_TEST_RECS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "tktrace.h"

#define MSECS(x) ((uint64_t)(x) * 1000000ULL)
#define SECS(x) ((uint64_t)(x) * 1000000000ULL)
/* Every model in the tests starts at t0 = 100 s of CLOCK_MONOTONIC. */
#define T0 SECS(100)
#define PAGE 4096ULL

/* cmocka 1.1 has no double comparison. */
#define assert_double_equal(a, b, eps)                                                       \
	do {                                                                                 \
		double a_ = (a), b_ = (b), d_ = a_ - b_;                                     \
		if (d_ < 0)                                                                  \
			d_ = -d_;                                                            \
		if (d_ > (eps))                                                              \
			fail_msg("%s == %.9f, expected %.9f", #a, a_, b_);                   \
	} while (0)

/* Fixed-size kernel char array, NUL padded, not necessarily NUL terminated. */
static inline void fixed_set(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	memset(dst, 0, size);
	memcpy(dst, src, n < size ? n : size);
}
#define FIXED_SET(arr, src) fixed_set(arr, sizeof(arr), src)

static inline void hdr_fill(struct tkt_hdr *h, uint32_t type, uint32_t pid, uint64_t ts)
{
	h->type = type;
	h->pid = pid;
	h->tid = pid;
	h->ts_ns = ts;
}

static inline void model_start(struct tkt_model *m, uint32_t root_pid, const char *cg_mount)
{
	struct tkt_model_opts o = {
		.root_pid = root_pid,
		.t0_ns = T0,
		.page_size = PAGE,
		.cg_mount = cg_mount,
	};

	assert_int_equal(tkt_model_init(m, &o), 0);
}

static inline void rec_fork(struct tkt_model *m, uint64_t ts, uint32_t child, uint32_t ppid,
			    const char *comm)
{
	struct tkt_ev_fork e;

	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_FORK, child, ts);
	e.ppid = ppid;
	FIXED_SET(e.comm, comm);
	assert_int_equal(tkt_model_apply(m, &e, sizeof(e)), 0);
}

/* args: NUL-separated argv as captured, args_len bytes of it (pass sizeof("..") - 1). */
static inline void rec_exec(struct tkt_model *m, uint64_t ts, uint32_t pid, const char *comm,
			    const char *args, size_t args_len)
{
	struct tkt_ev_exec e;

	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_EXEC, pid, ts);
	FIXED_SET(e.comm, comm);
	if (args_len > TKT_ARGS_MAX)
		args_len = TKT_ARGS_MAX;
	memcpy(e.args, args, args_len);
	e.args_len = (uint32_t)args_len;
	assert_int_equal(tkt_model_apply(m, &e, sizeof(e)), 0);
}
#define REC_EXEC(m, ts, pid, comm, lit) rec_exec(m, ts, pid, comm, lit, sizeof(lit) - 1)

/* An exit whose process reached peak_pages resident over its life. */
static inline void rec_exit_peak(struct tkt_model *m, uint64_t ts, uint32_t pid, int code,
				 uint64_t peak_pages)
{
	struct tkt_ev_exit e;

	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_EXIT, pid, ts);
	e.exit_code = code;
	e.peak_rss_pages = peak_pages;
	assert_int_equal(tkt_model_apply(m, &e, sizeof(e)), 0);
}

static inline void rec_exit(struct tkt_model *m, uint64_t ts, uint32_t pid, int code)
{
	rec_exit_peak(m, ts, pid, code, 0);
}

/* The memory snapshot an env record carries (pages, cumulative faults, big-mmap bytes). */
#define SNAP(rss_, peak_, faults_, mmap_)                                                    \
	(&(const struct tkt_snap){ .rss_pages = (rss_), .peak_pages = (peak_),               \
				   .faults = (faults_), .mmap_bytes = (mmap_) })

/* One env chunk, exactly as given, with a memory snapshot (NULL: all zero). */
static inline void rec_env_chunk_snap(struct tkt_model *m, uint64_t ts, uint32_t pid,
				      uint16_t key, uint16_t op, uint16_t chunk, uint16_t flags,
				      const char *data, size_t len, const struct tkt_snap *snap)
{
	struct tkt_ev_env e;

	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_ENV, pid, ts);
	e.key = key;
	e.op = op;
	e.chunk = chunk;
	e.flags = flags;
	if (snap)
		e.snap = *snap;
	if (len > TKT_ENV_CHUNK - 1)
		len = TKT_ENV_CHUNK - 1;
	if (data && len)
		memcpy(e.data, data, len);
	e.len = (uint32_t)len;
	assert_int_equal(tkt_model_apply(m, &e, sizeof(e)), 0);
}

/* One env chunk, exactly as given. */
static inline void rec_env_chunk(struct tkt_model *m, uint64_t ts, uint32_t pid, uint16_t key,
				 uint16_t op, uint16_t chunk, uint16_t flags, const char *data,
				 size_t len)
{
	rec_env_chunk_snap(m, ts, pid, key, op, chunk, flags, data, len, NULL);
}

/* Number of chunks the BPF side sends for a value of len bytes: full chunks of
 * TKT_ENV_CHUNK - 1 bytes, then a last (possibly empty) one flagged TKT_ENV_F_LAST. */
static inline unsigned env_nchunks(size_t len)
{
	return (unsigned)(len / (TKT_ENV_CHUNK - 1)) + 1;
}

/* Send chunk i of value (as tkt_emit_env would), every chunk with the same snapshot. */
static inline void rec_env_value_chunk_snap(struct tkt_model *m, uint64_t ts, uint32_t pid,
					    uint16_t key, const char *value, unsigned i,
					    const struct tkt_snap *snap)
{
	size_t len = strlen(value), off = (size_t)i * (TKT_ENV_CHUNK - 1);
	size_t n = off < len ? len - off : 0;
	bool last = n < TKT_ENV_CHUNK - 1;

	rec_env_chunk_snap(m, ts, pid, key, TKT_ENV_SET, (uint16_t)i, last ? TKT_ENV_F_LAST : 0,
			   value + (off < len ? off : len), last ? n : TKT_ENV_CHUNK - 1, snap);
}

static inline void rec_env_value_chunk(struct tkt_model *m, uint64_t ts, uint32_t pid,
				       uint16_t key, const char *value, unsigned i)
{
	rec_env_value_chunk_snap(m, ts, pid, key, value, i, NULL);
}

static inline void rec_env_set_snap(struct tkt_model *m, uint64_t ts, uint32_t pid, uint16_t key,
				    const char *value, const struct tkt_snap *snap)
{
	unsigned n = env_nchunks(strlen(value));

	for (unsigned i = 0; i < n; i++)
		rec_env_value_chunk_snap(m, ts + i, pid, key, value, i, snap);
}

static inline void rec_env_set(struct tkt_model *m, uint64_t ts, uint32_t pid, uint16_t key,
			       const char *value)
{
	rec_env_set_snap(m, ts, pid, key, value, NULL);
}

static inline void rec_env_unset_snap(struct tkt_model *m, uint64_t ts, uint32_t pid,
				      uint16_t key, const struct tkt_snap *snap)
{
	rec_env_chunk_snap(m, ts, pid, key, TKT_ENV_UNSET, 0, TKT_ENV_F_LAST, NULL, 0, snap);
}

static inline void rec_env_unset(struct tkt_model *m, uint64_t ts, uint32_t pid, uint16_t key)
{
	rec_env_unset_snap(m, ts, pid, key, NULL);
}

/* PYTEST_CURRENT_TEST = "<nodeid> (<phase>)", crossing the boundary with snapshot snap. */
static inline void rec_test_snap(struct tkt_model *m, uint64_t ts, uint32_t pid,
				 const char *nodeid, const char *phase, const struct tkt_snap *snap)
{
	size_t n = strlen(nodeid) + strlen(phase) + 4;
	char *v = malloc(n);

	assert_non_null(v);
	snprintf(v, n, "%s (%s)", nodeid, phase);
	rec_env_set_snap(m, ts, pid, TKT_ENV_CURRENT_TEST, v, snap);
	free(v);
}

static inline void rec_test(struct tkt_model *m, uint64_t ts, uint32_t pid, const char *nodeid,
			    const char *phase)
{
	rec_test_snap(m, ts, pid, nodeid, phase, NULL);
}

/* PYTEST_CURRENT_TEST unset after a teardown, with snapshot snap. */
static inline void rec_test_end(struct tkt_model *m, uint64_t ts, uint32_t pid,
				const struct tkt_snap *snap)
{
	rec_env_unset_snap(m, ts, pid, TKT_ENV_CURRENT_TEST, snap);
}

/* A whole test in pid: setup at start_ts with rss_start resident; call (the setup period
 * peaking at setup_peak); teardown (the call peaking at call_peak); unset at end_ts (the
 * teardown peaking at td_peak, rss_end resident). Pages; faults 0. */
static inline void rec_whole_test(struct tkt_model *m, uint64_t start_ts, uint64_t end_ts,
				  uint32_t pid, const char *nodeid, uint64_t rss_start,
				  uint64_t setup_peak, uint64_t call_peak, uint64_t td_peak,
				  uint64_t rss_end)
{
	uint64_t mid = start_ts + (end_ts - start_ts) / 2;

	rec_test_snap(m, start_ts, pid, nodeid, "setup", SNAP(rss_start, 0, 0, 0));
	rec_test_snap(m, start_ts + 1000, pid, nodeid, "call", SNAP(rss_start, setup_peak, 0, 0));
	rec_test_snap(m, mid, pid, nodeid, "teardown", SNAP(rss_end, call_peak, 0, 0));
	rec_test_end(m, end_ts, pid, SNAP(rss_end, td_peak, 0, 0));
}

/* TRACE_SIGNAL_* of the signal_generate tracepoint. */
enum { SIG_DELIVERED = 0, SIG_IGNORED = 1, SIG_ALREADY_PENDING = 2, SIG_OVERFLOW_FAIL = 3,
       SIG_LOSE_INFO = 4 };

static inline void rec_signal_result(struct tkt_model *m, uint64_t ts, uint32_t target,
				     const char *target_comm, uint32_t sig, uint32_t sender,
				     const char *sender_comm, uint32_t flags, uint64_t rss_pages,
				     int32_t result)
{
	struct tkt_ev_signal e;

	memset(&e, 0, sizeof(e));
	hdr_fill(&e.h, TKT_EV_SIGNAL, target, ts);
	e.sig = sig;
	e.sender_pid = sender;
	e.sender_tid = sender;
	e.flags = flags;
	e.result = result;
	e.target_rss_pages = rss_pages;
	FIXED_SET(e.target_comm, target_comm);
	FIXED_SET(e.sender_comm, sender_comm);
	assert_int_equal(tkt_model_apply(m, &e, sizeof(e)), 0);
}

/* A signal that was delivered. */
static inline void rec_signal(struct tkt_model *m, uint64_t ts, uint32_t target,
			      const char *target_comm, uint32_t sig, uint32_t sender,
			      const char *sender_comm, uint32_t flags, uint64_t rss_pages)
{
	rec_signal_result(m, ts, target, target_comm, sig, sender, sender_comm, flags, rss_pages,
			  SIG_DELIVERED);
}

static inline void task_fill(struct tkt_task *t, uint32_t pid, const char *comm, uint64_t anon,
			     uint64_t file, uint64_t shmem)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = pid;
	FIXED_SET(t->comm, comm);
	t->rss_anon_pages = anon;
	t->rss_file_pages = file;
	t->rss_shmem_pages = shmem;
}

static inline void cg_fill(struct tkt_cg *c, const char *name, uint64_t max_pages,
			   uint64_t usage_pages)
{
	memset(c, 0, sizeof(*c));
	c->id = 1000 + max_pages % 97;
	c->max_pages = max_pages;
	c->usage_pages = usage_pages;
	FIXED_SET(c->name, name);
}

/* PAGE_COUNTER_MAX for 4 KiB pages: what an unlimited cgroup reports. */
#define CG_UNLIMITED ((uint64_t)INT64_MAX / PAGE)

/* An OOM record; the caller fills e->cg[] and e->ncg afterwards if wanted. */
static inline void oom_init(struct tkt_ev_oom *e, uint64_t ts, uint32_t victim,
			    const char *victim_comm, uint64_t victim_anon_pages, uint32_t trigger,
			    const char *trigger_comm, uint64_t trigger_anon_pages)
{
	memset(e, 0, sizeof(*e));
	hdr_fill(&e->h, TKT_EV_OOM, victim, ts);
	task_fill(&e->victim, victim, victim_comm, victim_anon_pages, 0, 0);
	task_fill(&e->trigger, trigger, trigger_comm, trigger_anon_pages, 0, 0);
}

static inline void rec_oom(struct tkt_model *m, const struct tkt_ev_oom *e)
{
	assert_int_equal(tkt_model_apply(m, e, sizeof(*e)), 0);
}

#endif /* TKT_TEST_RECS_H */
