# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# blockwatch — `make` builds build/blockwatch; `make test`, `make demo`
# and `make bench` also install the Debian packages they need.

# SANITIZE=1 (see "sanitizers and fuzzing" below) builds into its own dir.
OUTPUT ?= $(if $(filter 1,$(SANITIZE)),build-asan,build)
PREFIX ?= /usr/local
DESTDIR ?=
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
ARCH := x86
VERSION := 0.1.0

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

SYSCALL_HDR ?= /usr/include/x86_64-linux-gnu/asm/unistd_64.h

BPF_CFLAGS := -g -O2 -Wall -Werror -fno-stack-protector -target bpf \
	-D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf -MMD -MP
CFLAGS ?= -O2 -g
LDFLAGS ?=
HOST_CFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DBW_VERSION='"$(VERSION)"' -I$(OUTPUT) -Ibpf -Iuser -MMD -MP
LDLIBS := -lbpf -ldw -lelf -lcapstone -ljson-c -lz -lstdc++
UNIT_LDLIBS := -ldw -lelf -lcapstone -ljson-c -lz -lstdc++ -lcmocka

# user/trace/ drives the BPF skeleton and user/session/ runs it; every
# other folder is plain userspace, linked into libblockwatch.a, which is
# all the unit tests need: `make unit` builds without clang, bpftool or
# kernel BTF.
USER_SRCS := $(wildcard user/*/*.c)
BPF_USER_SRCS := $(filter user/trace/% user/session/%,$(USER_SRCS))
PURE_SRCS := $(filter-out $(BPF_USER_SRCS),$(USER_SRCS))
PURE_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(PURE_SRCS))
BPF_USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(BPF_USER_SRCS))
MAIN_OBJ := $(OUTPUT)/user/main.o
LIB := $(OUTPUT)/libblockwatch.a
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
# stacks.c is built twice, with and without frame pointers, swap.c and
# swaplib.c twice each (names a and b), below.
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/tests/%,\
		$(filter-out tests/workloads/stacks.c tests/workloads/swap.c tests/workloads/swaplib.c,\
		$(wildcard tests/workloads/*.c))) \
	$(if $(wildcard tests/workloads/swap.c),$(OUTPUT)/tests/swap_a $(OUTPUT)/tests/swap_b \
		$(OUTPUT)/tests/libswap_a.so $(OUTPUT)/tests/libswap_b.so) \
	$(patsubst tests/workloads/%.cpp,$(OUTPUT)/tests/%,$(wildcard tests/workloads/*.cpp)) \
	$(if $(wildcard tests/workloads/stacks.c),$(OUTPUT)/tests/stacks_fp $(OUTPUT)/tests/stacks_nofp)
FIXTURES := $(OUTPUT)/tests/fixture_fp $(OUTPUT)/tests/fixture_nofp \
	$(OUTPUT)/tests/snapshot_fp $(OUTPUT)/tests/snapshot_nofp
# The Go fixture in the builds a deployed Go binary comes in: the
# default (DWARF, symbols, cgo: it imports net), stripped, PIE, static
# (no cgo), and nodwarf (-w: symbols without DWARF, the same addresses
# as stripped). Debian's Go, with its caches under the build dir.
GO ?= go
GO_VARIANTS := default stripped pie static nodwarf
GO_PROGS := $(patsubst tests/fixtures/go/%.go,%,$(wildcard tests/fixtures/go/*.go))
GO_FIXTURES := $(foreach v,$(GO_VARIANTS),$(foreach p,$(GO_PROGS),$(OUTPUT)/tests/go/$(v)/$(p)))
GO_ENV = HOME=$(abspath $(OUTPUT))/go-home GOCACHE=$(abspath $(OUTPUT))/go-cache \
	GOPATH=$(abspath $(OUTPUT))/go-path GOFLAGS= GOTOOLCHAIN=local
GOFLAGS_default :=
GOFLAGS_stripped := -ldflags=-s\ -w
GOFLAGS_nodwarf := -ldflags=-w
GOFLAGS_pie := -buildmode=pie
GOFLAGS_static :=
GOENV_static := CGO_ENABLED=0

.DELETE_ON_ERROR:
.PHONY: all deps test unit e2e demo bench install clean

all: $(OUTPUT)/blockwatch

deps:
	$(Q)tools/install-deps.sh

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/syscall_names.h: $(SYSCALL_HDR) tools/gen-syscalls.sh | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)tools/gen-syscalls.sh $< > $@

$(OUTPUT)/blockwatch.bpf.o: bpf/blockwatch.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(OUTPUT)/blockwatch.bpf.d -MT $@ -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/blockwatch.skel.h: $(OUTPUT)/blockwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name blockwatch_bpf > $@

# Generated headers: the skeleton for the BPF driver, the syscall table
# for the wait reasons.
$(BPF_USER_OBJS): $(OUTPUT)/blockwatch.skel.h
$(OUTPUT)/user/model/reason.o: $(OUTPUT)/syscall_names.h

$(OUTPUT)/user/%.o: user/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(LIB): $(PURE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/blockwatch: $(MAIN_OBJ) $(BPF_USER_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(MAIN_OBJ) $(BPF_USER_OBJS) $(LIB) $(LDLIBS) -o $@

# --- tests ---------------------------------------------------------------

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIB) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(HOST_CFLAGS) -Wno-unused-parameter $(LDFLAGS) $< $(LIB) $(UNIT_LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/workloads/%.c tests/workloads/wl.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $< -o $@

$(OUTPUT)/tests/%: tests/workloads/%.cpp | $(OUTPUT)/tests
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O2 -g -Wall -Wextra -Werror -pthread $< -o $@

# The stack-quality workload, with and without frame pointers (-O2: the
# compiler inlines what it likes; always_inline helpers are inlined).
$(OUTPUT)/tests/stacks_fp: tests/workloads/stacks.c tests/workloads/wl.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fno-omit-frame-pointer -D_GNU_SOURCE -pthread $< -o $@
$(OUTPUT)/tests/stacks_nofp: tests/workloads/stacks.c tests/workloads/wl.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fomit-frame-pointer -D_GNU_SOURCE -pthread $< -o $@

# The same addresses with other names (the caches' stale-name tests):
# non-PIE programs and shared libraries, a and b differing only in names.
$(OUTPUT)/tests/swap_%: tests/workloads/swap.c tests/workloads/wl.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -no-pie -fno-pie -DSWAP_SIDE=$* -D_GNU_SOURCE -pthread $< -o $@ -ldl
$(OUTPUT)/tests/libswap_%.so: tests/workloads/swaplib.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fPIC -shared -DSWAP_SIDE=$* $< -o $@

# Symbolization fixtures: the same program with and without frame pointers.
$(OUTPUT)/tests/fixture_fp: tests/fixtures/fixture.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fno-omit-frame-pointer -pthread $< -o $@
$(OUTPUT)/tests/fixture_nofp: tests/fixtures/fixture.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fomit-frame-pointer -pthread $< -o $@

$(OUTPUT)/tests/snapshot_fp: tests/fixtures/snapshot.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fno-omit-frame-pointer $< -o $@
$(OUTPUT)/tests/snapshot_nofp: tests/fixtures/snapshot.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -fomit-frame-pointer $< -o $@

# build/tests/go/VARIANT/PROG from tests/fixtures/go/PROG.go
define go_fixture
$(OUTPUT)/tests/go/$(1)/$(2): tests/fixtures/go/$(2).go
	$$(call msg,GO,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(GO_ENV) $$(GOENV_$(1)) $$(GO) build $$(GOFLAGS_$(1)) -o $$@ $$<
endef
$(foreach v,$(GO_VARIANTS),$(foreach p,$(GO_PROGS),$(eval $(call go_fixture,$(v),$(p)))))

unit: $(UNIT_BINS) $(FIXTURES) $(GO_FIXTURES)
	$(Q)set -e; for t in $(UNIT_BINS); do \
		BW_FIXTURE_DIR=$(OUTPUT)/tests CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

e2e: $(OUTPUT)/blockwatch $(WORKLOADS) $(GO_FIXTURES)
	$(Q)BLOCKWATCH=$(OUTPUT)/blockwatch BLOCKERS=$(OUTPUT)/tests/blockers \
		python3 tests/e2e/run.py $(E2E_ARGS)

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory e2e

demo: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/demo
	$(Q)tools/demo.sh $(OUTPUT)

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/blockers $(OUTPUT)/tests/go/default/goroutines
	$(Q)BLOCKWATCH=$(OUTPUT)/blockwatch tools/bench/bench.sh
	$(Q)BLOCKWATCH=$(OUTPUT)/blockwatch BLOCKERS=$(OUTPUT)/tests/blockers tools/bench/now.sh
	$(Q)BLOCKWATCH=$(OUTPUT)/blockwatch GO_FIXTURE=$(OUTPUT)/tests/go/default/goroutines \
		tools/bench/go.sh
	$(Q)BLOCKWATCH=$(OUTPUT)/blockwatch PGDIR=$(abspath $(OUTPUT))/bench-pg tools/bench/pgbench.sh

# --- sanitizers and fuzzing -------------------------------------------------
# SANITIZE=1: all userspace code (libblockwatch.a, blockwatch, the unit
# tests, the fuzz targets' replay build) with ASan + UBSan, into
# build-asan/ unless OUTPUT is given; the BPF object, the workloads and
# the fixtures are built as ever. Any report fails: UBSan does not
# recover, each sanitizer exits SAN_EXIT (not an exit code of
# blockwatch's, so a test expecting exit 1 still fails), and
# check-sanitize also has ASan and LSan write theirs to files, so that
# one from a process whose exit a test does not check is not missed
# either (gcc's UBSan, with ASan, only ever writes to stderr).
# Leaks: tests/sanitizers/lsan.supp, the libraries' own leaks only.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_EXIT := 66
SAN_REPORTS = $(abspath $(OUTPUT))/sanitizer-reports
SAN_ASAN_OPTIONS := exitcode=$(SAN_EXIT):abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1
SAN_UBSAN_OPTIONS := exitcode=$(SAN_EXIT):print_stacktrace=1:halt_on_error=1
SAN_LSAN_OPTIONS := suppressions=$(abspath tests/sanitizers/lsan.supp):print_suppressions=0
FUZZ_LDLIBS := -ldw -lelf -lcapstone -ljson-c -lz -lstdc++
ifneq ($(filter 1,$(SANITIZE) $(FUZZ)),)
HOST_CFLAGS += $(SAN_FLAGS)
override LDFLAGS += $(SAN_FLAGS)
export ASAN_OPTIONS ?= $(SAN_ASAN_OPTIONS)
export UBSAN_OPTIONS ?= $(SAN_UBSAN_OPTIONS)
export LSAN_OPTIONS ?= $(SAN_LSAN_OPTIONS)
endif

.PHONY: check-sanitize check-asan
ifeq ($(SANITIZE),1)
# The unit tests, the end-to-end suite and the fuzz corpora (replayed),
# each run even if the one before failed; then every report written.
check-sanitize: $(OUTPUT)/blockwatch $(UNIT_BINS) $(FIXTURES) $(GO_FIXTURES) $(WORKLOADS)
	$(Q)rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS)
	$(Q)export ASAN_OPTIONS="$(ASAN_OPTIONS):log_path=$(SAN_REPORTS)/asan" \
		UBSAN_OPTIONS="$(UBSAN_OPTIONS):log_path=$(SAN_REPORTS)/ubsan"; rc=0; \
	for t in unit e2e fuzz-replay; do \
		echo "== SANITIZE=1 $$t"; \
		$(MAKE) --no-print-directory $$t || rc=1; done; \
	for f in $(SAN_REPORTS)/*; do [ -e "$$f" ] || continue; rc=1; \
		echo "== sanitizer report $$f"; cat "$$f"; done; \
	[ $$rc = 0 ] && echo "check-sanitize: clean (unit, e2e, fuzz corpora)"; exit $$rc
else
check-sanitize:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 check-sanitize
endif
check-asan: check-sanitize

# Fuzz targets: tests/fuzz/fuzz_NAME.c, an LLVMFuzzerTestOneInput over
# libblockwatch.a each, for every parser of what another user controls.
# `make fuzz` runs each for FUZZ_TIME seconds with clang's libFuzzer
# (libclang-rt-14-dev) in build-fuzz/, with ASan + UBSan; a clang without
# libFuzzer gets the corpora replayed instead. `make fuzz-replay` runs
# each target once on every input of its corpora, without libFuzzer, on
# the SANITIZE=1 build (check-sanitize does too). The ELF seeds are made
# here from the fixtures (too big to commit); tests/fuzz/run.sh says
# which corpora a target has and prints one line per target.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_TIME ?= 300
FUZZ_CC ?= clang
FUZZ_OUT ?= build-fuzz
FUZZ_ENGINE ?= $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
	$(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null && echo libfuzzer)
FUZZ_BINS = $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_SEED_DIR = $(OUTPUT)/fuzz/seeds
FUZZ_SEEDS = $(foreach v,$(GO_VARIANTS),$(FUZZ_SEED_DIR)/goelf/$(v)) \
	$(foreach v,default pie static,$(FUZZ_SEED_DIR)/pclntab/$(v)) \
	$(patsubst %,$(FUZZ_SEED_DIR)/elfsym/%,fixture_fp fixture_nofp fixture_fp-zdebug \
		fixture_fp-nodebug cxx_blocker)
ifeq ($(FUZZ),1)
HOST_CFLAGS += -fsanitize=fuzzer-no-link
FUZZ_LINK := -fsanitize=fuzzer
FUZZ_MAIN :=
else
FUZZ_LINK :=
FUZZ_MAIN = $(OUTPUT)/fuzz/replay.o
endif

$(OUTPUT)/fuzz/replay.o: tests/fuzz/replay.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_MAIN) $(LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) $(FUZZ_LINK) $(LDFLAGS) $< $(FUZZ_MAIN) $(LIB) $(FUZZ_LDLIBS) -o $@

$(OUTPUT)/fuzz/seed_pclntab: tests/fuzz/seed_pclntab.c $(LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) $(LDFLAGS) $< $(LIB) $(FUZZ_LDLIBS) -o $@

$(FUZZ_SEED_DIR)/goelf/%: $(OUTPUT)/tests/go/%/pcln
	$(Q)mkdir -p $(@D) && cp $< $@
$(FUZZ_SEED_DIR)/pclntab/%: $(OUTPUT)/tests/go/%/pcln $(OUTPUT)/fuzz/seed_pclntab
	$(call msg,SEED,$@)
	$(Q)mkdir -p $(@D) && $(OUTPUT)/fuzz/seed_pclntab $< $@
$(FUZZ_SEED_DIR)/elfsym/%: $(OUTPUT)/tests/%
	$(Q)mkdir -p $(@D) && cp $< $@
$(FUZZ_SEED_DIR)/elfsym/fixture_fp-zdebug: $(OUTPUT)/tests/fixture_fp
	$(Q)mkdir -p $(@D) && objcopy --compress-debug-sections=zlib $< $@
$(FUZZ_SEED_DIR)/elfsym/fixture_fp-nodebug: $(OUTPUT)/tests/fixture_fp
	$(Q)mkdir -p $(@D) && objcopy --strip-debug $< $@

.PHONY: fuzz fuzz-run fuzz-replay
fuzz:
	$(Q)if [ "$(FUZZ_ENGINE)" = libfuzzer ]; then \
		$(MAKE) --no-print-directory FUZZ=1 OUTPUT=$(FUZZ_OUT) CC=$(FUZZ_CC) fuzz-run; \
	else \
		echo "fuzz: $(FUZZ_CC) has no libFuzzer (Debian: libclang-rt-14-dev): only replaying the corpora"; \
		$(MAKE) --no-print-directory fuzz-replay; \
	fi
ifeq ($(FUZZ),1)
fuzz-run: $(FUZZ_BINS) $(FUZZ_SEEDS)
	$(Q)tests/fuzz/run.sh libfuzzer $(OUTPUT) $(FUZZ_TIME) $(FUZZ_TARGETS)
else
fuzz-run:
	@echo "fuzz-run is make fuzz's libFuzzer build step: run make fuzz" >&2; exit 2
endif
ifeq ($(SANITIZE),1)
fuzz-replay: $(FUZZ_BINS) $(FUZZ_SEEDS)
	$(Q)tests/fuzz/run.sh replay $(OUTPUT) $(FUZZ_TARGETS)
else
fuzz-replay:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 fuzz-replay
endif

-include $(wildcard $(OUTPUT)/fuzz/*.d)

install: $(OUTPUT)/blockwatch
	install -D -m 0755 $(OUTPUT)/blockwatch $(DESTDIR)$(PREFIX)/sbin/blockwatch

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*.d)
