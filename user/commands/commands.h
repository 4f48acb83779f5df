/* tktrace's subcommands, each `int tkt_cmd_NAME(int argc, char **argv)` with argv[0] its name
 * (the run's: the program's), returning the exit status; user/main.c's table dispatches. */
#ifndef TKT_COMMANDS_H
#define TKT_COMMANDS_H

#include "core/util.h"

/* tktrace [OPTIONS] -- COMMAND: trace COMMAND and explain its kills. */
int tkt_cmd_run(int argc, char **argv);
/* tktrace report FILE: the reports again, from a --record recording (no root). */
int tkt_cmd_report(int argc, char **argv);
/* tktrace explain-kmsg [--trace FILE] [LOG]: OOM kills in the kernel log, mapped to tests. */
int tkt_cmd_explain_kmsg(int argc, char **argv);
/* tktrace plan: a memory-aware schedule from earlier runs (docs/plan.md). */
int tkt_cmd_plan(int argc, char **argv);
/* tktrace watch: every OOM kill and SIGKILL on the machine, one JSON object a line. */
int tkt_cmd_watch(int argc, char **argv);

/* For the subcommands: write b to path ('-': stdout), replacing a regular file of ours; 0, or
 * -1 after an error message (commands/cmd_report.c). */
int tkt_cmd_write_out(const char *path, const struct tkt_buf *b);

#endif /* TKT_COMMANDS_H */
