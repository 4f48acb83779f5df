/* A recording fed back into a fresh model: the same code that built the live report builds
 * the replayed one. */
#ifndef TKT_REPLAY_H
#define TKT_REPLAY_H

#include <stdbool.h>
#include "model.h"
#include "record.h"
#include "run.h"

struct tkt_replay {
	struct tkt_model model; /* valid once the header was read */
	bool have_meta;
	struct tkt_rec_meta meta;
	struct tkt_rec_strs meta_strs;
	bool have_end;
	struct tkt_rec_end end;
	struct tkt_rec_strs end_strs;
	uint64_t last_ns; /* newest time stamp seen */
	uint64_t skipped; /* optional records of unknown types */
	struct tkt_rec_reader *reader;
	int state; /* TKT_REC_COMPLETE or TKT_REC_CUT after tkt_replay_finish */
};

int tkt_replay_init(struct tkt_replay *rp);
/* Push bytes of the file; 0 or a negative error with a message in err. */
int tkt_replay_feed(struct tkt_replay *rp, const void *data, size_t len, char *err, size_t errsz);
int tkt_replay_finish(struct tkt_replay *rp, char *err, size_t errsz);
/* Read a whole file (path "-" is stdin). */
int tkt_replay_file(struct tkt_replay *rp, const char *path, char *err, size_t errsz);
/* The run as the live report saw it; cut when the recording has no END. */
void tkt_replay_run(const struct tkt_replay *rp, struct tkt_run *run);
/* The per-test memory options of the live report. */
void tkt_replay_mem_opts(const struct tkt_replay *rp, struct tkt_mem_opts *o);
void tkt_replay_free(struct tkt_replay *rp);

#endif /* TKT_REPLAY_H */
