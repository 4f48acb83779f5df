/* A process's file mappings, as /proc/PID/maps lists them. */
#ifndef TKT_MAPS_H
#define TKT_MAPS_H

struct tkt_mapping {
	unsigned long start, end, off;
	const char *path; /* as the process sees it */
	const char *full; /* the same file through /proc/PID/root (another mount namespace) */
};

/* Call fn for each mapping of a file that still exists, in address order, until fn returns
 * nonzero. Returns that value, 0 at the end, or -errno when pid's maps cannot be read (it is
 * gone). */
int tkt_maps_each(unsigned pid, int (*fn)(void *ctx, const struct tkt_mapping *m), void *ctx);

#endif /* TKT_MAPS_H */
