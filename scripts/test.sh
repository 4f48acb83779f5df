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
fi
