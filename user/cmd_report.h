/* Subcommands that work from saved data, without tracing: `report`, `explain-kmsg`, `plan`. */
#ifndef TKT_CMD_REPORT_H
#define TKT_CMD_REPORT_H

#include "util.h"

/* argv[0] is the subcommand's name; returns the exit status. */
int tkt_cmd_report(int argc, char **argv);
int tkt_cmd_explain_kmsg(int argc, char **argv);
/* tktrace plan (user/cmd_plan.c). */
int tkt_cmd_plan(int argc, char **argv);
/* Write b to path ('-': stdout), replacing a regular file of ours; 0, or -1 after an error
 * message. */
int tkt_cmd_write_out(const char *path, const struct tkt_buf *b);

#endif /* TKT_CMD_REPORT_H */
