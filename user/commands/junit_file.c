/* --junitxml-merge on disk: read pytest's file safely, replace it atomically. */
#define _GNU_SOURCE
#include "junit_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "system/safeopen.h"

/* Read path (no links followed, a regular file of ours) whole; -ENOENT when absent, else
 * why not in err. */
static int read_file(const char *path, struct tkt_buf *b, struct stat *st,
		     const struct tkt_junit_io *io, char *err, size_t errsz)
{
	const struct tkt_open_check chk = { .owned = true, .also_uid_ok = io->chown,
					    .also_uid = io->uid };
	int fd = tkt_open_regular(path, O_RDONLY | O_NOFOLLOW, 0, &chk, err, errsz);
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return fd;
	if (fstat(fd, st)) {
		int e = -errno;
		snprintf(err, errsz, "%s", strerror(-e));
		close(fd);
		return e;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			snprintf(err, errsz, "%s", strerror(-e));
			close(fd);
			return e;
		}
		tkt_buf_append(b, chunk, n);
	}
	close(fd);
	if (!b->data)
		tkt_buf_append(b, "", 0);
	return 0;
}

int tkt_junit_merge_file(const char *path, const struct tkt_junit_kill *kills, size_t nkills,
			 const struct tkt_junit_io *io, char *err, size_t errsz)
{
	struct tkt_buf in = { 0 }, out = { 0 };
	struct stat st;
	char tmp[4096] = "";
	const char *slash = strrchr(path, '/');
	size_t added = 0;
	int r, fd = -1;
	bool fresh;
	char why[128] = "";

	r = read_file(path, &in, &st, io, why, sizeof(why));
	if (r && r != -ENOENT) {
		snprintf(err, errsz, "cannot merge into %s: %s", path, why);
		goto out;
	}
	/* A file older than this run is a previous run's: pytest did not write one this time. */
	fresh = r == 0 && st.st_mtime >= io->started && in.len > 0;
	if (!nkills) {
		r = 0;
		goto out;
	}
	if (fresh && tkt_junit_merge(&out, in.data, in.len, kills, nkills, &added) == 0) {
		/* merged */
	} else {
		if (fresh)
			tkt_debug("%s: no <testsuite> to add to: writing a new file", path);
		tkt_buf_reset(&out);
		tkt_junit_minimal(&out, kills, nkills, io->duration_s);
	}
	/* The temporary file in the same directory, so that rename() replaces atomically. */
	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.tktrace-XXXXXX", (int)(slash - path), path, slash + 1);
	else
		snprintf(tmp, sizeof(tmp), ".%s.tktrace-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errsz, "cannot write next to %s: %s", path, strerror(errno));
		goto out;
	}
	/* Same owner and mode as the file pytest wrote; else the invoking user's. */
	if (r == 0) {
		if (fchown(fd, st.st_uid, st.st_gid) || fchmod(fd, st.st_mode & 07777))
			tkt_debug("cannot keep the owner of %s: %s", path, strerror(errno));
	} else {
		if ((io->chown && fchown(fd, io->uid, io->gid)) || fchmod(fd, 0644))
			tkt_debug("cannot set the owner of %s: %s", path, strerror(errno));
	}
	for (size_t off = 0; off < out.len;) {
		ssize_t n = write(fd, out.data + off, out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errsz, "writing %s failed: %s", tmp, strerror(errno));
			goto out;
		}
		off += n;
	}
	if (fsync(fd) && errno != EINVAL && errno != EROFS) {
		r = -errno;
		snprintf(err, errsz, "writing %s failed: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path)) {
		r = -errno;
		snprintf(err, errsz, "cannot replace %s: %s", path, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r && tmp[0] && !strstr(tmp, "XXXXXX"))
		unlink(tmp); /* our own temporary file, never the target */
	tkt_buf_free(&in);
	tkt_buf_free(&out);
	return r;
}
