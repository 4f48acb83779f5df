/* Opening paths others may control, without hanging and without writing through them. */
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tkt_open_refusal(mode_t st_mode, nlink_t nlink, uid_t owner, uid_t euid,
			     const struct tkt_open_check *chk)
{
	if (S_ISDIR(st_mode))
		return strerror(EISDIR);
	if (!S_ISREG(st_mode))
		return "not a regular file";
	if (!chk || !chk->owned)
		return NULL;
	/* A hard link planted in a shared directory would make us write its target; a file
	 * someone else owns there is not ours to fill either. */
	if (nlink > 1)
		return "it has other hard links";
	if (owner != 0 && owner != euid && !(chk->also_uid_ok && owner == chk->also_uid))
		return "another user owns it";
	return NULL;
}

int tkt_open_regular(const char *path, int flags, mode_t mode, const struct tkt_open_check *chk,
		     char *err, size_t errsz)
{
	const char *why;
	struct stat st;
	int fd, e;

	/* O_NONBLOCK: opening a FIFO would wait for its other end. */
	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd < 0) {
		e = errno;
		/* A FIFO without a reader, opened for writing without blocking. */
		snprintf(err, errsz, "%s", e == ENXIO ? "not a regular file" : strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		snprintf(err, errsz, "%s", strerror(e));
		close(fd);
		return -e;
	}
	why = tkt_open_refusal(st.st_mode, st.st_nlink, st.st_uid, geteuid(), chk);
	if (why) {
		snprintf(err, errsz, "%s", why);
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : S_ISREG(st.st_mode) ? -EPERM : -EINVAL;
	}
	/* Blocking again for the reads and writes that follow. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		e = errno;
		snprintf(err, errsz, "%s", strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}
