#!/bin/sh
# The demo: install what is missing, build, and run tktrace on a bundled suite that gets
# OOM-killed inside a 400 MiB memory cgroup (created and removed by tktrace).
set -eu
cd "$(dirname "$0")/.."
# --demo: the build dependencies and what the demo suite runs on (pytest, numpy).
sh scripts/install-deps.sh --demo
[ -n "${TKT_DRY_RUN:-}" ] && exit 0
make -s
if [ "$(id -u)" != 0 ]; then
	echo "tktrace demo: loading BPF programs needs root: sudo sh scripts/demo.sh" >&2
	exit 1
fi
echo "== sudo tktrace --memory-limit 400M --json build/demo.json --html build/demo.html --record build/demo.tkt -- python3 -m pytest examples/oom-suite"
set +e
PYTHONDONTWRITEBYTECODE=1 ./build/tktrace --memory-limit 400M --json build/demo.json \
	--html build/demo.html --record build/demo.tkt -- \
	/usr/bin/python3 -m pytest -p no:cacheprovider -q examples/oom-suite
rc=$?
set -e
echo "== tktrace exited with $rc (the suite's own status); reports: build/demo.json, build/demo.html;"
echo "   tktrace report build/demo.tkt prints the report again from the recording"
[ "$rc" = 137 ] || { echo "tktrace demo: expected the suite to be OOM-killed (137)" >&2; exit 1; }
