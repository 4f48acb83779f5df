#!/bin/sh
# All tests: install what is missing, build, run unit tests (no root) and end-to-end tests
# (real BPF programs, real OOM kills in memory cgroups; skipped with a reason without root).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh --test
make -s
make -s test
