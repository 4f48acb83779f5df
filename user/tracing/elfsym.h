/* Where to put a uprobe on a library function. */
#ifndef TKT_ELFSYM_H
#define TKT_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes to skip at the entry of func in the ELF file at path: 4 when it starts with ENDBR64
 * (glibc built with -fcf-protection: Ubuntu, Fedora), else 0, or -errno. A uprobe on ENDBR64
 * is single-stepped out of line (two traps per call); the instruction after it is usually a
 * push, which the kernel emulates (one trap), and the arguments are still in their registers. */
int tkt_func_entry_skip(const char *path, const char *func);
struct bpf_program;
struct bpf_link;
/* A uprobe on func in the library at path, for every process, placed past an ENDBR64 (or at
 * the entry, if the kernel refuses the next instruction). NULL with errno set on failure. */
struct bpf_link *tkt_attach_entry_uprobe(struct bpf_program *prog, const char *path,
					 const char *func);
/* The three probes that see pytest's variables: setenv, unsetenv, putenv of the C library at
 * path, with progs in that order; links[i] is NULL where one could not be placed. Says once
 * (through *warned) when the kernel wants CAP_SYS_ADMIN for uprobes, with what that costs
 * (consequence). Returns how many were placed. */
int tkt_attach_env_probes(struct bpf_program *const progs[3], const char *path,
			  struct bpf_link *links[3], bool *warned, const char *consequence);
/* Call fn with the path, through /proc/PID/root (a container maps its own), of each C library
 * pid maps. Returns how many, or -errno when its maps cannot be read (it is gone). */
int tkt_mapped_libcs(unsigned pid, void (*fn)(void *ctx, const char *path), void *ctx);
/* Pure: the skip for these first bytes of a function. */
int tkt_entry_skip_bytes(const unsigned char *code, size_t len);

#endif /* TKT_ELFSYM_H */
