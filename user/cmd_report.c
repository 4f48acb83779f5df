/* tktrace report FILE: the live run's reports again, from its recording. */
#include "cmd_report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "html.h"
#include "replay.h"
#include "safeopen.h"
#include "report.h"
#include "util.h"

static void usage(FILE *f)
{
	fputs("Usage: tktrace report FILE [--text] [--json OUT] [--html OUT] [--per-test-file OUT]\n"
	      "\n"
	      "Render the reports of a run recorded with `tktrace --record FILE` again: the same\n"
	      "text and JSON (docs/json.md) the live run gave. A recording cut short (tktrace was\n"
	      "killed) reports what it holds and where it stops. Needs no root.\n"
	      "\n"
	      "Options:\n"
	      "  --text               the human report on stdout (the default without other outputs)\n"
	      "  --json OUT           the JSON report to OUT ('-' for stdout)\n"
	      "  --html OUT           the HTML report (docs/html.md) to OUT ('-' for stdout)\n"
	      "  --per-test-file OUT  per-test memory as JSON lines to OUT ('-' for stdout)\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo tktrace --record run.tkt -- pytest -n 4\n"
	      "  tktrace report run.tkt\n"
	      "  tktrace report run.tkt --json run.json --html run.html\n"
	      "  tktrace report run.tkt --json - | jq '.oom_kills[].victim.test'\n"
	      "\n"
	      "Exit status: 0, or 125 if FILE is not a readable recording or an output fails.\n",
	      f);
}

int tkt_cmd_write_out(const char *path, const struct tkt_buf *b)
{
	struct tkt_open_check chk = { .owned = true };
	char why[128];
	int fd = strcmp(path, "-") ? tkt_open_regular(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0644,
						       &chk, why, sizeof(why))
				   : STDOUT_FILENO;
	int r = 0;

	if (fd < 0) {
		tkt_error("cannot write %s: %s", path, why);
		return -1;
	}
	if (fd != STDOUT_FILENO && ftruncate(fd, 0)) {
		tkt_error("cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (tkt_write_all(fd, b->data, b->len)) {
		tkt_error("writing %s failed: %s", path, strerror(errno));
		r = -1;
	}
	if (fd != STDOUT_FILENO && close(fd) && !r) {
		tkt_error("writing %s failed: %s", path, strerror(errno));
		r = -1;
	}
	return r;
}

int tkt_cmd_report(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_TEXT, OPT_PER_TEST, OPT_HTML };
	static const struct option opts[] = {
		{ "json", required_argument, NULL, OPT_JSON },
		{ "text", no_argument, NULL, OPT_TEXT },
		{ "per-test-file", required_argument, NULL, OPT_PER_TEST },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *json = NULL, *per_test = NULL, *html = NULL, *file;
	bool text = false;
	struct tkt_replay rp;
	struct tkt_run run;
	struct tkt_buf out = { 0 };
	char err[512];
	int o, rc = 0;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_JSON:
			json = optarg;
			break;
		case OPT_TEXT:
			text = true;
			break;
		case OPT_PER_TEST:
			per_test = optarg;
			break;
		case OPT_HTML:
			html = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			tkt_error("report: option '%s' needs an argument (see tktrace report --help)",
				  argv[optind - 1]);
			return TKT_EXIT_FAIL;
		default:
			tkt_error("report: unknown option '%s' (see tktrace report --help)", argv[optind - 1]);
			return TKT_EXIT_FAIL;
		}
	}
	if (optind != argc - 1) {
		tkt_error("report: give one recording: tktrace report FILE (see tktrace report --help)");
		return TKT_EXIT_FAIL;
	}
	if ((json && !*json) || (per_test && !*per_test) || (html && !*html)) {
		tkt_error("report: an output needs a file name ('-' for stdout)");
		return TKT_EXIT_FAIL;
	}
	file = argv[optind];
	if (!json && !per_test && !html)
		text = true;
	if (tkt_replay_init(&rp)) {
		tkt_error("out of memory");
		return TKT_EXIT_FAIL;
	}
	if (tkt_replay_file(&rp, file, err, sizeof(err))) {
		tkt_error("%s: %s", file, err);
		tkt_replay_free(&rp);
		return TKT_EXIT_FAIL;
	}
	tkt_replay_run(&rp, &run);
	if (run.cut)
		tkt_error("%s: the recording stops at %.3f s without the run's end (tktrace was killed?): "
			  "reporting what it holds", file, run.duration_s);
	if (text) {
		struct tkt_mem_opts mo;
		bool quiet = rp.have_end && rp.end.quiet;
		tkt_replay_mem_opts(&rp, &mo);
		tkt_report_text(&out, &rp.model, &run, quiet);
		if (!quiet)
			tkt_report_memory_text(&out, &rp.model, &mo);
		/* With the JSON on stdout, the text goes where the live run put it. */
		if (json && !strcmp(json, "-"))
			fputs(out.data ? out.data : "", stderr);
		else if (out.len && tkt_cmd_write_out("-", &out))
			rc = TKT_EXIT_FAIL;
	}
	if (per_test) {
		tkt_buf_reset(&out);
		tkt_report_per_test(&out, &rp.model);
		if (tkt_cmd_write_out(per_test, &out))
			rc = TKT_EXIT_FAIL;
	}
	if (json) {
		tkt_buf_reset(&out);
		tkt_report_json(&out, &rp.model, &run);
		if (tkt_cmd_write_out(json, &out))
			rc = TKT_EXIT_FAIL;
	}
	if (html) {
		tkt_buf_reset(&out);
		tkt_report_html(&out, &rp.model, &run);
		if (tkt_cmd_write_out(html, &out))
			rc = TKT_EXIT_FAIL;
	}
	tkt_buf_free(&out);
	tkt_replay_free(&rp);
	return rc;
}
