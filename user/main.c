/* tktrace: the subcommand table. Anything else is the run: tktrace [OPTIONS] -- COMMAND. */
#include <string.h>
#include "commands/commands.h"

struct tkt_command {
	const char *name;
	int (*main)(int argc, char **argv);
};

/* Subcommands, not COMMANDs of these names: run one as "tktrace -- watch". */
static const struct tkt_command commands[] = {
	{ "report", tkt_cmd_report },             /* from saved data: no tracing, no root */
	{ "explain-kmsg", tkt_cmd_explain_kmsg },
	{ "plan", tkt_cmd_plan },
	{ "watch", tkt_cmd_watch },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	return tkt_cmd_run(argc, argv);
}
