# tktrace build: bpf/MODE.bpf.c -> build/MODE.bpf.o -> bpftool gen skeleton -> build/MODE.skel.h -> user/
.DELETE_ON_ERROR:
.PHONY: FORCE all clean test test-unit test-unit-nobpf check-layers compare-replay test-ubsan test-e2e test-kernels demo deps static bench install fuzz fuzz-build \
	fuzz-merge

ARCH ?= $(shell uname -m)
BPF_ARCH := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(ARCH)))
BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PYTHON ?= /usr/bin/python3
CFLAGS ?= -O2 -g -Wall -Wextra
BPF_CFLAGS ?=
LDLIBS_DYN := -lbpf -lelf -lz
LDLIBS_STATIC := -static -l:libbpf.a -l:libelf.a -l:libz.a

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VMLINUX := vmlinux/$(ARCH)/vmlinux.h
INCLUDES := -Iinclude -Iuser

# One BPF object and skeleton per mode: bpf/X.bpf.c -> $(BUILD)/X.bpf.o -> $(BUILD)/X.skel.h.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# user/ by layer (docs/design.md). No source lists: a new file joins its folder's part.
#  - core + reports: pure, no libbpf, no skeleton: $(BUILD)/libtktrace-core.a (unit tests,
#    fuzzers, the binary); scripts/check-layers.py keeps them from including the rest;
#  - the rest but the skeleton users and main(): $(BUILD)/libtktrace-host.a (unit tests, binary);
#  - the files that include a skeleton, and main(): the binary only.
USER_DIRS := core reports tracing system commands
ALL_SRCS := $(wildcard $(USER_DIRS:%=user/%/*.c)) $(wildcard user/*.c)
CORE_SRCS := $(wildcard user/core/*.c user/reports/*.c)
SKEL_SRCS := $(shell grep -l '\.skel\.h"' $(ALL_SRCS))
MAIN_SRCS := $(shell grep -l '^int main\b' $(ALL_SRCS))
HOST_SRCS := $(filter-out $(CORE_SRCS) $(SKEL_SRCS) $(MAIN_SRCS),$(ALL_SRCS))
obj = $(patsubst user/%.c,$(BUILD)/user/%.o,$(1))
# Files the binary carries (the HTML report's CSS and JS), as C strings made at build time:
# user/reports/html.css -> const char tkt_html_css[].
ASSETS := $(wildcard user/reports/*.css user/reports/*.js)
ASSET_OBJS := $(patsubst user/%,$(BUILD)/gen/%.o,$(ASSETS))
CORE_OBJS := $(call obj,$(CORE_SRCS)) $(ASSET_OBJS)
HOST_OBJS := $(call obj,$(HOST_SRCS))
PROG_OBJS := $(call obj,$(SKEL_SRCS) $(MAIN_SRCS))
CORE_LIB := $(BUILD)/libtktrace-core.a
HOST_LIB := $(BUILD)/libtktrace-host.a
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

all: $(BUILD)/tktrace

$(BUILD) $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Ivmlinux/$(ARCH) -Iinclude \
		$(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/user/%.o: user/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -I$(BUILD) -MMD -MP -c $< -o $@
$(BUILD)/gen/%.c: user/% scripts/embed.sh
	$(call msg,EMBED,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sh scripts/embed.sh tkt_$(subst .,_,$(notdir $*)) $< > $@
$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
# The skeletons exist before their users compile (afterwards -MMD knows which needs which).
$(call obj,$(SKEL_SRCS)): $(SKELS)

$(CORE_LIB): $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(HOST_LIB): $(HOST_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/tktrace: $(PROG_OBJS) $(HOST_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS_DYN) -o $@

# Fully static binary for machines without libbpf/libelf/zlib. glibc warns that getpwuid and
# getgrouplist need its NSS modules at run time: the static binary reads /etc/passwd and
# /etc/group itself and calls NSS only for users not there (docs/ci.md).
static: $(BUILD)/tktrace-static
$(BUILD)/tktrace-static: $(PROG_OBJS) $(HOST_LIB) $(CORE_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS_STATIC) -o $@

# make install PREFIX=/usr [DESTDIR=pkgroot] [TKTRACE_BIN=build/tktrace-static]: the binary, the
# man page and the systemd units in packaging/ (their @BINDIR@ set to where the binary goes).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
TKTRACE_BIN ?= $(BUILD)/tktrace
install: $(TKTRACE_BIN)
	$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/tktrace)
	$(Q)install -D -m 0755 $(TKTRACE_BIN) $(DESTDIR)$(BINDIR)/tktrace
	$(Q)install -D -m 0644 man/tktrace.1 $(DESTDIR)$(MANDIR)/man1/tktrace.1
	$(Q)set -e; for u in $(wildcard packaging/*.service); do \
		install -d -m 0755 $(DESTDIR)$(UNITDIR); \
		sed 's|@BINDIR@|$(BINDIR)|g' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/}; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/}; \
	done

# Unit tests: no BPF, no root, no clang or bpftool (make test-unit-nobpf proves it). Each
# test file's main() is generated from its `static void test_*(void **state)` functions, so a
# new test cannot be left out of a hand-kept list.
$(BUILD)/tests/%.main.c: tests/unit/%.c scripts/gen-test-main.sh | $(BUILD)/tests
	$(call msg,GEN,$@)
	$(Q)sh scripts/gen-test-main.sh $< > $@
$(BUILD)/tests/%: $(BUILD)/tests/%.main.c $(HOST_LIB) $(CORE_LIB)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(TEST_INCLUDES) -Itests/unit -MMD -MP -MT $@ $< $(HOST_LIB) \
		$(CORE_LIB) $(LDLIBS_DYN) -lcmocka -o $@
# Tests may include any module by its name.
TEST_INCLUDES := $(USER_DIRS:%=-Iuser/%)

# A shared object with and without ENDBR64 at function entry, for test_elfsym.
$(BUILD)/tests/libcet.so: tests/unit/fixtures/cet.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -fPIC -shared -fcf-protection=full $< -o $@
$(BUILD)/tests/test_elfsym: $(BUILD)/tests/libcet.so

test-unit: $(UNIT_TESTS)
	$(Q)set -e; for t in $(UNIT_TESTS); do echo "== $$t"; TKT_FIXTURES=$(abspath $(BUILD)/tests) $$t; done

# The unit tests in a fresh build dir with clang, llc and bpftool absent: PATH is a folder of
# links to every other program on PATH, and CLANG/BPFTOOL name nothing.
test-unit-nobpf:
	$(Q)rm -rf $(BUILD)/nobpf && mkdir -p $(BUILD)/nobpf/bin
	$(Q)IFS=:; for d in $$PATH; do for f in "$$d"/*; do n=$${f##*/}; \
		case $$n in clang*|llc*|llvm*|bpftool*) continue;; esac; \
		[ -x "$$f" ] && [ ! -e $(BUILD)/nobpf/bin/$$n ] && ln -s "$$f" $(BUILD)/nobpf/bin/$$n; \
		done; done; true
	$(Q)! PATH=$(abspath $(BUILD)/nobpf/bin) command -v clang bpftool
	$(Q)PATH=$(abspath $(BUILD)/nobpf/bin) $(MAKE) --no-print-directory BUILD=$(BUILD)/nobpf/build \
		CLANG=/nonexistent/clang BPFTOOL=/nonexistent/bpftool test-unit >$(BUILD)/nobpf/log 2>&1 || \
		{ cat $(BUILD)/nobpf/log; exit 1; }
	$(Q)grep -c PASSED $(BUILD)/nobpf/log | sed 's/^/test-unit-nobpf: without clang and bpftool, test programs passed: /'

# The layers (docs/design.md): core and reports include neither tracing, system, commands nor
# libbpf, and no two modules include or call each other (checked on the sources and on the
# objects' symbols).
check-layers: $(BUILD)/tktrace
	$(Q)$(PYTHON) scripts/check-layers.py user --objects $(BUILD)/user

# Behaviour unchanged across a refactoring: each recording (the fuzz corpus, and RECS) reported
# by OLD_TKTRACE and by this build, text, JSON, HTML and per-test file, byte for byte.
compare-replay: $(BUILD)/tktrace
	$(Q)test -n "$(OLD_TKTRACE)" || { echo "usage: make compare-replay OLD_TKTRACE=old/tktrace [RECS='a.tkt ...']"; exit 2; }
	$(Q)sh scripts/compare-replay.sh $(OLD_TKTRACE) $(BUILD)/tktrace tests/fuzz/corpus/record/* $(RECS)

# The unit tests under UBSan (misaligned record reads, overflows), in their own build dir.
test-ubsan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/ubsan \
		CFLAGS="-O1 -g -Wall -Wextra -fsanitize=undefined -fno-sanitize-recover=undefined" test-unit

test-e2e: $(BUILD)/tktrace $(BUILD)/tktrace-static
	$(Q)TKTRACE=$(abspath $(BUILD)/tktrace) $(PYTHON) -m pytest -p no:cacheprovider -ra tests/e2e $(E2E_ARGS)

test: check-layers test-unit test-ubsan test-unit-nobpf test-e2e

# The kernel matrix (tests/kernels/README.md): the core e2e scenarios on this kernel and in QEMU
# guests on Debian's 5.10, 6.1 and 6.12 (and 5.10 with cgroup v1), one table at the end.
# KERNELS="5.10 6.12" picks kernels; KERNEL_TESTS=all runs the whole e2e suite (hours in TCG).
KERNELS ?=
KERNEL_TESTS ?= tests/kernels/core-tests
test-kernels: $(BUILD)/tktrace $(BUILD)/tktrace-static
	$(Q)TKTRACE=$(abspath $(BUILD)/tktrace) $(PYTHON) tests/kernels/matrix --tests $(KERNEL_TESTS) \
		$(KERNELS)

# Benchmarks (not timed tests): wall-time ratio with/without tktrace, BPF costs, memory.
bench: $(BUILD)/tktrace
	$(Q)TKTRACE=$(abspath $(BUILD)/tktrace) PYTHON=$(PYTHON) $(PYTHON) bench/run.py

# Fuzzing the readers of untrusted input (recordings, kernel logs, per-test files) with clang's libFuzzer
# (Debian: libclang-rt-14-dev). New inputs go to $(BUILD)/fuzz/; `make fuzz-merge` folds the
# inputs that reach new code (edges only: the corpus stays small) into tests/fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZERS := record kmsg plan
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZERS))
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined

# The harnesses link the core library, built by clang with coverage in its own build dir.
$(BUILD)/fuzz/build/libtktrace-core.a: FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz/build CC=$(CLANG) \
		CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" $@
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/build/libtktrace-core.a
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(BUILD)/fuzz/new-$*
	$(Q)$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer $(INCLUDES) $(TEST_INCLUDES) $< \
		$(BUILD)/fuzz/build/libtktrace-core.a -lz -o $@
FORCE:

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)set -e; for f in $(FUZZERS); do echo "== fuzz_$$f, $(FUZZ_SECONDS) s"; \
		rm -f $(BUILD)/fuzz/crash-$$f-*; \
		$(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crash-$$f- \
			$(BUILD)/fuzz/new-$$f tests/fuzz/corpus/$$f 2>&1 | \
			grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|Done)' || true; \
		if ls $(BUILD)/fuzz/crash-$$f-* >/dev/null 2>&1; then \
			echo "fuzz_$$f: crash, see $(BUILD)/fuzz/crash-$$f-*"; exit 1; fi; done

fuzz-merge: $(FUZZ_BINS)
	$(Q)for f in $(FUZZERS); do $(BUILD)/fuzz/fuzz_$$f -merge=1 -use_counters=0 \
		tests/fuzz/corpus/$$f $(BUILD)/fuzz/new-$$f; done

# The README's first command (it installs what is missing, builds, needs root).
demo:
	$(Q)sh scripts/demo.sh

deps:
	$(Q)sh scripts/install-deps.sh

clean:
	$(Q)rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*/*.d $(BUILD)/user/*.d $(BUILD)/tests/*.d)
