/* Finding a process's CPython: which version, and where its _PyRuntime is (see pyproc.h). */
#include "pyproc.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/pystack.h"
#include "maps.h"

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

static int symbol_bytes(Elf *elf, int fd, const GElf_Sym *sym, void *buf, size_t n)
{
	Elf_Scn *scn = elf_getscn(elf, sym->st_shndx);
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || sym->st_size < n ||
	    sym->st_value < sh.sh_addr || sym->st_value - sh.sh_addr + n > sh.sh_size)
		return -EINVAL;
	return pread(fd, buf, n, (off_t)(sh.sh_offset + sym->st_value - sh.sh_addr)) == (ssize_t)n ?
		       0 : -EIO;
}

/* The symbol's value and the first loadable segment's address, from the ELF file at path;
 * with buf, also the first n bytes of its initial value. */
static int elf_symbol(const char *path, const char *name, uint64_t *value, uint64_t *first_vaddr,
		      void *buf, size_t n)
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
			const char *nm;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
				continue;
			nm = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (nm && strcmp(nm, name) == 0) {
				*value = sym.st_value;
				r = buf ? symbol_bytes(elf, fd, &sym, buf, n) : 0;
				break;
			}
		}
	}
out:
	elf_end(elf);
	close(fd);
	return r;
}

/* _Py_DebugOffsets of 3.13 (Include/internal/pycore_runtime.h), the first member of
 * _PyRuntime, as u64 indices; 3.14 inserted fields, so this is for 3.13 only. */
enum {
	DO_COOKIE = 0, DO_VERSION = 1, DO_INTERPRETERS_HEAD = 5, DO_THREADS_HEAD = 9,
	DO_TS_NEXT = 21, DO_TS_CURRENT_FRAME = 23, DO_TS_THREAD_ID = 24, DO_FR_PREVIOUS = 29,
	DO_FR_EXECUTABLE = 30, DO_FR_INSTR_PTR = 31, DO_FR_OWNER = 33, DO_CO_FILENAME = 35,
	DO_CO_QUALNAME = 37, DO_CO_LINETABLE = 38, DO_CO_FIRSTLINENO = 39, DO_CO_CODE = 43,
	DO_BYTES_OB_SIZE = 65, DO_BYTES_OB_SVAL = 66, DO_UNI_STATE = 68, DO_UNI_LENGTH = 69,
	DO_UNI_ASCII_SIZE = 70, DO_N = 73,
};

int tkt_py_debug_offsets(const char *path, struct tkt_py_offsets *o)
{
	static const struct { uint8_t idx; size_t off; } map[] = {
#define M(i, f) { i, offsetof(struct tkt_py_offsets, f) }
		M(DO_INTERPRETERS_HEAD, runtime_interp_head), M(DO_THREADS_HEAD, interp_threads_head),
		M(DO_TS_NEXT, tstate_next), M(DO_TS_CURRENT_FRAME, tstate_frame),
		M(DO_TS_THREAD_ID, tstate_thread_id), M(DO_FR_PREVIOUS, frame_previous),
		M(DO_FR_EXECUTABLE, frame_code), M(DO_FR_INSTR_PTR, frame_instr),
		M(DO_FR_OWNER, frame_owner), M(DO_CO_FILENAME, code_filename),
		M(DO_CO_QUALNAME, code_name), M(DO_CO_LINETABLE, code_linetable),
		M(DO_CO_FIRSTLINENO, code_firstlineno), M(DO_CO_CODE, code_bytecode),
		M(DO_BYTES_OB_SIZE, bytes_size), M(DO_BYTES_OB_SVAL, bytes_data),
		M(DO_UNI_STATE, unicode_state), M(DO_UNI_LENGTH, unicode_length),
		M(DO_UNI_ASCII_SIZE, unicode_ascii_size),
#undef M
	};
	uint64_t d[DO_N], value, vaddr;
	struct tkt_py_offsets n = *o;
	int r = elf_symbol(path, "_PyRuntime", &value, &vaddr, d, sizeof(d));

	if (r)
		return r;
	if (memcmp(&d[DO_COOKIE], "xdebugpy", 8) || (d[DO_VERSION] >> 16) != 0x30d)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (d[map[i].idx] > UINT16_MAX)
			return -ERANGE;
		memcpy((char *)&n + map[i].off, &(uint16_t){ (uint16_t)d[map[i].idx] }, 2);
	}
	*o = n;
	return 0;
}

struct py_walk {
	struct tkt_py_proc *out;
	unsigned major, minor;
	int found; /* 1: found, -1: a Python without a table so far */
	char seen[PATH_MAX];
};

static int py_one(void *ctx, const struct tkt_mapping *m)
{
	struct py_walk *w = ctx;
	struct tkt_py_proc *out = w->out;
	uint64_t value = 0, vaddr = 0;

	if (m->off != 0 || !tkt_py_version_of_path(m->path, &w->major, &w->minor) ||
	    strcmp(m->path, w->seen) == 0)
		return 0;
	snprintf(w->seen, sizeof(w->seen), "%s", m->path);
	memset(out, 0, sizeof(*out));
	out->version = w->major << 8 | w->minor;
	if (!tkt_py_offsets_for(w->major, w->minor, &out->o)) {
		w->found = -1; /* a Python, but one without a table: keep looking (libpython) */
		return 0;
	}
	/* The lowest mapping at file offset 0 is the first PT_LOAD segment, page-aligned. */
	if (elf_symbol(m->full, "_PyRuntime", &value, &vaddr, NULL, 0) != 0)
		return 0;
	out->runtime_addr = m->start - (vaddr & ~0xfffULL) + value;
	/* 3.13 says its own layout: a patch release that moved a field is still read right. */
	if (out->version == 0x30d)
		(void)tkt_py_debug_offsets(m->full, &out->o);
	w->found = 1;
	return 1;
}

int tkt_py_find(unsigned pid, struct tkt_py_proc *out)
{
	struct py_walk w = { .out = out };
	int r = tkt_maps_each(pid, py_one, &w);

	if (r < 0)
		return r;
	if (w.found < 0) {
		/* tktrace has no offsets for this one: the kernel says "unsupported python X.Y". */
		memset(&out->o, 0, sizeof(out->o));
		out->o.layout = TKT_PYL_NONE;
		out->version = w.major << 8 | w.minor;
		return 1;
	}
	return w.found;
}
