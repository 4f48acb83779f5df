/* Reading resident memory of live processes from /proc, for the timelines of the report. */
#ifndef TKT_SAMPLE_H
#define TKT_SAMPLE_H

#include <stdint.h>

/* /proc/PID/statm text -> resident bytes (second field, in pages). -EINVAL if malformed. */
int tkt_parse_statm(const char *text, uint64_t page_size, uint64_t *bytes);
/* Resident bytes of pid now; -errno when it is gone. */
int tkt_sample_rss(uint32_t pid, uint64_t page_size, uint64_t *bytes);

#endif /* TKT_SAMPLE_H */
