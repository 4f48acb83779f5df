/* Finding a process's CPython: which version, and where its _PyRuntime is (see pyproc.h). */
#include "pyproc.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pystack.h"

bool tkt_py_version_of_path(const char *path, unsigned *major, unsigned *minor)
{
	const char *b = strrchr(path, '/');
	unsigned ma, mi;
	int n = 0;

	b = b ? b + 1 : path;
	if (strncmp(b, "lib", 3) == 0)
		b += 3;
	if (strncmp(b, "python", 6) != 0)
		return false;
	b += 6;
	if (sscanf(b, "%u.%u%n", &ma, &mi, &n) != 2 || n == 0)
		return false;
	/* python3.11, python3.6m, libpython3.12.so.1.0; not python3.11-config */
	b += n;
	if (*b == 'm' || *b == 'd')
		b++;
	if (*b && strncmp(b, ".so", 3) != 0)
		return false;
	*major = ma;
	*minor = mi;
	return true;
}

/* The symbol's value and the first loadable segment's address, from the ELF file at path. */
static int elf_symbol(const char *path, const char *name, uint64_t *value, uint64_t *first_vaddr)
{
	int fd, r = -ENOENT;
	Elf_Scn *scn = NULL;
	size_t nph;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph)) {
		r = -EINVAL;
		goto out;
	}
	*first_vaddr = UINT64_MAX;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < *first_vaddr)
			*first_vaddr = ph.p_vaddr;
	}
	while (r == -ENOENT && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && strcmp(n, name) == 0) {
				*value = sym.st_value;
				r = 0;
				break;
			}
		}
	}
out:
	elf_end(elf);
	close(fd);
	return r;
}

int tkt_py_find(unsigned pid, struct tkt_py_proc *out)
{
	char p[64], line[4096 + 256], full[PATH_MAX], seen[PATH_MAX] = "";
	unsigned major = 0, minor = 0;
	int found = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%u/maps", pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (found <= 0 && fgets(line, sizeof(line), f)) {
		unsigned long start, end, off;
		uint64_t value = 0, vaddr = 0;
		char *path = strchr(line, '/');

		if (!path || sscanf(line, "%lx-%lx %*s %lx", &start, &end, &off) != 3 || off != 0)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strstr(path, " (deleted)") || !tkt_py_version_of_path(path, &major, &minor) ||
		    strcmp(path, seen) == 0)
			continue;
		snprintf(seen, sizeof(seen), "%s", path);
		snprintf(full, sizeof(full), "/proc/%u/root%s", pid, path);
		memset(out, 0, sizeof(*out));
		out->version = major << 8 | minor;
		if (!tkt_py_offsets_for(major, minor, &out->o)) {
			found = -1; /* a Python, but one without a table: keep looking (libpython) */
			continue;
		}
		/* The lowest mapping at file offset 0 is the first PT_LOAD segment, page-aligned. */
		if (elf_symbol(full, "_PyRuntime", &value, &vaddr) == 0) {
			out->runtime_addr = start - (vaddr & ~0xfffULL) + value;
			found = 1;
		}
	}
	fclose(f);
	if (found < 0) {
		/* tktrace has no offsets for this one: the kernel says "unsupported python X.Y". */
		memset(&out->o, 0, sizeof(out->o));
		out->o.layout = TKT_PYL_NONE;
		out->version = major << 8 | minor;
		return 1;
	}
	return found;
}
