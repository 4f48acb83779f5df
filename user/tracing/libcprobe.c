/* The C libraries carrying the setenv/unsetenv/putenv uprobes, for run and watch modes. */
#define _GNU_SOURCE
#include "libcprobe.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/util.h"
#include "elfsym.h"

/* Where distributions put the C library; probed before COMMAND starts. */
static const char *const system_libcs[] = {
	"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
	"/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
	"/usr/lib64/libc.so.6", "/usr/lib/libc.so.6", "/lib/libc.so.6",
	"/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1",
};

/* A probed C library: its three uprobes, and when a scan last found it mapped. */
struct libc_slot {
	dev_t dev;
	ino_t ino;
	struct bpf_link *links[3];
	uint64_t seen_ns;
	bool used;
	bool system; /* the host's own: kept */
};

struct tkt_libcs {
	struct bpf_program *progs[3];
	const char *consequence, *prefix;
	bool warned_perm;
	int max, n;
	struct libc_slot slots[];
};

bool tkt_is_libc_path(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	if (strcmp(b, "libc.so.6") == 0 || strcmp(b, "libc.so") == 0)
		return true;
	/* glibc < 2.34 ships libc-2.31.so; musl is libc.musl-ARCH.so.1 or ld-musl-ARCH.so.1 */
	if (strncmp(b, "libc-", 5) == 0 && b[5] >= '0' && b[5] <= '9' && strstr(b, ".so"))
		return true;
	if (strncmp(b, "libc.musl-", 10) == 0 || strncmp(b, "ld-musl-", 8) == 0)
		return true;
	return false;
}

int tkt_mapped_libcs(unsigned pid, void (*fn)(void *ctx, const char *path), void *ctx)
{
	char p[64], line[4096 + 256], full[PATH_MAX];
	int found = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%u/maps", pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strstr(path, " (deleted)") || !tkt_is_libc_path(path))
			continue;
		snprintf(full, sizeof(full), "/proc/%u/root%s", pid, path);
		fn(ctx, full);
		found++;
	}
	fclose(f);
	return found;
}

struct tkt_libcs *tkt_libcs_new(struct bpf_program *const progs[3], int max,
				const char *consequence, const char *prefix)
{
	struct tkt_libcs *c = calloc(1, sizeof(*c) + (size_t)max * sizeof(c->slots[0]));

	if (!c)
		return NULL;
	memcpy(c->progs, progs, sizeof(c->progs));
	c->max = max;
	c->consequence = consequence;
	c->prefix = prefix;
	return c;
}

/* The three probes on one file; how many were placed. Says once when the kernel wants
 * CAP_SYS_ADMIN for uprobes, with what that costs. */
static int attach_env_probes(struct tkt_libcs *c, const char *path, struct bpf_link *links[3])
{
	static const char *const funcs[3] = { "setenv", "unsetenv", "putenv" };
	int ok = 0;

	for (int i = 0; i < 3; i++) {
		int e;

		links[i] = tkt_attach_entry_uprobe(c->progs[i], path, funcs[i]);
		if (links[i]) {
			ok++;
			continue;
		}
		e = errno;
		tkt_debug("no uprobe on %s in %s: %s", funcs[i], path, strerror(e));
		/* Since a 2025 fix (in stable kernels too) uprobes take CAP_SYS_ADMIN again. */
		if ((e == EPERM || e == EACCES) && !c->warned_perm) {
			tkt_warn("%scannot probe setenv in %s: %s (uprobes need CAP_SYS_ADMIN); %s",
				 c->prefix, path, strerror(e), c->consequence);
			c->warned_perm = true;
		}
	}
	return ok;
}

int tkt_libcs_add(struct tkt_libcs *c, const char *path, bool system, uint64_t now_ns)
{
	struct libc_slot *s, *free_slot = NULL;
	struct bpf_link *links[3];
	struct stat st;
	int ok = 0;

	if (stat(path, &st))
		return 0;
	for (s = c->slots; s < c->slots + c->max; s++) {
		if (s->used && s->dev == st.st_dev && s->ino == st.st_ino) {
			s->seen_ns = now_ns;
			return 1;
		}
		if (!s->used && !free_slot)
			free_slot = s;
	}
	if (!free_slot) {
		tkt_warn("%smore than %d distinct C libraries in use; not probing %s", c->prefix,
			 c->max, path);
		return -ENOSPC;
	}
	s = free_slot;
	attach_env_probes(c, path, links);
	for (int i = 0; i < 3; i++)
		if (links[i])
			s->links[ok++] = links[i];
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->seen_ns = now_ns;
	s->used = true;
	s->system = system;
	c->n++;
	tkt_info("%sprobing setenv/unsetenv/putenv in %s (%d probes)", c->prefix, path, ok);
	return 1;
}

struct scan_ctx {
	struct tkt_libcs *c;
	uint64_t now_ns;
	bool system;
	int found;
};

static void add_found(void *ctx, const char *path)
{
	struct scan_ctx *a = ctx;

	a->found += tkt_libcs_add(a->c, path, a->system, a->now_ns) != 0; /* full counts as found */
}

int tkt_libcs_scan_pid(struct tkt_libcs *c, unsigned pid, uint64_t now_ns)
{
	struct scan_ctx a = { c, now_ns, false, 0 };
	int r = tkt_mapped_libcs(pid, add_found, &a);

	return r < 0 ? r : a.found;
}

int tkt_libcs_add_system(struct tkt_libcs *c, uint64_t now_ns)
{
	struct scan_ctx a = { c, now_ns, true, 0 };

	tkt_mapped_libcs((unsigned)getpid(), add_found, &a);
	for (size_t i = 0; i < sizeof(system_libcs) / sizeof(system_libcs[0]); i++)
		if (access(system_libcs[i], R_OK) == 0)
			tkt_libcs_add(c, system_libcs[i], true, now_ns);
	return c->n;
}

static void slot_drop(struct tkt_libcs *c, struct libc_slot *s)
{
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(s->links[i]);
	memset(s, 0, sizeof(*s));
	c->n--;
}

void tkt_libcs_drop_unseen(struct tkt_libcs *c, uint64_t since_ns)
{
	for (struct libc_slot *s = c->slots; s < c->slots + c->max; s++) {
		if (s->used && !s->system && s->seen_ns < since_ns) {
			tkt_info("%sno process maps a probed C library any more: unprobing it",
				 c->prefix);
			slot_drop(c, s);
		}
	}
}

int tkt_libcs_count(const struct tkt_libcs *c)
{
	return c ? c->n : 0;
}

void tkt_libcs_disconnect(struct tkt_libcs *c)
{
	if (!c)
		return;
	for (struct libc_slot *s = c->slots; s < c->slots + c->max; s++) {
		for (int i = 0; s->used && i < 3; i++) {
			int fd = s->links[i] ? bpf_link__fd(s->links[i]) : -1;

			if (!s->links[i])
				continue;
			bpf_link__disconnect(s->links[i]);
			if (fd >= 0)
				close(fd);
		}
	}
}

void tkt_libcs_free(struct tkt_libcs *c)
{
	if (!c)
		return;
	for (struct libc_slot *s = c->slots; s < c->slots + c->max; s++)
		if (s->used)
			slot_drop(c, s);
	free(c);
}
