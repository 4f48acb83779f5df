/* /etc/passwd and /etc/group read directly: the privilege drop of a static tktrace must not
 * depend on NSS modules (a static glibc dlopens them, with the libc they were built for). */
#ifndef TKT_PASSWD_H
#define TKT_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TKT_MAX_GROUPS 256

struct tkt_pwent {
	char name[64];
	gid_t gid;
	char home[512];
	char shell[256];
};

/* Pure: the passwd(5) line of uid in text; false when there is none. */
bool tkt_passwd_find(const char *text, size_t len, uid_t uid, struct tkt_pwent *pw);
/* Pure: gid first, then every group(5) entry that lists user as a member (no repeats), at
 * most max. Returns the count. */
int tkt_group_list(const char *text, size_t len, const char *user, gid_t gid, gid_t *gids,
		   int max);
/* The same from the files (root may pass other paths for tests); -errno on failure. */
int tkt_files_user(const char *passwd_path, uid_t uid, struct tkt_pwent *pw);
int tkt_files_groups(const char *group_path, const char *user, gid_t gid, gid_t *gids, int max);
/* True when this process has no dynamic loader (a static binary). */
bool tkt_is_static(void);

#endif /* TKT_PASSWD_H */
