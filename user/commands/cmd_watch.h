/* tktrace watch: machine-wide kill log (every OOM kill and SIGKILL, one JSON object a line). */
#ifndef TKT_WATCH_H
#define TKT_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct tkt_watch_cli {
	const char *output; /* "-": stdout */
	const char *cgroup; /* --cgroup, as given */
	int verbose;
	bool help;
};

/* argv[0] is "watch". 0, or TKT_EXIT_FAIL with a one-line message in err. */
int tkt_watch_parse(struct tkt_watch_cli *c, int argc, char **argv, char *err, size_t errsz);
void tkt_watch_usage(FILE *f);
/* The whole subcommand; returns the exit status. */
int tkt_watch_main(int argc, char **argv);

#endif /* TKT_WATCH_H */
