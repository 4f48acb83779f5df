/* Compiled against one CPython version's own headers (Py_BUILD_CORE): fails when tktrace's
 * offset table (user/core/pystack.c) differs from them. Run by tests/e2e/test_pystack.py. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include "pystack.h"
#if PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#else
#include "internal/pycore_pystate.h"
#endif
#if PY_VERSION_HEX >= 0x030b0000
#include "internal/pycore_frame.h"
#else
#include <frameobject.h>
#endif
static struct tkt_py_offsets o;
static int bad;

/* One field: tktrace's table against the interpreter's own headers. */
static void check(const char *name, size_t ours, size_t theirs)
{
	if (ours != theirs) {
		printf("MISMATCH %s: tktrace has %zu, the headers say %zu\n", name, ours, theirs);
		bad = 1;
	} else {
		printf("ok %s %zu\n", name, theirs);
	}
}
#define C(field, expr) check(#field, o.field, (expr))

int main(void)
{
	if (!tkt_py_offsets_for(PY_MAJOR_VERSION, PY_MINOR_VERSION, &o)) {
		printf("tktrace has no offsets for %d.%d\n", PY_MAJOR_VERSION, PY_MINOR_VERSION);
		return 1;
	}
	C(runtime_interp_head, offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX >= 0x030b0000
	C(interp_threads_head, offsetof(PyInterpreterState, threads.head));
#else
	C(interp_threads_head, offsetof(PyInterpreterState, tstate_head));
#endif
	C(tstate_next, offsetof(PyThreadState, next));
	C(tstate_thread_id, offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030d0000
	C(tstate_frame, offsetof(PyThreadState, current_frame));
	C(cframe_current, 0);
#elif PY_VERSION_HEX >= 0x030b0000
	C(tstate_frame, offsetof(PyThreadState, cframe));
	C(cframe_current, offsetof(_PyCFrame, current_frame));
#else
	C(tstate_frame, offsetof(PyThreadState, frame));
	C(cframe_current, 0);
#endif
#if PY_VERSION_HEX >= 0x030d0000
	C(frame_code, offsetof(_PyInterpreterFrame, f_executable));
	C(frame_previous, offsetof(_PyInterpreterFrame, previous));
	C(frame_instr, offsetof(_PyInterpreterFrame, instr_ptr));
	C(frame_owner, offsetof(_PyInterpreterFrame, owner));
#elif PY_VERSION_HEX >= 0x030b0000
	C(frame_code, offsetof(_PyInterpreterFrame, f_code));
	C(frame_previous, offsetof(_PyInterpreterFrame, previous));
	C(frame_instr, offsetof(_PyInterpreterFrame, prev_instr));
	C(frame_owner, offsetof(_PyInterpreterFrame, owner));
#else
	C(frame_code, offsetof(PyFrameObject, f_code));
	C(frame_previous, offsetof(PyFrameObject, f_back));
	C(frame_instr, offsetof(PyFrameObject, f_lasti));
	C(frame_owner, 0);
#endif
	C(code_filename, offsetof(PyCodeObject, co_filename));
#if PY_VERSION_HEX >= 0x030b0000
	C(code_name, offsetof(PyCodeObject, co_qualname));
	C(code_bytecode, offsetof(PyCodeObject, co_code_adaptive));
#else
	C(code_name, offsetof(PyCodeObject, co_name));
	C(code_bytecode, 0);
#endif
	C(code_firstlineno, offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030a0000
	C(code_linetable, offsetof(PyCodeObject, co_linetable));
#else
	C(code_linetable, offsetof(PyCodeObject, co_lnotab));
#endif
	C(bytes_size, offsetof(PyVarObject, ob_size));
	C(bytes_data, offsetof(PyBytesObject, ob_sval));
	C(unicode_state, offsetof(PyASCIIObject, state));
	C(unicode_ascii_size, sizeof(PyASCIIObject));
	C(unicode_compact_size, sizeof(PyCompactUnicodeObject));
	C(unicode_length, offsetof(PyASCIIObject, length));
#if PY_VERSION_HEX >= 0x030c0000
	C(owner_cstack, FRAME_OWNED_BY_CSTACK);
#else
	C(owner_cstack, 0xff);
#endif
	return bad;
}
