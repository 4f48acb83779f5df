/* tktrace's kernel side: one object, programs grouped by concern in the headers below. */
#include "common.bpf.h"
#include "mem.bpf.h"
#include "proc.bpf.h"
#include "signal.bpf.h"
#include "oom.bpf.h"
#include "pystack.bpf.h"
#include "pytest.bpf.h"
#include "watch.bpf.h"

char LICENSE[] SEC("license") = "GPL";
