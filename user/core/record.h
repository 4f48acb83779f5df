/* --record FILE: the model's inputs as a compressed event log (docs/recording.md), written as
 * the run goes so that a killed tracer leaves a readable file, and read back for `report`. */
#ifndef TKT_RECORD_H
#define TKT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define TKT_REC_MAGIC "TKTRACE\x1a" /* 8 bytes; then a u16 version, a u16 zero, the zlib stream */
#define TKT_REC_MAGIC_LEN 8
#define TKT_REC_PREFIX_LEN 12
#define TKT_REC_VERSION 1
#define TKT_REC_HDR_LEN 8        /* u16 type, u16 flags, u32 payload length */
#define TKT_REC_MAX (16u << 20)  /* longest payload a reader accepts */

/* Record types 1..63 are the model's inputs (enum tkt_tap_type); these frame the run. */
enum tkt_rec_type {
	TKT_REC_META = 64, /* first record: what ran, where, when */
	TKT_REC_END = 65,  /* last record: how it ended, and the report's options */
};

#define TKT_REC_F_OPTIONAL 1u /* a reader that does not know the type may skip it */

/* What ran: the first record. */
struct tkt_rec_meta {
	uint64_t t0_ns;          /* CLOCK_MONOTONIC at start: report times count from here */
	uint64_t start_unix_ns;  /* the same moment, wall clock */
	uint64_t page_size;
	uint64_t retained_noise;
	unsigned warn_pct;       /* --warn-at */
	uint8_t no_stacks;       /* TKT_STACKS_* (core/model.h): why the kernel took no Python stacks */
	const char *cg_mount;    /* memory controller mount, or NULL */
	const char *tktrace_version;
	const char *kernel;      /* uname -r */
	int argc;
	char **argv;             /* COMMAND */
};

/* How the run ended, and what the live report was asked for: the last record. */
struct tkt_rec_end {
	uint64_t duration_ns;
	uint64_t kernel_drops;
	int status, sig, exit_code;
	bool signaled;
	bool quiet;
	int top;                  /* rows per memory table, as resolved */
	uint64_t threshold;       /* --intensive-threshold */
	const char *marker;
	const char *memory_limit; /* --memory-limit as given, or NULL */
	size_t nmarked;
	const int8_t *marked;     /* per test: 1 marked, 0 not, -1 unknown */
};

struct tkt_rec_writer;

/* Writes the prefix and the META record to fd (which the writer then owns). */
int tkt_rec_writer_open(struct tkt_rec_writer **out, int fd, const struct tkt_rec_meta *meta);
/* A tkt_tap_fn: one model input. Kill records are flushed at once. */
void tkt_rec_tap(void *ctx, uint16_t type, const void *data, size_t len);
/* Push everything so far to the file (a sync flush): called once per poll cycle. */
int tkt_rec_flush(struct tkt_rec_writer *w);
/* Write END (when end is not NULL), finish the stream, close fd. The first error of the
 * whole recording, as -errno, or 0. */
int tkt_rec_writer_close(struct tkt_rec_writer *w, const struct tkt_rec_end *end);

/* Reading: push bytes in any pieces, each complete record goes to on_rec. on_rec returns 0,
 * or an error that stops the read (with a message in err). */
typedef int (*tkt_rec_fn)(void *ctx, uint16_t type, uint16_t flags, const void *data, size_t len,
			  char *err, size_t errsz);

enum tkt_rec_state {
	TKT_REC_COMPLETE = 0, /* END seen, stream finished */
	TKT_REC_CUT = 1,      /* the file stops early: everything before the cut was read */
};

struct tkt_rec_reader;
struct tkt_rec_reader *tkt_rec_reader_new(tkt_rec_fn fn, void *ctx);
/* 0, or -EINVAL (not a recording, corrupted, hostile) / -ENOMEM with a message in err. */
int tkt_rec_reader_feed(struct tkt_rec_reader *r, const void *data, size_t len, char *err,
			size_t errsz);
/* At the end of the input: TKT_REC_COMPLETE, TKT_REC_CUT, or a negative error with a message. */
int tkt_rec_reader_finish(struct tkt_rec_reader *r, char *err, size_t errsz);
/* Records handed to on_rec so far. */
uint64_t tkt_rec_reader_records(const struct tkt_rec_reader *r);
void tkt_rec_reader_free(struct tkt_rec_reader *r);

/* Decoders of META and END payloads; strings point into data or into *strs (freed by the
 * caller with tkt_rec_strs_free). -EINVAL when malformed. */
struct tkt_rec_strs {
	char *blob;
	char **argv;
};
int tkt_rec_decode_meta(const void *data, size_t len, struct tkt_rec_meta *meta,
			struct tkt_rec_strs *strs);
int tkt_rec_decode_end(const void *data, size_t len, struct tkt_rec_end *end,
		       struct tkt_rec_strs *strs);
void tkt_rec_strs_free(struct tkt_rec_strs *s);

#endif /* TKT_RECORD_H */
