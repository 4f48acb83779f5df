/* The C libraries whose setenv/unsetenv/putenv carry tktrace's uprobes (run and watch modes):
 * each file probed once, found on the system and in the maps of the processes that matter. */
#ifndef TKT_LIBCPROBE_H
#define TKT_LIBCPROBE_H

#include <stdbool.h>
#include <stdint.h>

struct bpf_program;
struct tkt_libcs;

/* progs: the mode's setenv, unsetenv and putenv programs; at most max files; consequence:
 * what a refused uprobe costs, said once; prefix: "" or "watch: " for messages.
 * per_pid: per-process mode (at most 32 files): a file's probes are attached for each followed
 * process (tkt_libcs_follow, tkt_libcs_scan_pid), so the kernel writes breakpoints into those
 * processes only; else file-wide: once per file, for every process that maps it. */
struct tkt_libcs *tkt_libcs_new(struct bpf_program *const progs[3], int max,
				const char *consequence, const char *prefix, bool per_pid);
/* Probe the file at path unless it is probed already; system: never dropped. 1: probed (now
 * or before), 0: not a readable file, -ENOSPC: no slot left. now_ns marks it as in use. */
int tkt_libcs_add(struct tkt_libcs *c, const char *path, bool system, uint64_t now_ns);
/* tktrace's own C library (none when static) and the usual system ones. Returns how many
 * files are probed. */
int tkt_libcs_add_system(struct tkt_libcs *c, uint64_t now_ns);
/* Probe each C library pid maps (through /proc/PID/root: a container or a venv may bring its
 * own); per-process mode: for pid (which is followed from then on). How many were found, or
 * -errno when the maps cannot be read (the process is gone). */
int tkt_libcs_scan_pid(struct tkt_libcs *c, unsigned pid, uint64_t now_ns);
bool tkt_libcs_per_pid(const struct tkt_libcs *c);
/* Per-process mode: probe the system's C libraries for pid, whether it maps them yet or not
 * (the kernel places the breakpoints when it does, across exec too). The probes placed (0 if
 * there already), or -errno. Nothing in file-wide mode. */
int tkt_libcs_follow(struct tkt_libcs *c, unsigned pid);
bool tkt_libcs_followed(struct tkt_libcs *c, unsigned pid);
/* Drop pid's probes (it exited). close_fd, when given, is handed each link's fd to close:
 * the kernel's detach waits for RCU grace periods (0.1-0.2 s each measured on 6.18). */
void tkt_libcs_forget(struct tkt_libcs *c, unsigned pid, void (*close_fd)(void *ctx, int fd),
		      void *ctx);
/* Leave per-process mode: every known file probed file-wide. Returns the probes placed. */
int tkt_libcs_file_wide(struct tkt_libcs *c);
/* Unprobe the files no scan found since since_ns, but the system's. */
void tkt_libcs_drop_unseen(struct tkt_libcs *c, uint64_t since_ns);
int tkt_libcs_count(const struct tkt_libcs *c);
/* Let go of the links without detaching (a detached child does that: tkt_loader). */
void tkt_libcs_disconnect(struct tkt_libcs *c);
void tkt_libcs_free(struct tkt_libcs *c);

/* Pure: is this mapped file a C library whose setenv must be probed? */
bool tkt_is_libc_path(const char *path);
/* Call fn with the path, through /proc/PID/root, of each C library pid maps. Returns how
 * many, or -errno when its maps cannot be read (it is gone). */
int tkt_mapped_libcs(unsigned pid, void (*fn)(void *ctx, const char *path), void *ctx);

#endif /* TKT_LIBCPROBE_H */
