#!/bin/sh
# All tests: install what is missing, build, run unit tests (no root) and end-to-end tests
# (real BPF programs, real OOM kills in memory cgroups; skipped with a reason without root).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --test
make -s
make -s test
# CI: a short fuzz of the readers of untrusted input (recordings, kernel logs, per-test files), ~60 s each.
if [ "${CI:-}" = true ]; then
	make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
	# The kernel matrix's CI subset (tests/kernels/README.md): the core scenarios on the oldest
	# supported kernel with both cgroup hierarchies and on the newest, in QEMU guests. A CI
	# machine that cannot run them fails here rather than passing without them.
	# A guest runs the core subset in 3-5 minutes here; one that hangs is stopped at 15.
	sh scripts/install-deps.sh --kernels
	TKT_VM_TIMEOUT="${TKT_VM_TIMEOUT:-900}" make -s test-kernels KERNELS="${CI_KERNELS:-5.10 5.10-v1 6.12}"
fi
