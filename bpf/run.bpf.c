/* Run mode's BPF object (tktrace -- COMMAND): COMMAND's process tree, its kills, its tests
 * and their memory. Programs grouped by concern in the headers below. */
#include "common.bpf.h"
#include "tracked.bpf.h"
#include "mem.bpf.h"
#include "proc.bpf.h"
#include "signal.bpf.h"
#include "oom.bpf.h"
#include "pystack.bpf.h"
#include "pytest.bpf.h"

char LICENSE[] SEC("license") = "GPL";
