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
/* Pure: the skip for these first bytes of a function. */
int tkt_entry_skip_bytes(const unsigned char *code, size_t len);

#endif /* TKT_ELFSYM_H */
