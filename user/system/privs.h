/* tktrace's own privileges: may it load BPF programs, and its OOM score. */
#ifndef TKT_PRIVS_H
#define TKT_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

/* CAP_BPF + CAP_PERFMON (5.8+), or CAP_SYS_ADMIN, in the effective set. */
bool tkt_have_bpf_caps(void);
/* /proc/self/oom_score_adj as text; 0 or -errno. */
int tkt_oom_adj_read(char *buf, size_t sz);
int tkt_oom_adj_write(const char *val);

#endif /* TKT_PRIVS_H */
