/* Replaying a recording into a model (docs/recording.md). */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tktrace.h"

static int on_rec(void *ctx, uint16_t type, uint16_t flags, const void *data, size_t len,
		  char *err, size_t errsz)
{
	struct tkt_replay *rp = ctx;
	uint64_t ts = 0;
	int r;

	if (type == TKT_REC_META) {
		struct tkt_model_opts o = { 0 };
		if (tkt_rec_decode_meta(data, len, &rp->meta, &rp->meta_strs)) {
			snprintf(err, errsz, "corrupted: bad header record");
			return -EINVAL;
		}
		o.t0_ns = rp->meta.t0_ns;
		o.page_size = rp->meta.page_size;
		o.retained_noise = rp->meta.retained_noise;
		o.warn_pct = rp->meta.warn_pct;
		o.cg_mount = rp->meta.cg_mount;
		o.no_stacks = rp->meta.no_stacks;
		if (tkt_model_init(&rp->model, &o)) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		rp->have_meta = true;
		rp->last_ns = rp->meta.t0_ns;
		return 0;
	}
	if (type == TKT_REC_END) {
		if (tkt_rec_decode_end(data, len, &rp->end, &rp->end_strs)) {
			snprintf(err, errsz, "corrupted: bad end record");
			return -EINVAL;
		}
		rp->have_end = true;
		return 0;
	}
	/* The newest time seen: where a cut recording stops. */
	if (type == TKT_TAP_RAW && len >= sizeof(struct tkt_hdr))
		memcpy(&ts, (const char *)data + offsetof(struct tkt_hdr, ts_ns), sizeof(ts));
	else if (type == TKT_TAP_CG_SAMPLE && len == sizeof(struct tkt_tap_sample))
		memcpy(&ts, data, sizeof(ts));
	if (ts > rp->last_ns)
		rp->last_ns = ts;
	r = tkt_model_replay(&rp->model, type, data, len);
	if (r == -EOPNOTSUPP && (flags & TKT_REC_F_OPTIONAL)) {
		rp->skipped++;
		return 0;
	}
	if (r == -EOPNOTSUPP) {
		snprintf(err, errsz, "record type %u is unknown (made by a newer tktrace?)", type);
		return -EINVAL;
	}
	if (r == -ENOMEM) {
		snprintf(err, errsz, "out of memory");
		return r;
	}
	if (r) {
		snprintf(err, errsz, "corrupted: bad record of type %u", type);
		return r;
	}
	return 0;
}

int tkt_replay_init(struct tkt_replay *rp)
{
	memset(rp, 0, sizeof(*rp));
	rp->reader = tkt_rec_reader_new(on_rec, rp);
	return rp->reader ? 0 : -ENOMEM;
}

int tkt_replay_feed(struct tkt_replay *rp, const void *data, size_t len, char *err, size_t errsz)
{
	return tkt_rec_reader_feed(rp->reader, data, len, err, errsz);
}

int tkt_replay_finish(struct tkt_replay *rp, char *err, size_t errsz)
{
	int r = tkt_rec_reader_finish(rp->reader, err, errsz);

	if (r >= 0)
		rp->state = r;
	return r < 0 ? r : 0;
}

struct feed_ctx {
	struct tkt_replay *rp;
	char *err;
	size_t errsz;
};

static int replay_feed(void *ctx, const char *data, size_t len)
{
	struct feed_ctx *f = ctx;

	return tkt_replay_feed(f->rp, data, len, f->err, f->errsz);
}

int tkt_replay_file(struct tkt_replay *rp, const char *path, char *err, size_t errsz)
{
	struct feed_ctx f = { rp, err, errsz };
	int r = tkt_read_chunks(path, replay_feed, &f, err, errsz);

	return r ? r : tkt_replay_finish(rp, err, errsz);
}

void tkt_replay_run(const struct tkt_replay *rp, struct tkt_run *run)
{
	memset(run, 0, sizeof(*run));
	run->argv = rp->meta.argv;
	run->argc = rp->meta.argc;
	if (!rp->have_end) {
		run->cut = true;
		run->duration_s = (double)(rp->last_ns - rp->meta.t0_ns) / 1e9;
		return;
	}
	run->signaled = rp->end.signaled;
	run->sig = rp->end.sig;
	run->status = rp->end.status;
	run->exit_code = rp->end.exit_code;
	run->duration_s = (double)rp->end.duration_ns / 1e9;
	run->kernel_drops = rp->end.kernel_drops;
	run->memory_limit = rp->end.memory_limit;
}

void tkt_replay_mem_opts(const struct tkt_replay *rp, struct tkt_mem_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (!rp->have_end) { /* the live options are in END: show the defaults */
		o->top = (rp->model.nooms || rp->model.nkills) ? 5 : 0;
		o->threshold = 100ULL << 20;
		o->marker = "memory_intensive";
		return;
	}
	o->top = rp->end.top;
	o->threshold = rp->end.threshold;
	o->marker = rp->end.marker;
	/* One entry per test the live run had; a count that disagrees is not trusted. */
	o->marked = rp->end.nmarked == rp->model.ntests ? rp->end.marked : NULL;
}

void tkt_replay_free(struct tkt_replay *rp)
{
	tkt_rec_reader_free(rp->reader);
	if (rp->have_meta)
		tkt_model_free(&rp->model);
	tkt_rec_strs_free(&rp->meta_strs);
	tkt_rec_strs_free(&rp->end_strs);
	memset(rp, 0, sizeof(*rp));
}
