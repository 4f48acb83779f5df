/* One reader of /proc/PID/maps for the libc probes and the Python finder. */
#include "maps.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

int tkt_maps_each(unsigned pid, int (*fn)(void *ctx, const struct tkt_mapping *m), void *ctx)
{
	char p[64], line[4096 + 256], full[PATH_MAX];
	int r = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%u/maps", pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		struct tkt_mapping m = { .path = strchr(line, '/'), .full = full };

		if (!m.path || sscanf(line, "%lx-%lx %*s %lx", &m.start, &m.end, &m.off) != 3)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strstr(m.path, " (deleted)"))
			continue;
		snprintf(full, sizeof(full), "/proc/%u/root%s", pid, m.path);
		r = fn(ctx, &m);
	}
	fclose(f);
	return r;
}
