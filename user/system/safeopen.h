/* Opening a path that someone else may control (a shared output directory, a test suite's
 * tree read as root): no link followed, no hang on a FIFO planted there, regular files only. */
#ifndef TKT_SAFEOPEN_H
#define TKT_SAFEOPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tkt_open_check {
	bool owned;   /* refuse a file with other hard links, or owned by another user */
	bool also_uid_ok; /* owned: a file of also_uid is ours too (the invoking user) */
	uid_t also_uid;
};

/* open(path, flags | O_NONBLOCK | O_CLOEXEC, mode) (O_NOFOLLOW is the caller's), then fstat: a regular file
 * (passing chk when given) is returned with O_NONBLOCK cleared. Else -errno, and the reason
 * ("not a regular file", "it has other hard links", ...) in err. */
int tkt_open_regular(const char *path, int flags, mode_t mode, const struct tkt_open_check *chk,
		     char *err, size_t errsz);
/* Pure: why a file of this type, link count and owner is refused, or NULL. */
const char *tkt_open_refusal(mode_t st_mode, nlink_t nlink, uid_t owner, uid_t euid,
			     const struct tkt_open_check *chk);

#endif /* TKT_SAFEOPEN_H */
