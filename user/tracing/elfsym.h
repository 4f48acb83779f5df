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
/* File offset of func's first byte in the ELF file at path (what a uprobe is placed by), or
 * -errno; *skip gets tkt_entry_skip_bytes of its first bytes. */
long tkt_func_probe_offset(const char *path, const char *func, int *skip);
/* The address (st_value) of the data symbol name defined in the ELF file at path: relative to
 * where the object is mapped, or, *absolute set, as is (an executable that is not PIE).
 * -errno if not there. */
long tkt_data_sym_vaddr(const char *path, const char *name, bool *absolute);
struct bpf_program;
struct bpf_link;
/* A uprobe at file offset off + skip of path (at off if the kernel refuses that), for process
 * pid only (its breakpoints go into that process's memory alone), or every process (-1). NULL
 * with errno set on failure. */
struct bpf_link *tkt_attach_uprobe_at(struct bpf_program *prog, int pid, const char *path,
				      long off, int skip);
/* Pure: the skip for these first bytes of a function. */
int tkt_entry_skip_bytes(const unsigned char *code, size_t len);

#endif /* TKT_ELFSYM_H */
