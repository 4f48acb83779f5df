build2/tktrace.bpf.o: bpf/tktrace.bpf.c bpf/common.bpf.h \
  vmlinux/x86_64/vmlinux.h include/tktrace.h bpf/mem.bpf.h \
  bpf/core_fixes.bpf.h bpf/proc.bpf.h bpf/signal.bpf.h bpf/oom.bpf.h \
  bpf/pystack.bpf.h bpf/pytest.bpf.h bpf/watch.bpf.h

bpf/common.bpf.h:

vmlinux/x86_64/vmlinux.h:

include/tktrace.h:

bpf/mem.bpf.h:

bpf/core_fixes.bpf.h:

bpf/proc.bpf.h:

bpf/signal.bpf.h:

bpf/oom.bpf.h:

bpf/pystack.bpf.h:

bpf/pytest.bpf.h:

bpf/watch.bpf.h:
