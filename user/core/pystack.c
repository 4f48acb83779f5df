/* Python stacks: per-version offsets, line tables and strings (see pystack.h). */
#include "pystack.h"

#include <stdio.h>
#include <string.h>

/*
 * Offsets per minor version, from the interpreter's own headers (pycore_*.h, compiled with
 * Py_BUILD_CORE); tests/e2e/test_pystack.py compiles tests/pyoffsets/check.c against every
 * installed version's headers and fails when one differs from this table.
 */
static const struct {
	unsigned minor;
	struct tkt_py_offsets o;
} tables[] = {
	{ 8, { .runtime_interp_head = 32, .interp_threads_head = 8, .tstate_next = 8,
	       .tstate_thread_id = 176, .tstate_frame = 24, .frame_code = 32, .frame_previous = 24,
	       .frame_instr = 104, .code_filename = 104, .code_name = 112, .code_firstlineno = 40,
	       .code_linetable = 120, .unicode_state = 32, .unicode_ascii_size = 48,
	       .unicode_compact_size = 72, .unicode_length = 16, .bytes_size = 16, .bytes_data = 32,
	       .layout = TKT_PYL_FRAMEOBJ, .owner_cstack = 0xff } },
	{ 9, { .runtime_interp_head = 32, .interp_threads_head = 8, .tstate_next = 8,
	       .tstate_thread_id = 176, .tstate_frame = 24, .frame_code = 32, .frame_previous = 24,
	       .frame_instr = 104, .code_filename = 104, .code_name = 112, .code_firstlineno = 40,
	       .code_linetable = 120, .unicode_state = 32, .unicode_ascii_size = 48,
	       .unicode_compact_size = 72, .unicode_length = 16, .bytes_size = 16, .bytes_data = 32,
	       .layout = TKT_PYL_FRAMEOBJ, .owner_cstack = 0xff } },
	{ 10, { .runtime_interp_head = 32, .interp_threads_head = 8, .tstate_next = 8,
		.tstate_thread_id = 176, .tstate_frame = 24, .frame_code = 32, .frame_previous = 24,
		.frame_instr = 96, .code_filename = 104, .code_name = 112, .code_firstlineno = 40,
		.code_linetable = 120, .unicode_state = 32, .unicode_ascii_size = 48,
		.unicode_compact_size = 72, .unicode_length = 16, .bytes_size = 16, .bytes_data = 32,
		.layout = TKT_PYL_FRAMEOBJ, .owner_cstack = 0xff } },
	/* 3.11 frames have no C-stack shims: an entry frame is a real one (is_entry). */
	{ 11, { .runtime_interp_head = 40, .interp_threads_head = 16, .tstate_next = 8,
		.tstate_thread_id = 152, .tstate_frame = 56, .cframe_current = 8, .frame_code = 32,
		.frame_previous = 48, .frame_instr = 56, .frame_owner = 69, .code_filename = 112,
		.code_name = 128, .code_firstlineno = 72, .code_linetable = 136, .code_bytecode = 184,
		.unicode_state = 32, .unicode_ascii_size = 48, .unicode_compact_size = 72,
		.unicode_length = 16, .bytes_size = 16, .bytes_data = 32, .layout = TKT_PYL_CFRAME,
		.owner_cstack = 0xff } },
	{ 12, { .runtime_interp_head = 40, .interp_threads_head = 72, .tstate_next = 8,
		.tstate_thread_id = 136, .tstate_frame = 56, .cframe_current = 0, .frame_code = 0,
		.frame_previous = 8, .frame_instr = 56, .frame_owner = 70, .code_filename = 112,
		.code_name = 128, .code_firstlineno = 68, .code_linetable = 136, .code_bytecode = 192,
		.unicode_state = 32, .unicode_ascii_size = 40, .unicode_compact_size = 56,
		.unicode_length = 16, .bytes_size = 16, .bytes_data = 32, .layout = TKT_PYL_CFRAME,
		.owner_cstack = 3 } },
	{ 13, { .runtime_interp_head = 632, .interp_threads_head = 7344, .tstate_next = 8,
		.tstate_thread_id = 152, .tstate_frame = 72, .frame_code = 0, .frame_previous = 8,
		.frame_instr = 56, .frame_owner = 70, .code_filename = 112, .code_name = 128,
		.code_firstlineno = 68, .code_linetable = 136, .code_bytecode = 200,
		.unicode_state = 32, .unicode_ascii_size = 40, .unicode_compact_size = 56,
		.unicode_length = 16, .bytes_size = 16, .bytes_data = 32, .layout = TKT_PYL_CURFRAME,
		.owner_cstack = 3 } },
};

bool tkt_py_offsets_for(unsigned major, unsigned minor, struct tkt_py_offsets *o)
{
	if (major != 3)
		return false;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].minor == minor) {
			*o = tables[i].o;
			return true;
		}
	return false;
}

/* 3.8-3.9 co_lnotab: (bytecode delta, signed line delta) pairs. */
static int line_lnotab(const uint8_t *t, size_t len, bool whole, int32_t lasti, int32_t line)
{
	int32_t addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > lasti)
			return line;
		line += (int8_t)t[i + 1];
	}
	return whole ? line : -1; /* a prefix ended: the rest may change the line */
}

/* 3.10 co_linetable: (range length, signed line delta) pairs; -128: the range has no line. */
static int line_310(const uint8_t *t, size_t len, int32_t lasti, int32_t line)
{
	int32_t start = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		int8_t ld = (int8_t)t[i + 1];
		int32_t end = start + t[i];

		if (ld != -128)
			line += ld;
		if (lasti >= start && lasti < end)
			return ld == -128 ? -1 : line;
		start = end;
	}
	return -1;
}

static bool varint(const uint8_t *t, size_t len, size_t *i, uint32_t *v)
{
	uint32_t r = 0;

	for (unsigned shift = 0; *i < len && shift < 32; shift += 6) {
		uint8_t b = t[(*i)++];
		r |= (uint32_t)(b & 63) << shift;
		if (!(b & 64)) {
			*v = r;
			return true;
		}
	}
	return false;
}

static bool svarint(const uint8_t *t, size_t len, size_t *i, int32_t *v)
{
	uint32_t u;

	if (!varint(t, len, i, &u))
		return false;
	*v = u & 1 ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
	return true;
}

/* 3.11+ location table: entries of 1-8 code units, each starting with a byte 1CCCCLLL. */
static int line_loc(const uint8_t *t, size_t len, int32_t lasti, int32_t line)
{
	int32_t unit = lasti / 2, start = 0;
	size_t i = 0;

	while (i < len) {
		uint8_t b = t[i++];
		unsigned code = (b >> 3) & 15;
		int32_t end = start + (b & 7) + 1, d = 0;
		uint32_t skip;
		bool none = false;

		if (!(b & 128))
			return -1; /* not at an entry's first byte: a malformed table */
		if (code == 15) {
			none = true;
		} else if (code == 14) {
			if (!svarint(t, len, &i, &d) || !varint(t, len, &i, &skip) ||
			    !varint(t, len, &i, &skip) || !varint(t, len, &i, &skip))
				return -1;
		} else if (code == 13) {
			if (!svarint(t, len, &i, &d))
				return -1;
		} else if (code >= 10) {
			d = (int32_t)code - 10;
			i += 2;
		} else {
			i += 1;
		}
		if (i > len)
			return -1;
		line += d;
		if (unit >= start && unit < end)
			return none ? -1 : line;
		start = end;
	}
	return -1;
}

int tkt_py_line(uint32_t version, const uint8_t *table, size_t len, size_t total, int32_t lasti,
		int32_t firstlineno)
{
	if (lasti < 0 || !table)
		return -1;
	if (version >= 0x30b)
		return line_loc(table, len, lasti, firstlineno);
	if (version == 0x30a)
		return line_310(table, len, lasti, firstlineno);
	if (version >= 0x308)
		return line_lnotab(table, len, len >= total, lasti, firstlineno);
	return -1;
}

static void put_utf8(struct tkt_buf *out, uint32_t c)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 63));
		n = 2;
	} else if (c < 0x10000) {
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd; /* a lone surrogate (surrogateescape'd file names) */
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 63));
		b[2] = (char)(0x80 | (c & 63));
		n = 3;
	} else {
		if (c > 0x10ffff)
			c = 0xfffd;
		if (c == 0xfffd)
			return put_utf8(out, c);
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 63));
		b[2] = (char)(0x80 | ((c >> 6) & 63));
		b[3] = (char)(0x80 | (c & 63));
		n = 4;
	}
	tkt_buf_append(out, b, n);
}

void tkt_py_str_utf8(struct tkt_buf *out, const void *data, size_t len, unsigned kind)
{
	const uint8_t *p = data;

	if (kind == TKT_PYF_ASCII) {
		for (size_t i = 0; i < len; i++)
			put_utf8(out, p[i] < 0x80 ? p[i] : 0xfffd);
		return;
	}
	if (kind != 1 && kind != 2 && kind != 4)
		return;
	for (size_t i = 0; i + kind <= len; i += kind) {
		uint32_t c = p[i];
		if (kind >= 2)
			c |= (uint32_t)p[i + 1] << 8;
		if (kind == 4)
			c |= (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
		put_utf8(out, c);
	}
}

const char *tkt_py_err_text(int err, uint32_t version, char *buf, size_t sz)
{
	switch (err) {
	case TKT_PYE_OK:
		return NULL;
	case TKT_PYE_NOT_PYTHON:
		return "not a python process";
	case TKT_PYE_UNSUPPORTED:
		snprintf(buf, sz, "unsupported python %u.%u", version >> 8, version & 0xff);
		return buf;
	case TKT_PYE_NO_THREAD:
		return "no python thread state for this thread";
	case TKT_PYE_FAULT:
		return "page not resident";
	case TKT_PYE_ARCH:
		return "stacks are taken on x86-64 only";
	case TKT_PYE_NO_FRAMES:
		return "no python code running";
	}
	return "unknown error";
}
