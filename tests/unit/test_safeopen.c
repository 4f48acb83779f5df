/* Unit tests for user/system/safeopen.c: which files are refused, and opening a FIFO, a directory,
 * a hard link and a plain file in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safeopen.h"

static void test_refusal(void **state)
{
	const struct tkt_open_check owned = { .owned = true };
	const struct tkt_open_check user = { .owned = true, .also_uid_ok = true, .also_uid = 1000 };

	(void)state;
	assert_null(tkt_open_refusal(S_IFREG | 0644, 1, 0, 0, &owned));
	assert_null(tkt_open_refusal(S_IFREG | 0644, 1, 500, 500, &owned));
	assert_string_equal(tkt_open_refusal(S_IFIFO | 0644, 1, 0, 0, NULL), "not a regular file");
	assert_string_equal(tkt_open_refusal(S_IFSOCK | 0644, 1, 0, 0, &owned), "not a regular file");
	assert_string_equal(tkt_open_refusal(S_IFCHR | 0644, 1, 0, 0, &owned), "not a regular file");
	assert_string_equal(tkt_open_refusal(S_IFDIR | 0755, 2, 0, 0, NULL), strerror(EISDIR));
	/* Links and owners are checked only when asked. */
	assert_null(tkt_open_refusal(S_IFREG | 0644, 2, 1234, 0, NULL));
	assert_string_equal(tkt_open_refusal(S_IFREG | 0644, 2, 0, 0, &owned),
			    "it has other hard links");
	assert_string_equal(tkt_open_refusal(S_IFREG | 0644, 1, 1234, 0, &owned),
			    "another user owns it");
	assert_null(tkt_open_refusal(S_IFREG | 0644, 1, 1000, 0, &user));
	assert_string_equal(tkt_open_refusal(S_IFREG | 0644, 1, 1001, 0, &user),
			    "another user owns it");
}

static void test_open_paths(void **state)
{
	const struct tkt_open_check owned = { .owned = true };
	char dir[] = "/tmp/tkt-safeopen-XXXXXX", p[128], q[128], err[128];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10); /* a hang fails the test */
	/* For reading, a FIFO opens at once; for writing without a reader, ENXIO. */
	assert_int_equal(tkt_open_regular(p, O_RDONLY, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "not a regular file");
	assert_int_equal(tkt_open_regular(p, O_WRONLY | O_APPEND, 0, &owned, err, sizeof(err)), -ENXIO);
	assert_string_equal(err, "not a regular file");
	alarm(0);
	unlink(p);
	assert_int_equal(tkt_open_regular(dir, O_RDONLY, 0, NULL, err, sizeof(err)), -EISDIR);
	/* A new file: created, blocking again. */
	fd = tkt_open_regular(p, O_WRONLY | O_CREAT, 0600, &owned, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	snprintf(q, sizeof(q), "%s/link", dir);
	assert_int_equal(link(p, q), 0);
	assert_int_equal(tkt_open_regular(q, O_WRONLY, 0, &owned, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "it has other hard links");
	fd = tkt_open_regular(q, O_RDONLY, 0, NULL, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	unlink(q);
	unlink(p);
	assert_int_equal(rmdir(dir), 0);
}
