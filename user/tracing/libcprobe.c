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
#include "maps.h"

/* Where distributions put the C library; probed before COMMAND starts. */
static const char *const system_libcs[] = {
	"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6",
	"/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
	"/usr/lib64/libc.so.6", "/usr/lib/libc.so.6", "/lib/libc.so.6",
	"/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1",
};

static const char *const env_funcs[3] = { "setenv", "unsetenv", "putenv" };

/* A probed C library: where its three probes go, its file-wide uprobes (file-wide mode), and
 * when a scan last found it mapped. */
struct libc_slot {
	dev_t dev;
	ino_t ino;
	struct bpf_link *links[3];
	long off[3]; /* file offset of each function, or -errno */
	int skip[3];
	char *path; /* system slots: where per-process probes are attached */
	uint64_t seen_ns;
	bool used;
	bool system; /* the host's own: kept */
};

/* A process followed in per-process mode: its uprobes, and which slots they cover. */
struct pid_probes {
	uint32_t pid;
	uint32_t slots; /* bit i: slot i is probed for this process */
	int nlinks, cap;
	struct bpf_link **links;
};

struct tkt_libcs {
	struct bpf_program *progs[3];
	const char *consequence, *prefix;
	bool warned_perm;
	bool per_pid;
	struct pid_probes *pids;
	size_t npids, cap_pids;
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

struct libcs_walk {
	void (*fn)(void *ctx, const char *path);
	void *ctx;
	int found;
};

static int libcs_one(void *ctx, const struct tkt_mapping *m)
{
	struct libcs_walk *w = ctx;

	if (tkt_is_libc_path(m->path)) {
		w->fn(w->ctx, m->full);
		w->found++;
	}
	return 0;
}

int tkt_mapped_libcs(unsigned pid, void (*fn)(void *ctx, const char *path), void *ctx)
{
	struct libcs_walk w = { .fn = fn, .ctx = ctx };
	int r = tkt_maps_each(pid, libcs_one, &w);

	return r < 0 ? r : w.found;
}

struct tkt_libcs *tkt_libcs_new(struct bpf_program *const progs[3], int max,
				const char *consequence, const char *prefix, bool per_pid)
{
	struct tkt_libcs *c = calloc(1, sizeof(*c) + (size_t)max * sizeof(c->slots[0]));

	if (!c)
		return NULL;
	memcpy(c->progs, progs, sizeof(c->progs));
	c->max = max;
	c->consequence = consequence;
	c->prefix = prefix;
	c->per_pid = per_pid && max <= 32; /* a process's slots are a 32-bit mask */
	return c;
}

/* The three probes of slot s in the file at path, for process pid or every process (-1); how
 * many were placed. Says once when the kernel wants CAP_SYS_ADMIN for uprobes, with what
 * that costs. */
static int attach_env_probes(struct tkt_libcs *c, const struct libc_slot *s, const char *path,
			     int pid, struct bpf_link *links[3])
{
	int ok = 0;

	for (int i = 0; i < 3; i++) {
		int e;

		links[i] = NULL;
		if (s->off[i] < 0) {
			tkt_debug("no uprobe on %s in %s: %s", env_funcs[i], path,
				  strerror((int)-s->off[i]));
			continue;
		}
		links[i] = tkt_attach_uprobe_at(c->progs[i], pid, path, s->off[i], s->skip[i]);
		if (links[i]) {
			ok++;
			continue;
		}
		e = errno;
		tkt_debug("no uprobe on %s in %s: %s", env_funcs[i], path, strerror(e));
		/* Since a 2025 fix (in stable kernels too) uprobes take CAP_SYS_ADMIN again. */
		if ((e == EPERM || e == EACCES) && !c->warned_perm) {
			tkt_warn("%scannot probe setenv in %s: %s (uprobes need CAP_SYS_ADMIN); %s",
				 c->prefix, path, strerror(e), c->consequence);
			c->warned_perm = true;
		}
	}
	return ok;
}

static struct pid_probes *pid_find(struct tkt_libcs *c, uint32_t pid)
{
	for (size_t i = 0; i < c->npids; i++)
		if (c->pids[i].pid == pid)
			return &c->pids[i];
	return NULL;
}

static struct pid_probes *pid_get(struct tkt_libcs *c, uint32_t pid)
{
	struct pid_probes *p = pid_find(c, pid);

	if (p)
		return p;
	if (c->npids == c->cap_pids) {
		size_t ncap = c->cap_pids ? c->cap_pids * 2 : 16;
		struct pid_probes *n = realloc(c->pids, ncap * sizeof(*n));

		if (!n)
			return NULL;
		c->pids = n;
		c->cap_pids = ncap;
	}
	p = &c->pids[c->npids++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

/* Slot s's probes for the followed process p, through path (the slot's own, or the file as p
 * sees it under /proc/PID/root). */
static int pid_attach_slot(struct tkt_libcs *c, struct pid_probes *p, struct libc_slot *s,
			   const char *path)
{
	unsigned bit = 1u << (s - c->slots);
	struct bpf_link *links[3];
	int ok;

	if (p->slots & bit)
		return 0;
	if (p->cap - p->nlinks < 3) {
		int ncap = p->cap ? p->cap * 2 : 3;
		struct bpf_link **n = realloc(p->links, (size_t)ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->links = n;
		p->cap = ncap;
	}
	ok = attach_env_probes(c, s, path, (int)p->pid, links);
	for (int i = 0; i < 3; i++)
		if (links[i])
			p->links[p->nlinks++] = links[i];
	p->slots |= bit;
	return ok;
}

/* tkt_libcs_add, and the file's slot in *out (NULL when the answer is not 1). */
static int slot_add(struct tkt_libcs *c, const char *path, bool system, uint64_t now_ns,
		    struct libc_slot **out)
{
	struct libc_slot *s, *free_slot = NULL;
	struct bpf_link *links[3];
	struct stat st;
	int ok = 0;

	*out = NULL;
	if (stat(path, &st))
		return 0;
	for (s = c->slots; s < c->slots + c->max; s++) {
		if (s->used && s->dev == st.st_dev && s->ino == st.st_ino) {
			s->seen_ns = now_ns;
			*out = s;
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
	for (int i = 0; i < 3; i++)
		s->off[i] = tkt_func_probe_offset(path, env_funcs[i], &s->skip[i]);
	if (c->per_pid) {
		s->path = strdup(path);
		ok = -1;
	} else {
		attach_env_probes(c, s, path, -1, links);
		for (int i = 0; i < 3; i++)
			if (links[i])
				s->links[ok++] = links[i];
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->seen_ns = now_ns;
	s->used = true;
	s->system = system;
	c->n++;
	if (ok >= 0)
		tkt_info("%sprobing setenv/unsetenv/putenv in %s (%d probes)", c->prefix, path, ok);
	else
		tkt_info("%sfound %s: its setenv/unsetenv/putenv are probed in followed processes",
			 c->prefix, path);
	*out = s;
	return 1;
}

int tkt_libcs_add(struct tkt_libcs *c, const char *path, bool system, uint64_t now_ns)
{
	struct libc_slot *s;

	return slot_add(c, path, system, now_ns, &s);
}

struct scan_ctx {
	struct tkt_libcs *c;
	uint64_t now_ns;
	bool system;
	int found;
	uint32_t pid; /* per-process mode: the process the probes are for, or 0 */
};

static void add_found(void *ctx, const char *path)
{
	struct scan_ctx *a = ctx;
	struct libc_slot *s;
	int r = slot_add(a->c, path, a->system, a->now_ns, &s);
	struct pid_probes *p;

	a->found += r != 0; /* full counts as found */
	if (r == 1 && a->pid && (p = pid_get(a->c, a->pid)))
		pid_attach_slot(a->c, p, s, path);
}

int tkt_libcs_scan_pid(struct tkt_libcs *c, unsigned pid, uint64_t now_ns)
{
	struct scan_ctx a = { c, now_ns, false, 0, c->per_pid ? pid : 0 };
	int r = tkt_mapped_libcs(pid, add_found, &a);

	return r < 0 ? r : a.found;
}

int tkt_libcs_add_system(struct tkt_libcs *c, uint64_t now_ns)
{
	struct scan_ctx a = { c, now_ns, true, 0, 0 };

	tkt_mapped_libcs((unsigned)getpid(), add_found, &a);
	for (size_t i = 0; i < sizeof(system_libcs) / sizeof(system_libcs[0]); i++)
		if (access(system_libcs[i], R_OK) == 0)
			tkt_libcs_add(c, system_libcs[i], true, now_ns);
	return c->n;
}

bool tkt_libcs_per_pid(const struct tkt_libcs *c)
{
	return c && c->per_pid;
}

int tkt_libcs_follow(struct tkt_libcs *c, unsigned pid)
{
	struct pid_probes *p;
	int ok = 0;

	if (!c->per_pid)
		return 0;
	if (!(p = pid_get(c, pid)))
		return -ENOMEM;
	for (struct libc_slot *s = c->slots; s < c->slots + c->max; s++) {
		int r;

		if (!s->used || !s->system || !s->path)
			continue;
		r = pid_attach_slot(c, p, s, s->path);
		if (r < 0)
			return r;
		ok += r;
	}
	return ok;
}

bool tkt_libcs_followed(struct tkt_libcs *c, unsigned pid)
{
	return c && c->per_pid && pid_find(c, pid);
}

/* Let go of a link: its fd goes to close_fd (the kernel's detach may wait for RCU grace
 * periods), or it is destroyed here (close_fd NULL). */
static void link_release(struct bpf_link *l, void (*close_fd)(void *ctx, int fd), void *ctx)
{
	int fd = bpf_link__fd(l);

	if (!close_fd) {
		bpf_link__destroy(l);
		return;
	}
	bpf_link__disconnect(l);
	bpf_link__destroy(l);
	if (fd >= 0)
		close_fd(ctx, fd);
}

void tkt_libcs_forget(struct tkt_libcs *c, unsigned pid, void (*close_fd)(void *ctx, int fd),
		      void *ctx)
{
	struct pid_probes *p = c ? pid_find(c, pid) : NULL;

	if (!p)
		return;
	for (int i = 0; i < p->nlinks; i++)
		link_release(p->links[i], close_fd, ctx);
	free(p->links);
	*p = c->pids[--c->npids];
}

int tkt_libcs_file_wide(struct tkt_libcs *c)
{
	int placed = 0;

	if (!c->per_pid)
		return 0;
	while (c->npids)
		tkt_libcs_forget(c, c->pids[0].pid, NULL, NULL);
	c->per_pid = false;
	for (struct libc_slot *s = c->slots; s < c->slots + c->max; s++) {
		struct bpf_link *links[3];
		int ok = 0;

		if (!s->used || !s->path)
			continue;
		attach_env_probes(c, s, s->path, -1, links);
		for (int i = 0; i < 3; i++)
			if (links[i])
				s->links[ok++] = links[i];
		placed += ok;
	}
	return placed;
}

static void slot_drop(struct tkt_libcs *c, struct libc_slot *s)
{
	for (int i = 0; i < 3; i++)
		bpf_link__destroy(s->links[i]);
	free(s->path);
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

static void close_now(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

void tkt_libcs_disconnect(struct tkt_libcs *c)
{
	if (!c)
		return;
	while (c->npids)
		tkt_libcs_forget(c, c->pids[0].pid, close_now, NULL);
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
	while (c->npids)
		tkt_libcs_forget(c, c->pids[0].pid, NULL, NULL);
	free(c->pids);
	for (struct libc_slot *s = c->slots; s < c->slots + c->max; s++)
		if (s->used)
			slot_drop(c, s);
	free(c);
}
