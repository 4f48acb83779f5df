#!/bin/sh
# Install what tktrace needs from Debian/Ubuntu packages (only what is missing):
#   install-deps.sh          to build
#   install-deps.sh --demo   to build and run scripts/demo.sh (its suite needs pytest and numpy)
#   install-deps.sh --test   to build and run every test (python3-hypothesis: numpy's own tests)
# TKT_DRY_RUN=1 prints what would be installed and installs nothing; TKT_DPKG_ADMINDIR asks
# another dpkg database (an empty one is a fresh machine): tests/e2e/test_newcomer.py uses both.
set -eu

BUILD_PKGS="make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config"
DEMO_PKGS="python3-pytest python3-numpy"
# python3-exceptiongroup, python3-tomli: what Debian's pytest imports on Pythons before 3.11, so
# the Python-stack tests run their inner suites on pyenv's 3.8-3.10 too (skipped without them).
TEST_PKGS="$DEMO_PKGS libcmocka-dev python3-pytest-xdist python3-hypothesis util-linux strace
	python3-exceptiongroup python3-tomli"

# chromium: headless screenshots of the HTML report (tests/e2e/test_html.py).
OPT_TEST_PKGS="chromium"

# make test-kernels: QEMU guests on Debian's kernels (tests/kernels/README.md). virtiofsd comes
# with qemu-system-common on Debian 12, as its own package later.
KERNEL_PKGS="qemu-system-x86 busybox-static cpio kmod xz-utils"

want="$BUILD_PKGS"
[ "${1:-}" = "--demo" ] && want="$BUILD_PKGS $DEMO_PKGS"
[ "${1:-}" = "--test" ] && want="$BUILD_PKGS $TEST_PKGS $OPT_TEST_PKGS"
if [ "${1:-}" = "--kernels" ]; then
	want="$KERNEL_PKGS"
	apt-cache show virtiofsd >/dev/null 2>&1 && want="$want virtiofsd"
fi
# make fuzz: libFuzzer's runtime for the installed clang (Debian 12: clang 14, libclang-rt-14-dev).
if [ "${1:-}" = "--test" ] && command -v clang >/dev/null 2>&1; then
	clang_major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
	[ -n "$clang_major" ] && want="$want libclang-rt-$clang_major-dev"
fi
# bpftool is its own package on Debian 12+; Ubuntu ships it in linux-tools.
[ "${1:-}" = "--kernels" ] || command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ] ||
	want="$want bpftool"

missing=""
for p in $want; do
	dpkg-query ${TKT_DPKG_ADMINDIR:+--admindir="$TKT_DPKG_ADMINDIR"} -W -f='${Status}' "$p" \
		2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "${TKT_DRY_RUN:-}" ]; then
	echo "tktrace: would install:${missing:- nothing}"
	exit 0
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "tktrace: missing packages:$missing; run this as root (sudo)" >&2
	exit 1
fi
echo "tktrace: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Ubuntu: bpftool comes with linux-tools-common/linux-tools-$(uname -r) when no bpftool package exists.
if echo "$missing" | grep -q bpftool && ! apt-cache show bpftool >/dev/null 2>&1; then
	missing=$(echo "$missing" | sed 's/bpftool//')
	missing="$missing linux-tools-common linux-tools-$(uname -r)"
fi
# Ubuntu has no chromium deb (chromium-browser is a shim for a snap, which CI containers cannot
# run): the screenshot test then skips with its reason instead of the install failing.
for p in $OPT_TEST_PKGS; do
	case " $missing " in *" $p "*) ;; *) continue ;; esac
	if ! apt-cache policy "$p" 2>/dev/null | grep -q "Candidate: [0-9]"; then
		echo "tktrace: no $p package here; tests/e2e/test_html.py will skip its screenshot" >&2
		missing=$(echo "$missing" | sed "s/ $p\b//")
	fi
done
[ -z "$(echo "$missing" | tr -d ' ')" ] && exit 0
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
