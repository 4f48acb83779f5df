/* tktrace's options. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "core/util.h"

void tkt_cli_usage(FILE *f)
{
	fputs("Usage: tktrace [OPTIONS] -- COMMAND [ARG...]\n"
	      "       tktrace report|explain-kmsg|plan|watch ...  (see Subcommands below)\n"
	      "\n"
	      "Run COMMAND (usually a pytest suite) under eBPF tracing and explain every OOM kill\n"
	      "and SIGKILL of it or its descendants by pytest test, phase and xdist worker.\n"
	      "Needs root (or CAP_BPF, CAP_PERFMON and, for the setenv uprobes, CAP_SYS_ADMIN); under\n"
	      "sudo, COMMAND runs as the invoking user. tktrace exits with COMMAND's status\n"
	      "(128+N for signal N; it dies of COMMAND's SIGINT, SIGTERM, SIGHUP or SIGPIPE).\n"
	      "\n"
	      "Options:\n"
	      "  --json FILE          write the JSON report (docs/json.md) to FILE ('-': stdout)\n"
	      "  --html FILE          write the HTML report (docs/html.md) to FILE: kill explanation,\n"
	      "                       memory timeline per pytest process, sortable test tables\n"
	      "  --memory-limit SIZE  run COMMAND in a new memory cgroup limited to SIZE\n"
	      "                       (e.g. 512M, 2G; cgroup v1 or v2), removed afterwards\n"
	      "  --cgroup DIR         run COMMAND in the existing cgroup DIR (v1 or v2)\n"
	      "  --top N              tables of the N tests with the largest memory growth and the\n"
	      "                       most memory left behind (default: 5 after a kill, else none)\n"
	      "  --intensive-threshold SIZE\n"
	      "                       list tests needing more than SIZE (default 100M) that are\n"
	      "                       not marked --marker (default memory_intensive)\n"
	      "  --per-test-file FILE write per-test memory as JSON lines, sorted by node id\n"
	      "  --record FILE        record the run to FILE (compressed; docs/recording.md) for\n"
	      "                       `tktrace report FILE` and `tktrace explain-kmsg --trace FILE`\n"
	      "  --stats              after the run, print each BPF program's cost (needs\n"
	      "                       sysctl kernel.bpf_stats_enabled=1), map and tracer memory,\n"
	      "                       the Python stack walks at kills and their cost\n"
	      "  --warn-at PERCENT    when COMMAND's memory cgroup reaches PERCENT of its limit,\n"
	      "                       say which tests are running (default 90; 0: off)\n"
	      "  --junitxml-merge FILE\n"
	      "                       add the kill explanation to the killed test case in pytest's\n"
	      "                       JUnit XML FILE (written if pytest could not write it)\n"
	      "  --best-effort        when tracing is impossible (no privileges, no BTF, BPF load\n"
	      "                       failure), warn and run COMMAND untraced\n"
	      "  -q, --quiet          no report when nothing was killed\n"
	      "  -v, --verbose        say what is attached, every frame of the Python stacks; twice\n"
	      "                       for libbpf's debug output\n"
	      "      --as-root        under sudo, run COMMAND as root instead of the invoking user\n"
	      "  -h, --help           show this help\n"
	      "  -V, --version        show the version\n"
	      "\n"
	      "Subcommands (see tktrace SUBCOMMAND --help):\n"
	      "  tktrace report FILE [--json OUT] [--html OUT]  the reports again, from a recording\n"
	      "  tktrace explain-kmsg [--trace FILE] [LOG]      OOM kills in the kernel log, by test\n"
	      "  tktrace plan --record FILE [--budget SIZE]     xdist workers, heavy tests and shards\n"
	      "                                                 that fit a memory budget\n"
	      "  tktrace watch [--output FILE] [--cgroup PATH]  every kill on the machine, as JSON\n"
	      "                                                 lines (a service for CI runners)\n"
	      "\n"
	      "Examples:\n"
	      "  sudo tktrace -- pytest -x tests/\n"
	      "  sudo tktrace --json oom.json -- python3 -m pytest -n 4\n"
	      "  sudo tktrace --memory-limit 2G -- pytest 'tests/test_big.py::test_load[10M]'\n"
	      "  sudo tktrace --top 10 --per-test-file mem.jsonl -- pytest -n 4\n"
	      "  sudo tktrace --record run.tkt -- pytest -n 4 && tktrace report run.tkt\n"
	      "\n"
	      "Under GitHub Actions (GITHUB_ACTIONS=true) it also prints ::error annotations at\n"
	      "the killed tests' def lines and appends a Markdown summary to $GITHUB_STEP_SUMMARY.\n"
	      "\n"
	      "Exit status: COMMAND's; 125 if tktrace failed, 126 if COMMAND is not executable,\n"
	      "127 if COMMAND was not found.\n",
	      f);
}

int tkt_cli_parse(struct tkt_cli *c, int argc, char **argv, char *err, size_t errsz)
{
	enum { OPT_JSON = 256, OPT_MEMLIMIT, OPT_AS_ROOT, OPT_CGROUP, OPT_TOP, OPT_THRESHOLD,
	       OPT_MARKER, OPT_PER_TEST, OPT_STATS, OPT_WARN_AT, OPT_BEST_EFFORT, OPT_JUNIT,
	       OPT_HTML, OPT_RECORD };
	static const struct option opts[] = {
		{ "json", required_argument, NULL, OPT_JSON },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "memory-limit", required_argument, NULL, OPT_MEMLIMIT },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "intensive-threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "marker", required_argument, NULL, OPT_MARKER },
		{ "per-test-file", required_argument, NULL, OPT_PER_TEST },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "warn-at", required_argument, NULL, OPT_WARN_AT },
		{ "best-effort", no_argument, NULL, OPT_BEST_EFFORT },
		{ "junitxml-merge", required_argument, NULL, OPT_JUNIT },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "as-root", no_argument, NULL, OPT_AS_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int o;

	memset(c, 0, sizeof(*c));
	c->top = -1;
	c->intensive_threshold = 100ULL << 20;
	c->marker = "memory_intensive";
	c->warn_at = 90;
	optind = 0; /* full reset: tests parse several times */
	opterr = 0;
	/* '+': stop at COMMAND, so its own options are left alone. */
	while ((o = getopt_long(argc, argv, "+:qvhV", opts, NULL)) != -1) {
		switch (o) {
		case OPT_JSON:
			if (!*optarg) {
				snprintf(err, errsz, "--json needs a file name");
				return TKT_EXIT_FAIL;
			}
			c->json_path = optarg;
			break;
		case OPT_HTML:
			if (!*optarg) {
				snprintf(err, errsz, "--html needs a file name");
				return TKT_EXIT_FAIL;
			}
			c->html_path = optarg;
			break;
		case OPT_MEMLIMIT:
			if (tkt_parse_size(optarg, &c->memory_limit) || c->memory_limit < (4u << 20)) {
				snprintf(err, errsz,
					 "invalid --memory-limit '%s': give a size of at least 4M, like 512M or 2G",
					 optarg);
				return TKT_EXIT_FAIL;
			}
			c->memory_limit_arg = optarg;
			break;
		case OPT_CGROUP:
			if (!*optarg) {
				snprintf(err, errsz, "--cgroup needs a cgroup directory");
				return TKT_EXIT_FAIL;
			}
			c->cgroup_path = optarg;
			break;
		case OPT_TOP: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0 || v > 100000) {
				snprintf(err, errsz, "invalid --top '%s': give a number of tests, like 10", optarg);
				return TKT_EXIT_FAIL;
			}
			c->top = v;
			break;
		}
		case OPT_THRESHOLD:
			if (tkt_parse_size(optarg, &c->intensive_threshold)) {
				snprintf(err, errsz, "invalid --intensive-threshold '%s': give a size, like 100M",
					 optarg);
				return TKT_EXIT_FAIL;
			}
			break;
		case OPT_MARKER:
			if (!*optarg || strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(optarg)) {
				snprintf(err, errsz, "invalid --marker '%s': give a pytest marker name", optarg);
				return TKT_EXIT_FAIL;
			}
			c->marker = optarg;
			break;
		case OPT_PER_TEST:
			if (!*optarg) {
				snprintf(err, errsz, "--per-test-file needs a file name");
				return TKT_EXIT_FAIL;
			}
			c->per_test_path = optarg;
			break;
		case OPT_RECORD:
			if (!*optarg) {
				snprintf(err, errsz, "--record needs a file name");
				return TKT_EXIT_FAIL;
			}
			c->record_path = optarg;
			break;
		case OPT_STATS:
			c->stats = true;
			break;
		case OPT_WARN_AT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			bool digits = end != optarg;
			if (*end == '%')
				end++;
			if (!digits || *end || v < 0 || v > 100) {
				snprintf(err, errsz,
					 "invalid --warn-at '%s': give a percentage of the memory limit from 0 (off) to 100, like 90",
					 optarg);
				return TKT_EXIT_FAIL;
			}
			c->warn_at = v;
			break;
		}
		case OPT_BEST_EFFORT:
			c->best_effort = true;
			break;
		case OPT_JUNIT:
			if (!*optarg) {
				snprintf(err, errsz, "--junitxml-merge needs a file name");
				return TKT_EXIT_FAIL;
			}
			c->junit_path = optarg;
			break;
		case 'q':
			c->quiet = true;
			break;
		case 'v':
			c->verbose++;
			break;
		case OPT_AS_ROOT:
			c->as_root = true;
			break;
		case 'h':
			c->help = true;
			return 0;
		case 'V':
			c->version = true;
			return 0;
		case ':':
			snprintf(err, errsz, "option '%s' needs an argument (see tktrace --help)",
				 argv[optind - 1]);
			return TKT_EXIT_FAIL;
		default:
			if (optopt)
				snprintf(err, errsz, "unknown option '-%c' (see tktrace --help)", optopt);
			else
				snprintf(err, errsz, "unknown option '%s' (see tktrace --help)",
					 argv[optind - 1]);
			return TKT_EXIT_FAIL;
		}
	}
	if (c->cgroup_path && c->memory_limit_arg) {
		snprintf(err, errsz, "--cgroup and --memory-limit exclude each other");
		return TKT_EXIT_FAIL;
	}
	if (optind >= argc) {
		snprintf(err, errsz, "no command given: usage: tktrace [OPTIONS] -- COMMAND [ARG...]");
		return TKT_EXIT_FAIL;
	}
	c->argv = argv + optind;
	c->argc = argc - optind;
	return 0;
}

int tkt_watch_parse(struct tkt_watch_cli *c, int argc, char **argv, char *err, size_t errsz)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	memset(c, 0, sizeof(*c));
	c->output = "-";
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":o:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			if (!*optarg) {
				snprintf(err, errsz,
					 "watch: --output needs a file name, or - for stdout");
				return TKT_EXIT_FAIL;
			}
			c->output = optarg;
			break;
		case 'c':
			if (optarg[0] != '/') {
				snprintf(err, errsz,
					 "watch: invalid --cgroup '%s': give an absolute path, "
					 "like /sys/fs/cgroup/system.slice or /docker",
					 optarg);
				return TKT_EXIT_FAIL;
			}
			c->cgroup = optarg;
			break;
		case 'v':
			c->verbose++;
			break;
		case 'h':
			c->help = true;
			return 0;
		case ':':
			snprintf(err, errsz, "watch: %s needs a value (see tktrace watch --help)",
				 argv[optind - 1]);
			return TKT_EXIT_FAIL;
		default:
			snprintf(err, errsz,
				 "watch: unknown option '%s' (see tktrace watch --help)",
				 argv[optind - 1]);
			return TKT_EXIT_FAIL;
		}
	}
	if (optind < argc) {
		snprintf(err, errsz, "watch: unexpected argument '%s' (watch takes no command)",
			 argv[optind]);
		return TKT_EXIT_FAIL;
	}
	return 0;
}

void tkt_watch_usage(FILE *f)
{
	fputs("Usage: tktrace watch [--output FILE|-] [--cgroup PATH] [-v]\n"
	      "\n"
	      "Log every OOM kill and every SIGKILL on this machine, one JSON object per line,\n"
	      "with the process ancestry, cgroup, container and the pytest test that was\n"
	      "running in the killed process or an ancestor. Runs until SIGTERM or SIGINT\n"
	      "(exit 0); SIGHUP reopens FILE (log rotation). Memory stays bounded.\n"
	      "\n"
	      "Options:\n"
	      "  -o, --output FILE|-  append lines to FILE (default -: standard output)\n"
	      "      --cgroup PATH    only kills whose victim is in this cgroup or below it:\n"
	      "                       a directory (/sys/fs/cgroup/memory/ci) or a path as\n"
	      "                       /proc/PID/cgroup shows it (/ci)\n"
	      "  -v, --verbose        say what is probed (twice: libbpf's debug output)\n"
	      "  -h, --help           show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo tktrace watch\n"
	      "  sudo tktrace watch --output /var/log/tktrace/watch.jsonl &\n"
	      "  sudo tktrace watch --cgroup /system.slice/docker.service | jq .victim.test\n"
	      "\n"
	      "Fields: docs/watch.md. A systemd unit: packaging/tktrace-watch.service.\n",
	      f);
}
