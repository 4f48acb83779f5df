/* Reading a function's first bytes from an ELF file, with libelf. */
#include "elfsym.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>
#include "core/util.h"
#include <string.h>
#include <unistd.h>

int tkt_entry_skip_bytes(const unsigned char *code, size_t len)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

	return len >= 4 && memcmp(code, endbr64, 4) == 0 ? 4 : 0;
}

/* func's .dynsym (else .symtab) entry of type want (STT_FUNC, STT_OBJECT) into *out: 0 or
 * -ENOENT. */
static int find_sym(Elf *elf, const char *func, int type, GElf_Sym *out);

/* File offset of func's code: its symbol, through its section. */
static long func_file_offset(Elf *elf, const char *func)
{
	GElf_Sym sym;
	GElf_Shdr ts;
	Elf_Scn *text;

	if (find_sym(elf, func, STT_FUNC, &sym))
		return -ENOENT;
	text = elf_getscn(elf, sym.st_shndx);
	if (!text || !gelf_getshdr(text, &ts) || sym.st_value < ts.sh_addr ||
	    sym.st_value - ts.sh_addr >= ts.sh_size)
		return -EINVAL;
	return (long)(sym.st_value - ts.sh_addr + ts.sh_offset);
}

static int find_sym(Elf *elf, const char *func, int type, GElf_Sym *out)
{
	Elf_Scn *scn = NULL;

	for (int want = SHT_DYNSYM; want; want = want == SHT_DYNSYM ? SHT_SYMTAB : 0) {
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			Elf_Data *data;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (GElf_Word)want || !sh.sh_entsize)
				continue;
			data = elf_getdata(scn, NULL);
			for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
				const char *name;

				if (!gelf_getsym(data, (int)i, out) ||
				    GELF_ST_TYPE(out->st_info) != type || out->st_shndx == SHN_UNDEF ||
				    out->st_shndx >= SHN_LORESERVE)
					continue;
				name = elf_strptr(elf, sh.sh_link, out->st_name);
				if (name && strcmp(name, func) == 0)
					return 0;
			}
		}
		scn = NULL;
	}
	return -ENOENT;
}

/* The ELF file at path, opened (its fd in *fd), or NULL with -errno in *err. */
static Elf *elf_open(const char *path, int *fd, int *err)
{
	Elf *elf;

	*err = -EINVAL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		*err = -errno;
		return NULL;
	}
	elf = elf_begin(*fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		close(*fd);
		return NULL;
	}
	return elf;
}

long tkt_data_sym_vaddr(const char *path, const char *name, bool *absolute)
{
	GElf_Ehdr eh;
	GElf_Sym sym;
	int fd, err;
	Elf *elf = elf_open(path, &fd, &err);
	long r;

	if (!elf)
		return err;
	r = find_sym(elf, name, STT_OBJECT, &sym) ? -ENOENT : (long)sym.st_value;
	*absolute = gelf_getehdr(elf, &eh) && eh.e_type == ET_EXEC; /* not position-independent */
	elf_end(elf);
	close(fd);
	return r;
}

long tkt_func_probe_offset(const char *path, const char *func, int *skip)
{
	unsigned char code[4];
	int fd, err;
	Elf *elf = elf_open(path, &fd, &err);
	long off;

	if (!elf)
		return err;
	off = func_file_offset(elf, func);
	elf_end(elf);
	if (off >= 0) {
		if (pread(fd, code, sizeof(code), off) != (ssize_t)sizeof(code))
			off = -EIO;
		else
			*skip = tkt_entry_skip_bytes(code, sizeof(code));
	}
	close(fd);
	return off;
}

int tkt_func_entry_skip(const char *path, const char *func)
{
	int skip = 0;
	long off = tkt_func_probe_offset(path, func, &skip);

	return off < 0 ? (int)off : skip;
}

struct bpf_link *tkt_attach_uprobe_at(struct bpf_program *prog, int pid, const char *path,
				      long off, int skip)
{
	struct bpf_link *l;

	/* Past an ENDBR64: one trap per call instead of a trap and a single step. */
	l = bpf_program__attach_uprobe(prog, false, pid, path, (size_t)(off + skip));
	if (!l && skip > 0)
		l = bpf_program__attach_uprobe(prog, false, pid, path, (size_t)off);
	return l;
}
