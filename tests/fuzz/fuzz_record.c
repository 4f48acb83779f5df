/* libFuzzer harness: any bytes as a recording must give a report or an error, never a crash,
 * a hang or a leak. The input goes in two pieces (split where its first byte says) so the
 * reader's resumption across reads is exercised too; whatever replays is rendered. */
#include <stddef.h>
#include <stdint.h>
#include "html.h"
#include "replay.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tkt_replay rp;
	struct tkt_run run;
	struct tkt_mem_opts mo;
	struct tkt_buf out = { 0 };
	char err[256];
	size_t cut = size ? data[0] * size / 256 : 0;

	if (tkt_replay_init(&rp))
		return 0;
	if (tkt_replay_feed(&rp, data, cut, err, sizeof(err)) == 0 &&
	    tkt_replay_feed(&rp, data + cut, size - cut, err, sizeof(err)) == 0 &&
	    tkt_replay_finish(&rp, err, sizeof(err)) == 0) {
		tkt_replay_run(&rp, &run);
		tkt_replay_mem_opts(&rp, &mo);
		tkt_report_text(&out, &rp.model, &run, false);
		tkt_report_memory_text(&out, &rp.model, &mo);
		tkt_report_per_test(&out, &rp.model);
		tkt_report_json(&out, &rp.model, &run);
		tkt_report_html(&out, &rp.model, &run); /* tktrace report --html */
	}
	tkt_buf_free(&out);
	tkt_replay_free(&rp);
	return 0;
}
