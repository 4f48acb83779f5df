# tktrace build: bpf/*.bpf.c -> build/*.bpf.o -> bpftool gen skeleton -> build/*.skel.h -> user/*.c
.DELETE_ON_ERROR:
.PHONY: all clean test test-unit test-ubsan test-e2e test-kernels demo deps static bench install \
	fuzz fuzz-build fuzz-merge

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
INCLUDES := -Iinclude -I$(BUILD)
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

all: $(BUILD)/tktrace

$(BUILD) $(BUILD)/user $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/tktrace.bpf.o: bpf/tktrace.bpf.c $(VMLINUX) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Ivmlinux/$(ARCH) -Iinclude \
		$(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tktrace.skel.h: $(BUILD)/tktrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tktrace_bpf > $@

$(BUILD)/user/%.o: user/%.c $(BUILD)/tktrace.skel.h | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(BUILD)/tktrace: $(BUILD)/user/main.o $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS_DYN) -o $@

# Fully static binary for machines without libbpf/libelf/zlib. glibc warns that getpwuid and
# getgrouplist need its NSS modules at run time: the static binary reads /etc/passwd and
# /etc/group itself and calls NSS only for users not there (docs/ci.md).
static: $(BUILD)/tktrace-static
$(BUILD)/tktrace-static: $(BUILD)/user/main.o $(USER_OBJS)
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

# Unit tests: pure logic only (no BPF, no root).
$(BUILD)/tests/%: tests/unit/%.c $(USER_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -Iuser -MMD -MP $< $(USER_OBJS) $(LDLIBS_DYN) -lcmocka -o $@

# A shared object with and without ENDBR64 at function entry, for test_elfsym.
$(BUILD)/tests/libcet.so: tests/unit/fixtures/cet.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -fPIC -shared -fcf-protection=full $< -o $@
$(BUILD)/tests/test_elfsym: $(BUILD)/tests/libcet.so

test-unit: $(UNIT_TESTS)
	$(Q)set -e; for t in $(UNIT_TESTS); do echo "== $$t"; TKT_FIXTURES=$(abspath $(BUILD)/tests) $$t; done

# The unit tests under UBSan (misaligned record reads, overflows), in their own build dir.
test-ubsan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/ubsan \
		CFLAGS="-O1 -g -Wall -Wextra -fsanitize=undefined -fno-sanitize-recover=undefined" test-unit

test-e2e: $(BUILD)/tktrace $(BUILD)/tktrace-static
	$(Q)TKTRACE=$(abspath $(BUILD)/tktrace) $(PYTHON) -m pytest -p no:cacheprovider -ra tests/e2e $(E2E_ARGS)

test: test-unit test-ubsan test-e2e

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
FUZZ_SRCS := user/model.c user/util.c user/record.c user/replay.c user/report.c user/json.c user/kmsg.c \
	user/warn.c user/html.c user/plan.c
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZERS))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) include/tktrace.h
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(BUILD)/fuzz/new-$*
	$(Q)$(CLANG) $(FUZZ_FLAGS) $(INCLUDES) -Iuser $< $(FUZZ_SRCS) -lz -o $@

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

-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*.d $(BUILD)/tests/*.d)
