/* Reading a process's environment from its memory: the C library's __environ (found in its
 * .dynsym, relative to where the library is mapped), the pointer array, the strings. */
#define _GNU_SOURCE
#include "environ.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "elfsym.h"
#include "libcprobe.h"

#define MAX_VARS 8192
#define MAX_VALUE (32 * 1024)

/* len bytes at addr in pid's memory; split at page ends, so that bytes before an unmapped
 * page are still read when they are all that is asked for. */
static int peek(unsigned pid, uint64_t addr, void *buf, size_t len)
{
	while (len) {
		size_t n = 4096 - (addr & 4095);
		struct iovec local, remote;

		if (n > len)
			n = len;
		local = (struct iovec){ buf, n };
		remote = (struct iovec){ (void *)(uintptr_t)addr, n };
		if (process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0) != (ssize_t)n)
			return errno ? -errno : -EFAULT;
		buf = (char *)buf + n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* __environ's address in the object at path (as pid sees it) mapped at start, or -errno. */
static int sym_addr(unsigned pid, const char *path, uint64_t start, uint64_t *addr)
{
	static const char *const names[] = { "__environ", "environ" };
	char full[PATH_MAX];
	bool absolute = false;

	snprintf(full, sizeof(full), "/proc/%u/root%s", pid, path);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long v = tkt_data_sym_vaddr(full, names[i], &absolute);

		if (v >= 0) {
			/* A first segment at 0: true of shared libraries and PIE executables. */
			*addr = (absolute ? 0 : start) + (uint64_t)v;
			return 0;
		}
	}
	return -ENOENT;
}

/* Where pid's environment pointer is: the executable's __environ when it has one (a copy
 * relocation: then the C library's own stays unused), else the C library's. */
int tkt_proc_environ_addr(unsigned pid, uint64_t *addr)
{
	char p[64], line[4096 + 256], exe[PATH_MAX];
	int r = -ENOENT, libc = -ENOENT;
	uint64_t libc_addr = 0;
	ssize_t n;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%u/exe", pid);
	n = readlink(p, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(p, sizeof(p), "/proc/%u/maps", pid);
	if (!(f = fopen(p, "re")))
		return -errno;
	while (r && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		uint64_t start, off;

		if (!path || sscanf(line, "%" SCNx64 "-%*x %*s %" SCNx64, &start, &off) != 2 || off)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strstr(path, " (deleted)"))
			continue;
		if (strcmp(path, exe) == 0)
			r = sym_addr(pid, path, start, addr);
		else if (libc && tkt_is_libc_path(path))
			libc = sym_addr(pid, path, start, &libc_addr);
	}
	fclose(f);
	if (r && !libc) {
		*addr = libc_addr;
		r = 0;
	}
	return r;
}

/* The string at addr, up to its NUL (at most MAX_VALUE bytes), read page by page. */
static int read_str(unsigned pid, uint64_t addr, struct tkt_buf *out)
{
	char buf[512];

	tkt_buf_reset(out);
	while (out->len < MAX_VALUE) {
		size_t n = 4096 - (addr & 4095); /* never past a page that may be the last */
		char *nul;

		if (n > sizeof(buf))
			n = sizeof(buf);
		if (peek(pid, addr, buf, n))
			return -EFAULT;
		nul = memchr(buf, '\0', n);
		tkt_buf_append(out, buf, nul ? (size_t)(nul - buf) : n);
		if (nul)
			return 0;
		addr += n;
	}
	return -E2BIG;
}

int tkt_proc_getenv(unsigned pid, const char *name, struct tkt_buf *out)
{
	size_t nlen = strlen(name);
	uint64_t addr, envp, ptr;
	char head[128];
	int r = tkt_proc_environ_addr(pid, &addr);

	if (r)
		return r;
	if (nlen + 1 > sizeof(head) || peek(pid, addr, &envp, sizeof(envp)) || !envp)
		return -EFAULT;
	for (size_t i = 0; i < MAX_VARS; i++) {
		if (peek(pid, envp + i * sizeof(ptr), &ptr, sizeof(ptr)))
			return -EFAULT;
		if (!ptr)
			return 0;
		/* A shorter string at the end of the last page may not have nlen + 1 bytes. */
		if (peek(pid, ptr, head, nlen + 1))
			continue;
		if (memcmp(head, name, nlen) == 0 && head[nlen] == '=')
			return read_str(pid, ptr + nlen + 1, out) ? -EFAULT : 1;
	}
	return 0;
}

int tkt_proc_initial_env(unsigned pid, const char *name, struct tkt_buf *out)
{
	size_t nlen = strlen(name);
	struct tkt_buf all = { 0 };
	char path[64], buf[4096];
	int r = 0, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		tkt_buf_append(&all, buf, (size_t)n);
	close(fd);
	for (size_t off = 0; off < all.len;) {
		const char *e = all.data + off;
		size_t len = strnlen(e, all.len - off);

		if (len > nlen && memcmp(e, name, nlen) == 0 && e[nlen] == '=') {
			tkt_buf_reset(out);
			tkt_buf_append(out, e + nlen + 1, len - nlen - 1);
			r = 1;
			break;
		}
		off += len + 1;
	}
	tkt_buf_free(&all);
	return r;
}
