/* Recording file: a short prefix, then one zlib stream of framed records (docs/recording.md). */
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "model.h"
#include "tktrace.h"

#define OUT_CHUNK 65536
#define BYTE_ORDER_MARK 0x01020304u

struct tkt_rec_writer {
	int fd;
	int err; /* first error, -errno: the run goes on, the recording stops */
	bool dirty; /* records since the last flush */
	z_stream z;
	unsigned char out[OUT_CHUNK];
};

struct meta_fixed {
	uint32_t byte_order;
	uint32_t argc;
	uint64_t t0_ns;
	uint64_t start_unix_ns;
	uint64_t page_size;
	uint64_t retained_noise;
	uint32_t flags; /* META_F_* */
	uint32_t warn_pct; /* --warn-at: crossings are found again from the usage samples */
};
#define META_F_CG_MOUNT 1u
#define META_F_NO_STACKS 2u        /* no bpf_loop */
#define META_F_STACKS_REFUSED 4u   /* the verifier refused the stack programs */

struct end_fixed {
	uint64_t duration_ns;
	uint64_t kernel_drops;
	uint64_t threshold;
	int32_t status;
	int32_t sig;
	int32_t exit_code;
	int32_t top;
	uint32_t nmarked;
	uint8_t signaled;
	uint8_t quiet;
	uint8_t has_memory_limit;
	uint8_t _pad;
};

_Static_assert(sizeof(struct meta_fixed) == 48, "meta layout");
_Static_assert(sizeof(struct end_fixed) == 48, "end layout");

/* Run deflate over what is queued with this flush mode, writing out whatever it makes. */
static void deflate_out(struct tkt_rec_writer *w, int flush)
{
	int zr;

	do {
		w->z.next_out = w->out;
		w->z.avail_out = sizeof(w->out);
		zr = deflate(&w->z, flush);
		if (zr == Z_STREAM_ERROR) {
			w->err = w->err ? w->err : -EIO;
			return;
		}
		if (!w->err && sizeof(w->out) - w->z.avail_out)
			w->err = tkt_write_all(w->fd, w->out, sizeof(w->out) - w->z.avail_out);
	} while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
}

static void put(struct tkt_rec_writer *w, uint16_t type, const void *a, size_t alen,
		const void *b, size_t blen)
{
	unsigned char hdr[TKT_REC_HDR_LEN];
	/* Inputs only the HTML report uses: a reader without them can still report. */
	/* --pyargs roots and JUnit paths only sharpen paths and outcomes: optional too. */
	uint16_t flags = type == TKT_TAP_RSS_SAMPLE || type == TKT_TAP_PYARGS ||
				 type == TKT_TAP_JUNITXML ? TKT_REC_F_OPTIONAL : 0;
	uint32_t len = alen + blen;

	if (w->err)
		return;
	memcpy(hdr, &type, 2);
	memcpy(hdr + 2, &flags, 2);
	memcpy(hdr + 4, &len, 4);
	w->z.next_in = hdr;
	w->z.avail_in = sizeof(hdr);
	deflate_out(w, Z_NO_FLUSH);
	w->z.next_in = (unsigned char *)a;
	w->z.avail_in = alen;
	deflate_out(w, Z_NO_FLUSH);
	if (blen) {
		w->z.next_in = (unsigned char *)b;
		w->z.avail_in = blen;
		deflate_out(w, Z_NO_FLUSH);
	}
	w->dirty = true;
}

/* Strings, each NUL terminated, after a fixed part. */
static int strs_add(struct tkt_buf *b, const char *s)
{
	return tkt_buf_append(b, s ? s : "", strlen(s ? s : "") + 1);
}

int tkt_rec_writer_open(struct tkt_rec_writer **out, int fd, const struct tkt_rec_meta *meta)
{
	struct tkt_rec_writer *w = calloc(1, sizeof(*w));
	unsigned char prefix[TKT_REC_PREFIX_LEN] = TKT_REC_MAGIC;
	uint16_t version = TKT_REC_VERSION;
	struct meta_fixed f = {
		.byte_order = BYTE_ORDER_MARK,
		.argc = meta->argc,
		.t0_ns = meta->t0_ns,
		.start_unix_ns = meta->start_unix_ns,
		.page_size = meta->page_size,
		.retained_noise = meta->retained_noise,
		.flags = (meta->cg_mount ? META_F_CG_MOUNT : 0) |
			 (meta->no_stacks == TKT_STACKS_NO_LOOP ? META_F_NO_STACKS : 0) |
			 (meta->no_stacks == TKT_STACKS_REFUSED ? META_F_STACKS_REFUSED : 0),
		.warn_pct = meta->warn_pct,
	};
	struct tkt_buf s = { 0 };
	int r;

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	/* Level 1: the records are repetitive, and the tracer should stay cheap. */
	if (deflateInit(&w->z, 1) != Z_OK) {
		free(w);
		return -ENOMEM;
	}
	memcpy(prefix + TKT_REC_MAGIC_LEN, &version, 2);
	r = tkt_write_all(fd, prefix, sizeof(prefix));
	strs_add(&s, meta->tktrace_version);
	strs_add(&s, meta->kernel);
	if (meta->cg_mount)
		strs_add(&s, meta->cg_mount);
	for (int i = 0; i < meta->argc; i++)
		strs_add(&s, meta->argv[i]);
	if (!r && !s.data)
		r = -ENOMEM;
	w->err = r;
	put(w, TKT_REC_META, &f, sizeof(f), s.data, s.len);
	tkt_buf_free(&s);
	r = tkt_rec_flush(w);
	if (r) {
		deflateEnd(&w->z);
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

void tkt_rec_tap(void *ctx, uint16_t type, const void *data, size_t len)
{
	struct tkt_rec_writer *w = ctx;
	const struct tkt_hdr *h = data;

	put(w, type, data, len, NULL, 0);
	/* A kill may be followed by the tracer's own death: get it on disk now. */
	if (type == TKT_TAP_RAW && len >= sizeof(*h) &&
	    (h->type == TKT_EV_OOM || h->type == TKT_EV_SIGNAL))
		tkt_rec_flush(w);
}

int tkt_rec_flush(struct tkt_rec_writer *w)
{
	if (w->dirty && !w->err) {
		w->z.next_in = NULL;
		w->z.avail_in = 0;
		deflate_out(w, Z_SYNC_FLUSH);
		w->dirty = false;
	}
	return w->err;
}

int tkt_rec_writer_close(struct tkt_rec_writer *w, const struct tkt_rec_end *end)
{
	int r;

	if (!w)
		return 0;
	if (end) {
		struct end_fixed f = {
			.duration_ns = end->duration_ns,
			.kernel_drops = end->kernel_drops,
			.threshold = end->threshold,
			.status = end->status,
			.sig = end->sig,
			.exit_code = end->exit_code,
			.top = end->top,
			.nmarked = end->nmarked,
			.signaled = end->signaled,
			.quiet = end->quiet,
			.has_memory_limit = end->memory_limit != NULL,
		};
		struct tkt_buf s = { 0 };
		strs_add(&s, end->marker);
		if (end->memory_limit)
			strs_add(&s, end->memory_limit);
		if (end->nmarked)
			tkt_buf_append(&s, end->marked, end->nmarked);
		if (!s.data)
			w->err = w->err ? w->err : -ENOMEM;
		put(w, TKT_REC_END, &f, sizeof(f), s.data, s.len);
		tkt_buf_free(&s);
	}
	if (!w->err) {
		w->z.next_in = NULL;
		w->z.avail_in = 0;
		deflate_out(w, Z_FINISH);
	}
	deflateEnd(&w->z);
	r = w->err;
	if (close(w->fd) && !r && errno != EINTR)
		r = -errno;
	free(w);
	return r;
}

/* Reading. */

struct tkt_rec_reader {
	tkt_rec_fn fn;
	void *ctx;
	unsigned char prefix[TKT_REC_PREFIX_LEN];
	size_t nprefix;
	bool z_ready, stream_end, saw_meta, saw_end;
	z_stream z;
	struct tkt_buf pending; /* inflated bytes not yet a whole record */
	uint64_t nrecords;
	uint64_t offset; /* inflated bytes consumed: where records start, for messages */
};

struct tkt_rec_reader *tkt_rec_reader_new(tkt_rec_fn fn, void *ctx)
{
	struct tkt_rec_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fn = fn;
	r->ctx = ctx;
	return r;
}

void tkt_rec_reader_free(struct tkt_rec_reader *r)
{
	if (!r)
		return;
	if (r->z_ready)
		inflateEnd(&r->z);
	tkt_buf_free(&r->pending);
	free(r);
}

uint64_t tkt_rec_reader_records(const struct tkt_rec_reader *r)
{
	return r->nrecords;
}

static int check_prefix(struct tkt_rec_reader *r, char *err, size_t errsz)
{
	uint16_t version, zero;

	if (memcmp(r->prefix, TKT_REC_MAGIC, TKT_REC_MAGIC_LEN)) {
		snprintf(err, errsz, "not a tktrace recording (made by tktrace --record FILE)");
		return -EINVAL;
	}
	memcpy(&version, r->prefix + TKT_REC_MAGIC_LEN, 2);
	memcpy(&zero, r->prefix + TKT_REC_MAGIC_LEN + 2, 2);
	if (version != TKT_REC_VERSION || zero) {
		snprintf(err, errsz, "recording format version %u; this tktrace reads version %d",
			 version, TKT_REC_VERSION);
		return -EINVAL;
	}
	if (inflateInit(&r->z) != Z_OK) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r->z_ready = true;
	return 0;
}

/* Hand every whole record in pending to the callback. */
static int parse(struct tkt_rec_reader *r, char *err, size_t errsz)
{
	size_t off = 0;
	int ret = 0;

	while (r->pending.len - off >= TKT_REC_HDR_LEN) {
		const unsigned char *p = (const unsigned char *)r->pending.data + off;
		uint16_t type, flags;
		uint32_t len;

		memcpy(&type, p, 2);
		memcpy(&flags, p + 2, 2);
		memcpy(&len, p + 4, 4);
		if (len > TKT_REC_MAX) {
			snprintf(err, errsz, "corrupted: record %llu claims %u bytes",
				 (unsigned long long)r->nrecords + 1, len);
			ret = -EINVAL;
			break;
		}
		if (r->pending.len - off - TKT_REC_HDR_LEN < len)
			break;
		if (!r->saw_meta && type != TKT_REC_META) {
			snprintf(err, errsz, "corrupted: the first record is not the header");
			ret = -EINVAL;
			break;
		}
		if ((r->saw_meta && type == TKT_REC_META) || r->saw_end) {
			snprintf(err, errsz, "corrupted: record %llu comes after the %s",
				 (unsigned long long)r->nrecords + 1, r->saw_end ? "end" : "header");
			ret = -EINVAL;
			break;
		}
		ret = r->fn(r->ctx, type, flags, p + TKT_REC_HDR_LEN, len, err, errsz);
		if (ret)
			break;
		r->saw_meta = true;
		r->saw_end = type == TKT_REC_END;
		r->nrecords++;
		off += TKT_REC_HDR_LEN + len;
	}
	r->offset += off;
	if (off) {
		memmove(r->pending.data, r->pending.data + off, r->pending.len - off);
		r->pending.len -= off;
	}
	return ret;
}

int tkt_rec_reader_feed(struct tkt_rec_reader *r, const void *data, size_t len, char *err,
			size_t errsz)
{
	const unsigned char *in = data;
	unsigned char out[OUT_CHUNK];
	int ret;

	while (len && r->nprefix < TKT_REC_PREFIX_LEN) {
		r->prefix[r->nprefix++] = *in++;
		len--;
		if (r->nprefix == TKT_REC_PREFIX_LEN && (ret = check_prefix(r, err, errsz)))
			return ret;
	}
	if (!len)
		return 0;
	if (r->stream_end) {
		snprintf(err, errsz, "corrupted: data after the end of the recording");
		return -EINVAL;
	}
	r->z.next_in = (unsigned char *)in;
	r->z.avail_in = len;
	while (r->z.avail_in && !r->stream_end) {
		int zr;
		r->z.next_out = out;
		r->z.avail_out = sizeof(out);
		zr = inflate(&r->z, Z_NO_FLUSH);
		if (zr == Z_MEM_ERROR) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			snprintf(err, errsz, "corrupted near byte %llu: %s",
				 (unsigned long long)r->z.total_in + TKT_REC_PREFIX_LEN,
				 r->z.msg ? r->z.msg : "bad compressed data");
			return -EINVAL;
		}
		if (tkt_buf_append(&r->pending, out, sizeof(out) - r->z.avail_out)) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		ret = parse(r, err, errsz);
		if (ret)
			return ret;
		if (zr == Z_STREAM_END)
			r->stream_end = true;
		else if (zr == Z_BUF_ERROR && r->z.avail_out)
			break; /* no progress possible: wants more input */
	}
	if (r->stream_end && r->z.avail_in) {
		snprintf(err, errsz, "corrupted: data after the end of the recording");
		return -EINVAL;
	}
	return 0;
}

int tkt_rec_reader_finish(struct tkt_rec_reader *r, char *err, size_t errsz)
{
	if (r->nprefix < TKT_REC_PREFIX_LEN) {
		snprintf(err, errsz, r->nprefix ? "too short to be a tktrace recording" : "empty file");
		return -EINVAL;
	}
	if (!r->saw_meta) {
		snprintf(err, errsz, "the recording stops before the end of its header: nothing to report");
		return -EINVAL;
	}
	if (r->stream_end && r->pending.len) {
		snprintf(err, errsz, "corrupted: the recording ends inside a record");
		return -EINVAL;
	}
	return r->saw_end ? TKT_REC_COMPLETE : TKT_REC_CUT;
}

/* Copy a payload and check that the strings after its fixed part are NUL terminated. */
static const char *next_str(const char **p, const char *end)
{
	const char *s = *p, *nul;

	if (s >= end || !(nul = memchr(s, '\0', end - s)))
		return NULL;
	*p = nul + 1;
	return s;
}

void tkt_rec_strs_free(struct tkt_rec_strs *s)
{
	free(s->blob);
	free(s->argv);
	s->blob = NULL;
	s->argv = NULL;
}

int tkt_rec_decode_meta(const void *data, size_t len, struct tkt_rec_meta *meta,
			struct tkt_rec_strs *strs)
{
	struct meta_fixed f;
	const char *p, *end;

	memset(meta, 0, sizeof(*meta));
	memset(strs, 0, sizeof(*strs));
	if (len < sizeof(f))
		return -EINVAL;
	memcpy(&f, data, sizeof(f));
	/* Every argument takes at least its NUL. */
	if (f.byte_order != BYTE_ORDER_MARK || f.argc > len - sizeof(f) || f.flags & ~(META_F_CG_MOUNT | META_F_NO_STACKS | META_F_STACKS_REFUSED) ||
	    f.warn_pct > 100)
		return -EINVAL;
	strs->blob = malloc(len - sizeof(f) + 1);
	strs->argv = calloc(f.argc + 1, sizeof(char *));
	if (!strs->blob || !strs->argv) {
		tkt_rec_strs_free(strs);
		return -ENOMEM;
	}
	memcpy(strs->blob, (const char *)data + sizeof(f), len - sizeof(f));
	p = strs->blob;
	end = strs->blob + (len - sizeof(f));
	meta->t0_ns = f.t0_ns;
	meta->start_unix_ns = f.start_unix_ns;
	meta->page_size = f.page_size;
	meta->retained_noise = f.retained_noise;
	meta->warn_pct = f.warn_pct;
	meta->no_stacks = f.flags & META_F_NO_STACKS	   ? TKT_STACKS_NO_LOOP :
			  f.flags & META_F_STACKS_REFUSED ? TKT_STACKS_REFUSED :
							    TKT_STACKS_TAKEN;
	meta->tktrace_version = next_str(&p, end);
	meta->kernel = next_str(&p, end);
	if (f.flags & META_F_CG_MOUNT && !(meta->cg_mount = next_str(&p, end)))
		goto bad;
	for (uint32_t i = 0; i < f.argc; i++)
		if (!(strs->argv[i] = (char *)next_str(&p, end)))
			goto bad;
	if (!meta->tktrace_version || !meta->kernel)
		goto bad;
	meta->argc = f.argc;
	meta->argv = strs->argv;
	return 0; /* bytes after the known fields: a later minor addition, ignored */
bad:
	tkt_rec_strs_free(strs);
	return -EINVAL;
}

int tkt_rec_decode_end(const void *data, size_t len, struct tkt_rec_end *end,
		       struct tkt_rec_strs *strs)
{
	struct end_fixed f;
	const char *p, *e;

	memset(end, 0, sizeof(*end));
	memset(strs, 0, sizeof(*strs));
	if (len < sizeof(f))
		return -EINVAL;
	memcpy(&f, data, sizeof(f));
	if (f.signaled > 1 || f.quiet > 1 || f.has_memory_limit > 1 || f.top < 0)
		return -EINVAL;
	strs->blob = malloc(len - sizeof(f) + 1);
	if (!strs->blob)
		return -ENOMEM;
	memcpy(strs->blob, (const char *)data + sizeof(f), len - sizeof(f));
	p = strs->blob;
	e = strs->blob + (len - sizeof(f));
	end->marker = next_str(&p, e);
	if (!end->marker || (f.has_memory_limit && !(end->memory_limit = next_str(&p, e))))
		goto bad;
	if ((size_t)(e - p) < f.nmarked)
		goto bad;
	for (uint32_t i = 0; i < f.nmarked; i++)
		if ((int8_t)p[i] < -1 || (int8_t)p[i] > 1)
			goto bad;
	end->marked = (const int8_t *)p;
	end->nmarked = f.nmarked;
	end->duration_ns = f.duration_ns;
	end->kernel_drops = f.kernel_drops;
	end->threshold = f.threshold;
	end->status = f.status;
	end->sig = f.sig;
	end->exit_code = f.exit_code;
	end->top = f.top;
	end->signaled = f.signaled;
	end->quiet = f.quiet;
	return 0;
bad:
	tkt_rec_strs_free(strs);
	return -EINVAL;
}
