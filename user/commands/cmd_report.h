/* Subcommands that work from saved data, without tracing: `report` and `explain-kmsg`. */
#ifndef TKT_CMD_REPORT_H
#define TKT_CMD_REPORT_H

/* argv[0] is the subcommand's name; returns the exit status. */
int tkt_cmd_report(int argc, char **argv);
int tkt_cmd_explain_kmsg(int argc, char **argv);

#endif /* TKT_CMD_REPORT_H */
