/* tktrace plan: measured per-test memory -> a schedule that stays under a budget (docs/plan.md).
 * Pure logic: fed test figures, it reads and writes nothing, so unit tests drive it directly. */
#ifndef TKT_PLAN_H
#define TKT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One test's figures, merged over every input that saw it (the worst of each). */
struct tkt_plan_test {
	char *nodeid;        /* owned */
	double duration_s;
	uint64_t peak;       /* highest resident of its pytest process during it */
	uint64_t growth;     /* peak minus what was resident when it began */
	uint64_t children;   /* highest peak of a process it spawned */
	int64_t retained;    /* what it left resident after its teardown (< 0: gave back) */
	bool unfinished;     /* no input saw it end (killed): its figures are lower bounds */
	bool is_new;         /* in --tests but in no input: the default cost */
	/* Set by tkt_plan_make. */
	bool heavy;          /* in the one-at-a-time xdist group */
	bool impossible;     /* baseline + cost alone exceed the usable budget */
	bool leak;           /* retained >= leak_threshold */
	unsigned shard;      /* 0-based */
};

struct tkt_plan_input {
	struct tkt_plan_test *tests;
	size_t ntests, cap;
	uint64_t baseline;   /* worst worker resident before its first test */
	uint64_t limit;      /* a memory limit a run recorded (the largest), 0: none */
	bool xdist;          /* some run had xdist workers */
	size_t ndropped;     /* tests a suite list left out (tkt_plan_make) */
	size_t nruns;
};

struct tkt_plan_opts {
	uint64_t budget;          /* bytes for the whole pytest run (controller + workers) */
	unsigned margin_pct;      /* kept free of the budget: measurement noise, page cache */
	unsigned max_workers;     /* >= 1 */
	unsigned shards;          /* 1: no sharding */
	uint64_t new_cost;        /* a new test's memory; 0: the median measured */
	double new_duration_s;    /* a new test's duration; < 0: the median measured */
	uint64_t leak_threshold;  /* named as a leak from this much retained */
};

/* One pytest command's schedule: the whole suite, or one shard. */
struct tkt_plan_part {
	unsigned workers;          /* -n; 0: no xdist (one process) */
	bool fits;
	size_t ntests, nheavy;
	uint64_t heavy_above;      /* tests costing more are heavy (when workers >= 1) */
	uint64_t retained;         /* sum of what its tests leave resident */
	uint64_t max_cost;
	uint64_t light_sum;        /* the concurrent light peaks counted */
	uint64_t heavy_max;        /* the heavy test counted */
	uint64_t predicted;        /* predicted peak of the whole command */
	uint64_t per_worker;       /* predicted peak of one worker */
	double duration_s;         /* sum of its tests' durations */
	double heavy_s;            /* of its heavy tests */
	double est_s;              /* estimated wall time of the tests */
};

struct tkt_plan {
	struct tkt_plan_opts o;
	uint64_t usable;           /* budget minus margin */
	uint64_t baseline;
	uint64_t new_cost;
	double new_duration_s;
	struct tkt_plan_test *tests; /* sorted by node id; borrowed from the input */
	size_t ntests;
	size_t nimpossible, nleaks, nnew, nunfinished;
	size_t ndropped;           /* in the inputs, not in the suite list */
	unsigned nparts;           /* o.shards */
	struct tkt_plan_part *parts;
	bool fits;                 /* every part fits and no test is impossible */
};

void tkt_plan_input_init(struct tkt_plan_input *in);
void tkt_plan_input_free(struct tkt_plan_input *in);
/* Add one run's figures of a test (nodeid copied); merged with other runs' by tkt_plan_make. */
int tkt_plan_add(struct tkt_plan_input *in, const struct tkt_plan_test *t);
/* One line of a --per-test-file (docs/json.md): 1 when it held a test (written to t, nodeid
 * allocated, *rss_start set), 0 for a blank line, -1 with a message in err. */
int tkt_plan_parse_line(const char *line, size_t len, struct tkt_plan_test *t, uint64_t *rss_start,
			char *err, size_t errsz);
/* Merge the input (each test's worst figures), add the new tests (NULL-terminated list of node
 * ids in the suite now, or NULL: the inputs' tests), and schedule. -ENOMEM or 0. The input
 * must outlive the plan. */
int tkt_plan_make(struct tkt_plan_input *in, const char *const *suite, const struct tkt_plan_opts *o,
		  struct tkt_plan *p);
void tkt_plan_free(struct tkt_plan *p);
/* What a test adds while it runs: its growth plus its children's peak. */
uint64_t tkt_plan_cost(const struct tkt_plan_test *t);

#endif /* TKT_PLAN_H */
