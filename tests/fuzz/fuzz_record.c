/* libFuzzer harness: any bytes as a recording must give a report or an error, never a crash,
 * a hang or a leak. The input goes in two pieces (split where its first byte says) so the
 * reader's resumption across reads is exercised too; whatever replays is rendered, and must
 * be what the input fed whole gives, byte for byte. Bad input must be refused both ways; the
 * messages may differ (a record's bad length can show before the stream's bad checksum). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "replay.h"
#include "report.h"

/* Replay data in the pieces [0, cut) and [cut, size); render into out, or the error. Returns
 * whether it replayed. */
static int replay(const uint8_t *data, size_t size, size_t cut, struct tkt_buf *out)
{
	struct tkt_replay rp;
	struct tkt_run run;
	struct tkt_mem_opts mo;
	char err[256];
	int ok;

	if (tkt_replay_init(&rp))
		abort(); /* out of memory at the start: nothing to compare */
	ok = tkt_replay_feed(&rp, data, cut, err, sizeof(err)) == 0 &&
	     (cut == size || tkt_replay_feed(&rp, data + cut, size - cut, err, sizeof(err)) == 0) &&
	     tkt_replay_finish(&rp, err, sizeof(err)) == 0;
	if (ok) {
		tkt_replay_run(&rp, &run);
		tkt_replay_mem_opts(&rp, &mo);
		tkt_report_text(out, &rp.model, &run, false);
		tkt_report_memory_text(out, &rp.model, &mo);
		tkt_report_per_test(out, &rp.model);
		tkt_report_json(out, &rp.model, &run);
		tkt_report_html(out, &rp.model, &run); /* tktrace report --html */
	}
	tkt_replay_free(&rp);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tkt_buf split = { 0 }, whole = { 0 };
	size_t cut = size ? data[0] * size / 256 : 0;
	int ok_split = replay(data, size, cut, &split), ok_whole = replay(data, size, size, &whole);

	if (ok_split != ok_whole || split.len != whole.len ||
	    (split.len && memcmp(split.data, whole.data, split.len)))
		abort();
	tkt_buf_free(&split);
	tkt_buf_free(&whole);
	return 0;
}
