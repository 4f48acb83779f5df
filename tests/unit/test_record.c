/* Unit tests for user/core/record.c and user/core/replay.c: a run recorded through the model's tap and
 * replayed gives the same reports; cut and corrupted files give what they hold or an error. */
#include "recs.h"

#include <signal.h>
#include <unistd.h>
#include <zlib.h>
#include "record.h"
#include "replay.h"
#include "report.h"

#define ROOT 100
#define WORKER 200

static const char PY_M_PYTEST[] = "/usr/bin/python3\0-m\0pytest\0-n\0" "2\0";
static char *ARGV[] = { "python3", "-m", "pytest", "-n", "2", NULL };

struct recording {
	unsigned char *data;
	size_t len;
	size_t flushed[64]; /* file size after each tkt_rec_flush */
	size_t nflushed;
};

static size_t fd_size(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);

	assert_true(n >= 0);
	return n;
}

static void read_back(int fd, struct recording *r)
{
	r->len = fd_size(fd);
	r->data = malloc(r->len + 1);
	assert_non_null(r->data);
	assert_int_equal(pread(fd, r->data, r->len, 0), (ssize_t)r->len);
}

/* A small run: a pytest with a worker, three tests, an OOM kill, a SIGKILL, cgroup samples. */
static void feed_run(struct tkt_model *m, struct tkt_rec_writer *w, struct recording *rec, int fd)
{
	struct tkt_ev_oom e;
	size_t before;

#define FLUSH()                                                         \
	do {                                                            \
		assert_int_equal(tkt_rec_flush(w), 0);                  \
		rec->flushed[rec->nflushed++] = fd_size(fd);            \
	} while (0)
	assert_int_equal(tkt_model_add_root(m, ROOT, "python3", T0), 0);
	tkt_model_set_cgroup(m, "/sys/fs/cgroup/memory/tktrace-1", true, 512ULL << 20);
	rec_exec(m, T0 + 1, ROOT, "python3", PY_M_PYTEST, sizeof(PY_M_PYTEST) - 1);
	tkt_model_set_cwd(m, ROOT, "/home/u/proj");
	FLUSH();
	rec_fork(m, T0 + MSECS(10), WORKER, ROOT, "python3");
	rec_env_set(m, T0 + MSECS(11), WORKER, TKT_ENV_XDIST_WORKER, "gw0");
	tkt_model_set_cwd(m, WORKER, "/home/u/proj");
	tkt_model_cg_sample(m, T0 + MSECS(100), 50ULL << 20);
	FLUSH();
	rec_whole_test(m, T0 + MSECS(120), T0 + MSECS(200), WORKER, "tests/a.py::test_leak",
		       2560, 2816, 23040, 20480, 17920);
	tkt_model_cg_sample(m, T0 + MSECS(200), 120ULL << 20);
	FLUSH();
	rec_whole_test(m, T0 + MSECS(210), T0 + MSECS(300), WORKER, "tests/a.py::test_ok[x]",
		       17920, 17920, 19200, 18432, 18176);
	rec_test(m, T0 + MSECS(310), WORKER, "tests/b.py::test_big", "setup");
	rec_test(m, T0 + MSECS(320), WORKER, "tests/b.py::test_big", "call");
	FLUSH();
	oom_init(&e, T0 + MSECS(400), WORKER, "python3", 120000, WORKER, "python3", 120000);
	before = fd_size(fd);
	rec_oom(m, &e);
	assert_true(fd_size(fd) > before); /* a kill reaches the file at once */
	rec_signal(m, T0 + MSECS(401), WORKER, "python3", 9, 0, "python3", TKT_SIG_F_KERNEL, 120000);
	rec_exit(m, T0 + MSECS(402), WORKER, 9);
	FLUSH();
	rec_signal(m, T0 + MSECS(500), ROOT, "python3", 15, 4321, "kill", 0, 1000);
	tkt_model_sweep(m, 1);
	tkt_model_cg_sample(m, T0 + MSECS(600), 60ULL << 20);
	FLUSH();
#undef FLUSH
}

static struct tkt_run the_run(void)
{
	struct tkt_run r = {
		.argv = ARGV, .argc = 5, .signaled = true, .sig = 15, .exit_code = 143,
		.duration_s = 0.7, .kernel_drops = 3, .memory_limit = "512M",
	};
	return r;
}

static const int8_t MARKED[] = { 0, -1, 1 };

/* Record feed_run to a temporary file; the live model's JSON and text in *json, *text. */
static void make_recording(struct recording *rec, struct tkt_buf *json, struct tkt_buf *text,
			   uint8_t no_stacks)
{
	struct tkt_model m;
	struct tkt_rec_writer *w;
	struct tkt_rec_meta meta = {
		.t0_ns = T0, .start_unix_ns = 1764135000ULL * 1000000000ULL, .page_size = PAGE,
		.retained_noise = TKT_RETAINED_NOISE, .cg_mount = "/sys/fs/cgroup/memory",
		.tktrace_version = "0.1.0", .kernel = "6.18.0-test", .argc = 5, .argv = ARGV,
		.no_stacks = no_stacks,
	};
	struct tkt_run run = the_run();
	struct tkt_mem_opts mo = { .top = 5, .threshold = 50 << 20, .marker = "big", .marked = MARKED };
	struct tkt_rec_end end = {
		.duration_ns = 700000000, .kernel_drops = 3, .sig = 15, .exit_code = 143,
		.signaled = true, .top = 5, .threshold = 50 << 20, .marker = "big",
		.memory_limit = "512M", .nmarked = 3, .marked = MARKED,
	};
	FILE *f = tmpfile();
	int fd;

	assert_non_null(f);
	fd = dup(fileno(f));
	fclose(f);
	memset(rec, 0, sizeof(*rec));
	struct tkt_model_opts o = { .t0_ns = T0, .page_size = PAGE, .cg_mount = "/sys/fs/cgroup/memory",
				    .retained_noise = TKT_RETAINED_NOISE, .root_pid = ROOT,
				    .no_stacks = no_stacks };
	assert_int_equal(tkt_model_init(&m, &o), 0);
	assert_int_equal(tkt_rec_writer_open(&w, dup(fd), &meta), 0);
	m.tap = tkt_rec_tap;
	m.tap_ctx = w;
	feed_run(&m, w, rec, fd);
	assert_int_equal(m.ntests, 3);
	assert_int_equal(m.nooms, 1);
	m.tap = NULL;
	assert_int_equal(tkt_rec_writer_close(w, &end), 0);
	read_back(fd, rec);
	close(fd);
	tkt_report_json(json, &m, &run);
	tkt_report_text(text, &m, &run, false);
	tkt_report_memory_text(text, &m, &mo);
	tkt_model_free(&m);
}

/* Replay bytes, fed in pieces of step bytes; returns the reader's result. */
static int replay(struct tkt_replay *rp, const void *data, size_t len, size_t step, char *err,
		  size_t errsz)
{
	int r;

	assert_int_equal(tkt_replay_init(rp), 0);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		r = tkt_replay_feed(rp, (const char *)data + off, n, err, errsz);
		if (r)
			return r;
	}
	return tkt_replay_finish(rp, err, errsz);
}

static void render(struct tkt_replay *rp, struct tkt_buf *json, struct tkt_buf *text)
{
	struct tkt_run run;
	struct tkt_mem_opts mo;

	tkt_replay_run(rp, &run);
	tkt_replay_mem_opts(rp, &mo);
	tkt_report_json(json, &rp->model, &run);
	tkt_report_text(text, &rp->model, &run, rp->have_end && rp->end.quiet);
	tkt_report_memory_text(text, &rp->model, &mo);
}

/* The replay rp renders the live run's reports (json, text) again; json2 and text2 are scratch. */
static void assert_replay_same(struct tkt_replay *rp, const struct tkt_buf *json,
			       const struct tkt_buf *text, struct tkt_buf *json2, struct tkt_buf *text2)
{
	tkt_buf_reset(json2);
	tkt_buf_reset(text2);
	render(rp, json2, text2);
	assert_string_equal(json2->data, json->data);
	assert_string_equal(text2->data, text->data);
}

static void test_round_trip_same_reports(void **state)
{
	struct recording rec;
	struct tkt_buf json = { 0 }, text = { 0 }, json2 = { 0 }, text2 = { 0 };
	struct tkt_replay rp;
	char err[256];
	size_t steps[] = { 1, 7, 4096, 1 << 20 };

	(void)state;
	make_recording(&rec, &json, &text, TKT_STACKS_TAKEN);
	assert_memory_equal(rec.data, TKT_REC_MAGIC, TKT_REC_MAGIC_LEN);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(replay(&rp, rec.data, rec.len, steps[i], err, sizeof(err)), 0);
		assert_int_equal(rp.state, TKT_REC_COMPLETE);
		assert_true(rp.have_end);
		assert_string_equal(rp.meta.kernel, "6.18.0-test");
		assert_int_equal(rp.meta.argc, 5);
		assert_string_equal(rp.meta.argv[2], "pytest");
		assert_int_equal(rp.meta.start_unix_ns, 1764135000ULL * 1000000000ULL);
		assert_replay_same(&rp, &json, &text, &json2, &text2);
		tkt_replay_free(&rp);
	}
	/* The test of the OOM victim survives the trip. */
	assert_non_null(strstr(json.data, "\"test\": \"tests/b.py::test_big\""));
	assert_non_null(strstr(json.data, "\"worker\": \"gw0\""));
	free(rec.data);
	tkt_buf_free(&json);
	tkt_buf_free(&text);
	tkt_buf_free(&json2);
	tkt_buf_free(&text2);
}

/* A kernel without bpf_loop, or whose verifier refused the stack programs, takes no stacks: the
 * reports say why instead of "not captured", and a replay says the same. */
static void test_no_stacks_survives_the_trip(void **state)
{
	static const struct {
		uint8_t why;
		const char *says;
	} cases[] = {
		{ TKT_STACKS_NO_LOOP, "no stacks on this kernel (bpf_loop: 5.17+)" },
		{ TKT_STACKS_REFUSED, "no stacks on this kernel (its verifier refused the stack programs)" },
	};
	struct recording rec;
	struct tkt_buf json = { 0 }, text = { 0 }, json2 = { 0 }, text2 = { 0 };
	struct tkt_replay rp;
	char err[256], want[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_recording(&rec, &json, &text, cases[i].why);
		snprintf(want, sizeof(want), "\"python_stack_error\": \"%s\"", cases[i].says);
		assert_non_null(strstr(json.data, want));
		assert_null(strstr(json.data, "not captured"));
		assert_int_equal(replay(&rp, rec.data, rec.len, 1 << 20, err, sizeof(err)), 0);
		assert_int_equal(rp.meta.no_stacks, cases[i].why);
		assert_replay_same(&rp, &json, &text, &json2, &text2);
		tkt_replay_free(&rp);
		free(rec.data);
		tkt_buf_reset(&json);
		tkt_buf_reset(&text);
	}
	/* and a recording of a kernel with stacks still says "not captured" */
	make_recording(&rec, &json, &text, TKT_STACKS_TAKEN);
	assert_non_null(strstr(json.data, "\"python_stack_error\": \"not captured\""));
	free(rec.data);
	tkt_buf_free(&json);
	tkt_buf_free(&text);
	tkt_buf_free(&json2);
	tkt_buf_free(&text2);
}

/* Every prefix of the file: an error before the header is whole, else what it holds. */
static void test_truncated_at_every_offset(void **state)
{
	struct recording rec;
	struct tkt_buf json = { 0 }, text = { 0 }, out = { 0 }, t = { 0 };
	struct tkt_replay rp;
	char err[256];
	size_t prev_tests = 0, first_ok = 0;
	uint64_t prev_recs = 0;

	(void)state;
	make_recording(&rec, &json, &text, TKT_STACKS_TAKEN);
	for (size_t n = 0; n <= rec.len; n++) {
		int r = replay(&rp, rec.data, n, 64, err, sizeof(err));
		if (r) {
			/* Only a file cut inside its header may fail. */
			assert_true(n < rec.flushed[0]);
			assert_int_equal(first_ok, 0);
			assert_true(strlen(err) > 0);
		} else {
			if (!first_ok)
				first_ok = n;
			assert_true(rp.model.ntests >= prev_tests);
			assert_true(tkt_rec_reader_records(rp.reader) >= prev_recs);
			prev_tests = rp.model.ntests;
			prev_recs = tkt_rec_reader_records(rp.reader);
			tkt_buf_reset(&out);
			tkt_buf_reset(&t);
			render(&rp, &out, &t);
			if (rp.have_end) {
				assert_string_equal(out.data, json.data);
			} else {
				assert_int_equal(rp.state, TKT_REC_CUT);
				assert_non_null(strstr(out.data, "\"exit_code\": null"));
				assert_non_null(strstr(out.data, "\"recording_cut_at_s\": "));
				assert_non_null(strstr(t.data, "stops at"));
			}
		}
		tkt_replay_free(&rp);
	}
	assert_true(first_ok > 0 && first_ok <= rec.flushed[0]);
	/* What a killed tracer leaves: the file as it stood after each flush. */
	for (size_t i = 0; i < rec.nflushed; i++) {
		assert_int_equal(replay(&rp, rec.data, rec.flushed[i], 4096, err, sizeof(err)), 0);
		assert_int_equal(rp.state, TKT_REC_CUT);
		if (i == rec.nflushed - 2) { /* flushed right after the kill */
			assert_int_equal(rp.model.nooms, 1);
			assert_int_equal(rp.model.ntests, 3);
		}
		tkt_replay_free(&rp);
	}
	free(rec.data);
	tkt_buf_free(&json);
	tkt_buf_free(&text);
	tkt_buf_free(&out);
	tkt_buf_free(&t);
}

static void expect_error(const void *data, size_t len, const char *msg)
{
	struct tkt_replay rp;
	char err[256] = "";

	assert_true(replay(&rp, data, len, 4096, err, sizeof(err)) < 0);
	if (!strstr(err, msg))
		fail_msg("error '%s', expected '%s'", err, msg);
	tkt_replay_free(&rp);
}

/* A prefix and one zlib stream holding the given raw frame bytes. */
static size_t build(unsigned char *out, size_t cap, const void *frames, size_t flen, int flush)
{
	z_stream z = { 0 };
	uint16_t v = TKT_REC_VERSION;

	memcpy(out, TKT_REC_MAGIC, TKT_REC_MAGIC_LEN);
	memcpy(out + 8, &v, 2);
	memset(out + 10, 0, 2);
	assert_int_equal(deflateInit(&z, 6), Z_OK);
	z.next_in = (unsigned char *)frames;
	z.avail_in = flen;
	z.next_out = out + TKT_REC_PREFIX_LEN;
	z.avail_out = cap - TKT_REC_PREFIX_LEN;
	deflate(&z, flush);
	deflateEnd(&z);
	return cap - z.avail_out;
}

static size_t frame(unsigned char *p, uint16_t type, uint16_t flags, const void *data, uint32_t len)
{
	memcpy(p, &type, 2);
	memcpy(p + 2, &flags, 2);
	memcpy(p + 4, &len, 4);
	memcpy(p + 8, data, len);
	return 8 + len;
}

static void test_corrupted_and_hostile(void **state)
{
	struct recording rec;
	struct tkt_buf json = { 0 }, text = { 0 };
	unsigned char *bad, frames[4096], file[8192];
	struct tkt_replay rp;
	char err[256];
	size_t n, fl;

	(void)state;
	make_recording(&rec, &json, &text, TKT_STACKS_TAKEN);
	bad = malloc(rec.len + 16);
	assert_non_null(bad);

	expect_error("", 0, "empty file");
	expect_error("hello world, not a recording", 28, "not a tktrace recording");
	memcpy(bad, rec.data, rec.len);
	bad[8] = 2;
	expect_error(bad, rec.len, "format version 2");
	/* Garbage after the end of the stream. */
	memcpy(bad, rec.data, rec.len);
	memcpy(bad + rec.len, "junk", 4);
	expect_error(bad, rec.len + 4, "after the end");

	/* Every single-byte change: a report or a one-line error, never a crash. */
	for (size_t i = 0; i < rec.len; i++) {
		memcpy(bad, rec.data, rec.len);
		bad[i] ^= 0x5a;
		err[0] = '\0';
		if (replay(&rp, bad, rec.len, 4096, err, sizeof(err)) < 0)
			assert_true(strlen(err) > 0 && !strchr(err, '\n'));
		tkt_replay_free(&rp);
	}

	/* Hand-made streams. A record that claims too much. */
	fl = frame(frames, TKT_REC_META, 0, "", 0);
	memcpy(frames + 4, &(uint32_t){ TKT_REC_MAX + 1 }, 4);
	n = build(file, sizeof(file), frames, 8, Z_FINISH);
	expect_error(file, n, "claims");
	/* A first record that is not the header. */
	fl = frame(frames, TKT_TAP_CG_SAMPLE, 0, &(struct tkt_tap_sample){ 1, 2 }, 16);
	n = build(file, sizeof(file), frames, fl, Z_FINISH);
	expect_error(file, n, "not the header");
	/* A header too short to decode. */
	fl = frame(frames, TKT_REC_META, 0, "abc", 3);
	n = build(file, sizeof(file), frames, fl, Z_FINISH);
	expect_error(file, n, "bad header");

	/* A real header, then unknown types: an optional one is skipped, else an error. */
	{
		size_t off = TKT_REC_PREFIX_LEN, hl;
		z_stream z = { 0 };
		unsigned char meta[1024];
		/* The header record of the real recording, inflated. */
		assert_int_equal(inflateInit(&z), Z_OK);
		z.next_in = rec.data + off;
		z.avail_in = rec.len - off;
		z.next_out = meta;
		z.avail_out = sizeof(meta);
		inflate(&z, Z_SYNC_FLUSH);
		inflateEnd(&z);
		hl = 8 + (meta[4] | meta[5] << 8 | meta[6] << 16 | (size_t)meta[7] << 24);
		assert_true(hl < sizeof(meta) && hl < sizeof(frames) - 64);
		memcpy(frames, meta, hl);
		fl = hl + frame(frames + hl, 60, TKT_REC_F_OPTIONAL, "future", 6);
		n = build(file, sizeof(file), frames, fl, Z_FINISH);
		assert_int_equal(replay(&rp, file, n, 4096, err, sizeof(err)), 0);
		assert_int_equal(rp.skipped, 1);
		assert_int_equal(rp.state, TKT_REC_CUT); /* no END */
		tkt_replay_free(&rp);
		fl = hl + frame(frames + hl, 60, 0, "future", 6);
		n = build(file, sizeof(file), frames, fl, Z_FINISH);
		expect_error(file, n, "unknown");
		/* A string input with a NUL inside, a cgroup record with a bad flag. */
		fl = hl + frame(frames + hl, TKT_TAP_CWD, 0, "\1\0\0\0\0\0\0\0a\0b", 11);
		n = build(file, sizeof(file), frames, fl, Z_FINISH);
		expect_error(file, n, "bad record");
		fl = hl + frame(frames + hl, TKT_TAP_CGROUP, 0, "\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
		n = build(file, sizeof(file), frames, fl, Z_FINISH);
		expect_error(file, n, "bad record");
		/* A malformed kernel record counts as lost, as it did live. */
		fl = hl + frame(frames + hl, TKT_TAP_RAW, 0, "\1\0\0\0", 4);
		n = build(file, sizeof(file), frames, fl, Z_FINISH);
		assert_int_equal(replay(&rp, file, n, 4096, err, sizeof(err)), 0);
		assert_int_equal(rp.model.lost_events, 1);
		tkt_replay_free(&rp);
		/* A stream that ends inside a record. */
		fl = hl + frame(frames + hl, TKT_TAP_CG_SAMPLE, 0, &(struct tkt_tap_sample){ 1, 2 }, 16);
		n = build(file, sizeof(file), frames, fl - 3, Z_FINISH);
		expect_error(file, n, "inside a record");
	}
	free(bad);
	free(rec.data);
	tkt_buf_free(&json);
	tkt_buf_free(&text);
}

/* A failing file: the error is kept and returned at close, the run is not disturbed. */
static void test_write_error_is_reported_at_close(void **state)
{
	struct tkt_rec_writer *w;
	struct tkt_rec_meta meta = { .tktrace_version = "x", .kernel = "y", .argc = 1, .argv = ARGV };
	int fds[2];
	char big[8192];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(tkt_rec_writer_open(&w, fds[1], &meta), 0);
	close(fds[0]); /* now every write fails with EPIPE */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7919);
	for (int i = 0; i < 64; i++)
		tkt_rec_tap(w, TKT_TAP_RAW, big, sizeof(big));
	tkt_rec_flush(w);
	assert_int_equal(tkt_rec_writer_close(w, NULL), -EPIPE);
}
