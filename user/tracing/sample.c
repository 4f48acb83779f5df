/* Resident memory from /proc/PID/statm: one small read per pytest process and tick. */
#include "sample.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tkt_parse_statm(const char *text, uint64_t page_size, uint64_t *bytes)
{
	unsigned long long size, resident;
	char *end;

	/* "size resident shared text lib data dt", in pages */
	errno = 0;
	size = strtoull(text, &end, 10);
	if (end == text || *end != ' ' || errno)
		return -EINVAL;
	text = end + 1;
	resident = strtoull(text, &end, 10);
	if (end == text || errno || resident > size)
		return -EINVAL;
	if (size == 0)
		return -ENOENT; /* a zombie, or a kernel thread: no memory of its own */
	*bytes = (uint64_t)resident * page_size;
	return 0;
}

int tkt_sample_rss(uint32_t pid, uint64_t page_size, uint64_t *bytes)
{
	char path[32], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/statm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT; /* empty: a zombie has no mm */
	buf[n] = '\0';
	return tkt_parse_statm(buf, page_size, bytes);
}
